package account_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"mailroom/domain/account"
)

// memStore is an in-memory account.Store keyed by normalised name.
type memStore struct {
	byName map[account.Username]account.Account
	nextID account.ID
}

func newMemStore() *memStore { return &memStore{byName: map[account.Username]account.Account{}} }

func (m *memStore) CreateAccount(_ context.Context, name account.Username, hash string, created time.Time) (account.Account, error) {
	if _, ok := m.byName[name]; ok {
		return account.Account{}, account.ErrUsernameTaken
	}
	m.nextID++
	a := account.Account{ID: m.nextID, Username: name, PasswordHash: hash, Created: created}
	m.byName[name] = a
	return a, nil
}

func (m *memStore) AccountByName(_ context.Context, name account.Username) (account.Account, error) {
	if a, ok := m.byName[name]; ok {
		return a, nil
	}
	return account.Account{}, account.ErrNoSuchUser
}

func (m *memStore) AccountByID(_ context.Context, id account.ID) (account.Account, error) {
	for _, a := range m.byName {
		if a.ID == id {
			return a, nil
		}
	}
	return account.Account{}, account.ErrNoSuchUser
}

func (m *memStore) Accounts(context.Context) ([]account.Account, error) {
	var out []account.Account
	for _, a := range m.byName {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	return out, nil
}

func (m *memStore) SetPasswordHash(ctx context.Context, id account.ID, hash string) error {
	a, err := m.AccountByID(ctx, id)
	if err != nil {
		return err
	}
	a.PasswordHash = hash
	m.byName[a.Username] = a
	return nil
}

func (m *memStore) DeleteAccount(ctx context.Context, id account.ID) error {
	a, err := m.AccountByID(ctx, id)
	if err != nil {
		return err
	}
	delete(m.byName, a.Username)
	return nil
}

// fakeHasher prefixes "h:" and counts calls. failHash makes that many of the
// next Hash calls fail.
type fakeHasher struct {
	hashes, verifies int
	lastHashed       string // the password Hash last saw
	lastVerified     string // the password Verify last saw
	failHash         int
}

var errHasher = errors.New("hasher down")

func (h *fakeHasher) Hash(_ context.Context, p string) (string, error) {
	h.hashes++
	h.lastHashed = p
	if h.failHash > 0 {
		h.failHash--
		return "", errHasher
	}
	return "h:" + p, nil
}

func (h *fakeHasher) Verify(_ context.Context, hash, p string) (bool, error) {
	h.verifies++
	h.lastVerified = p
	if !strings.HasPrefix(hash, "h:") {
		return false, errors.New("malformed hash")
	}
	return hash == "h:"+p, nil
}

var testNow = time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 3600))

func newService(t *testing.T, domain string) (*account.Service, *memStore, *fakeHasher) {
	t.Helper()
	st, h := newMemStore(), &fakeHasher{}
	return account.NewService(st, h, account.Config{Domain: domain}, func() time.Time { return testNow }), st, h
}

// mustRegister registers name with password and resets the hasher's counters.
func mustRegister(t *testing.T, s *account.Service, h *fakeHasher, name, password string) account.Account {
	t.Helper()
	a, err := s.Register(context.Background(), name, password)
	if err != nil {
		t.Fatalf("Register(%q): %v", name, err)
	}
	h.hashes, h.verifies = 0, 0
	return a
}

