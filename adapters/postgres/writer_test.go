package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// holdFolder locks owner's folder row in a transaction of its own until the
// returned func is called, so that deliveries into it queue up behind it.
// pid is the holding backend's.
func holdFolder(t *testing.T, s *Store, owner account.ID, folder mail.Folder) (release func(), pid int32) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, `SELECT pg_backend_pid() FROM folders WHERE owner = $1 AND name = $2 FOR UPDATE`,
		int64(owner), string(folder)).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { tx.Rollback(ctx) }) }
	t.Cleanup(release)
	return release, pid
}

// waitBlocked waits until a backend of this database waits for a lock
// that the backend holder holds.
func waitBlocked(t *testing.T, s *Store, holder int32) {
	t.Helper()
	for {
		var n int
		if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock' AND $1 = ANY (pg_blocking_pids(pid))`,
			holder).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// waitQueued waits until n requests have been queued or taken by a writer.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	for len(s.dq.reqs)+int(s.dq.taken.Load()) < n {
		time.Sleep(time.Millisecond)
	}
}

// TestDeliverBatchFailsOnlyTheBadDelivery: deliveries that share a batch
// with one whose recipient has gone all commit, exactly once each, and
// only the bad one fails, with mail.ErrNoSuchRecipient.
func TestDeliverBatchFailsOnlyTheBadDelivery(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	alice, bob, gone := mkAccount(t, s, "alice"), mkAccount(t, s, "bob"), mkAccount(t, s, "gone")
	if err := s.DeleteAccount(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	release, _ := holdFolder(t, s, alice.ID, mail.Inbox)
	const n = 20
	bad := map[int]bool{7: true, 12: true, 13: true}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		to := alice.ID
		if bad[i] {
			to = gone.ID
		}
		wg.Go(func() {
			msg := mail.NewMessage{Raw: fmt.Appendf(nil, "Subject: %d\r\n\r\nbody", i), From: "bob@localhost",
				Subject: fmt.Sprint(i), Received: t0}
			_, errs[i] = s.Deliver(ctx, msg, []mail.NewEntry{
				{Owner: to, Folder: mail.Inbox, To: []string{"x@localhost"}},
				{Owner: bob.ID, Folder: mail.Sent, To: []string{"x@localhost"}},
			})
		})
		// One at a time: the first ones are taken by the writers, which
		// block on the held folder, and the others wait in the queue.
		waitQueued(t, s, i+1)
	}
	release()
	wg.Wait()
	for i, err := range errs {
		switch {
		case bad[i] && !errors.Is(err, mail.ErrNoSuchRecipient):
			t.Errorf("delivery %d to a deleted account: %v, want ErrNoSuchRecipient", i, err)
		case !bad[i] && err != nil:
			t.Errorf("delivery %d: %v", i, err)
		}
	}
	for _, c := range []struct {
		owner  account.ID
		folder mail.Folder
		want   int
	}{{alice.ID, mail.Inbox, n - len(bad)}, {bob.ID, mail.Sent, n - len(bad)}} {
		total, _, err := s.Count(ctx, c.owner, c.folder)
		if err != nil || total != c.want {
			t.Errorf("Count(%d, %s) = %d, %v; want %d", c.owner, c.folder, total, err, c.want)
		}
		metas, err := s.List(ctx, c.owner, c.folder, 0, 100)
		if err != nil || len(metas) != c.want {
			t.Fatalf("List(%d, %s) = %d, %v; want %d", c.owner, c.folder, len(metas), err, c.want)
		}
		seen := map[string]bool{}
		for _, m := range metas {
			if seen[m.Subject] {
				t.Errorf("%s of %d holds delivery %s twice", c.folder, c.owner, m.Subject)
			}
			seen[m.Subject] = true
		}
	}
	if b, d := s.dq.batches.Load(), s.dq.delivered.Load(); b >= d {
		t.Errorf("%d batches for %d deliveries: the queued deliveries were not committed together", b, d)
	}
	if f := s.dq.fallbacks.Load(); f == 0 {
		t.Error("no batch ran again a statement per delivery: the bad deliveries were never batched with good ones")
	}
}

