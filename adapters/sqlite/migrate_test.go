package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"mailroom/domain/mail"
)

func tables(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('accounts', 'messages', 'entries', 'folder_counts', 'message_previews', 'folders', 'changes', 'message_search', 'search_backfill', 'search_gone', 'search_index') ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func TestMigrateUpDownUp(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)

	if _, _, err := MigrationVersion(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("MigrationVersion(missing file) = %v, want fs.ErrNotExist", err)
	}
	if err := Migrate(ctx, path, "sideways"); err == nil {
		t.Fatal("Migrate(sideways) succeeded")
	}

	steps := []struct {
		direction  string
		wantVer    uint
		wantTables int
	}{
		{Up, 11, 8},
		{Up, 11, 8},   // nothing pending is not an error
		{Down, 10, 8}, // one step: the search index is back in the file
		{Down, 9, 8},  // entries_owner_id is back
		{Down, 8, 8},  // Message-IDs back on entries
		{Down, 7, 8},  // automerge back to FTS5's default
		{Down, 6, 8},  // back to the unicode61 tokenizer
		{Down, 5, 8},  // entries_owner_id goes
		{Down, 4, 6},  // the search index goes
		{Down, 3, 6},  // the entries_insert trigger is back
		{Down, 2, 5},  // folders and changes go, folder_counts is back
		{Down, 1, 4},  // message_previews goes
		{Down, 0, 0},
		{Down, 0, 0}, // nothing applied is not an error
		{Up, 11, 8},
	}
	for i, st := range steps {
		if err := Migrate(ctx, path, st.direction); err != nil {
			t.Fatalf("step %d: Migrate(%s): %v", i, st.direction, err)
		}
		v, dirty, err := MigrationVersion(path)
		if err != nil || v != st.wantVer || dirty {
			t.Fatalf("step %d: MigrationVersion = %d, %v, %v; want %d, false, nil", i, v, dirty, err, st.wantVer)
		}
		if got := tables(t, path); len(got) != st.wantTables {
			t.Fatalf("step %d: tables %v, want %d of them", i, got, st.wantTables)
		}
	}

	// Open on a migrated file migrates nothing and works.
	s := openAt(t, path, Config{})
	mkAccount(t, s, "alice")
}

func TestOpenMigrates(t *testing.T) {
	path := dbPath(t)
	openAt(t, path, Config{})
	v, dirty, err := MigrationVersion(path)
	if err != nil || v != 11 || dirty {
		t.Fatalf("after Open: MigrationVersion = %d, %v, %v; want 11, false, nil", v, dirty, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %o, want 600: it holds password hashes and mail", filepath.Base(p), st.Mode().Perm())
		}
	}
}

// A database from before previews keeps its messages, whose preview is empty,
// and new deliveries get one.
func TestMigratePreviewKeepsOldMessages(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	m, err := newMigrate(path, DefaultBusyTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Migrate(1); err != nil {
		t.Fatalf("migrate to 1: %v", err)
	}
	m.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO accounts (id, username, password_hash, created) VALUES (1, 'bob', 'h', 0)`,
		`INSERT INTO messages (id, size, from_addr, subject, received, raw) VALUES (1, 22, 'a@localhost', 'old', 0, 'Subject: old\r\n\r\nold text')`,
		`INSERT INTO entries (owner, message_id, folder, rcpts, received) VALUES (1, 1, 'inbox', '[]', 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s := openAt(t, path, Config{}) // migrates to the newest
	old, err := s.List(ctx, 1, mail.Inbox, 0, 10)
	if err != nil || len(old) != 1 || old[0].Subject != "old" || old[0].Preview != "" {
		t.Fatalf("old entry after migrating: %+v, %v", old, err)
	}
	metas, err := s.Deliver(ctx, newMsg("new", []byte("new text")), []mail.NewEntry{{Owner: 1, Folder: mail.Inbox}})
	if err != nil || metas[0].Preview != "new text" {
		t.Fatalf("Deliver after migrating: %+v, %v", metas, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Down to 1 (through 11 to 2) drops the previews only.
	for range 10 {
		if err := Migrate(ctx, path, Down); err != nil {
			t.Fatal(err)
		}
	}
	if v, _, err := MigrationVersion(path); err != nil || v != 1 {
		t.Fatalf("after down: version %d, %v; want 1", v, err)
	}
	s = openAt(t, path, Config{})
	if got := counts(t, s); got != (rowCounts{accounts: 1, messages: 2, entries: 2}) {
		t.Errorf("rows after down and up: %+v", got)
	}
	if got := count(t, s, "message_previews"); got != 0 {
		t.Errorf("%d previews after down and up, want 0", got)
	}
}

func TestPragmas(t *testing.T) {
	s := newStore(t)
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
	}
	for _, db := range []struct {
		name string
		db   *sql.DB
	}{{"writer", s.wdb}, {"reader", s.rdb}} {
		for _, tt := range tests {
			var got string
			if err := db.db.QueryRow("PRAGMA " + tt.pragma).Scan(&got); err != nil {
				t.Fatalf("%s: PRAGMA %s: %v", db.name, tt.pragma, err)
			}
			if got != tt.want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", db.name, tt.pragma, got, tt.want)
			}
		}
	}
	if _, err := s.rdb.Exec(`DELETE FROM accounts`); err == nil {
		t.Error("a write through the read pool succeeded; want query_only to refuse it")
	}
}
