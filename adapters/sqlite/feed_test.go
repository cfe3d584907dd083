package sqlite

import (
	"context"
	"testing"
	"time"

	"mailroom/domain/mail"
)

// receive reads n metas from ch or fails after a timeout.
func receive(t *testing.T, ch <-chan mail.Meta, n int) []mail.Meta {
	t.Helper()
	var out []mail.Meta
	timeout := time.After(5 * time.Second)
	for len(out) < n {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d of %d metas", len(out), n)
			}
			out = append(out, m)
		case <-timeout:
			t.Fatalf("received %d of %d metas", len(out), n)
		}
	}
	return out
}

func expectNothing(t *testing.T, ch <-chan mail.Meta, wait time.Duration) {
	t.Helper()
	select {
	case m, ok := <-ch:
		if ok {
			t.Fatalf("unexpected meta %+v", m)
		}
		t.Fatal("channel closed unexpectedly")
	case <-time.After(wait):
	}
}

func expectClosed(t *testing.T, ch <-chan mail.Meta) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("channel not closed")
		}
	}
}

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
		got := receive(t, ch, 2)
		if got[0].ID != metas[0].ID || got[1].ID != metas[1].ID {
			t.Fatalf("round %d: got %v, want %v", i, ids(got), ids(metas))
		}
		if got[0].Owner != bob.ID || got[0].Folder != mail.Inbox || got[0].Subject != "new" {
			t.Errorf("round %d: meta %+v", i, got[0])
		}
	}
	expectNothing(t, ch, 50*time.Millisecond)
}

func TestFeedAcrossStores(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	a := openAt(t, path, Config{})
	b := openAt(t, path, Config{}) // stands in for another process
	alice := mkAccount(t, b, "alice")
	bob := mkAccount(t, b, "bob")

	// Data written through B is visible through A.
	if got, err := a.AccountByName(ctx, "bob"); err != nil || got.ID != bob.ID {
		t.Fatalf("A sees bob as %+v, %v", got, err)
	}

	f := a.Feed(FeedConfig{PollInterval: 10 * time.Millisecond})
	ch := f.Subscribe(ctx)
	var want []mail.EntryID
	for range 5 {
		want = append(want, ids(deliver(t, b, alice, "via B", bob))...)
	}
	if got := ids(receive(t, ch, len(want))); !equalIDs(got, want) {
		t.Fatalf("A's feed got %v, want %v", got, want)
	}
	list, err := a.List(ctx, bob.ID, mail.Inbox, 0, 50)
	if err != nil || len(list) != 5 {
		t.Fatalf("A lists %d of bob's entries, %v; want 5", len(list), err)
	}
}

func equalIDs(a, b []mail.EntryID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
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
	for range n {
		if _, err := tx.Exec(`INSERT INTO entries (owner, message_id, folder, rcpts, received) VALUES (?, ?, 'inbox', '[]', 0)`, alice.ID, msgID); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for i, ch := range subs {
		got := receive(t, ch, n)
		for j := 1; j < len(got); j++ {
			if got[j].ID != got[j-1].ID+1 {
				t.Fatalf("subscriber %d: id %d after %d", i, got[j].ID, got[j-1].ID)
			}
		}
	}
}

func TestFeedDropsSlowSubscriber(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	f := s.Feed(FeedConfig{PollInterval: 5 * time.Millisecond, Buffer: 2})
	slow := f.Subscribe(ctx)
	fast := f.Subscribe(ctx)

	var want []mail.EntryID
	for range 3 {
		metas := deliver(t, s, alice, "x", bob)
		want = append(want, ids(metas)...)
		if got := ids(receive(t, fast, 2)); !equalIDs(got, ids(metas)) {
			t.Fatalf("fast got %v, want %v", got, ids(metas))
		}
	}
	// slow never read: it got its 2 buffered entries, then was dropped.
	var got []mail.EntryID
	for m := range slow {
		got = append(got, m.ID)
	}
	if !equalIDs(got, want[:2]) {
		t.Errorf("slow got %v before being dropped, want %v", got, want[:2])
	}
}

func TestFeedUnsubscribeAndClose(t *testing.T) {
	s := newStore(t)
	f := s.Feed(FeedConfig{})

	ctx, cancel := context.WithCancel(context.Background())
	ch := f.Subscribe(ctx)
	cancel()
	expectClosed(t, ch)

	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	expectClosed(t, f.Subscribe(done))

	open := f.Subscribe(context.Background())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, open)
	expectClosed(t, f.Subscribe(context.Background()))
	expectClosed(t, s.Feed(FeedConfig{}).Subscribe(context.Background()))
}
