package account_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"mailroom/domain/account"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

type cacheEnv struct {
	s     *account.Service
	st    *memStore
	h     *fakeHasher
	clock *fakeClock
}

func newCacheEnv(t *testing.T, cfg account.Config) *cacheEnv {
	t.Helper()
	e := &cacheEnv{st: newMemStore(), h: &fakeHasher{}, clock: &fakeClock{t: testNow}}
	if cfg.Random == nil {
		cfg.Random = strings.NewReader(strings.Repeat("k", 32)) // a fixed key is fine in a test
	}
	e.s = account.NewService(e.st, e.h, cfg, e.clock.now)
	for _, n := range []string{"alice", "bob", "carol"} {
		mustRegister(t, e.s, e.h, n, n+"-secret")
	}
	return e
}

// login authenticates and reports how many verifications it cost.
func (e *cacheEnv) login(t *testing.T, user, password string, want error) int {
	t.Helper()
	before := e.h.verifies
	_, err := e.s.Login(context.Background(), "client", user, password)
	if !errors.Is(err, want) {
		t.Fatalf("Login(%q, %q) = %v, want %v", user, password, err, want)
	}
	return e.h.verifies - before
}

func TestCredentialCacheHitSkipsTheHasher(t *testing.T) {
	e := newCacheEnv(t, account.Config{})
	if n := e.login(t, "alice", "alice-secret", nil); n != 1 {
		t.Fatalf("first login verified %d times, want 1", n)
	}
	for _, spelling := range []string{"alice", "ALICE", "alice@localhost"} {
		if n := e.login(t, spelling, "alice-secret", nil); n != 0 {
			t.Errorf("repeat login as %q verified %d times, want 0 (a cache hit)", spelling, n)
		}
	}
	// A wrong password is never served from the cache, and costs a hash.
	if n := e.login(t, "alice", "alice-secreT", account.ErrBadCredentials); n != 1 {
		t.Errorf("wrong password verified %d times, want 1", n)
	}
	// An unknown user still costs one verification (the equal-cost path).
	if n := e.login(t, "mallory", "alice-secret", account.ErrBadCredentials); n != 1 {
		t.Errorf("unknown user verified %d times, want 1", n)
	}
}

func TestCredentialCacheInvalidation(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change func(e *cacheEnv, alice account.Account)
		// after the change: the old password's result, and the new one's
		oldErr  error
		newPass string
	}{
		{"password changed by another process", func(e *cacheEnv, a account.Account) {
			if err := e.st.SetPasswordHash(ctx, a.ID, "h:changed-pw"); err != nil {
				t.Fatal(err)
			}
		}, account.ErrBadCredentials, "changed-pw"},
		{"password changed through the service", func(e *cacheEnv, a account.Account) {
			if err := e.s.SetPassword(ctx, "alice", "changed-pw"); err != nil {
				t.Fatal(err)
			}
		}, account.ErrBadCredentials, "changed-pw"},
		{"account deleted by another process", func(e *cacheEnv, a account.Account) {
			if err := e.st.DeleteAccount(ctx, a.ID); err != nil {
				t.Fatal(err)
			}
		}, account.ErrBadCredentials, ""},
		{"account deleted and made again, same password", func(e *cacheEnv, a account.Account) {
			if err := e.st.DeleteAccount(ctx, a.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := e.st.CreateAccount(ctx, "alice", "h:alice-secret", testNow); err != nil {
				t.Fatal(err)
			}
		}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCacheEnv(t, account.Config{})
			e.login(t, "alice", "alice-secret", nil)
			alice, _ := e.st.AccountByName(ctx, "alice")
			tc.change(e, alice)
			// Never a hit: the store's current account decides.
			if n := e.login(t, "alice", "alice-secret", tc.oldErr); n != 1 {
				t.Errorf("old password after the change verified %d times, want 1", n)
			}
			if tc.newPass != "" {
				e.login(t, "alice", tc.newPass, nil)
			}
		})
	}
}

