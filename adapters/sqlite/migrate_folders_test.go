package sqlite

import (
	"context"
	"database/sql"
	"reflect"
	"testing"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// A database at version 2 (before folders) keeps every entry through 0003:
// each gets a UID in its folder in id order, UIDNEXT is past them, the
// counts and the seen flags carry over, and entry ids are never reused.
// Down takes it back to version 2 with its inbox and sent entries.
func TestMigrateFoldersKeepsEntries(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	m, err := newMigrate(path, DefaultBusyTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Migrate(2); err != nil {
		t.Fatalf("migrate to 2: %v", err)
	}
	m.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO accounts (id, username, password_hash, created) VALUES (1, 'alice', 'h', 0), (2, 'bob', 'h', 0)`)
	type old struct {
		owner  int
		folder string
		seen   int
	}
	olds := []old{{2, "inbox", 0}, {2, "inbox", 0}, {2, "inbox", 1}, {2, "inbox", 1}, {1, "sent", 1}, {2, "inbox", 0}, {1, "inbox", 0}, {2, "sent", 0}}
	for i, o := range olds {
		id := i + 1
		exec(`INSERT INTO messages (id, size, from_addr, subject, received, raw) VALUES (?, 3, 'a@localhost', ?, ?, 'raw')`, id, "s"+string(rune('a'+i)), id)
		exec(`INSERT INTO entries (id, owner, message_id, folder, rcpts, seen, received) VALUES (?, ?, ?, ?, '[]', ?, ?)`, id, o.owner, id, o.folder, o.seen, id)
	}
	// Ids 3 and 8 go: 8 was the highest ever given and must stay used.
	exec(`DELETE FROM entries WHERE id IN (3, 8)`)
	db.Close()

	s := openAt(t, path, Config{})
	if v, _, _ := MigrationVersion(path); v != 11 {
		t.Fatalf("version %d, want 11", v)
	}
	uids, err := s.UIDs(ctx, 2, mail.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	want := []mail.UIDEntry{{UID: 1, ID: 1}, {UID: 2, ID: 2}, {UID: 3, ID: 4, Flags: mail.FlagSeen}, {UID: 4, ID: 6}}
	if !reflect.DeepEqual(uids, want) {
		t.Errorf("bob's inbox UIDs = %v, want %v", uids, want)
	}
	checkFolder := func(owner int, f mail.Folder, next uint32, total, unseen int) mail.FolderInfo {
		t.Helper()
		fi, err := s.Folder(ctx, account.ID(owner), f)
		if err != nil || fi.UIDNext != next || fi.Total != total || fi.Unseen != unseen || fi.Special != f.Special() || fi.UIDValidity == 0 {
			t.Errorf("owner %d %s = %+v, %v; want UIDNext %d, %d total, %d unseen", owner, f, fi, err, next, total, unseen)
		}
		return fi
	}
	checkFolder(2, mail.Inbox, 5, 4, 3)
	checkFolder(2, mail.Sent, 1, 0, 0)
	checkFolder(2, mail.Drafts, 1, 0, 0)
	checkFolder(1, mail.Sent, 2, 1, 0)
	checkFolder(1, mail.Inbox, 2, 1, 1)
	trash := checkFolder(1, mail.Trash, 1, 0, 0)
	for _, id := range []mail.EntryID{1, 2, 4, 6} {
		got, err := s.Fetch(ctx, 2, id)
		if err != nil || got.Subject != "s"+string(rune('a'+id-1)) || string(got.Raw) != "raw" || !got.Date.Equal(time.Unix(0, int64(id)).UTC()) {
			t.Errorf("entry %d after migrating: %+v, %v", id, got.Meta, err)
		}
	}
	if got := counts(t, s); got != (rowCounts{accounts: 2, messages: 6, entries: 6}) {
		t.Errorf("rows %+v", got)
	}
	metas, err := s.Deliver(ctx, newMsg("new", nil), []mail.NewEntry{{Owner: 2, Folder: mail.Inbox}})
	if err != nil || metas[0].ID != 9 || metas[0].UID != 5 {
		t.Fatalf("Deliver after migrating = %+v, %v; want id 9 (8 was used) and UID 5", metas, err)
	}
	work, err := s.CreateFolder(ctx, 1, "Work", time.Unix(1, 0))
	if err != nil || work.UIDValidity <= trash.UIDValidity {
		t.Errorf("a new folder's UIDValidity %d, %v; want above the migrated %d", work.UIDValidity, err, trash.UIDValidity)
	}
	if _, err := s.Transfer(ctx, 1, []mail.EntryID{7}, "Work", false); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Down (through 0011, which brings the search index back into the
	// file, 0010, which brings entries_owner_id back, 0009, which
	// moves Message-IDs back to entries, 0008, 0007, 0006 and 0005, which
	// change and drop the search indexes, and 0004, which only brings the
	// insert trigger back) keeps inbox and sent; the copy in Work cannot be
	// kept there.
	for range 9 {
		if err := Migrate(ctx, path, Down); err != nil {
			t.Fatal(err)
		}
	}
	db, err = sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, seen, seq int
	if err := db.QueryRow(`SELECT count(*), sum(seen) FROM entries`).Scan(&n, &seen); err != nil || n != 7 || seen != 2 {
		t.Errorf("after down: %d entries, %d seen, %v; want 7, 2", n, seen, err)
	}
	if err := db.QueryRow(`SELECT seq FROM sqlite_sequence WHERE name = 'entries'`).Scan(&seq); err != nil || seq != 10 {
		t.Errorf("after down: entries sequence %d, %v; want 10", seq, err)
	}
	var total, unseen int
	if err := db.QueryRow(`SELECT total, unseen FROM folder_counts WHERE owner = 2 AND folder = 'inbox'`).Scan(&total, &unseen); err != nil || total != 5 || unseen != 4 {
		t.Errorf("after down: bob's inbox counts %d, %d, %v; want 5, 4", total, unseen, err)
	}
}
