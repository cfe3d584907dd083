package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

var feedTests = []test{
	{"DeliversNewEntriesInOrder", testFeedInOrder},
	{"AcrossStores", testFeedAcrossStores},
	{"ConcurrentDeliveries", testFeedConcurrent},
	{"OneCommitManyEntries", testFeedOneCommitMany},
	{"DropsSlowSubscriber", testFeedDropsSlow},
	{"UnsubscribeAndClose", testFeedUnsubscribeAndClose},
	{"Interest", testFeedInterest},
}

// crossHostLatency is how soon a watcher on one host must see mail that
// another host committed (issue 11).
const crossHostLatency = time.Second

func testFeedInOrder(t *testing.T, s Store) {
	ctx := context.Background()
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	deliver(t, s, alice, "old", bob) // before Subscribe: not delivered

	ch := s.Subscribe(ctx)
	for i := range 3 {
		metas := deliver(t, s, alice, fmt.Sprint("new ", i), bob)
		got := Receive(t, ch, 2, Patience)
		if !reflect.DeepEqual(got, metas) {
			t.Fatalf("round %d: got %+v, want what Deliver gave, %+v", i, got, metas)
		}
	}
	ExpectNothing(t, ch, 100*time.Millisecond)
}

// testFeedAcrossStores plays two hosts sharing one database.
func testFeedAcrossStores(t *testing.T, a Store) {
	ctx := context.Background()
	b := a.Reopen(t)
	alice := mkAccount(t, a, "alice")
	bob := mkAccount(t, a, "bob")

	// Accounts are shared: the same ids, and a name taken on A is taken on B.
	if got, err := b.AccountByName(ctx, "bob"); err != nil || got != bob {
		t.Fatalf("B sees bob as %+v, %v; want %+v", got, err, bob)
	}
	if _, err := b.CreateAccount(ctx, "Alice", "x", t0); !errors.Is(err, account.ErrUsernameTaken) {
		t.Fatalf("B: CreateAccount(Alice) = %v, want ErrUsernameTaken", err)
	}

	ch := b.Subscribe(ctx)
	for i := range 5 {
		metas := deliver(t, a, alice, fmt.Sprint("via A ", i), bob)
		sent := time.Now()
		// Deliver returned, so the mail is committed: B reads it at once.
		if got, err := b.Fetch(ctx, bob.ID, metas[0].ID); err != nil || got.Subject != metas[0].Subject {
			t.Fatalf("B fetches %d as %+v, %v", metas[0].ID, got.Meta, err)
		}
		got := Receive(t, ch, 2, Patience)
		if d := time.Since(sent); d > crossHostLatency {
			t.Errorf("round %d: B's feed took %v, want under %v", i, d, crossHostLatency)
		}
		if !reflect.DeepEqual(got, metas) {
			t.Fatalf("round %d: B's feed got %+v, want %+v", i, got, metas)
		}
	}
	if list, err := b.List(ctx, bob.ID, mail.Inbox, 0, 50); err != nil || len(list) != 5 {
		t.Fatalf("B lists %d of bob's entries, %v; want 5", len(list), err)
	}
}

// collect reads ch until it has n metas or closes, in a goroutine.
func collect(ch <-chan mail.Meta, n int) func() []mail.Meta {
	var out []mail.Meta
	done := make(chan struct{})
	go func() {
		defer close(done)
		timeout := time.After(20 * time.Second)
		for len(out) < n {
			select {
			case m, ok := <-ch:
				if !ok {
					return
				}
				out = append(out, m)
			case <-timeout:
				return
			}
		}
	}()
	return func() []mail.Meta { <-done; return out }
}

