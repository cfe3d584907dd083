package sqlite

import (
	"context"
	"testing"
	"time"

	"mailroom/adapters/storetest"
	"mailroom/domain/mail"
)

func ids(metas []mail.Meta) []mail.EntryID {
	var out []mail.EntryID
	for _, m := range metas {
		out = append(out, m.ID)
	}
	return out
}

func TestFeedDeliversNewEntriesInOrder(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	deliver(t, s, alice, "old", bob) // before Subscribe: not delivered

	// A long poll interval: only Notify can make this feed look quickly.
	f := s.Feed(FeedConfig{PollInterval: time.Hour})
	ch := f.Subscribe(ctx)
	for i := range 3 {
		metas := deliver(t, s, alice, "new", bob)
		f.Notify(metas)
		got := storetest.Receive(t, ch, 2, 5*time.Second)
		if got[0].ID != metas[0].ID || got[1].ID != metas[1].ID {
			t.Fatalf("round %d: got %v, want %v", i, ids(got), ids(metas))
		}
		if got[0].Owner != bob.ID || got[0].Folder != mail.Inbox || got[0].Subject != "new" {
			t.Errorf("round %d: meta %+v", i, got[0])
		}
	}
	storetest.ExpectNothing(t, ch, 50*time.Millisecond)
}

func TestFeedManySubscribersAndBatches(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	alice := mkAccount(t, s, "alice")
	f := s.Feed(FeedConfig{PollInterval: 5 * time.Millisecond, Buffer: 3000})
	subs := []<-chan mail.Meta{f.Subscribe(ctx), f.Subscribe(ctx), f.Subscribe(ctx)}

	// More entries than one catch-up query reads, committed in one go.
	const n = feedBatch + 500
	tx, err := s.DB().Begin()
	if err != nil {
		t.Fatal(err)
	}
	res, err := tx.Exec(`INSERT INTO messages (size, from_addr, subject, received, raw) VALUES (1, 'a', 's', 0, x'00')`)
	if err != nil {
		t.Fatal(err)
	}
	msgID, _ := res.LastInsertId()
	var inbox int64
	if err := tx.QueryRow(`SELECT id FROM folders WHERE owner = ? AND name = 'inbox'`, alice.ID).Scan(&inbox); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := tx.Exec(`INSERT INTO entries (owner, folder_id, uid, message_id, rcpts, received) VALUES (?, ?, ?, ?, '[]', 0)`,
			alice.ID, inbox, i+1, msgID); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for i, ch := range subs {
		got := storetest.Receive(t, ch, n, 5*time.Second)
		for j := 1; j < len(got); j++ {
			if got[j].ID != got[j-1].ID+1 {
				t.Fatalf("subscriber %d: id %d after %d", i, got[j].ID, got[j-1].ID)
			}
		}
	}
}

// TestFeedOfClosedStore: a Feed made after the Store's Close is closed
// from the start (the contract covers a feed made before).
func TestFeedOfClosedStore(t *testing.T) {
	s := newStore(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	storetest.ExpectClosed(t, s.Feed(FeedConfig{}).Subscribe(context.Background()), 5*time.Second)
}
