package account

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"mailroom/domain/throttle"
)

// Default budgets per client key (throttle.ClientKey of the client's IP).
// They were the SMTP server's until the rules moved here.
var (
	// DefaultRegRate is Config.RegRate's default: 30 attempts per 10 minutes
	// lets an office behind one address sign up together, and stops a
	// script from harvesting which names exist.
	DefaultRegRate = throttle.Rate{N: 30, Per: 10 * time.Minute}
	// DefaultAuthFailRate is Config.AuthFailRate's default: 20 failed
	// logins per 10 minutes, across every server.
	DefaultAuthFailRate = throttle.Rate{N: 20, Per: 10 * time.Minute}
)

// Credential cache defaults (see Config.CredentialCacheTTL).
const (
	// DefaultCredentialCacheTTL covers a mail client that logs in for every
	// message it sends during a session of work, while keeping the window
	// short in which a memory dump holds fast-to-test keyed hashes of
	// recently used passwords.
	DefaultCredentialCacheTTL = 5 * time.Minute
	// DefaultCredentialCacheSize bounds the cache to a few MB (an entry
	// holds a MAC and a PHC hash string).
	DefaultCredentialCacheSize = 10_000
)

// Config configures the service. Every zero value means its default.
type Config struct {
	// Domain is the mail domain of every address. Default "localhost".
	Domain string
	// RegistrationClosed makes SignUp refuse every attempt with
	// ErrRegistrationClosed. Default false: open. Register (ops tooling)
	// is not affected.
	RegistrationClosed bool
	// RegRate is each client key's budget of SignUp attempts. Every
	// attempt spends, a refused one too, so that registration is not a
	// free oracle of taken names; past it SignUp gives ErrThrottled.
	// Default DefaultRegRate (30/10m). N < 0 means unlimited.
	RegRate throttle.Rate
	// AuthFailRate is each client key's budget of failed Logins, one
	// budget for every server that shares this Service; past it Login gives
	// ErrThrottled before any password is checked. Default
	// DefaultAuthFailRate (20/10m). N < 0 means unlimited.
	AuthFailRate throttle.Rate
	// CredentialCacheTTL is how long a verified (username, password) pair
	// is remembered, so that a repeat login within it costs a keyed hash
	// and a store read instead of a password hash (Dovecot's auth_cache).
	// Only a keyed hash of the pair is kept, never the password. A password
	// change or deletion, by any process, invalidates an entry at once (it
	// remembers the stored hash it was verified against); a failed login
	// for the user evicts the user's entries. Default
	// DefaultCredentialCacheTTL (5m). Negative turns the cache off.
	CredentialCacheTTL time.Duration
	// CredentialCacheSize bounds the cache's entries; the oldest go first.
	// Default DefaultCredentialCacheSize (10,000).
	CredentialCacheSize int
	// Random is the source of the cache's per-process key (the daemon
	// passes crypto/rand.Reader: the domain takes randomness in, it does not
	// reach for it). Nil, or a source that fails, turns the cache off.
	Random io.Reader
}

// Service implements the account use cases. It is safe for concurrent use.
type Service struct {
	store  Store
	hasher Hasher
	domain string
	cfg    Config
	now    func() time.Time

	logins *throttle.Limiter // failed logins, per client key
	regs   *throttle.Limiter // SignUp attempts, per client key
	creds  *credCache        // nil when off
	rcpts  recipientCache    // Recipient's recent answers

	dummyMu   sync.Mutex
	dummyHash string // set once a dummy hash succeeded
}

// NewService wires a Service. now defaults to time.Now. A nil store or
// hasher panics (a wiring error).
func NewService(store Store, hasher Hasher, cfg Config, now func() time.Time) *Service {
	if store == nil || hasher == nil {
		panic("account: nil dependency")
	}
	if cfg.Domain == "" {
		cfg.Domain = "localhost"
	}
	if now == nil {
		now = time.Now
	}
	cfg.RegRate = rateOrDefault(cfg.RegRate, DefaultRegRate)
	cfg.AuthFailRate = rateOrDefault(cfg.AuthFailRate, DefaultAuthFailRate)
	if cfg.CredentialCacheTTL == 0 {
		cfg.CredentialCacheTTL = DefaultCredentialCacheTTL
	}
	if cfg.CredentialCacheSize <= 0 {
		cfg.CredentialCacheSize = DefaultCredentialCacheSize
	}
	return &Service{
		store:  store,
		hasher: hasher,
		domain: strings.ToLower(cfg.Domain),
		cfg:    cfg,
		now:    now,
		logins: throttle.New(cfg.AuthFailRate, now),
		regs:   throttle.New(cfg.RegRate, now),
		creds:  newCredCache(cfg.CredentialCacheTTL, cfg.CredentialCacheSize, cfg.Random, now),
	}
}

// rateOrDefault maps Config's convention (zero: default, N < 0: unlimited)
// onto throttle's (N 0: unlimited).
func rateOrDefault(r, def throttle.Rate) throttle.Rate {
	switch {
	case r.N < 0:
		return throttle.Rate{}
	case r.N == 0 || r.Per <= 0:
		return def
	}
	return r
}

