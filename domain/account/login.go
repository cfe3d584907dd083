package account

import (
	"context"
	"errors"
	"fmt"

	"mailroom/domain/throttle"
)

// Login is the login guard every server calls (SMTP AUTH, the inbox login,
// IMAP LOGIN): Authenticate under the client's failed-login budget. client
// is the key the adapter computed with throttle.ClientKey; every server
// wired with this Service shares one budget per key (Config.AuthFailRate).
//
// The budget, in two promises (throttle.Limiter.Acquire has the detail):
//   - parallel wrong guesses never overshoot it: each attempt holds a token
//     before any hashing, and only a failure spends it;
//   - a right password is never refused unless the client's failures
//     really spent the budget: while tokens are merely held by attempts in
//     flight (32 honest logins from one NAT address, queued for the
//     hasher), Login waits for one to settle instead of refusing. The wait
//     ends when ctx does.
//
// Errors: ErrThrottled (wrapped) when the budget is spent, before any
// password is checked; ctx's error when ctx ends while waiting; then
// Authenticate's errors. Only ErrBadCredentials spends the budget: our own
// failures (store, hasher) do not count against the client.
func (s *Service) Login(ctx context.Context, client, username, password string) (Account, error) {
	return s.LoginAs(ctx, client, "", username, password)
}

// LoginAs is Login with an RFC 4616 authorization identity (SASL PLAIN's
// authzid, IMAP AUTHENTICATE). Mailroom has no proxy users: authzid must
// be empty or name the login's own account (SameAccountName), or the
// attempt fails with ErrAuthzRefused, without a password check, and
// spends one token of the budget like a wrong password (it is a refused
// attempt all the same). Other errors are Login's.
func (s *Service) LoginAs(ctx context.Context, client, authzid, username, password string) (Account, error) {
	ticket, err := s.logins.Acquire(ctx, client)
	if errors.Is(err, throttle.ErrExhausted) {
		return Account{}, fmt.Errorf("%w: failed-login budget %s spent", ErrThrottled, s.cfg.AuthFailRate)
	}
	if err != nil {
		return Account{}, err
	}
	failed := false
	// Settled in a defer: a panic below must not leave a token held, or
	// this client's other logins would wait on it forever.
	defer func() {
		if failed {
			ticket.Spend()
		} else {
			ticket.Release()
		}
	}()
	if authzid != "" && !s.SameAccountName(authzid, username) {
		failed = true
		return Account{}, ErrAuthzRefused
	}
	acc, err := s.Authenticate(ctx, username, password)
	failed = errors.Is(err, ErrBadCredentials)
	return acc, err
}

// Authenticate checks a login without a budget (Login adds it). A wrong
// password and an unknown (or malformed) user both give ErrBadCredentials,
// and both cost one hash verification so that they take the same time.
// A login that the credential cache knows (see Config.CredentialCacheTTL)
// costs a store read and no hash: only right passwords are ever cached, so
// the fast path tells an attacker nothing a failure would not. Other
// errors are the store's or the hasher's own failures.
func (s *Service) Authenticate(ctx context.Context, username, password string) (Account, error) {
	name, nameErr := s.ParseName(username)
	var acc Account
	err := ErrNoSuchUser
	if nameErr == nil && len(password) <= MaxPasswordBytes {
		acc, err = s.store.AccountByName(ctx, name)
		if err != nil && !errors.Is(err, ErrNoSuchUser) {
			return Account{}, err
		}
	}
	if err != nil {
		return Account{}, s.failUnknown(ctx, password)
	}
	mac, ok := s.creds.mac(name, password)
	if ok && s.creds.hit(mac, acc) {
		return acc, nil
	}
	match, err := s.hasher.Verify(ctx, acc.PasswordHash, password)
	if err != nil {
		return Account{}, err
	}
	if !match {
		s.creds.forget(name)
		return Account{}, ErrBadCredentials
	}
	if ok {
		s.creds.remember(mac, acc)
	}
	return acc, nil
}

// failUnknown spends what a wrong password costs (one verification) on a
// login without an account, then gives ErrBadCredentials.
func (s *Service) failUnknown(ctx context.Context, password string) error {
	hash, err := s.dummy(ctx)
	if err != nil {
		return err
	}
	if _, err := s.hasher.Verify(ctx, hash, password); err != nil {
		return err
	}
	return ErrBadCredentials
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
// the first unknown-user login does it. Its error is the hasher's.
func (s *Service) Warm(ctx context.Context) error {
	_, err := s.dummy(ctx)
	return err
}