func TestCredentialCacheFailureEvicts(t *testing.T) {
	e := newCacheEnv(t, account.Config{})
	e.login(t, "alice", "alice-secret", nil)
	e.login(t, "bob", "bob-secret", nil)
	e.login(t, "alice", "wrong-password", account.ErrBadCredentials)
	if n := e.login(t, "alice", "alice-secret", nil); n != 1 {
		t.Errorf("login after a failure verified %d times, want 1 (evicted)", n)
	}
	if n := e.login(t, "bob", "bob-secret", nil); n != 0 {
		t.Errorf("another user's entry was evicted too")
	}
}

func TestCredentialCacheExpiry(t *testing.T) {
	e := newCacheEnv(t, account.Config{CredentialCacheTTL: time.Minute})
	e.login(t, "alice", "alice-secret", nil)
	e.clock.t = testNow.Add(time.Minute - time.Nanosecond)
	if n := e.login(t, "alice", "alice-secret", nil); n != 0 {
		t.Errorf("login within the TTL verified %d times", n)
	}
	// A hit does not extend the entry: the password is checked again a
	// TTL after it was last verified.
	e.clock.t = testNow.Add(time.Minute)
	if n := e.login(t, "alice", "alice-secret", nil); n != 1 {
		t.Errorf("login at the TTL verified %d times, want 1", n)
	}
	if n := e.login(t, "alice", "alice-secret", nil); n != 0 {
		t.Errorf("login after the re-check verified %d times, want 0", n)
	}
}

func TestCredentialCacheBounded(t *testing.T) {
	e := newCacheEnv(t, account.Config{CredentialCacheSize: 2})
	e.login(t, "alice", "alice-secret", nil)
	e.clock.t = e.clock.t.Add(time.Second)
	e.login(t, "bob", "bob-secret", nil)
	e.clock.t = e.clock.t.Add(time.Second)
	e.login(t, "carol", "carol-secret", nil) // evicts alice, the oldest
	if got := account.CachedLogins(e.s); got != 2 {
		t.Errorf("%d entries, bound 2", got)
	}
	if n := e.login(t, "carol", "carol-secret", nil); n != 0 {
		t.Errorf("newest entry missing")
	}
	if n := e.login(t, "alice", "alice-secret", nil); n != 1 {
		t.Errorf("oldest entry kept past the bound")
	}
	if got := account.CachedLogins(e.s); got != 2 {
		t.Errorf("%d entries, bound 2", got)
	}
}

func TestCredentialCacheOff(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  account.Config
	}{
		{"negative TTL", account.Config{CredentialCacheTTL: -1}},
		{"no randomness", account.Config{Random: bytes.NewReader(nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCacheEnv(t, tc.cfg)
			for range 3 {
				if n := e.login(t, "alice", "alice-secret", nil); n != 1 {
					t.Fatalf("login with the cache off verified %d times, want 1", n)
				}
			}
			if got := account.CachedLogins(e.s); got != 0 {
				t.Errorf("%d entries with the cache off", got)
			}
		})
	}
}

// The cache key comes from the injected source: two services with their
// own keys never share entries, and one service's key is read once.
func TestCredentialCacheKeyFromRandom(t *testing.T) {
	r := &countingReader{r: bytes.NewReader(bytes.Repeat([]byte{7}, 64))}
	e := newCacheEnv(t, account.Config{Random: r})
	e.login(t, "alice", "alice-secret", nil)
	e.login(t, "alice", "alice-secret", nil)
	if r.n != 32 {
		t.Errorf("read %d random bytes, want 32 (one key)", r.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// The cache keys the whole password: one that differs from a cached one
// only after byte 72 (where bcrypt would stop reading) is no hit.
func TestCredentialCacheKeysTheWholePassword(t *testing.T) {
	e := newCacheEnv(t, account.Config{})
	long := strings.Repeat("p", 72)
	if err := e.s.SetPassword(context.Background(), "alice", long+"-tail-one"); err != nil {
		t.Fatal(err)
	}
	e.login(t, "alice", long+"-tail-one", nil)
	if n := e.login(t, "alice", long+"-tail-two", account.ErrBadCredentials); n != 1 {
		t.Errorf("a password differing after byte 72 verified %d times, want 1", n)
	}
}
