package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ErrBackupExists: Backup never overwrites a file; an old backup is the
// operator's to remove.
var ErrBackupExists = errors.New("backup destination exists")

// BackupInfo describes a backup that Backup wrote and checked.
type BackupInfo struct {
	Path  string // absolute
	Bytes int64
	// Rows counted in the copy.
	Accounts, Messages, Entries, Folders int64
	Took                                 time.Duration
}

// Backup writes a consistent copy of the database at src to dest, a file
// that must not exist yet, while a daemon may be writing: VACUUM INTO on a
// connection of its own reads one snapshot, so the copy holds every
// transaction committed before it began and none halfway. The writer keeps
// committing meanwhile (WAL mode: readers never block it). The copy is
// made private (0600), synced, then opened on its own and checked with
// PRAGMA quick_check and by counting its rows; a copy that fails the check
// is removed and the error names it.
func Backup(ctx context.Context, src, dest string, busy time.Duration) (BackupInfo, error) {
	start := time.Now()
	if busy <= 0 {
		busy = DefaultBusyTimeout
	}
	if err := checkPath(src); err != nil {
		return BackupInfo{}, err
	}
	if _, err := os.Stat(src); err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: %w", err)
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: %w", err)
	}
	// An empty file made here, O_EXCL: VACUUM INTO accepts an empty file,
	// and the copy is created private rather than with the umask's mode.
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: %s: %w", abs, ErrBackupExists)
	}
	if err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: %w", err)
	}
	f.Close()
	info, err := backupInto(ctx, src, abs, busy)
	if err != nil {
		os.Remove(abs)
		return BackupInfo{}, err
	}
	info.Took = time.Since(start)
	return info, nil
}

func backupInto(ctx context.Context, src, dest string, busy time.Duration) (BackupInfo, error) {
	// Not query_only, which refuses VACUUM INTO although the source is
	// only read.
	db, err := sql.Open("sqlite", dsn(src, busy, false))
	if err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: open %s: %w", src, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		return BackupInfo{}, damaged(fmt.Errorf("sqlite: backup: VACUUM INTO %s from %s: %w", dest, src, err))
	}
	// The copy is a database of its own: a search index file built from
	// this one must not be trusted with it (migration 0011).
	if err := newIndexToken(ctx, dest, busy); err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: %s: %w", dest, err)
	}
	if err := syncFile(dest); err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: %w", err)
	}
	// The copy is checked as a restore would open it: a file of its own.
	if err := quickCheck(ctx, dest, busy); err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: the copy %s fails its check: %w", dest, err)
	}
	info, err := countRows(ctx, dest, busy)
	if err != nil {
		return BackupInfo{}, err
	}
	// The check opened the copy in WAL mode; fold anything it left behind
	// back in, so that the backup is the one file.
	for _, side := range []string{"-wal", "-shm"} {
		os.Remove(dest + side)
	}
	fi, err := os.Stat(dest)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: %w", err)
	}
	info.Path, info.Bytes = dest, fi.Size()
	return info, nil
}

// newIndexToken gives the database at path a search_index token of its
// own (a database from before migration 0011 has none: that migration
// makes one). Closing the connection checkpoints what it wrote into the
// file.
func newIndexToken(ctx context.Context, path string, busy time.Duration) error {
	db, err := sql.Open("sqlite", dsn(path, busy, false))
	if err != nil {
		return err
	}
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'search_index'`).Scan(&n)
	if err == nil && n == 1 {
		_, err = db.ExecContext(ctx, `UPDATE search_index SET token = lower(hex(randomblob(16)))`)
	}
	return errors.Join(err, db.Close())
}

// countRows counts the copy's rows, read-only.
func countRows(ctx context.Context, path string, busy time.Duration) (BackupInfo, error) {
	db, err := sql.Open("sqlite", dsn(path, busy, true))
	if err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: open %s: %w", path, err)
	}
	defer db.Close()
	var info BackupInfo
	for _, c := range []struct {
		table string
		n     *int64
	}{
		{"accounts", &info.Accounts}, {"messages", &info.Messages},
		{"entries", &info.Entries}, {"folders", &info.Folders},
	} {
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+c.table).Scan(c.n); err != nil {
			return BackupInfo{}, fmt.Errorf("sqlite: backup: counting %s in %s: %w", c.table, path, err)
		}
	}
	return info, nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