// testFeedConcurrent delivers from many goroutines at once, through two
// stores: each subscriber, on either store, gets every entry once, in id
// order, although concurrent deliveries may commit in another order than
// their ids.
func testFeedConcurrent(t *testing.T, a Store) {
	const workers, each = 8, 25
	ctx := context.Background()
	b := a.Reopen(t)
	var accs []account.Account
	for i := range workers {
		accs = append(accs, mkAccount(t, a, fmt.Sprint("user", i)))
	}
	const n = workers * each * 2
	results := []func() []mail.Meta{
		collect(a.Subscribe(ctx), n), collect(a.Subscribe(ctx), n), collect(b.Subscribe(ctx), n),
	}
	var mu sync.Mutex
	var want []mail.EntryID
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			via := []Store{a, b}[w%2]
			for i := range each {
				metas, err := via.Deliver(ctx, newMsg(fmt.Sprint(w, "/", i), nil), []mail.NewEntry{
					{Owner: accs[(w+1)%workers].ID, Folder: mail.Inbox},
					{Owner: accs[w].ID, Folder: mail.Sent, Seen: true},
				})
				if err != nil {
					t.Errorf("Deliver: %v", err)
					return
				}
				mu.Lock()
				want = append(want, ids(metas)...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(want)
	for i, result := range results {
		if got := ids(result()); !slices.Equal(got, want) {
			t.Errorf("subscriber %d got %d entries, want %d in id order; first difference at %d",
				i, len(got), len(want), firstDiff(got, want))
		}
	}
}

func firstDiff(a, b []mail.EntryID) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// testFeedOneCommitMany commits more entries at once than a store reads in
// one go (both read in batches of 1000).
func testFeedOneCommitMany(t *testing.T, s Store) {
	ctx := context.Background()
	alice := mkAccount(t, s, "alice")
	ch := s.Subscribe(ctx)
	const n = 1500
	entries := make([]mail.NewEntry, n)
	for i := range entries {
		entries[i] = mail.NewEntry{Owner: alice.ID, Folder: mail.Inbox}
	}
	metas, err := s.Deliver(ctx, newMsg("many", nil), entries)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(Receive(t, ch, n, Patience)); !slices.Equal(got, ids(metas)) {
		t.Fatalf("got %d entries, want the %d delivered in order; first difference at %d", len(got), n, firstDiff(got, ids(metas)))
	}
}

func testFeedDropsSlow(t *testing.T, s Store) {
	ctx := context.Background()
	alice := mkAccount(t, s, "alice")
	slow := s.Subscribe(ctx)
	// Three rounds pass FeedBuffer; the fourth is fanned out only after
	// the third's fan-out, the one that drops slow, has ended: fast holding
	// it means slow is closed before this test reads it (reading slow while
	// the feed still fans out to it would make room and keep it).
	const rounds, per = 4, FeedBuffer/3 + 1
	fast := collect(s.Subscribe(ctx), rounds*per)
	var want []mail.EntryID
	entries := make([]mail.NewEntry, per)
	for i := range entries {
		entries[i] = mail.NewEntry{Owner: alice.ID, Folder: mail.Inbox}
	}
	for range rounds {
		metas, err := s.Deliver(ctx, newMsg("x", nil), entries)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, ids(metas)...)
	}
	if got := ids(fast()); !slices.Equal(got, want) {
		t.Fatalf("fast subscriber got %d entries, want %d", len(got), len(want))
	}
	// slow never read: it got a buffer's worth, then was dropped (closed).
	var got []mail.EntryID
	deadline := time.After(Patience)
	for open := true; open; {
		select {
		case m, ok := <-slow:
			if open = ok; ok {
				got = append(got, m.ID)
			}
		case <-deadline:
			t.Fatalf("slow subscriber still open after %v, holding %d entries; want it dropped after the first %d",
				Patience, len(got), FeedBuffer)
		}
	}
	if !slices.Equal(got, want[:FeedBuffer]) {
		t.Errorf("slow subscriber got %d entries before being dropped, want the first %d", len(got), FeedBuffer)
	}
}

func testFeedUnsubscribeAndClose(t *testing.T, s Store) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := s.Subscribe(ctx)
	cancel()
	ExpectClosed(t, ch, Patience)

	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	ExpectClosed(t, s.Subscribe(done), Patience)

	open := s.Subscribe(context.Background())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ExpectClosed(t, open, Patience)
	ExpectClosed(t, s.Subscribe(context.Background()), Patience)
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// owners is an Interest in a set of owners that can change.
type owners struct {
	mu sync.Mutex
	in map[account.ID]bool
}

func (o *owners) set(id account.ID, on bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.in[id] = on
}

func (o *owners) Any() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, on := range o.in {
		if on {
			return true
		}
	}
	return false
}

func (o *owners) Wants(id account.ID) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.in[id]
}

// testFeedInterest: an interest subscriber gets the entries of the owners
// it wants, in id order, and nothing else.
func testFeedInterest(t *testing.T, s Store) {
	ctx := context.Background()
	alice, bob, carol := mkAccount(t, s, "alice"), mkAccount(t, s, "bob"), mkAccount(t, s, "carol")
	in := &owners{in: map[account.ID]bool{bob.ID: true}}
	ch := s.SubscribeInterest(ctx, in)
	all := s.Subscribe(ctx)

	toBob := deliver(t, s, alice, "to bob", bob, carol) // bob inbox, carol inbox, alice sent
	fromBob := deliver(t, s, bob, "from bob", alice)    // alice inbox, bob sent
	if got := Receive(t, all, 5, Patience); !reflect.DeepEqual(ids(got), append(ids(toBob), ids(fromBob)...)) {
		t.Fatalf("plain subscriber got %v", ids(got))
	}
	if got, want := Receive(t, ch, 2, Patience), []mail.Meta{toBob[0], fromBob[1]}; !reflect.DeepEqual(got, want) {
		t.Fatalf("interest in bob got %+v, want %+v", got, want)
	}
	ExpectNothing(t, ch, 100*time.Millisecond)

	// Interest can change while subscribed.
	in.set(bob.ID, false)
	in.set(carol.ID, true)
	deliver(t, s, alice, "to bob only", bob)
	toCarol := deliver(t, s, alice, "to carol", carol)
	if got := Receive(t, ch, 1, Patience); !reflect.DeepEqual(got[0], toCarol[0]) {
		t.Fatalf("after the change got %+v, want %+v", got[0], toCarol[0])
	}
	ExpectNothing(t, ch, 100*time.Millisecond)
}
