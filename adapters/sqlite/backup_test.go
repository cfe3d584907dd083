package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestBackupCopiesAndChecks(t *testing.T) {
	path := dbPath(t)
	s := openAt(t, path, Config{})
	alice, bob := mkAccount(t, s, "alice"), mkAccount(t, s, "bob")
	deliver(t, s, alice, "one", bob)
	deliver(t, s, alice, "two", bob, alice)

	dest := filepath.Join(t.TempDir(), "backup.db")
	info, err := Backup(context.Background(), path, dest, 0)
	if err != nil {
		t.Fatal(err)
	}
	if info.Accounts != 2 || info.Messages != 2 || info.Entries != int64(count(t, s, "entries")) || info.Bytes == 0 || info.Path != dest {
		t.Errorf("info %+v; store has %d entries", info, count(t, s, "entries"))
	}
	fi, err := os.Stat(dest)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file: %v, %v; want mode 0600", fi, err)
	}
	for _, side := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(dest + side); err == nil {
			t.Errorf("backup left %s behind", dest+side)
		}
	}
	// The copy opens as a store with the same rows, and a search index
	// token of its own: an index file built from the original is not its.
	b := openAt(t, dest, Config{})
	if got, want := counts(t, b), counts(t, s); got != want {
		t.Errorf("copy has %+v, original %+v", got, want)
	}
	var t1, t2 string
	if err := s.rdb.QueryRow(`SELECT token FROM search_index`).Scan(&t1); err != nil {
		t.Fatal(err)
	}
	if err := b.rdb.QueryRow(`SELECT token FROM search_index`).Scan(&t2); err != nil || t1 == t2 || len(t2) != 32 {
		t.Errorf("the copy's token %q (%v), the original's %q; want a new one", t2, err, t1)
	}

	// Never over an existing file.
	if _, err := Backup(context.Background(), path, dest, 0); !errors.Is(err, ErrBackupExists) {
		t.Errorf("second backup to the same file: %v, want ErrBackupExists", err)
	}
	// A source that is no database: an error naming it, no file left.
	bad := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(bad, []byte("this is not a database, not even close to one........................................................"), 0o600); err != nil {
		t.Fatal(err)
	}
	dest2 := filepath.Join(t.TempDir(), "b2.db")
	if _, err := Backup(context.Background(), bad, dest2, 0); err == nil {
		t.Error("backup of garbage succeeded")
	}
	if _, err := os.Stat(dest2); err == nil {
		t.Error("a failed backup left its file")
	}
}

// A database from before migration 0011 (no search_index token yet) backs
// up too: the natural backup before the first start of an upgrade.
func TestBackupBeforeTheIndexFile(t *testing.T) {
	path := dbPath(t)
	m, err := newMigrate(path, DefaultBusyTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Migrate(10); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if _, err := Backup(context.Background(), path, filepath.Join(t.TempDir(), "b.db"), 0); err != nil {
		t.Fatal(err)
	}
}