// Domain is the configured mail domain, lower-cased.
func (s *Service) Domain() string { return s.domain }

// AddressOf gives the account's address.
func (s *Service) AddressOf(a Account) Address { return Address{User: a.Username, Domain: s.domain} }

// ParseName is the one place that turns what a client typed (a login, a
// recipient, an authorization identity) into an account name: a bare
// username or username@domain for the configured domain, in any case.
// Another domain, or a name that breaks the username rule, is
// ErrBadUsername (wrapped).
func (s *Service) ParseName(name string) (Username, error) {
	if local, domain, ok := SplitAddress(name); ok {
		if !strings.EqualFold(domain, s.domain) {
			return "", fmt.Errorf("%w: %q is not in domain %s", ErrBadUsername, name, s.domain)
		}
		name = local
	}
	return ParseUsername(name)
}

// SameAccountName reports whether a and b name the same account: equal
// after ASCII case folding and dropping "@" plus the configured domain. It
// validates nothing (two equal malformed names are the same), so that an
// RFC 4616 authorization identity that repeats the login's own name, in
// any spelling, defers to the login's own check. Only ASCII letters fold:
// a non-ASCII letter that lower-cases to ASCII (KELVIN SIGN) is not "k".
func (s *Service) SameAccountName(a, b string) bool {
	return s.foldName(a) == s.foldName(b)
}

func (s *Service) foldName(n string) string {
	if local, domain, ok := SplitAddress(n); ok && strings.EqualFold(domain, s.domain) {
		n = local
	}
	return asciiLower(n)
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Register creates an account (ops tooling and SignUp; no budget, open or
// closed alike). The name must be free in any letter case. Errors:
// ErrBadUsername, ErrWeakPassword, ErrUsernameTaken; anything else is the
// store's or the hasher's own failure.
func (s *Service) Register(ctx context.Context, username, password string) (Account, error) {
	name, err := ParseUsername(username)
	if err != nil {
		return Account{}, err
	}
	if err := CheckPassword(password); err != nil {
		return Account{}, err
	}
	// A cheap early check spares a hash for a taken name; the store's unique
	// constraint is what actually guarantees it.
	if _, err := s.store.AccountByName(ctx, name); err == nil {
		return Account{}, ErrUsernameTaken
	} else if !errors.Is(err, ErrNoSuchUser) {
		return Account{}, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return Account{}, err
	}
	return s.store.CreateAccount(ctx, name, hash, s.now().UTC())
}

// SignUp is a client's own registration (the SMTP REG verb) under the
// registration policy: refused with ErrRegistrationClosed when closed,
// else it spends one token of client's budget (client is the key from
// throttle.ClientKey) whatever the outcome, and past the budget it is
// ErrThrottled (wrapped). Then it is Register, with Register's errors.
func (s *Service) SignUp(ctx context.Context, client, username, password string) (Account, error) {
	if s.cfg.RegistrationClosed {
		return Account{}, ErrRegistrationClosed
	}
	if !s.regs.Allow(client) {
		return Account{}, fmt.Errorf("%w: registration budget %s spent", ErrThrottled, s.cfg.RegRate)
	}
	return s.Register(ctx, username, password)
}

// RegistrationOpen reports whether SignUp may create accounts.
func (s *Service) RegistrationOpen() bool { return !s.cfg.RegistrationClosed }

// Lookup finds an account by bare name or address: ErrNoSuchUser (wrapped,
// when the name is malformed or in another domain) if none.
func (s *Service) Lookup(ctx context.Context, name string) (Account, error) {
	n, err := s.ParseName(name)
	if err != nil {
		return Account{}, fmt.Errorf("%w (%v)", ErrNoSuchUser, err)
	}
	return s.store.AccountByName(ctx, n)
}

// ByID finds an account by id: ErrNoSuchUser if none.
func (s *Service) ByID(ctx context.Context, id ID) (Account, error) {
	return s.store.AccountByID(ctx, id)
}

// List gives every account, ordered by name (ops tooling). Errors are the
// store's.
func (s *Service) List(ctx context.Context) ([]Account, error) { return s.store.Accounts(ctx) }

// SetPassword replaces an account's password (ops tooling). Errors:
// ErrNoSuchUser, ErrWeakPassword, or the store's or hasher's failure. The
// account's cached credentials are forgotten (they would no longer match
// the stored hash anyway).
func (s *Service) SetPassword(ctx context.Context, username, password string) error {
	acc, err := s.Lookup(ctx, username)
	if err != nil {
		return err
	}
	if err := CheckPassword(password); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	if err := s.store.SetPasswordHash(ctx, acc.ID, hash); err != nil {
		return err
	}
	s.creds.forget(acc.Username)
	return nil
}

// Delete removes an account and its mailbox (ops tooling). Errors:
// ErrNoSuchUser, or the store's failure.
func (s *Service) Delete(ctx context.Context, username string) error {
	acc, err := s.Lookup(ctx, username)
	if err != nil {
		return err
	}
	if err := s.store.DeleteAccount(ctx, acc.ID); err != nil {
		return err
	}
	s.creds.forget(acc.Username)
	return nil
}
