package argon2

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// cheap parameters keep tests fast; the format is the same.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func hash(t *testing.T, h *Hasher, password string) string {
	t.Helper()
	s, err := h.Hash(context.Background(), password)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return s
}

func TestDefaultParams(t *testing.T) {
	want := Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if got := DefaultParams(); got != want {
		t.Errorf("DefaultParams() = %+v, want %+v", got, want)
	}
	if got := New(Params{}, 0).Params(); got != want {
		t.Errorf("New(Params{}).Params() = %+v, want %+v", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := New(cheap, 0)
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	tests := []struct {
		name, password, other string
	}{
		{"ascii", "correct horse battery staple", "correct horse battery stapler"},
		{"unicode", "pässwörd-ünïcödé", "passwort-unicode"},
		{"empty", "", " "},
		{"long", strings.Repeat("x", 1024), strings.Repeat("x", 1023)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := hash(t, h, tt.password)
			if !phc.MatchString(s) {
				t.Errorf("hash %q is not the expected PHC form", s)
			}
			if s2 := hash(t, h, tt.password); s2 == s {
				t.Error("two hashes of one password are equal: salt not random")
			}
			for _, c := range []struct {
				password string
				want     bool
			}{{tt.password, true}, {tt.other, false}} {
				ok, err := h.Verify(ctx, s, c.password)
				if err != nil || ok != c.want {
					t.Errorf("Verify(%q) = %v, %v; want %v, nil", c.password, ok, err, c.want)
				}
			}
		})
	}
}

// TestReferenceVector checks interoperability with the reference
// implementation (phc-winner-argon2, test.c, Argon2id v=19).
func TestReferenceVector(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB hash")
	}
	const ref = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	h := New(cheap, 1)
	for _, c := range []struct {
		password string
		want     bool
	}{{"password", true}, {"Password", false}} {
		ok, err := h.Verify(context.Background(), ref, c.password)
		if err != nil || ok != c.want {
			t.Errorf("Verify(ref, %q) = %v, %v; want %v, nil", c.password, ok, err, c.want)
		}
	}
}

func TestParamsReadFromHash(t *testing.T) {
	ctx := context.Background()
	old := New(Params{Memory: 32, Time: 1, Threads: 2, SaltLen: 8, KeyLen: 16}, 0)
	s := hash(t, old, "secret password")
	if !strings.HasPrefix(s, "$argon2id$v=19$m=32,t=1,p=2$") {
		t.Fatalf("hash %q does not carry its parameters", s)
	}
	// A hasher configured otherwise still verifies it, using the string's parameters.
	current := New(Params{Memory: 128, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	ok, err := current.Verify(ctx, s, "secret password")
	if err != nil || !ok {
		t.Fatalf("Verify with other params = %v, %v; want true", ok, err)
	}
	if !current.NeedsRehash(s) {
		t.Error("NeedsRehash(old hash) = false")
	}
	if current.NeedsRehash(hash(t, current, "x")) {
		t.Error("NeedsRehash(own hash) = true")
	}
	if !current.NeedsRehash("garbage") {
		t.Error("NeedsRehash(garbage) = false")
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := New(cheap, 0)
	good := hash(t, h, "password")
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=64,t=1,p=1, salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	tests := []struct{ name, hash string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"no leading $", strings.TrimPrefix(good, "$")},
		{"trailing $", good + "$"},
		{"missing key", strings.Join(parts[:5], "$")},
		{"argon2i", with(1, "argon2i")},
		{"argon2d", with(1, "argon2d")},
		{"version 16", with(2, "v=16")},
		{"no version", with(2, "")},
		{"params reordered", with(3, "t=1,m=64,p=1")},
		{"params missing", with(3, "m=64,t=1")},
		{"params extra", with(3, "m=64,t=1,p=1,x=2")},
		{"param not a number", with(3, "m=sixty,t=1,p=1")},
		{"param negative", with(3, "m=-64,t=1,p=1")},
		{"param leading zero", with(3, "m=064,t=1,p=1")},
		{"param overflow", with(3, "m=4294967296,t=1,p=1")},
		{"t zero", with(3, "m=64,t=0,p=1")},
		{"t huge", with(3, "m=64,t=100000,p=1")},
		{"p zero", with(3, "m=64,t=1,p=0")},
		{"p 256", with(3, "m=4096,t=1,p=256")},
		{"m below 8p", with(3, "m=15,t=1,p=2")},
		{"m huge", with(3, "m=4294967295,t=1,p=1")},
		{"salt padded", with(4, parts[4]+"==")},
		{"salt not base64", with(4, "!!!!!!!!!!!!!!!!!!!!!!")},
		{"salt too short", with(4, "c2FsdA")},
		{"key not base64", with(5, "*"+parts[5][1:])},
		{"key too short", with(5, "a2V5")},
		{"key url alphabet", with(5, strings.Repeat("_", 43))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(context.Background(), tt.hash, "password")
			if !errors.Is(err, ErrMalformed) || ok {
				t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformed", tt.hash, ok, err)
			}
		})
	}
}

func TestConcurrencyBound(t *testing.T) {
	h := New(cheap, 2)
	// Occupy both slots.
	h.sem <- struct{}{}
	h.sem <- struct{}{}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "password"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash with no free slot = %v, want DeadlineExceeded", err)
	}
	good := "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$" + strings.Repeat("A", 43)
	if _, err := h.Verify(ctx, good, "password"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify with no free slot = %v, want DeadlineExceeded", err)
	}

	// Waiters proceed as slots free up, never more than two at once.
	var wg sync.WaitGroup
	results := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := h.Hash(context.Background(), "password")
			results <- err
		})
	}
	time.Sleep(10 * time.Millisecond)
	if len(results) != 0 {
		t.Fatal("a hash ran while every slot was taken")
	}
	<-h.sem
	<-h.sem
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Error(err)
		}
	}
	if len(h.sem) != 0 {
		t.Errorf("%d slots still held after all hashes finished", len(h.sem))
	}
}

func BenchmarkHash(b *testing.B) {
	h := New(DefaultParams(), 0)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHashParallel(b *testing.B) {
	h := New(DefaultParams(), 0)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// OnIdle's function runs once after a burst of hashes has ended, not per
// hash and not before the first.
func TestOnIdle(t *testing.T) {
	h := New(cheap, 2)
	fired := make(chan struct{}, 10)
	h.OnIdle(50*time.Millisecond, func() { fired <- struct{}{} })
	select {
	case <-fired:
		t.Fatal("OnIdle fired before any hash")
	case <-time.After(150 * time.Millisecond):
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if i%2 == 0 {
				hash(t, h, "burst")
			} else if _, err := h.Verify(context.Background(), hash(t, h, "x"), "y"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("OnIdle did not fire after the burst")
	}
	select {
	case <-fired:
		t.Fatal("OnIdle fired twice for one burst")
	case <-time.After(200 * time.Millisecond):
	}
	hash(t, h, "again")
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("OnIdle did not fire after the second burst")
	}
}
