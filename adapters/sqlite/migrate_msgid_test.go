package sqlite

import (
	"context"
	"database/sql"
	"testing"

	"mailroom/domain/mail"
)

// Migration 0009 moves Message-IDs from entries to messages and back,
// without losing one, and Append's dedup finds a delivered copy either way.
func TestMigrateMessageIDToMessages(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	s := openAt(t, path, Config{})
	a, b, c := mkAccount(t, s, "ann"), mkAccount(t, s, "bob"), mkAccount(t, s, "cat")
	msg := newMsg("hello", []byte("hi"))
	msg.MessageID = "<one@example.test>"
	if _, err := s.Deliver(ctx, msg, []mail.NewEntry{
		{Owner: b.ID, Folder: mail.Inbox}, {Owner: c.ID, Folder: mail.Inbox}, {Owner: a.ID, Folder: mail.Sent},
	}); err != nil {
		t.Fatal(err)
	}
	deliver(t, s, a, "no id", b) // newMsg gives no Message-ID
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	if err := Migrate(ctx, path, Down); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if got := countBy(t, db, `SELECT msgid, count(*) FROM entries GROUP BY msgid`); got["<one@example.test>"] != 3 || got[""] != 2 {
		t.Errorf("after down, entries by Message-ID: %v; want 3 with it, 2 without", got)
	}
	db.Close()

	s = openAt(t, path, Config{})
	if got := countBy(t, s.rdb, `SELECT msgid, count(*) FROM messages GROUP BY msgid`); got["<one@example.test>"] != 1 || got[""] != 1 {
		t.Errorf("after up, messages by Message-ID: %v; want one of each", got)
	}
	// The sent copy is found: an append of the same message to Sent
	// stores nothing.
	m, existed, err := s.Append(ctx, msg, mail.NewEntry{Owner: a.ID, Folder: mail.Sent}, true)
	if err != nil || !existed || m.MessageID != "<one@example.test>" || m.Subject != "hello" {
		t.Fatalf("Append(dedup) = %+v, %v, %v; want the delivered sent copy", m, existed, err)
	}
	// Another folder of the same owner has no copy: it is stored.
	if _, existed, err := s.Append(ctx, msg, mail.NewEntry{Owner: a.ID, Folder: mail.Drafts}, true); err != nil || existed {
		t.Fatalf("Append(dedup) to drafts: existed %v, %v; want stored", existed, err)
	}
	got, err := s.List(ctx, b.ID, mail.Inbox, 0, 10)
	if err != nil || len(got) != 2 || got[1].MessageID != "<one@example.test>" || got[0].MessageID != "" {
		t.Errorf("bob's inbox after migrating: %+v, %v", got, err)
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