func TestParseUsername(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want account.Username // "" means ErrBadUsername
	}{
		{"alice", "alice"},
		{"ALICE", "alice"},
		{"AlIcE", "alice"},
		{"a", "a"},
		{"0day", "0day"},
		{"a.b-c_d9", "a.b-c_d9"},
		{"alice.", "alice."},
		{strings.Repeat("x", 64), account.Username(strings.Repeat("x", 64))},
		{strings.Repeat("X", 64), account.Username(strings.Repeat("x", 64))},

		{"", ""},
		{strings.Repeat("x", 65), ""},
		{".alice", ""},
		{"-alice", ""},
		{"_alice", ""},
		{"al ice", ""},
		{" alice", ""},
		{"alice ", ""},
		{"alice\n", ""},
		{"alice\x00", ""},
		{"alice@localhost", ""},
		{"al+ice", ""},
		{"alïce", ""},
		{"élise", ""},
		{"ali\u00a0ce", ""},
		// ToLower maps these to ASCII; they must still be refused.
		{"\u212Aate", ""}, // KELVIN SIGN
		{"\u0130van", ""}, // LATIN CAPITAL LETTER I WITH DOT ABOVE
		{"\xff", ""},
	} {
		got, err := account.ParseUsername(tc.in)
		if tc.want == "" {
			if !errors.Is(err, account.ErrBadUsername) {
				t.Errorf("ParseUsername(%q) = %q, %v; want ErrBadUsername", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseUsername(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseName(t *testing.T) {
	s, _, _ := newService(t, "Example.ORG")
	if got := s.Domain(); got != "example.org" {
		t.Errorf("Domain() = %q, want example.org", got)
	}
	for _, tc := range []struct {
		in   string
		want account.Username
	}{
		{"alice", "alice"},
		{"Alice", "alice"},
		{"alice@example.org", "alice"},
		{"ALICE@EXAMPLE.ORG", "alice"},
		{"alice@Example.Org", "alice"},

		{"alice@localhost", ""},
		{"alice@other.org", ""},
		{"alice@example.org.evil", ""},
		{"alice@", ""},
		{"@example.org", ""},
		{"a@b@example.org", ""},
		{".alice@example.org", ""},
		{"", ""},
	} {
		got, err := s.ParseName(tc.in)
		if tc.want == "" {
			if !errors.Is(err, account.ErrBadUsername) {
				t.Errorf("ParseName(%q) = %q, %v; want ErrBadUsername", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestDefaultDomainAndAddress(t *testing.T) {
	s, _, h := newService(t, "")
	if s.Domain() != "localhost" {
		t.Fatalf("Domain() = %q, want localhost", s.Domain())
	}
	a := mustRegister(t, s, h, "Bob", "password1")
	if got := s.AddressOf(a).String(); got != "bob@localhost" {
		t.Errorf("AddressOf = %q, want bob@localhost", got)
	}
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		name string
		pw   string
		ok   bool
	}{
		{"empty", "", false},
		{"7 chars", "1234567", false},
		{"8 chars", "12345678", true},
		{"8 two-byte chars", strings.Repeat("é", 8), true},
		{"7 two-byte chars (14 bytes)", strings.Repeat("é", 7), false},
		{"8 four-byte chars", strings.Repeat("😀", 8), true},
		{"1024 bytes", strings.Repeat("a", 1024), true},
		{"1024 bytes of two-byte chars", strings.Repeat("é", 512), true},
		{"1025 bytes", strings.Repeat("a", 1025), false},
		{"1026 bytes of two-byte chars", strings.Repeat("é", 513), false},
		{"a passphrase with spaces", "correct horse battery", true},
		{"tab", "tab\tbed-password", false},
		{"CR LF", "line\r\nbreak-password", false},
		{"NUL", "nul\x00password", false},
		{"DEL", "del\x7fpassword", false},
		{"C1 control", "c1\u0085password", false},
		{"invalid UTF-8", "bad\xffutf8-password", false},
	} {
		err := account.CheckPassword(tc.pw)
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, account.ErrWeakPassword) {
			t.Errorf("%s: CheckPassword = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestRegister(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		username string
		password string
		wantErr  error
		wantName account.Username
	}{
		{"ok", "carol", "password1", nil, "carol"},
		{"upper case is normalised", "CaRoL", "password1", nil, "carol"},
		{"taken same case", "alice", "password1", account.ErrUsernameTaken, ""},
		{"taken other case", "ALICE", "password1", account.ErrUsernameTaken, ""},
		{"bad username", ".carol", "password1", account.ErrBadUsername, ""},
		{"unicode username", "\u212Aarl", "password1", account.ErrBadUsername, ""},
		{"7 chars", "carol", "1234567", account.ErrWeakPassword, ""},
		{"8 multi-byte chars", "carol", strings.Repeat("ü", 8), nil, "carol"},
		{"exactly 1024 bytes", "carol", strings.Repeat("p", 1024), nil, "carol"},
		{"1025 bytes", "carol", strings.Repeat("p", 1025), account.ErrWeakPassword, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, st, h := newService(t, "localhost")
			alice := mustRegister(t, s, h, "alice", "alice-secret")

			got, err := s.Register(ctx, tc.username, tc.password)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Register = %+v, %v; want %v", got, err, tc.wantErr)
			}
			if a, _ := st.AccountByName(ctx, "alice"); a != alice {
				t.Errorf("existing account changed: %+v, was %+v", a, alice)
			}
			if tc.wantErr != nil {
				if h.hashes != 0 {
					t.Errorf("refused registration hashed %d times", h.hashes)
				}
				if len(st.byName) != 1 {
					t.Errorf("store has %d accounts, want 1", len(st.byName))
				}
				return
			}
			if got.Username != tc.wantName {
				t.Errorf("Username = %q, want %q", got.Username, tc.wantName)
			}
			// Never truncated: the hasher saw the whole password.
			if h.lastHashed != tc.password || got.PasswordHash != "h:"+tc.password {
				t.Errorf("hasher saw %d bytes, hash is %d bytes; password is %d bytes",
					len(h.lastHashed), len(got.PasswordHash), len(tc.password))
			}
			if !got.Created.Equal(testNow) || got.Created.Location() != time.UTC {
				t.Errorf("Created = %v, want %v in UTC", got.Created, testNow)
			}
			if _, err := s.Authenticate(ctx, tc.username, tc.password); err != nil {
				t.Errorf("Authenticate after Register: %v", err)
			}
		})
	}
}

// raceStore reports no account on lookup but a taken name on create, as a
// store does when another registration wins between the two calls.
type raceStore struct{ *memStore }

func (raceStore) AccountByName(context.Context, account.Username) (account.Account, error) {
	return account.Account{}, account.ErrNoSuchUser
}

func TestRegisterStoreDecidesTaken(t *testing.T) {
	st := newMemStore()
	s := account.NewService(raceStore{st}, &fakeHasher{}, account.Config{}, nil)
	if _, err := s.Register(context.Background(), "dave", "password1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Register(context.Background(), "DAVE", "password2"); !errors.Is(err, account.ErrUsernameTaken) {
		t.Fatalf("second Register = %v, want ErrUsernameTaken", err)
	}
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("L", 2000)
	for _, tc := range []struct {
		name     string
		username string
		password string
		wantErr  error
	}{
		{"ok", "alice", "alice-secret", nil},
		{"any case", "ALICE", "alice-secret", nil},
		{"name@domain", "alice@localhost", "alice-secret", nil},
		{"name@DOMAIN", "Alice@LocalHost", "alice-secret", nil},
		{"wrong password", "alice", "alice-secreT", account.ErrBadCredentials},
		{"empty password", "alice", "", account.ErrBadCredentials},
		{"unknown user", "mallory", "alice-secret", account.ErrBadCredentials},
		{"malformed username", "-alice", "alice-secret", account.ErrBadCredentials},
		{"empty username", "", "alice-secret", account.ErrBadCredentials},
		{"other domain", "alice@example.org", "alice-secret", account.ErrBadCredentials},
		{"over-long password", "alice", long, account.ErrBadCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, h := newService(t, "localhost")
			alice := mustRegister(t, s, h, "alice", "alice-secret")

			got, err := s.Authenticate(ctx, tc.username, tc.password)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Authenticate = %+v, %v; want %v", got, err, tc.wantErr)
			}
			if tc.wantErr == nil && got != alice {
				t.Errorf("Authenticate = %+v, want %+v", got, alice)
			}
			if tc.wantErr != nil && got != (account.Account{}) {
				t.Errorf("failed Authenticate returned %+v", got)
			}
			// Same cost on every path: exactly one verification, of the
			// password as given.
			if h.verifies != 1 {
				t.Errorf("Verify called %d times, want 1", h.verifies)
			}
			if h.lastVerified != tc.password {
				t.Errorf("Verify saw a %d-byte password, want %d bytes", len(h.lastVerified), len(tc.password))
			}
		})
	}
}

func TestAuthenticateUnknownUserHashesDummyOnce(t *testing.T) {
	s, _, h := newService(t, "")
	for range 3 {
		if _, err := s.Authenticate(context.Background(), "nobody", "whatever1"); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("Authenticate = %v, want ErrBadCredentials", err)
		}
	}
	if h.hashes != 1 || h.verifies != 3 {
		t.Errorf("hashes=%d verifies=%d, want 1 and 3", h.hashes, h.verifies)
	}
}

// After Warm, the first unknown-user login hashes nothing: it costs one
// Verify, like a wrong password.
func TestWarmMakesTheFirstUnknownLoginCostOneVerify(t *testing.T) {
	s, _, h := newService(t, "")
	if err := s.Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
	hashes := h.hashes
	if _, err := s.Authenticate(context.Background(), "nobody", "whatever1"); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("Authenticate = %v, want ErrBadCredentials", err)
	}
	if h.hashes != hashes || h.verifies != 1 {
		t.Errorf("first unknown login after Warm: %d more hashes, %d verifies; want 0 and 1", h.hashes-hashes, h.verifies)
	}
}

// A failed dummy hash must not stick: the next unknown-user login works.
func TestAuthenticateDummyFailureIsRetried(t *testing.T) {
	s, _, h := newService(t, "")
	h.failHash = 1
	if _, err := s.Authenticate(context.Background(), "nobody", "whatever1"); !errors.Is(err, errHasher) {
		t.Fatalf("first Authenticate = %v, want the hasher's error", err)
	}
	if _, err := s.Authenticate(context.Background(), "nobody", "whatever1"); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("second Authenticate = %v, want ErrBadCredentials", err)
	}
}

func TestLookupAndByID(t *testing.T) {
	ctx := context.Background()
	s, _, h := newService(t, "localhost")
	alice := mustRegister(t, s, h, "alice", "alice-secret")
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"alice", true},
		{"ALICE", true},
		{"alice@LOCALHOST", true},
		{"bob", false},
		{"alice@example.org", false},
		{"al ice", false},
	} {
		got, err := s.Lookup(ctx, tc.in)
		if tc.ok && (err != nil || got != alice) {
			t.Errorf("Lookup(%q) = %+v, %v; want alice", tc.in, got, err)
		}
		if !tc.ok && !errors.Is(err, account.ErrNoSuchUser) {
			t.Errorf("Lookup(%q) = %+v, %v; want ErrNoSuchUser", tc.in, got, err)
		}
	}
	if got, err := s.ByID(ctx, alice.ID); err != nil || got != alice {
		t.Errorf("ByID = %+v, %v", got, err)
	}
	if _, err := s.ByID(ctx, alice.ID+1); !errors.Is(err, account.ErrNoSuchUser) {
		t.Errorf("ByID(unknown) = %v, want ErrNoSuchUser", err)
	}
}

func TestSetPasswordDeleteList(t *testing.T) {
	ctx := context.Background()
	s, _, h := newService(t, "localhost")
	mustRegister(t, s, h, "bob", "bob-secret")
	mustRegister(t, s, h, "alice", "alice-secret")

	if err := s.SetPassword(ctx, "ALICE", "short"); !errors.Is(err, account.ErrWeakPassword) {
		t.Errorf("SetPassword(short) = %v, want ErrWeakPassword", err)
	}
	if err := s.SetPassword(ctx, "nobody", "long-enough"); !errors.Is(err, account.ErrNoSuchUser) {
		t.Errorf("SetPassword(nobody) = %v, want ErrNoSuchUser", err)
	}
	if err := s.SetPassword(ctx, "alice@localhost", "new-secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "alice", "alice-secret"); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("old password still works: %v", err)
	}
	if _, err := s.Authenticate(ctx, "alice", "new-secret"); err != nil {
		t.Errorf("new password: %v", err)
	}

	list, err := s.List(ctx)
	if err != nil || len(list) != 2 || list[0].Username != "alice" || list[1].Username != "bob" {
		t.Errorf("List = %+v, %v", list, err)
	}
	if err := s.Delete(ctx, "BOB"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup(ctx, "bob"); !errors.Is(err, account.ErrNoSuchUser) {
		t.Errorf("Lookup after Delete = %v", err)
	}
	if err := s.Delete(ctx, "bob"); !errors.Is(err, account.ErrNoSuchUser) {
		t.Errorf("second Delete = %v, want ErrNoSuchUser", err)
	}
}

func TestNewServicePanicsOnNilDependency(t *testing.T) {
	for _, tc := range []struct {
		name   string
		store  account.Store
		hasher account.Hasher
	}{
		{"nil store", nil, &fakeHasher{}},
		{"nil hasher", newMemStore(), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			account.NewService(tc.store, tc.hasher, account.Config{}, nil)
		})
	}
}
