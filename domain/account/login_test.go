package account_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/throttle"
)

// gateHasher is a concurrency-safe fake hasher whose Verify blocks until
// gate is closed, so a test decides when attempts in flight settle.
type gateHasher struct {
	mu       sync.Mutex
	verifies int
	gate     chan struct{}
	fail     error // Verify's error, when set
}

func newGateHasher() *gateHasher {
	g := make(chan struct{})
	close(g)
	return &gateHasher{gate: g}
}

func (h *gateHasher) Hash(_ context.Context, p string) (string, error) { return "h:" + p, nil }

func (h *gateHasher) Verify(_ context.Context, hash, p string) (bool, error) {
	h.mu.Lock()
	h.verifies++
	gate, fail := h.gate, h.fail
	h.mu.Unlock()
	<-gate
	if fail != nil {
		return false, fail
	}
	return hash == "h:"+p, nil
}

// hold makes the next Verify calls block until the returned func is called.
func (h *gateHasher) hold() (release func()) {
	g := make(chan struct{})
	h.mu.Lock()
	h.gate = g
	h.mu.Unlock()
	return func() { close(g) }
}

func (h *gateHasher) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.verifies
}

// waitPending polls until client has the given logins in flight and
// waiting.
func waitPending(t *testing.T, s *account.Service, client string, inflight, waiting int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		in, w := account.LoginPending(s, client)
		if in == inflight && w == waiting {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("LoginPending = %d in flight, %d waiting; want %d, %d", in, w, inflight, waiting)
		}
		time.Sleep(time.Millisecond)
	}
}

func guardService(t *testing.T, budget int, users int) (*account.Service, *gateHasher) {
	t.Helper()
	h := newGateHasher()
	s := account.NewService(newMemStore(), h, account.Config{
		AuthFailRate: throttle.Rate{N: budget, Per: 10 * time.Minute},
	}, func() time.Time { return testNow })
	for i := range users {
		if _, err := s.Register(context.Background(), fmt.Sprintf("u%02d", i), fmt.Sprintf("secret-%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	return s, h
}

// loginAll runs one Login per (user, password) from client concurrently
// and gives their errors in order.
func loginAll(s *account.Service, client string, users, passwords []string) <-chan []error {
	out := make(chan []error, 1)
	go func() {
		errs := make([]error, len(users))
		var wg sync.WaitGroup
		for i := range users {
			wg.Go(func() {
				_, errs[i] = s.Login(context.Background(), client, users[i], passwords[i])
			})
		}
		wg.Wait()
		out <- errs
	}()
	return out
}

func count(errs []error, target error) int {
	n := 0
	for _, err := range errs {
		if errors.Is(err, target) {
			n++
		}
	}
	return n
}

// Property (a): parallel wrong guesses never overshoot the budget. Ten
// guesses at once against a budget of 3: three reach the hasher, the rest
// wait while the three are in flight and are refused once they fail.
func TestLoginParallelWrongGuessesCannotOvershoot(t *testing.T) {
	const budget, guesses = 3, 10
	s, h := guardService(t, budget, 1)
	release := h.hold()
	users, pws := make([]string, guesses), make([]string, guesses)
	for i := range guesses {
		users[i], pws[i] = "u00", fmt.Sprintf("guess-%02d", i)
	}
	done := loginAll(s, "192.0.2.1", users, pws)
	waitPending(t, s, "192.0.2.1", budget, guesses-budget)
	release()
	errs := <-done
	if n := count(errs, account.ErrBadCredentials); n != budget {
		t.Errorf("%d guesses were checked, budget %d: %v", n, budget, errs)
	}
	if n := count(errs, account.ErrThrottled); n != guesses-budget {
		t.Errorf("%d guesses throttled, want %d: %v", n, guesses-budget, errs)
	}
	if v := h.count(); v != budget {
		t.Errorf("hasher ran %d times, budget %d", v, budget)
	}
	// The budget is spent: even the right password is refused, unhashed.
	if _, err := s.Login(context.Background(), "192.0.2.1", "u00", "secret-00"); !errors.Is(err, account.ErrThrottled) {
		t.Errorf("right password after the budget is spent = %v, want ErrThrottled", err)
	}
	if v := h.count(); v != budget {
		t.Errorf("a throttled login reached the hasher")
	}
	// Another client has its own budget.
	if _, err := s.Login(context.Background(), "192.0.2.2", "u00", "secret-00"); err != nil {
		t.Errorf("another client: %v", err)
	}
}

// Property (b): right passwords are never refused while the budget is not
// spent by failures. 32 honest logins at once from one NAT address, after
// two failures of a budget of 3: one token is free, so they go through one
// at a time, and none is refused.
func TestLoginHonestBurstIsNeverRefused(t *testing.T) {
	const budget, logins = 3, 32
	s, h := guardService(t, budget, logins)
	const nat = "198.51.100.7"
	for range budget - 1 {
		if _, err := s.Login(context.Background(), nat, "u00", "wrong-password"); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("wrong password = %v", err)
		}
	}
	release := h.hold()
	users, pws := make([]string, logins), make([]string, logins)
	for i := range logins {
		users[i], pws[i] = fmt.Sprintf("u%02d", i), fmt.Sprintf("secret-%02d", i)
	}
	done := loginAll(s, nat, users, pws)
	waitPending(t, s, nat, 1, logins-1)
	release()
	for i, err := range <-done {
		if err != nil {
			t.Errorf("honest login %d refused: %v", i, err)
		}
	}
	// The failures stay counted: one more spends the budget.
	if _, err := s.Login(context.Background(), nat, "u00", "wrong-again"); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("third failure = %v", err)
	}
	if _, err := s.Login(context.Background(), nat, "u01", "secret-01"); !errors.Is(err, account.ErrThrottled) {
		t.Errorf("login after the budget is spent = %v, want ErrThrottled", err)
	}
}

// With no token free, the default budget (20 per 10 minutes) refuses the
// 21st failure of one client, shared by every caller of the Service.
func TestLoginDefaultBudget(t *testing.T) {
	s, _, _ := newService(t, "")
	ctx := context.Background()
	for i := range account.DefaultAuthFailRate.N {
		if _, err := s.Login(ctx, "203.0.113.9", "nobody", "password"); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("failure %d = %v, want ErrBadCredentials", i+1, err)
		}
	}
	if _, err := s.Login(ctx, "203.0.113.9", "nobody", "password"); !errors.Is(err, account.ErrThrottled) {
		t.Errorf("failure %d = %v, want ErrThrottled", account.DefaultAuthFailRate.N+1, err)
	}
}

