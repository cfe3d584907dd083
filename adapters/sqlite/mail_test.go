package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"mailroom/adapters/storetest"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// holdWriter blocks the writer's connection until the returned func is
// called, so that the requests queued meanwhile form one batch.
func holdWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	tx, err := s.DB().Begin()
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
	}
}

// waitWriter waits until the writer has taken taken requests in all and
// queued more are waiting behind them.
func waitWriter(t *testing.T, s *Store, taken int64, queued int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.taken.Load() < taken || len(s.reqs) < queued {
		if time.Now().After(deadline) {
			t.Fatalf("writer took %d, %d queued; want %d, %d", s.taken.Load(), len(s.reqs), taken, queued)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBatchFailureIsolated(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	before := counts(t, s)

	release := holdWriter(t, s)
	taken0, batches0 := s.taken.Load(), s.batches.Load()
	type result struct {
		i     int
		metas []mail.Meta
		err   error
	}
	jobs := [][]mail.NewEntry{
		{{Owner: bob.ID, Folder: mail.Inbox}, {Owner: alice.ID, Folder: mail.Sent}},
		{{Owner: bob.ID, Folder: mail.Inbox}, {Owner: 999, Folder: mail.Inbox}}, // fails
		{{Owner: alice.ID, Folder: mail.Inbox}, {Owner: bob.ID, Folder: mail.Sent}},
	}
	results := make(chan result, len(jobs))
	for i, entries := range jobs {
		go func() {
			metas, err := s.Deliver(ctx, newMsg(fmt.Sprint("job ", i), nil), entries)
			results <- result{i, metas, err}
		}()
		// The writer takes the first one and waits for the connection; the
		// others queue behind it, to be drained into one batch.
		if i == 0 {
			waitWriter(t, s, taken0+1, 0)
		}
	}
	waitWriter(t, s, taken0+1, len(jobs)-1)
	release()

	for range jobs {
		r := <-results
		if r.i == 1 {
			if !errors.Is(r.err, mail.ErrNoSuchRecipient) {
				t.Errorf("job 1: %v, want ErrNoSuchRecipient", r.err)
			}
			continue
		}
		if r.err != nil || len(r.metas) != 2 {
			t.Errorf("job %d: %v, %v", r.i, r.metas, r.err)
		}
	}
	if got := s.batches.Load() - batches0; got != 2 {
		t.Errorf("%d transactions, want 2 (the first job, then the other two together)", got)
	}
	want := rowCounts{before.accounts, before.messages + 2, before.entries + 4}
	if got := counts(t, s); got != want {
		t.Errorf("rows %+v, want %+v", got, want)
	}
}

func TestWriteCancelledWhileQueued(t *testing.T) {
	s := newStore(t)
	alice := mkAccount(t, s, "alice")
	release := holdWriter(t, s)
	taken0 := s.taken.Load()

	first := make(chan error, 1)
	go func() {
		_, err := s.Deliver(context.Background(), newMsg("first", nil), []mail.NewEntry{{Owner: alice.ID, Folder: mail.Inbox}})
		first <- err
	}()
	waitWriter(t, s, taken0+1, 0) // the writer holds "first"

	ctx, cancel := context.WithCancel(context.Background())
	second := make(chan error, 1)
	go func() {
		_, err := s.Deliver(ctx, newMsg("second", nil), []mail.NewEntry{{Owner: alice.ID, Folder: mail.Inbox}})
		second <- err
	}()
	waitWriter(t, s, 0, 1)
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Deliver = %v, want context.Canceled", err)
	}
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	metas, err := s.List(context.Background(), alice.ID, mail.Inbox, 0, 10)
	if err != nil || len(metas) != 1 || metas[0].Subject != "first" {
		t.Fatalf("List = %+v, %v; want only %q", metas, err, "first")
	}
}

func queryPlan(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.rdb.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n")
}

func TestQueryPlans(t *testing.T) {
	s := newStore(t)
	tests := []struct {
		name     string
		query    string
		args     []any
		want     []string
		wantNone []string
	}{
		{"list", listQuery, []any{1, 100, 50},
			[]string{"SEARCH e USING INDEX entries_folder_id (folder_id=? AND id<?)", "SEARCH f USING INTEGER PRIMARY KEY (rowid=?)",
				"SEARCH m USING INTEGER PRIMARY KEY (rowid=?)", "SEARCH p USING INTEGER PRIMARY KEY (rowid=?)"},
			[]string{"TEMP B-TREE", "SCAN"}},
		{"folder", folderSQL, []any{1, "inbox"},
			[]string{"SEARCH folders USING INDEX sqlite_autoindex_folders_1 (owner=? AND name=?)"}, []string{"SCAN"}},
		{"uids", uidsSQL, []any{1},
			[]string{"SEARCH entries USING COVERING INDEX entries_folder_id (folder_id=?)"}, []string{"TEMP B-TREE", "SCAN"}},
		{"metas by uid", metasByUIDSQL, []any{1, "[1,2]"},
			[]string{"SEARCH e USING INDEX entries_folder_uid (folder_id=? AND uid=?)"}, []string{"SCAN e", "SCAN m"}},
		{"dedup", dedupSQL, []any{1, "<x@y>"},
			[]string{"SEARCH message_previews USING COVERING INDEX message_previews_msgid (msgid=?)",
				"SEARCH e USING INDEX entries_message_id (message_id=?)"},
			[]string{"SCAN e", "SCAN m", "TEMP B-TREE"}},
		{"changes", changesAfterSQL, []any{1, 1000},
			[]string{"SEARCH changes USING INTEGER PRIMARY KEY (rowid>?)"}, []string{"TEMP B-TREE", "SCAN"}},
		{"feed", afterQuery, []any{1, 1000},
			[]string{"SEARCH e USING INTEGER PRIMARY KEY (rowid>?)", "SEARCH p USING INTEGER PRIMARY KEY (rowid=?)"}, []string{"TEMP B-TREE", "SCAN"}},
		{"feed refs", refsAfterSQL, []any{1, 1000},
			[]string{"SEARCH entries USING INTEGER PRIMARY KEY (rowid>?)"}, []string{"TEMP B-TREE", "SCAN"}},
		{"feed by id", metasByIDSQL, []any{"[1,2,3]"},
			[]string{"SEARCH e USING INTEGER PRIMARY KEY (rowid=?)", "SEARCH m USING INTEGER PRIMARY KEY (rowid=?)",
				"SEARCH p USING INTEGER PRIMARY KEY (rowid=?)"}, []string{"TEMP B-TREE", "SCAN e", "SCAN m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := queryPlan(t, s, tt.query, tt.args...)
			for _, w := range tt.want {
				if !strings.Contains(plan, w) {
					t.Errorf("plan lacks %q:\n%s", w, plan)
				}
			}
			for _, w := range tt.wantNone {
				if strings.Contains(plan, w) {
					t.Errorf("plan has %q:\n%s", w, plan)
				}
			}
		})
	}
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Config{Path: dbPath(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.CreateAccount(ctx, "alice", "x", t0); !errors.Is(err, ErrClosed) {
		t.Errorf("CreateAccount after Close = %v, want ErrClosed", err)
	}
}

// TestFolderCountsConsistent drives every path that changes entries and
// checks the trigger-kept folder_counts against a scan of entries.
func TestFolderCountsConsistent(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	var accs []account.Account
	for _, n := range []string{"a", "b", "c", "d"} {
		accs = append(accs, mkAccount(t, s, n))
	}
	var all []mail.Meta
	for i := range 40 {
		from := accs[i%4]
		all = append(all, deliver(t, s, from, "m", accs[(i+1)%4], accs[(i+2)%4])...)
	}
	for i, m := range all {
		switch i % 5 {
		case 0:
			if err := s.SetSeen(ctx, m.Owner, m.ID, true); err != nil {
				t.Fatal(err)
			}
		case 1:
			if err := s.SetSeen(ctx, m.Owner, m.ID, true); err != nil {
				t.Fatal(err)
			}
			if err := s.SetSeen(ctx, m.Owner, m.ID, false); err != nil {
				t.Fatal(err)
			}
		case 2:
			if err := s.SetSeen(ctx, m.Owner, m.ID, true); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, m.Owner, m.ID); err != nil {
				t.Fatal(err)
			}
		case 3:
			if err := s.Delete(ctx, m.Owner, m.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.DeleteAccount(ctx, accs[3].ID); err != nil {
		t.Fatal(err)
	}
	if all[0].Owner == accs[0].ID {
		t.Fatal("test setup: all[0] must not be accs[0]'s")
	}
	if _, err := s.DB().Exec(`UPDATE entries SET owner = ? WHERE id = ?`, accs[0].ID, all[0].ID); err == nil {
		t.Error("moving an entry to another owner succeeded; want the immutability trigger to abort it")
	}

	for _, a := range accs {
		for _, f := range []mail.Folder{mail.Inbox, mail.Sent} {
			var wantTotal, wantUnseen int
			err := s.DB().QueryRow(`SELECT count(*), coalesce(sum(flags & 1 = 0), 0) FROM entries e
JOIN folders f ON f.id = e.folder_id WHERE f.owner = ? AND f.name = ?`,
				a.ID, f).Scan(&wantTotal, &wantUnseen)
			if err != nil {
				t.Fatal(err)
			}
			total, unseen, err := s.Count(ctx, a.ID, f)
			if a.ID == accs[3].ID {
				if !errors.Is(err, mail.ErrNotFound) || wantTotal != 0 {
					t.Errorf("Count(deleted, %s) = %v with %d entries; want ErrNotFound and none", f, err, wantTotal)
				}
				continue
			}
			if err != nil || total != wantTotal || unseen != wantUnseen {
				t.Errorf("Count(%s, %s) = %d, %d, %v; entries say %d, %d", a.Username, f, total, unseen, err, wantTotal, wantUnseen)
			}
		}
	}
	if got := count(t, s, "folders WHERE owner = "+fmt.Sprint(accs[3].ID)); got != 0 {
		t.Errorf("%d folders left for a deleted account", got)
	}
}

func TestPreviewRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	f := s.Feed(FeedConfig{PollInterval: time.Hour})
	ch := f.Subscribe(ctx)

	withText := newMsg("lunch", []byte("Are you free\r\nat noon?\r\n"))
	noText := newMsg("empty", nil)
	if withText.Preview != "Are you free at noon?" || noText.Preview != "" {
		t.Fatalf("previews %q, %q", withText.Preview, noText.Preview)
	}
	for _, msg := range []mail.NewMessage{withText, noText} {
		metas, err := s.Deliver(ctx, msg, []mail.NewEntry{
			{Owner: bob.ID, Folder: mail.Inbox, To: []string{"bob@localhost"}},
			{Owner: alice.ID, Folder: mail.Sent, To: []string{"bob@localhost"}, Seen: true},
		})
		if err != nil {
			t.Fatal(err)
		}
		f.Notify(metas)
		for i, m := range metas {
			if m.Preview != msg.Preview {
				t.Errorf("%s: Deliver meta %d preview %q, want %q", msg.Subject, i, m.Preview, msg.Preview)
			}
		}
		in := metas[0]
		if got, err := s.Fetch(ctx, bob.ID, in.ID); err != nil || got.Preview != msg.Preview {
			t.Errorf("%s: Fetch preview %q, %v; want %q", msg.Subject, got.Preview, err, msg.Preview)
		}
		if list, err := s.List(ctx, bob.ID, mail.Inbox, 0, 1); err != nil || len(list) != 1 || list[0].Preview != msg.Preview {
			t.Errorf("%s: List = %+v, %v; want preview %q", msg.Subject, list, err, msg.Preview)
		}
		if after, err := s.EntriesAfter(ctx, in.ID-1, 1); err != nil || len(after) != 1 || after[0].Preview != msg.Preview {
			t.Errorf("%s: EntriesAfter = %+v, %v; want preview %q", msg.Subject, after, err, msg.Preview)
		}
		for i, m := range storetest.Receive(t, ch, 2, 5*time.Second) {
			if m.ID != metas[i].ID || m.Preview != msg.Preview {
				t.Errorf("%s: feed meta %d = %d %q, want %d %q", msg.Subject, i, m.ID, m.Preview, metas[i].ID, msg.Preview)
			}
		}
	}
	// Only a message with a preview has a row.
	if got := count(t, s, "message_previews"); got != 1 {
		t.Errorf("%d preview rows, want 1", got)
	}
}

// TestPreviewRowGoesWithMessage checks SQLite's side table of previews
// (the store contract checks the previews themselves): one row per stored
// message that has a preview, gone with the message's last entry.
func TestPreviewRowGoesWithMessage(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	alice := mkAccount(t, s, "alice")
	rcpts := []account.Account{mkAccount(t, s, "bob"), mkAccount(t, s, "carol")}
	metas := deliver(t, s, alice, "hello", rcpts...)
	if metas[0].Preview == "" {
		t.Fatal("test message has no preview")
	}
	if got := count(t, s, "message_previews"); got != 1 {
		t.Errorf("%d preview rows for one message delivered to 3 entries, want 1", got)
	}
	for i, m := range metas {
		if err := s.Delete(ctx, m.Owner, m.ID); err != nil {
			t.Fatal(err)
		}
		want := 1
		if i == len(metas)-1 {
			want = 0
		}
		if got := count(t, s, "message_previews"); got != want {
			t.Errorf("after deleting %d of %d entries: %d preview rows, want %d", i+1, len(metas), got, want)
		}
	}
}
