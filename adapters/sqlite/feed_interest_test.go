package sqlite

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailroom/adapters/storetest"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// owners is a hand-written Interest: a set of watched owners.
type owners struct {
	mu  sync.Mutex
	set map[account.ID]bool
}

func (o *owners) Any() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.set) > 0
}

func (o *owners) Wants(owner account.ID) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.set[owner]
}

func (o *owners) watch(owner account.ID, on bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.set == nil {
		o.set = map[account.ID]bool{}
	}
	if on {
		o.set[owner] = true
	} else {
		delete(o.set, owner)
	}
}

// waitPast waits until the feed's poller has looked at every entry up to id
// (fanned it out or skipped it).
func waitPast(t *testing.T, f *Feed, id mail.EntryID) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		last := f.last
		f.mu.Unlock()
		if last >= id {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("feed at entry %d, want %d", last, id)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFeedInterestReadsOnlyWhatIsWatched(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	carol := mkAccount(t, s, "carol")
	f := s.Feed(FeedConfig{PollInterval: time.Hour}) // only Notify makes it look
	in := &owners{}
	ch := f.SubscribeInterest(ctx, in)

	var newest mail.EntryID
	for range 3 {
		metas := deliver(t, s, alice, "nobody watches", bob)
		f.Notify(metas)
		newest = metas[len(metas)-1].ID
	}
	waitPast(t, f, newest)
	if rows, metas := f.rowReads.Load(), f.metaReads.Load(); rows != 0 || metas != 0 {
		t.Fatalf("with no interest the feed ran %d entry and %d metadata queries, want none", rows, metas)
	}
	storetest.ExpectNothing(t, ch, 20*time.Millisecond)

	// Interest in bob: his new entries arrive, not the ones committed while
	// nobody watched, nor alice's sent copy.
	in.watch(bob.ID, true)
	metas := deliver(t, s, alice, "bob watches", bob)
	f.Notify(metas)
	if got := storetest.Receive(t, ch, 1, 5*time.Second); got[0].ID != metas[0].ID || got[0].Subject != "bob watches" {
		t.Fatalf("got %+v, want bob's entry %d", got[0], metas[0].ID)
	}
	waitPast(t, f, metas[1].ID)
	storetest.ExpectNothing(t, ch, 20*time.Millisecond)
	if f.metaReads.Load() == 0 {
		t.Fatal("no metadata query for a watched owner's entry")
	}

	// Mail for carol, whom nobody watches: ids and owners are read, no metadata.
	rows0, metas0 := f.rowReads.Load(), f.metaReads.Load()
	metas = deliver(t, s, alice, "for carol", carol)
	f.Notify(metas)
	waitPast(t, f, metas[1].ID)
	if f.rowReads.Load() == rows0 || f.metaReads.Load() != metas0 {
		t.Errorf("mail for an unwatched owner: %d entry and %d metadata queries, want some and none",
			f.rowReads.Load()-rows0, f.metaReads.Load()-metas0)
	}
	storetest.ExpectNothing(t, ch, 20*time.Millisecond)

	// Interest gone: nothing is read again.
	in.watch(bob.ID, false)
	rows0, metas0 = f.rowReads.Load(), f.metaReads.Load()
	metas = deliver(t, s, alice, "nobody again", bob)
	f.Notify(metas)
	waitPast(t, f, metas[1].ID)
	if f.rowReads.Load() != rows0 || f.metaReads.Load() != metas0 {
		t.Errorf("interest gone: %d entry and %d metadata queries, want none",
			f.rowReads.Load()-rows0, f.metaReads.Load()-metas0)
	}
}

// TestFeedInterestNoGap turns interest in bob on and off while deliveries
// keep coming: every entry of bob's whose Deliver began after his interest
// was declared, and ended before it was withdrawn (once the feed had read
// past it), arrives, in id order.
func TestFeedInterestNoGap(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	f := s.Feed(FeedConfig{PollInterval: time.Millisecond, Buffer: 100_000})
	in := &owners{}
	ch := f.SubscribeInterest(ctx, in)

	var epoch atomic.Int64   // odd while bob is watched
	var counted atomic.Int64 // deliveries that began and ended in a window
	stop := make(chan struct{})
	required := make(chan []mail.EntryID, 1)
	go func() {
		var req []mail.EntryID
		defer func() { required <- req }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			e := epoch.Load()
			metas, err := s.Deliver(ctx, newMsg("x", nil), []mail.NewEntry{
				{Owner: bob.ID, Folder: mail.Inbox}, {Owner: alice.ID, Folder: mail.Sent}})
			if err != nil {
				t.Error(err)
				return
			}
			if e%2 == 1 && epoch.Load() == e {
				req = append(req, metas[0].ID)
				counted.Add(1)
			}
		}
	}()
	for range 10 {
		in.watch(bob.ID, true)
		epoch.Add(1)
		// The window stays open until a delivery ran wholly inside it
		// (under -race on a busy machine one fsync'd delivery can take
		// longer than the 15 ms this waits at least), or 5 s.
		before, deadline := counted.Load(), time.Now().Add(5*time.Second)
		time.Sleep(15 * time.Millisecond)
		for counted.Load() == before && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		// Interest is asked when an entry is read, so it is withdrawn only
		// once the feed has read every entry committed before the window
		// closed: those must all arrive.
		epoch.Add(1)
		newest, err := s.newestEntry(ctx)
		if err != nil {
			t.Fatal(err)
		}
		waitPast(t, f, newest)
		in.watch(bob.ID, false)
		time.Sleep(15 * time.Millisecond)
	}
	close(stop)
	want := <-required
	if len(want) == 0 {
		t.Fatal("no delivery ran while bob was watched")
	}

	got := map[mail.EntryID]bool{}
	var prev mail.EntryID
	timeout := time.After(5 * time.Second)
	for _, id := range want {
		for !got[id] {
			select {
			case m, ok := <-ch:
				if !ok {
					t.Fatal("channel closed")
				}
				if m.ID <= prev || m.Owner != bob.ID {
					t.Fatalf("got entry %d of owner %d after %d", m.ID, m.Owner, prev)
				}
				prev = m.ID
				got[m.ID] = true
			case <-timeout:
				t.Fatalf("entry %d never arrived (%d entries did; %d are required)", id, len(got), len(want))
			}
		}
	}
	t.Logf("%d required entries arrived, %d entries in all", len(want), len(got))
}
