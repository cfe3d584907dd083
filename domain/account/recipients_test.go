package account_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"mailroom/domain/account"
)

// countingStore counts AccountByName calls.
type countingStore struct {
	*memStore
	byName int
}

func (c *countingStore) AccountByName(ctx context.Context, name account.Username) (account.Account, error) {
	c.byName++
	return c.memStore.AccountByName(ctx, name)
}

func TestRecipientReusesRecentAnswers(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{memStore: newMemStore()}
	now := testNow
	svc := account.NewService(st, &fakeHasher{}, account.Config{Domain: "example.test"}, func() time.Time { return now })
	alice, err := svc.Register(ctx, "alice", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	st.byName = 0

	for i, name := range []string{"alice", "Alice", "alice@example.test", "ALICE@EXAMPLE.TEST"} {
		got, err := svc.Recipient(ctx, name)
		if err != nil || got.ID != alice.ID || got.Username != alice.Username {
			t.Fatalf("Recipient(%q) = %+v, %v; want alice", name, got, err)
		}
		if got.PasswordHash != "" {
			t.Fatalf("Recipient(%q) gave a password hash", name)
		}
		if i == 0 && st.byName != 1 {
			t.Fatalf("first lookup: %d store reads, want 1", st.byName)
		}
	}
	if st.byName != 1 {
		t.Fatalf("four lookups of one name within the TTL: %d store reads, want 1", st.byName)
	}

	now = now.Add(3 * time.Second) // past the TTL: read again
	if _, err := svc.Recipient(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if st.byName != 2 {
		t.Fatalf("after the TTL: %d store reads, want 2", st.byName)
	}
}

func TestRecipientNeverRemembersNoSuchUser(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{memStore: newMemStore()}
	svc := account.NewService(st, &fakeHasher{}, account.Config{}, func() time.Time { return testNow })
	if _, err := svc.Recipient(ctx, "bob"); !errors.Is(err, account.ErrNoSuchUser) {
		t.Fatalf("Recipient(bob) = %v, want ErrNoSuchUser", err)
	}
	// bob registers (on this or any host sharing the store): found at once.
	bob, err := svc.Register(ctx, "bob", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.Recipient(ctx, "bob")
	if err != nil || got.ID != bob.ID {
		t.Fatalf("Recipient(bob) after registering = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "bob@elsewhere.test", "b o b"} {
		if _, err := svc.Recipient(ctx, bad); !errors.Is(err, account.ErrNoSuchUser) {
			t.Errorf("Recipient(%q) = %v, want ErrNoSuchUser", bad, err)
		}
	}
}

// TestRecipientCacheStaysBounded: many distinct names never grow the cache
// past its bound (measured by store reads coming back after a flush).
func TestRecipientCacheStaysBounded(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{memStore: newMemStore()}
	svc := account.NewService(st, &fakeHasher{}, account.Config{}, func() time.Time { return testNow })
	const n = 5000 // over the bound of 4096
	for i := range n {
		if _, err := st.CreateAccount(ctx, account.Username(name(i)), "h:x", testNow); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if _, err := svc.Recipient(ctx, name(i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := account.CachedRecipients(svc); got > 4096 {
		t.Fatalf("cache holds %d entries, bound 4096", got)
	}
}

func name(i int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := []byte("user")
	for ; i > 0 || len(b) == 4; i /= 26 {
		b = append(b, letters[i%26])
	}
	return string(b)
}
