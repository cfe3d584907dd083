package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mailroom/adapters/storetest"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

func deliverOne(t *testing.T, s *Store, to account.Account, subject string) mail.Meta {
	t.Helper()
	metas, err := s.Deliver(context.Background(),
		mail.NewMessage{Raw: []byte("Subject: " + subject + "\r\n\r\nhi\r\n"), From: "a@localhost", Subject: subject, Received: t0},
		[]mail.NewEntry{{Owner: to.ID, Folder: mail.Inbox}})
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	return metas[0]
}

// TestFeedCatchesUpAfterListenerLoss kills the listener's backend, delivers
// while no listener is attached (so the NOTIFY reaches nobody), and expects
// the reconnected listener to find the entry in the table.
func TestFeedCatchesUpAfterListenerLoss(t *testing.T) {
	ctx := context.Background()
	dbURL := freshSchema(t)
	a, b := openAt(t, dbURL), openAt(t, dbURL)
	bob := mkAccount(t, a, "bob")
	feed := b.Feed(FeedConfig{ReconnectDelay: 300 * time.Millisecond})
	ch := feed.Subscribe(ctx)
	waitListening(t, feed, 1)
	first := deliverOne(t, a, bob, "before")
	if got := storetest.Receive(t, ch, 1, time.Second); got[0].ID != first.ID {
		t.Fatalf("got %d, want %d", got[0].ID, first.ID)
	}

	pid := feed.listenerPID.Load()
	var killed bool
	if err := a.pool.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, int32(pid)).Scan(&killed); err != nil || !killed {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, killed, err)
	}
	// Wait until the backend is gone, so the next NOTIFY has no listener.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		if err := a.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, int32(pid)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backend %d still there", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var missed []mail.Meta
	for i := range 3 {
		missed = append(missed, deliverOne(t, a, bob, "while down "+string(rune('a'+i))))
	}
	got := storetest.Receive(t, ch, 3, 5*time.Second)
	for i := range got {
		if got[i].ID != missed[i].ID || got[i].Subject != missed[i].Subject {
			t.Errorf("after reconnecting got %d %q, want %d %q", got[i].ID, got[i].Subject, missed[i].ID, missed[i].Subject)
		}
	}
	if n := feed.listens.Load(); n != 2 {
		t.Errorf("listener began %d times, want 2 (one reconnection)", n)
	}
	if feed.listenerPID.Load() == pid {
		t.Error("listener still reports the killed backend")
	}
	// And it listens again.
	next := deliverOne(t, a, bob, "after")
	if got := storetest.Receive(t, ch, 1, time.Second); got[0].ID != next.ID {
		t.Fatalf("got %d, want %d", got[0].ID, next.ID)
	}
}

func waitListening(t *testing.T, f *Feed, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f.listens.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("listener began %d times, want %d", f.listens.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// beginDelivery starts a delivery as Deliver does, on a connection of its
// own, and stops before commit: it holds entry id it took.
func beginDelivery(t *testing.T, dbURL string, owner account.ID) (pgx.Tx, mail.EntryID) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	err = tx.QueryRow(ctx, `WITH m AS (
    INSERT INTO messages (size, from_addr, subject, received, raw) VALUES (0, 'x', 'held', 0, '')
    RETURNING id)
INSERT INTO entries (owner, message_id, folder_id, uid, rcpts, received)
SELECT $1, m.id, f.id, 1000000, '[]', 0 FROM m, folders f WHERE f.owner = $1 AND f.name = 'inbox' RETURNING id`, int64(owner)).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify('`+notifyChannel+`', $1::bigint::text)`, id); err != nil {
		t.Fatal(err)
	}
	return tx, mail.EntryID(id)
}

// TestFeedHoldsBackBehindUncommittedIDs: a delivery that took a lower id
// commits after one that took a higher id. The feed must not hand out the
// higher id first (a watcher resuming after it would miss the lower one),
// and must not wait for a lower id that never commits.
func TestFeedHoldsBackBehindUncommittedIDs(t *testing.T) {
	for _, commit := range []bool{true, false} {
		name := map[bool]string{true: "commit", false: "rollback"}[commit]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dbURL := freshSchema(t)
			s := openAt(t, dbURL)
			alice, bob := mkAccount(t, s, "alice"), mkAccount(t, s, "bob")
			feed := s.Feed(FeedConfig{})
			ch := feed.Subscribe(ctx)
			waitListening(t, feed, 1)

			// To another owner than the later delivery: two deliveries to
			// one folder take turns on its folders row.
			tx, held := beginDelivery(t, dbURL, alice.ID)
			later := deliverOne(t, s, bob, "later")
			if later.ID <= held {
				t.Fatalf("later id %d not above held id %d", later.ID, held)
			}
			storetest.ExpectNothing(t, ch, 300*time.Millisecond)

			var end func(context.Context) error = tx.Rollback
			want := []mail.EntryID{later.ID}
			if commit {
				end, want = tx.Commit, []mail.EntryID{held, later.ID}
			}
			if err := end(ctx); err != nil {
				t.Fatal(err)
			}
			got := storetest.Receive(t, ch, len(want), time.Second)
			for i := range want {
				if got[i].ID != want[i] {
					t.Fatalf("got ids %v, want %v", idsOf(got), want)
				}
			}
		})
	}
}

// TestFeedMaxGapWait: a transaction that stays open in the database (an
// operator's psql session, say) must not stall watchers for longer than
// MaxGapWait when a gap will never fill.
func TestFeedMaxGapWait(t *testing.T) {
	ctx := context.Background()
	dbURL := freshSchema(t)
	s := openAt(t, dbURL)
	bob := mkAccount(t, s, "bob")
	feed := s.Feed(FeedConfig{MaxGapWait: 500 * time.Millisecond})
	ch := feed.Subscribe(ctx)
	waitListening(t, feed, 1)

	// Something unrelated holds an xid open for the whole test.
	idle, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close(ctx)
	itx, err := idle.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer itx.Rollback(ctx)
	if _, err := itx.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil {
		t.Fatal(err)
	}

	// A gap that never fills: a delivery that failed after taking its id.
	if _, err := s.Deliver(ctx, mail.NewMessage{Received: t0}, []mail.NewEntry{{Owner: 999999, Folder: mail.Inbox}}); err == nil {
		t.Fatal("Deliver to a missing account succeeded")
	}
	start := time.Now()
	next := deliverOne(t, s, bob, "after the gap")
	got := storetest.Receive(t, ch, 1, 5*time.Second)
	if got[0].ID != next.ID {
		t.Fatalf("got %d, want %d", got[0].ID, next.ID)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("delivered after %v: the open transaction should have held it for about MaxGapWait", d)
	}
}

func idsOf(metas []mail.Meta) []mail.EntryID {
	var out []mail.EntryID
	for _, m := range metas {
		out = append(out, m.ID)
	}
	return out
}
