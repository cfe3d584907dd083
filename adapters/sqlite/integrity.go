package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrDamaged is returned by Open for a file that is not a SQLite database or
// that fails PRAGMA quick_check. The message names the file.
var ErrDamaged = errors.New("database file is damaged")

// quickCheckMax bounds how many problems quick_check reports (and so the
// length of the error): the first few say enough to act on.
const quickCheckMax = 10

// quickCheck runs PRAGMA quick_check on the file at path: every b-tree page
// is read and checked, but indexes are not matched against their tables, so
// it costs about one read of the file. A missing file is created first,
// private, as migrate would.
func quickCheck(ctx context.Context, path string, busy time.Duration) error {
	if err := createPrivate(path); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", dsn(path, busy, false))
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rows, err := db.QueryContext(ctx, fmt.Sprintf("PRAGMA quick_check(%d)", quickCheckMax))
	if err != nil {
		return damaged(fmt.Errorf("sqlite: quick_check %s: %w", path, err))
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return damaged(fmt.Errorf("sqlite: quick_check %s: %w", path, err))
		}
		problems = append(problems, line)
	}
	if err := rows.Err(); err != nil {
		return damaged(fmt.Errorf("sqlite: quick_check %s: %w", path, err))
	}
	if len(problems) == 1 && problems[0] == "ok" {
		return nil
	}
	return fmt.Errorf("sqlite: %s: %w: quick_check: %s", path, ErrDamaged, strings.Join(problems, "; "))
}

// damaged adds ErrDamaged to err when SQLite's code says the file is not a
// database or is corrupt.
func damaged(err error) error {
	var e *msqlite.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
		return fmt.Errorf("%w (%w)", err, ErrDamaged)
	}
	return err
}

// isIOFailure reports whether err is SQLite failing to write or read the
// file (disk full, I/O error, the file gone read-only or moved), as opposed
// to a constraint or a bad request: after one the writer recovers space.
func isIOFailure(err error) bool {
	var e *msqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN:
		return true
	}
	return false
}
