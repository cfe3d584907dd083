package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

func TestDeliverStoresOnce(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	alice := mkAccount(t, s, "alice")
	rcpts := []account.Account{mkAccount(t, s, "bob"), mkAccount(t, s, "carol"), mkAccount(t, s, "dave")}
	body := bytes.Repeat([]byte("0123456789\r\n"), 1000)
	msg := newMsg("Hi all", body)
	if msg.Preview == "" {
		t.Fatal("test message has no preview")
	}
	entries := []mail.NewEntry{
		{Owner: rcpts[0].ID, Folder: mail.Inbox, To: []string{"bob@localhost", "carol@localhost"}},
		{Owner: rcpts[1].ID, Folder: mail.Inbox, To: []string{"bob@localhost", "carol@localhost"}},
		{Owner: rcpts[2].ID, Folder: mail.Inbox, To: []string{"bob@localhost", "carol@localhost", "dave@localhost"}},
		{Owner: alice.ID, Folder: mail.Sent, To: []string{"bob@localhost", "carol@localhost", "dave@localhost"}, Seen: true},
	}
	metas, err := s.Deliver(ctx, msg, entries)
	if err != nil {
		t.Fatal(err)
	}
	if len(metas) != len(entries) {
		t.Fatalf("%d metas, want %d", len(metas), len(entries))
	}
	for i, m := range metas {
		e := entries[i]
		want := mail.Meta{
			ID: m.ID, Owner: e.Owner, Folder: e.Folder, From: msg.From, To: e.To,
			Subject: "Hi all", Preview: msg.Preview, Date: t0, Size: int64(len(msg.Raw)), Seen: e.Seen,
		}
		if !reflect.DeepEqual(m, want) {
			t.Errorf("meta %d = %+v, want %+v", i, m, want)
		}
		if i > 0 && m.ID <= metas[i-1].ID {
			t.Errorf("ids not increasing: %d after %d", m.ID, metas[i-1].ID)
		}
		got, err := s.Fetch(ctx, e.Owner, m.ID)
		if err != nil {
			t.Fatalf("Fetch %d: %v", m.ID, err)
		}
		if !bytes.Equal(got.Raw, msg.Raw) {
			t.Errorf("Fetch %d: raw differs", m.ID)
		}
		if !reflect.DeepEqual(got.Meta, m) {
			t.Errorf("Fetch %d: meta %+v, want %+v", m.ID, got.Meta, m)
		}
		list, err := s.List(ctx, e.Owner, e.Folder, 0, 10)
		if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], m) {
			t.Errorf("List for owner %d = %+v, %v; want [%+v]", e.Owner, list, err, m)
		}
	}
	if got := count(t, s, "messages"); got != 1 {
		t.Errorf("%d message rows, want 1", got)
	}
	if got := count(t, s, "message_previews"); got != 1 {
		t.Errorf("%d preview rows, want 1", got)
	}
	// An entry stored seen does not count as unseen.
	if total, unseen, err := s.Count(ctx, alice.ID, mail.Sent); err != nil || total != 1 || unseen != 0 {
		t.Errorf("sent Count = %d, %d, %v; want 1, 0", total, unseen, err)
	}
	if total, unseen, err := s.Count(ctx, rcpts[0].ID, mail.Inbox); err != nil || total != 1 || unseen != 1 {
		t.Errorf("inbox Count = %d, %d, %v; want 1, 1", total, unseen, err)
	}
}

func TestDeliverAllOrNothing(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	deliver(t, s, alice, "before", bob)
	before := counts(t, s)

	tests := []struct {
		name    string
		entries []mail.NewEntry
		wantErr error
	}{
		{"owner does not exist", []mail.NewEntry{
			{Owner: bob.ID, Folder: mail.Inbox},
			{Owner: 999, Folder: mail.Inbox},
			{Owner: alice.ID, Folder: mail.Sent},
		}, mail.ErrNoSuchRecipient},
		{"bad folder", []mail.NewEntry{
			{Owner: bob.ID, Folder: mail.Inbox},
			{Owner: alice.ID, Folder: "trash"},
		}, mail.ErrBadFolder},
		{"no entries", nil, mail.ErrNoRecipients},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			metas, err := s.Deliver(ctx, newMsg(tt.name, nil), tt.entries)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Deliver = %v, %v; want %v", metas, err, tt.wantErr)
			}
			if got := counts(t, s); got != before {
				t.Errorf("rows %+v, want unchanged %+v", got, before)
			}
		})
	}
}

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

