package sqlite

import (
	"context"
	"testing"
	"time"

	"mailroom/adapters/storetest"
	"mailroom/domain/mail"
)

// waitWakes waits until the feed's poller has woken n more times than at
// from: it has looked at least once since.
func waitWakes(t *testing.T, f *Feed, from int64, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f.wakes.Load() < from+n {
		if time.Now().After(deadline) {
			t.Fatalf("the poller woke %d times, want %d", f.wakes.Load()-from, n)
		}
		f.Notify(nil)
		time.Sleep(time.Millisecond)
	}
}

// TestChangesInterest: with no interest the change log is never read (nor
// data_version: no other subscriber needs it); interest that appears while
// the poller sleeps still gets the changes committed after it, by
// catching up by sequence.
func TestChangesInterest(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	f := s.Feed(FeedConfig{PollInterval: time.Hour}) // only Notify makes it look
	in := &owners{}
	ch := f.SubscribeChanges(ctx, in)

	for range 3 {
		metas := deliver(t, s, alice, "nobody watches", bob)
		f.Notify(metas)
	}
	waitWakes(t, f, f.wakes.Load(), 3)
	if n := f.changeReads.Load(); n != 0 {
		t.Fatalf("with no interest the feed read the change log %d times, want 0", n)
	}
	select {
	case c := <-ch:
		t.Fatalf("change %+v with no interest", c)
	default:
	}

	// Interest appears; a delivery commits before the poller looks again.
	in.watch(bob.ID, true)
	metas := deliver(t, s, alice, "bob watches", bob)
	f.Notify(nil)
	for {
		c := storetest.Receive(t, ch, 1, 5*time.Second)[0]
		if c.Meta.Owner != bob.ID {
			t.Fatalf("change for owner %d, only bob is watched", c.Meta.Owner)
		}
		if c.Meta.ID == metas[0].ID {
			if c.Kind != mail.ChangeNew || c.Meta.Subject != "bob watches" || c.Meta.UID != metas[0].UID {
				t.Fatalf("change %+v, want bob's new entry %+v", c, metas[0])
			}
			break
		}
		// Older changes may come first (committed while nobody watched).
		if c.Meta.ID > metas[0].ID {
			t.Fatalf("change %+v before bob's entry %d", c, metas[0].ID)
		}
	}
	if f.changeReads.Load() == 0 {
		t.Fatal("no change-log read with interest")
	}

	// Interest gone: nothing is read again.
	in.watch(bob.ID, false)
	reads := f.changeReads.Load()
	f.Notify(deliver(t, s, alice, "nobody again", bob))
	waitWakes(t, f, f.wakes.Load(), 2)
	if n := f.changeReads.Load() - reads; n != 0 {
		t.Errorf("interest gone: %d change-log reads, want 0", n)
	}
}

// TestIdleFeedReadsNothing: subscribers of both kinds, nobody watching:
// deliveries cost the feed no query at all, and it still knows where
// interest would start.
func TestIdleFeedReadsNothing(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	f := s.Feed(FeedConfig{PollInterval: time.Millisecond})
	entries, changes := &owners{}, &owners{}
	ech := f.SubscribeInterest(ctx, entries)
	f.SubscribeChanges(ctx, changes)
	wakes := f.wakes.Load()
	var metas []mail.Meta
	for range 5 {
		metas = deliver(t, s, alice, "idle", bob)
		f.Notify(metas)
	}
	waitWakes(t, f, wakes, 20)
	waitPast(t, f, metas[len(metas)-1].ID)
	if v, r, m, c := f.versionReads.Load(), f.rowReads.Load(), f.metaReads.Load(), f.changeReads.Load(); v+r+m+c != 0 {
		t.Fatalf("idle feed: %d data_version, %d entry, %d metadata, %d change-log reads; want none", v, r, m, c)
	}

	// Interest in bob: his next entry arrives, none of the idle ones.
	entries.watch(bob.ID, true)
	next := deliver(t, s, alice, "watched", bob)
	f.Notify(next)
	got := storetest.Receive(t, ech, 1, 5*time.Second)
	if got[0].ID != next[0].ID {
		t.Fatalf("got entry %d, want %d", got[0].ID, next[0].ID)
	}
}
