package postgres

import (
	"context"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"

	"mailroom/domain/mail"
)

// A database at version 1 (before folders) keeps every entry through 0002:
// each gets a UID in its folder in id order, UIDNEXT is past them, and the
// counts and seen flags carry over. Down takes it back to version 1 with
// its inbox and sent entries.
func TestMigrateFoldersKeepsEntries(t *testing.T) {
	ctx := context.Background()
	dbURL := freshSchema(t)
	cc, err := pgx.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	m, err := newMigrate(cc)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Migrate(1); err != nil {
		t.Fatalf("migrate to 1: %v", err)
	}
	m.Close()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO accounts (id, username, password_hash, created) VALUES (1, 'alice', 'h', 0), (2, 'bob', 'h', 0)`)
	olds := []struct {
		owner  int
		folder string
		seen   bool
	}{{2, "inbox", false}, {2, "inbox", false}, {2, "inbox", true}, {2, "inbox", true}, {1, "sent", true}, {2, "inbox", false}}
	for i, o := range olds {
		id := i + 1
		exec(`INSERT INTO messages (id, size, from_addr, subject, received, raw) VALUES ($1, 3, 'a@localhost', 's', $1, 'raw')`, id)
		exec(`INSERT INTO entries (id, owner, message_id, folder, rcpts, seen, received) VALUES ($1, $2, $1, $3, '[]', $4, $1)`,
			id, o.owner, o.folder, o.seen)
	}
	exec(`SELECT setval(pg_get_serial_sequence('entries', 'id'), 6)`)
	exec(`SELECT setval(pg_get_serial_sequence('messages', 'id'), 6)`)
	exec(`DELETE FROM entries WHERE id = 3`)

	s := openAt(t, dbURL)
	uids, err := s.UIDs(ctx, 2, mail.Inbox)
	want := []mail.UIDEntry{{UID: 1, ID: 1}, {UID: 2, ID: 2}, {UID: 3, ID: 4, Flags: mail.FlagSeen}, {UID: 4, ID: 6}}
	if err != nil || !reflect.DeepEqual(uids, want) {
		t.Errorf("bob's inbox UIDs = %v, %v; want %v", uids, err, want)
	}
	if fi, err := s.Folder(ctx, 2, mail.Inbox); err != nil || fi.UIDNext != 5 || fi.Total != 4 || fi.Unseen != 3 || fi.UIDValidity == 0 {
		t.Errorf("bob's inbox = %+v, %v", fi, err)
	}
	if fs, err := s.Folders(ctx, 1); err != nil || len(fs) != 4 || fs[1].Name != mail.Sent || fs[1].Total != 1 || fs[1].UIDNext != 2 {
		t.Errorf("alice's folders = %+v, %v", fs, err)
	}
	metas, err := s.Deliver(ctx, mail.NewMessage{Raw: []byte("x"), Received: t0}, []mail.NewEntry{{Owner: 2, Folder: mail.Inbox}})
	if err != nil || metas[0].ID != 7 || metas[0].UID != 5 {
		t.Fatalf("Deliver after migrating = %+v, %v; want id 7, UID 5", metas, err)
	}
	if _, err := s.CreateFolder(ctx, 2, "Work", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transfer(ctx, 2, []mail.EntryID{1}, "Work", false); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Down one step at a time to version 1: 0003 first, then 0002.
	for v, _, err := MigrationVersion(ctx, dbURL); v > 1; v, _, err = MigrationVersion(ctx, dbURL) {
		if err != nil {
			t.Fatal(err)
		}
		if err := Migrate(ctx, dbURL, Down); err != nil {
			t.Fatal(err)
		}
	}
	var n, seen int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE seen) FROM entries`).Scan(&n, &seen); err != nil || n != 6 || seen != 2 {
		t.Errorf("after down: %d entries, %d seen, %v; want 6, 2", n, seen, err)
	}
	var total, unseen int
	if err := conn.QueryRow(ctx, `SELECT total, unseen FROM folder_counts WHERE owner = 2 AND folder = 'inbox'`).Scan(&total, &unseen); err != nil || total != 5 || unseen != 4 {
		t.Errorf("after down: bob's inbox counts %d, %d, %v; want 5, 4", total, unseen, err)
	}
}