// TestDeliverBatchesAcrossHostsDoNotDeadlock: two stores on one database
// (two hosts) deliver between the same accounts in opposite directions, in
// batches; their folder locks are taken in one order, so PostgreSQL
// detects no deadlock (which would cost deadlock_timeout and a retry).
func TestDeliverBatchesAcrossHostsDoNotDeadlock(t *testing.T) {
	ctx := context.Background()
	dbURL := freshDB(t)
	a, b := openAt(t, dbURL), openAt(t, dbURL)
	var accs []account.Account
	for i := range 4 {
		accs = append(accs, mkAccount(t, a, fmt.Sprint("user", i)))
	}
	const perHost = 200
	var wg sync.WaitGroup
	errs := make(chan error, 2*perHost)
	for h, s := range []*Store{a, b} {
		for g := range 8 {
			wg.Go(func() {
				for i := g; i < perHost; i += 8 {
					from, to := accs[(i+h)%4], accs[(i+3*h+1)%4]
					_, err := s.Deliver(ctx, mail.NewMessage{Raw: []byte("Subject: x\r\n\r\nx"), From: "f", Received: t0},
						[]mail.NewEntry{
							{Owner: to.ID, Folder: mail.Inbox, To: []string{"t"}},
							{Owner: from.ID, Folder: mail.Sent, To: []string{"t"}},
						})
					if err != nil {
						errs <- err
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var deadlocks int64
	if _, err := a.pool.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
		t.Fatal(err)
	}
	if err := a.pool.QueryRow(ctx, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).
		Scan(&deadlocks); err != nil {
		t.Fatal(err)
	}
	if deadlocks != 0 {
		t.Errorf("%d deadlocks detected", deadlocks)
	}
	var total int
	if err := a.pool.QueryRow(ctx, `SELECT count(*) FROM entries`).Scan(&total); err != nil || total != 4*perHost {
		t.Errorf("%d entries, %v; want %d", total, err, 4*perHost)
	}
}

// TestDeliverBatchGivesEachItsEntries: deliveries committed together in
// one statement, some with two entries in one folder, each get back their
// own entries (as Fetch reads them), in the order given, and every folder's
// UIDs follow the entry ids from 1 without a gap.
func TestDeliverBatchGivesEachItsEntries(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	alice, bob, carol := mkAccount(t, s, "alice"), mkAccount(t, s, "bob"), mkAccount(t, s, "carol")
	release, _ := holdFolder(t, s, alice.ID, mail.Inbox)
	const n = 12
	metas := make([][]mail.Meta, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		entries := []mail.NewEntry{{Owner: alice.ID, Folder: mail.Inbox, To: []string{fmt.Sprint("a", i)}}}
		if i%3 == 0 {
			entries = append(entries, mail.NewEntry{Owner: carol.ID, Folder: mail.Inbox, To: []string{fmt.Sprint("c", i)}},
				mail.NewEntry{Owner: carol.ID, Folder: mail.Inbox, To: []string{fmt.Sprint("c2-", i)}, Seen: true})
		}
		entries = append(entries, mail.NewEntry{Owner: bob.ID, Folder: mail.Sent, To: []string{fmt.Sprint("b", i)}})
		wg.Go(func() {
			msg := mail.NewMessage{Raw: fmt.Appendf(nil, "Subject: %d\r\n\r\nbody %d", i, i), From: "bob@localhost",
				Subject: fmt.Sprint(i), Received: t0.Add(time.Duration(i))}
			metas[i], errs[i] = s.Deliver(ctx, msg, entries)
		})
		waitQueued(t, s, i+1)
	}
	release()
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("delivery %d: %v", i, errs[i])
		}
		for j, m := range metas[i] {
			if j > 0 && m.ID <= metas[i][j-1].ID {
				t.Errorf("delivery %d: entry ids %d then %d", i, metas[i][j-1].ID, m.ID)
			}
			got, err := s.Fetch(ctx, m.Owner, m.ID)
			if err != nil {
				t.Fatalf("delivery %d entry %d: %v", i, j, err)
			}
			raw := m.Subject != fmt.Sprint(i) || string(got.Raw) != fmt.Sprintf("Subject: %d\r\n\r\nbody %d", i, i)
			if raw || got.UID != m.UID || got.Folder != m.Folder || !slices.Equal(got.To, m.To) || got.Seen != m.Seen {
				t.Errorf("delivery %d entry %d: Deliver gave %+v, Fetch %+v", i, j, m, got.Meta)
			}
		}
	}
	for _, f := range []struct {
		owner  account.ID
		folder mail.Folder
	}{{alice.ID, mail.Inbox}, {bob.ID, mail.Sent}, {carol.ID, mail.Inbox}} {
		list, err := s.List(ctx, f.owner, f.folder, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for k, m := range list { // newest first
			if want := uint32(len(list) - k); m.UID != want {
				t.Errorf("%s of %d: entry %d has UID %d, want %d", f.folder, f.owner, m.ID, m.UID, want)
			}
		}
	}
	if b, d := s.dq.batches.Load(), s.dq.delivered.Load(); b >= d {
		t.Errorf("%d batches for %d deliveries: the queued deliveries were not committed together", b, d)
	}
	// Committed by the one multi-delivery statement, not by the fallback
	// that runs a statement per delivery when it fails.
	if f := s.dq.fallbacks.Load(); f != 0 {
		t.Errorf("%d batches ran again a statement per delivery; want 0", f)
	}
}

// TestDeliverBatchWaitingForALockHoldsUpNoOther: while one batch waits for
// a folder that another transaction holds, deliveries to other folders
// still commit (the other writer goes ahead of it), and the waiting one
// commits once the folder is free.
func TestDeliverBatchWaitingForALockHoldsUpNoOther(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	alice, bob := mkAccount(t, s, "alice"), mkAccount(t, s, "bob")
	release, holder := holdFolder(t, s, alice.ID, mail.Inbox)
	deliver := func(ctx context.Context, to account.ID) error {
		_, err := s.Deliver(ctx, mail.NewMessage{Raw: []byte("Subject: x\r\n\r\nx"), From: "carol@localhost", Received: t0},
			[]mail.NewEntry{{Owner: to, Folder: mail.Inbox, To: []string{"x@localhost"}}})
		return err
	}
	held := make(chan error, 1)
	go func() { held <- deliver(ctx, alice.ID) }()
	// Alice's batch has been gathered and sent once the server waits for
	// her folder: bob's delivery cannot join it.
	waitBlocked(t, s, holder)
	// A writer held up behind alice's batch leaves bob's delivery queued
	// until its context ends: a failure, not a hang. The timer covers a
	// delivery taken into a batch that waits (its context no longer counts).
	bobCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	other := make(chan error, 1)
	go func() { other <- deliver(bobCtx, bob.ID) }()
	select {
	case err := <-other:
		if err != nil {
			t.Fatalf("delivery to another folder while alice's is held: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("delivery to another folder while alice's is held: no answer after 15 s")
	}
	select {
	case err := <-held:
		t.Fatalf("delivery to the held folder ended before its release: %v", err)
	default:
	}
	release()
	select {
	case err := <-held:
		if err != nil {
			t.Fatalf("delivery to the held folder after its release: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("delivery to the held folder: no answer 15 s after its release")
	}
	for _, owner := range []account.ID{alice.ID, bob.ID} {
		if total, _, err := s.Count(ctx, owner, mail.Inbox); err != nil || total != 1 {
			t.Errorf("Count(%d, inbox) = %d, %v; want 1", owner, total, err)
		}
	}
}
