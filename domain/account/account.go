// Package account owns Mailroom's accounts: the username rules, addresses, the
// password policy, and the Register/Authenticate/Lookup service. It is pure:
// storage and password hashing come in through the Store and Hasher interfaces.
package account

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors. Adapters map them to wire replies with errors.Is.
var (
	ErrBadUsername    = errors.New("account: bad username")
	ErrUsernameTaken  = errors.New("account: username taken")
	ErrWeakPassword   = errors.New("account: password must be 8 characters to 1024 bytes, without control characters")
	ErrBadCredentials = errors.New("account: bad credentials")
	ErrNoSuchUser     = errors.New("account: no such user")
)

// Password length bounds. The minimum counts characters, the maximum bytes;
// a password is never truncated.
const (
	MinPasswordChars = 8
	MaxPasswordBytes = 1024
)

// ID identifies an account. It is the same number on every wire.
type ID int64

// Username is a normalised (lower-case) account name.
type Username string

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ParseUsername normalises s to lower case and checks it against the
// username rule. Anything else is ErrBadUsername.
func ParseUsername(s string) (Username, error) {
	// Check for ASCII before lowering: strings.ToLower maps some non-ASCII
	// letters to ASCII ones (KELVIN SIGN U+212A to "k", U+0130 to "i"), which
	// would let a non-ASCII name pass the rule and alias another account.
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return "", fmt.Errorf("%w: %q", ErrBadUsername, s)
		}
	}
	n := strings.ToLower(s)
	if !usernameRE.MatchString(n) {
		return "", fmt.Errorf("%w: %q", ErrBadUsername, s)
	}
	return Username(n), nil
}

// Address is username@domain.
type Address struct {
	User   Username
	Domain string
}

func (a Address) String() string { return string(a.User) + "@" + a.Domain }

// Account is a registered user. PasswordHash is an opaque string produced by
// the Hasher (a PHC string for argon2id).
type Account struct {
	ID           ID
	Username     Username
	PasswordHash string
	Created      time.Time
}

// CheckPassword applies the password policy: 8 characters at least, 1024
// bytes at most, valid UTF-8 and no control characters. Spaces are fine
// (passphrases); control characters are refused because no wire can carry
// them all (CR and LF end an SMTP command line) and no keyboard types them.
func CheckPassword(p string) error {
	if len(p) > MaxPasswordBytes || utf8.RuneCountInString(p) < MinPasswordChars {
		return ErrWeakPassword
	}
	if !utf8.ValidString(p) || strings.IndexFunc(p, unicode.IsControl) >= 0 {
		return ErrWeakPassword
	}
	return nil
}

// Store is what the service needs from storage.
type Store interface {
	// CreateAccount inserts a new account; a name that exists already gives
	// ErrUsernameTaken and changes nothing.
	CreateAccount(ctx context.Context, name Username, passwordHash string, created time.Time) (Account, error)
	// AccountByName and AccountByID give ErrNoSuchUser when there is none.
	AccountByName(ctx context.Context, name Username) (Account, error)
	AccountByID(ctx context.Context, id ID) (Account, error)
	// Accounts lists all accounts ordered by name.
	Accounts(ctx context.Context) ([]Account, error)
	// SetPasswordHash and DeleteAccount give ErrNoSuchUser when there is none.
	// DeleteAccount removes the account's mailbox entries too.
	SetPasswordHash(ctx context.Context, id ID, passwordHash string) error
	DeleteAccount(ctx context.Context, id ID) error
}

// Hasher turns passwords into storable hashes and checks them.
type Hasher interface {
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches hash. A malformed hash is an error.
	Verify(ctx context.Context, hash, password string) (bool, error)
}

// Config configures the service.
type Config struct {
	// Domain is the mail domain of every address. Default "localhost".
	Domain string
}

// Service implements the account use cases.
type Service struct {
	store  Store
	hasher Hasher
	domain string
	now    func() time.Time

	dummyMu   sync.Mutex
	dummyHash string // set once a dummy hash succeeded
}

// NewService wires a Service. now defaults to time.Now.
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
	return &Service{store: store, hasher: hasher, domain: strings.ToLower(cfg.Domain), now: now}
}

// Domain is the configured mail domain.
func (s *Service) Domain() string { return s.domain }

// AddressOf gives the account's address.
func (s *Service) AddressOf(a Account) Address { return Address{User: a.Username, Domain: s.domain} }

// ParseName accepts a bare username or username@domain for the configured
// domain, in any case. Another domain is ErrBadUsername.
func (s *Service) ParseName(name string) (Username, error) {
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		if !strings.EqualFold(name[i+1:], s.domain) {
			return "", fmt.Errorf("%w: %q is not in domain %s", ErrBadUsername, name, s.domain)
		}
		name = name[:i]
	}
	return ParseUsername(name)
}

// Register creates an account. The name must be free in any letter case.
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

// Authenticate checks a login. A wrong password and an unknown (or malformed)
// user both give ErrBadCredentials, and both cost one hash verification so
// they take the same time.
func (s *Service) Authenticate(ctx context.Context, username, password string) (Account, error) {
	name, nameErr := s.ParseName(username)
	var acc Account
	var err error
	if nameErr == nil && len(password) <= MaxPasswordBytes {
		acc, err = s.store.AccountByName(ctx, name)
		if err != nil && !errors.Is(err, ErrNoSuchUser) {
			return Account{}, err
		}
	} else {
		err = ErrNoSuchUser
	}
	if err != nil {
		hash, herr := s.dummy(ctx)
		if herr != nil {
			return Account{}, herr
		}
		if _, verr := s.hasher.Verify(ctx, hash, password); verr != nil {
			return Account{}, verr
		}
		return Account{}, ErrBadCredentials
	}
	ok, err := s.hasher.Verify(ctx, acc.PasswordHash, password)
	if err != nil {
		return Account{}, err
	}
	if !ok {
		return Account{}, ErrBadCredentials
	}
	return acc, nil
}

// dummy gives the hash that unknown users are verified against. Only a
// success is kept: a failure (say the first caller's ctx was cancelled) must
// not stick, or every later unknown-user login would fail with that error.
func (s *Service) dummy(ctx context.Context) (string, error) {
	s.dummyMu.Lock()
	defer s.dummyMu.Unlock()
	if s.dummyHash == "" {
		h, err := s.hasher.Hash(ctx, "mailroom-timing-equaliser")
		if err != nil {
			return "", err
		}
		s.dummyHash = h
	}
	return s.dummyHash, nil
}

// Warm computes the hash that unknown-user logins are checked against, so
// that even the first one costs what a wrong password costs (otherwise it
// would also pay for making the hash). Servers call it at start; without it
// the first unknown-user login does it.
func (s *Service) Warm(ctx context.Context) error {
	_, err := s.dummy(ctx)
	return err
}

// Lookup finds an account by bare name or address: ErrNoSuchUser if none.
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

// List gives every account, ordered by name (ops tooling).
func (s *Service) List(ctx context.Context) ([]Account, error) { return s.store.Accounts(ctx) }

// SetPassword replaces an account's password (ops tooling).
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
	return s.store.SetPasswordHash(ctx, acc.ID, hash)
}

// Delete removes an account and its mailbox (ops tooling).
func (s *Service) Delete(ctx context.Context, username string) error {
	acc, err := s.Lookup(ctx, username)
	if err != nil {
		return err
	}
	return s.store.DeleteAccount(ctx, acc.ID)
}
