package sqlite

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"mailroom/domain/mail"
)

// Migration 0009 moves Message-IDs from entries to message_previews and
// back, without losing one (a copy's entry included), and Append's dedup
// finds a stored copy either way.
func TestMigrateMessageIDToPreviews(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	s := openAt(t, path, Config{})
	a, b, c := mkAccount(t, s, "ann"), mkAccount(t, s, "bob"), mkAccount(t, s, "cat")
	msg := newMsg("hello", []byte("hi"))
	msg.MessageID = "<one@example.test>"
	metas, err := s.Deliver(ctx, msg, []mail.NewEntry{
		{Owner: b.ID, Folder: mail.Inbox}, {Owner: c.ID, Folder: mail.Inbox}, {Owner: a.ID, Folder: mail.Sent},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateFolder(ctx, b.ID, "Keep", time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transfer(ctx, b.ID, []mail.EntryID{metas[0].ID}, "Keep", false); err != nil {
		t.Fatal(err)
	}
	noID := newMsg("no id", []byte("hello"))
	noID.Preview = "" // neither a preview nor a Message-ID: no row
	if _, err := s.Deliver(ctx, noID, []mail.NewEntry{{Owner: b.ID, Folder: mail.Inbox}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	for range 3 { // 0011, 0010, then 0009
		if err := Migrate(ctx, path, Down); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if got := countBy(t, db, `SELECT msgid, count(*) FROM entries GROUP BY msgid`); got["<one@example.test>"] != 4 || got[""] != 1 {
		t.Errorf("after down, entries by Message-ID: %v; want 4 with it (the copy too), 1 without", got)
	}
	if got := countBy(t, db, `SELECT preview, count(*) FROM message_previews GROUP BY preview`); len(got) != 1 || got["hi"] != 1 {
		t.Errorf("after down, previews %v; want the one preview only", got)
	}
	db.Close()

	s = openAt(t, path, Config{})
	if got := countBy(t, s.rdb, `SELECT msgid, count(*) FROM message_previews GROUP BY msgid`); len(got) != 1 || got["<one@example.test>"] != 1 {
		t.Errorf("after up, preview rows by Message-ID: %v; want one row, with it", got)
	}
	// The sent copy and bob's copy in Keep are found: appends of the same
	// message there store nothing.
	for _, e := range []mail.NewEntry{{Owner: a.ID, Folder: mail.Sent}, {Owner: b.ID, Folder: "Keep"}} {
		m, existed, err := s.Append(ctx, msg, e, true)
		if err != nil || !existed || m.MessageID != "<one@example.test>" || m.Subject != "hello" || m.Owner != e.Owner {
			t.Fatalf("Append(dedup) to %v = %+v, %v, %v; want the stored copy", e, m, existed, err)
		}
	}
	// A folder without a copy stores it, and the new copy is found next.
	for i, want := range []bool{false, true} {
		if _, existed, err := s.Append(ctx, msg, mail.NewEntry{Owner: a.ID, Folder: mail.Drafts}, true); err != nil || existed != want {
			t.Fatalf("Append(dedup) %d to drafts: existed %v, %v; want %v", i, existed, err, want)
		}
	}
	got, err := s.List(ctx, b.ID, mail.Inbox, 0, 10)
	if err != nil || len(got) != 2 || got[1].MessageID != "<one@example.test>" || got[0].MessageID != "" {
		t.Errorf("bob's inbox after migrating: %+v, %v", got, err)
	}
}

// messages.raw stays the last column: a column after it is read only by
// walking the blob's overflow chain (migration 0002's note).
func TestRawIsLastColumn(t *testing.T) {
	s := newStore(t)
	rows, err := s.rdb.Query(`SELECT name FROM pragma_table_info('messages') ORDER BY cid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var last string
	for rows.Next() {
		if err := rows.Scan(&last); err != nil {
			t.Fatal(err)
		}
	}
	if last != "raw" {
		t.Errorf("messages' last column is %q, want raw", last)
	}
}

// countBy runs q, a query of a key and a count, on db.
func countBy(t *testing.T, db *sql.DB, q string) map[string]int {
	t.Helper()
	r, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := map[string]int{}
	for r.Next() {
		var id string
		var n int
		if err := r.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		got[id] = n
	}
	return got
}