func TestConcurrentDeliveries(t *testing.T) {
	const workers, each = 16, 40
	ctx := context.Background()
	s := newStore(t)
	var accs []account.Account
	for i := range workers {
		accs = append(accs, mkAccount(t, s, fmt.Sprint("user", i)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			from, to := accs[w], accs[(w+1)%workers]
			for i := range each {
				_, err := s.Deliver(ctx, newMsg(fmt.Sprint(w, "/", i), []byte("body")), []mail.NewEntry{
					{Owner: to.ID, Folder: mail.Inbox, To: []string{"x"}},
					{Owner: from.ID, Folder: mail.Sent, To: []string{"x"}},
				})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Deliver: %v", err) // SQLITE_BUSY would show here
	}
	if got, want := counts(t, s), (rowCounts{workers, workers * each, 2 * workers * each}); got != want {
		t.Errorf("rows %+v, want %+v", got, want)
	}
	for _, a := range accs {
		total, unseen, err := s.Count(ctx, a.ID, mail.Inbox)
		if err != nil || total != each || unseen != each {
			t.Errorf("Count(%s) = %d, %d, %v; want %d, %d", a.Username, total, unseen, err, each, each)
		}
	}
}

func TestOwnerIsolation(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	eve := mkAccount(t, s, "eve")
	metas := deliver(t, s, alice, "private", bob)
	bobs := metas[0]

	tests := []struct {
		name string
		call func() error
	}{
		{"fetch", func() error { _, err := s.Fetch(ctx, eve.ID, bobs.ID); return err }},
		{"seen", func() error { return s.SetSeen(ctx, eve.ID, bobs.ID, true) }},
		{"delete", func() error { return s.Delete(ctx, eve.ID, bobs.ID) }},
		{"sender fetches recipient's copy", func() error { _, err := s.Fetch(ctx, alice.ID, bobs.ID); return err }},
		{"fetch missing", func() error { _, err := s.Fetch(ctx, bob.ID, 9999); return err }},
		{"seen missing", func() error { return s.SetSeen(ctx, bob.ID, 9999, true) }},
		{"delete missing", func() error { return s.Delete(ctx, bob.ID, 9999) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, mail.ErrNotFound) {
				t.Errorf("got %v, want ErrNotFound", err)
			}
		})
	}
	got, err := s.Fetch(ctx, bob.ID, bobs.ID)
	if err != nil || got.Seen {
		t.Fatalf("bob's entry after eve's attempts: %+v, %v", got.Meta, err)
	}
}

func TestSeenAndDelete(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	metas := deliver(t, s, alice, "hello", bob)
	inbox, sent := metas[0], metas[1]

	for _, seen := range []bool{true, true, false} {
		if err := s.SetSeen(ctx, bob.ID, inbox.ID, seen); err != nil {
			t.Fatalf("SetSeen(%v): %v", seen, err)
		}
		m, err := s.Fetch(ctx, bob.ID, inbox.ID)
		if err != nil || m.Seen != seen {
			t.Fatalf("after SetSeen(%v): %+v, %v", seen, m.Meta, err)
		}
	}

	if err := s.Delete(ctx, bob.ID, inbox.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fetch(ctx, bob.ID, inbox.ID); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("Fetch deleted = %v, want ErrNotFound", err)
	}
	if got := count(t, s, "messages"); got != 1 {
		t.Errorf("%d messages while alice's sent copy remains, want 1", got)
	}
	if err := s.Delete(ctx, alice.ID, sent.ID); err != nil {
		t.Fatal(err)
	}
	if got := count(t, s, "messages"); got != 0 {
		t.Errorf("%d messages after the last entry went, want 0", got)
	}
	if got := count(t, s, "message_previews"); got != 0 {
		t.Errorf("%d previews after the last entry went, want 0", got)
	}
	if err := s.Delete(ctx, alice.ID, sent.ID); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("Delete again = %v, want ErrNotFound", err)
	}
}

func TestPagingAndCount(t *testing.T) {
	const n = 120
	ctx := context.Background()
	s := newStore(t)
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	var ids []mail.EntryID // bob's inbox, oldest first
	for i := range n {
		ids = append(ids, deliver(t, s, alice, fmt.Sprint("m", i), bob)[0].ID)
	}
	for _, id := range ids[:30] {
		if err := s.SetSeen(ctx, bob.ID, id, true); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name   string
		before mail.EntryID
		limit  int
		want   []mail.EntryID // newest first
	}{
		{"first page", 0, 50, reverse(ids[n-50:])},
		{"second page", ids[n-50], 50, reverse(ids[n-100 : n-50])},
		{"last short page", ids[n-100], 50, reverse(ids[:n-100])},
		{"past the end", ids[0], 50, nil},
		{"limit 1", 0, 1, ids[n-1:]},
		{"before is exclusive", ids[10], 3, reverse(ids[7:10])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			metas, err := s.List(ctx, bob.ID, mail.Inbox, tt.before, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []mail.EntryID
			for _, m := range metas {
				got = append(got, m.ID)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ids %v, want %v", got, tt.want)
			}
		})
	}

	counts := []struct {
		owner         account.ID
		folder        mail.Folder
		total, unseen int
	}{
		{bob.ID, mail.Inbox, n, n - 30},
		{bob.ID, mail.Sent, 0, 0},
		{alice.ID, mail.Sent, n, n},
		{alice.ID, mail.Inbox, 0, 0},
	}
	for _, c := range counts {
		total, unseen, err := s.Count(ctx, c.owner, c.folder)
		if err != nil || total != c.total || unseen != c.unseen {
			t.Errorf("Count(%d, %s) = %d, %d, %v; want %d, %d", c.owner, c.folder, total, unseen, err, c.total, c.unseen)
		}
	}
}

func reverse(ids []mail.EntryID) []mail.EntryID {
	out := make([]mail.EntryID, len(ids))
	for i, id := range ids {
		out[len(ids)-1-i] = id
	}
	return out
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
		{"list", listQuery, []any{1, "inbox", 100, 50},
			[]string{"SEARCH e USING INDEX entries_owner_folder_id (owner=? AND folder=? AND id<?)", "SEARCH m USING INTEGER PRIMARY KEY (rowid=?)",
				"SEARCH p USING INTEGER PRIMARY KEY (rowid=?)"},
			[]string{"TEMP B-TREE", "SCAN"}},
		{"count", countQuery, []any{1, "inbox"},
			[]string{"SEARCH folder_counts USING PRIMARY KEY (owner=? AND folder=?)"}, []string{"SCAN"}},
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
			err := s.DB().QueryRow(`SELECT count(*), coalesce(sum(seen = 0), 0) FROM entries WHERE owner = ? AND folder = ?`,
				a.ID, f).Scan(&wantTotal, &wantUnseen)
			if err != nil {
				t.Fatal(err)
			}
			total, unseen, err := s.Count(ctx, a.ID, f)
			if err != nil || total != wantTotal || unseen != wantUnseen {
				t.Errorf("Count(%s, %s) = %d, %d, %v; entries say %d, %d", a.Username, f, total, unseen, err, wantTotal, wantUnseen)
			}
		}
	}
	if got := count(t, s, "folder_counts WHERE owner = "+fmt.Sprint(accs[3].ID)); got != 0 {
		t.Errorf("%d folder_counts rows left for a deleted account", got)
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
		for i, m := range receive(t, ch, 2) {
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