func TestLoginUnlimited(t *testing.T) {
	s := account.NewService(newMemStore(), &fakeHasher{}, account.Config{AuthFailRate: throttle.Rate{N: -1}}, nil)
	for range 100 {
		if _, err := s.Login(context.Background(), "k", "nobody", "password"); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("Login = %v, want ErrBadCredentials", err)
		}
	}
}

// Our own failures (the hasher down) and an ended wait spend nothing.
func TestLoginOwnFailuresDoNotSpend(t *testing.T) {
	s, h := guardService(t, 1, 1)
	boom := errors.New("hasher down")
	h.fail = boom
	for range 3 {
		if _, err := s.Login(context.Background(), "k", "u00", "secret-00"); !errors.Is(err, boom) {
			t.Fatalf("Login = %v, want the hasher's error", err)
		}
	}
	h.fail = nil

	release := h.hold()
	first := loginAll(s, "k", []string{"u00"}, []string{"secret-00"})
	waitPending(t, s, "k", 1, 0)
	ctx, cancel := context.WithCancel(context.Background())
	waited := make(chan error, 1)
	go func() {
		_, err := s.Login(ctx, "k", "u00", "secret-00")
		waited <- err
	}()
	waitPending(t, s, "k", 1, 1)
	cancel()
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait = %v, want context.Canceled", err)
	}
	release()
	if errs := <-first; errs[0] != nil {
		t.Fatal(errs[0])
	}
	if _, err := s.Login(context.Background(), "k", "u00", "secret-00"); err != nil {
		t.Errorf("budget spent by our own failures: %v", err)
	}
}

func TestSignUp(t *testing.T) {
	ctx := context.Background()
	rate := throttle.Rate{N: 2, Per: 10 * time.Minute}
	t.Run("closed", func(t *testing.T) {
		h := &fakeHasher{}
		s := account.NewService(newMemStore(), h, account.Config{RegistrationClosed: true, RegRate: rate}, nil)
		if s.RegistrationOpen() {
			t.Error("RegistrationOpen = true")
		}
		for range 3 {
			if _, err := s.SignUp(ctx, "k", "carol", "password1"); !errors.Is(err, account.ErrRegistrationClosed) {
				t.Fatalf("SignUp = %v, want ErrRegistrationClosed", err)
			}
		}
		if h.hashes != 0 {
			t.Errorf("closed registration hashed")
		}
		// Ops tooling still registers.
		if _, err := s.Register(ctx, "carol", "password1"); err != nil {
			t.Errorf("Register with registration closed: %v", err)
		}
	})
	t.Run("every attempt spends", func(t *testing.T) {
		s := account.NewService(newMemStore(), &fakeHasher{}, account.Config{RegRate: rate}, nil)
		if !s.RegistrationOpen() {
			t.Error("RegistrationOpen = false")
		}
		if _, err := s.SignUp(ctx, "k", "carol", "password1"); err != nil {
			t.Fatal(err)
		}
		// A taken name spends too: REG is no free oracle of names.
		if _, err := s.SignUp(ctx, "k", "carol", "password1"); !errors.Is(err, account.ErrUsernameTaken) {
			t.Fatalf("taken = %v", err)
		}
		if _, err := s.SignUp(ctx, "k", "dave", "password1"); !errors.Is(err, account.ErrThrottled) {
			t.Fatalf("third SignUp = %v, want ErrThrottled", err)
		}
		if _, err := s.SignUp(ctx, "other", "dave", "password1"); err != nil {
			t.Errorf("another client: %v", err)
		}
	})
	t.Run("default and unlimited", func(t *testing.T) {
		for _, tc := range []struct {
			rate  throttle.Rate
			allow int // attempts before ErrThrottled; -1 never
		}{{throttle.Rate{}, account.DefaultRegRate.N}, {throttle.Rate{N: -1}, -1}} {
			s := account.NewService(newMemStore(), &fakeHasher{}, account.Config{RegRate: tc.rate}, nil)
			for i := range 40 {
				_, err := s.SignUp(ctx, "k", "-bad", "password1")
				if throttled := errors.Is(err, account.ErrThrottled); throttled != (tc.allow >= 0 && i >= tc.allow) {
					t.Fatalf("rate %v: attempt %d = %v", tc.rate, i+1, err)
				}
			}
		}
	})
}

