package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"mailroom/adapters/sqlite"
)

// errBackupPostgres: the SQLite copy has no PostgreSQL counterpart here;
// pg_dump takes a consistent dump of a live database already.
var errBackupPostgres = errors.New("backup copies the SQLite file, and this configuration uses PostgreSQL (--db): back it up with pg_dump -Fc (see docs/ops.md, Backups)")

// backup writes a checked copy of the SQLite database to dest while the
// daemon may run, and prints one line that says what the copy holds.
func (c *cli) backup(ctx context.Context, cfg config, dest string) int {
	if cfg.Postgres() {
		return c.fail(errBackupPostgres)
	}
	if _, err := os.Stat(cfg.DBPath()); errors.Is(err, fs.ErrNotExist) {
		return c.fail(fmt.Errorf("%w at %s (is --data right?)", errNoSQLite, cfg.DBPath()))
	}
	info, err := sqlite.Backup(ctx, cfg.DBPath(), dest, cfg.DBBusyTimeout)
	if err != nil {
		return c.fail(err)
	}
	fmt.Fprintf(c.stdout, "backup %s: %s, %d accounts, %d messages, %d entries, %d folders, quick_check ok, took %s\n",
		info.Path, formatBytes(info.Bytes), info.Accounts, info.Messages, info.Entries, info.Folders, info.Took.Round(1e6))
	return exitOK
}

// formatBytes writes n for a person: 12.3 MiB.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
