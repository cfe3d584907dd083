package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"testing"
)

func tables(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('accounts', 'messages', 'entries', 'folder_counts') ORDER BY name`)
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
		{Up, 1, 4},
		{Up, 1, 4}, // nothing pending is not an error
		{Down, 0, 0},
		{Down, 0, 0}, // nothing applied is not an error
		{Up, 1, 4},
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
	if err != nil || v != 1 || dirty {
		t.Fatalf("after Open: MigrationVersion = %d, %v, %v; want 1, false, nil", v, dirty, err)
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