func TestSameAccountName(t *testing.T) {
	s, _, _ := newService(t, "Example.org")
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"alice", "alice", true},
		{"Alice", "ALICE", true},
		{"alice@example.org", "alice", true},
		{"ALICE@EXAMPLE.ORG", "alice@Example.Org", true},
		{"al ice", "AL ICE", true}, // malformed but equal: the login decides
		{"alice", "bob", false},
		{"alice@other.org", "alice", false},
		{"alice@other.org", "alice@other.org", true},
		{"\u212Aate", "kate", false}, // KELVIN SIGN is not k
		{"", "", true},
		{"alice@", "alice", false},
	} {
		if got := s.SameAccountName(tc.a, tc.b); got != tc.same {
			t.Errorf("SameAccountName(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
		if got := s.SameAccountName(tc.b, tc.a); got != tc.same {
			t.Errorf("SameAccountName(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.same)
		}
	}
}

func TestSplitAddress(t *testing.T) {
	for _, tc := range []struct {
		in, local, domain string
		ok                bool
	}{
		{"alice", "alice", "", false},
		{"alice@example.org", "alice", "example.org", true},
		{"a@b@c", "a@b", "c", true},
		{"@", "", "", true},
		{"", "", "", false},
	} {
		l, d, ok := account.SplitAddress(tc.in)
		if l != tc.local || d != tc.domain || ok != tc.ok {
			t.Errorf("SplitAddress(%q) = %q, %q, %v", tc.in, l, d, ok)
		}
	}
}

// usernameRule checks the rule by hand, independently of the regexp.
func usernameRule(u string) bool {
	if len(u) < 1 || len(u) > 64 {
		return false
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("._-", rune(c))) {
			return false
		}
	}
	return true
}

func FuzzParseUsername(f *testing.F) {
	for _, s := range []string{"alice", "ALICE", "a.b-c_d9", ".alice", "", "\u212Aate", "\u0130van",
		"alice@localhost", strings.Repeat("x", 64), strings.Repeat("x", 65), "al ice", "\xff", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		u, err := account.ParseUsername(in)
		if err != nil {
			if !errors.Is(err, account.ErrBadUsername) || u != "" {
				t.Fatalf("ParseUsername(%q) = %q, %v", in, u, err)
			}
			return
		}
		for i := 0; i < len(in); i++ {
			if in[i] >= 0x80 {
				t.Fatalf("ParseUsername accepted non-ASCII %q as %q", in, u)
			}
		}
		if !usernameRule(string(u)) {
			t.Fatalf("ParseUsername(%q) = %q, which breaks the rule", in, u)
		}
		if !strings.EqualFold(string(u), in) || len(u) != len(in) {
			t.Fatalf("ParseUsername(%q) = %q is not the input lower-cased", in, u)
		}
		if again, err := account.ParseUsername(string(u)); err != nil || again != u {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, u, again, err)
		}
	})
}

func TestLoginAs(t *testing.T) {
	ctx := context.Background()
	s, h := guardService(t, 2, 1)
	for _, tc := range []struct {
		authzid string
		want    error
	}{
		{"", nil},
		{"u00", nil},
		{"U00@LOCALHOST", nil},
		{"u01", account.ErrAuthzRefused},
	} {
		before := h.count()
		_, err := s.LoginAs(ctx, "k", tc.authzid, "u00", "secret-00")
		if !errors.Is(err, tc.want) {
			t.Errorf("LoginAs(authzid %q) = %v, want %v", tc.authzid, err, tc.want)
		}
		if tc.want != nil && h.count() != before {
			t.Errorf("a refused authzid reached the hasher")
		}
	}
	// The refused authzid spent one of two tokens: one more failure spends
	// the budget.
	if _, err := s.LoginAs(ctx, "k", "u01", "u00", "secret-00"); !errors.Is(err, account.ErrAuthzRefused) {
		t.Fatal(err)
	}
	if _, err := s.Login(ctx, "k", "u00", "secret-00"); !errors.Is(err, account.ErrThrottled) {
		t.Errorf("Login after two refused authzids = %v, want ErrThrottled", err)
	}
}
