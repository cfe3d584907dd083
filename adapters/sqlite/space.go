package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// ErrFileGone is returned by writes when the database file was removed or
// replaced while the Store had it open. SQLite would go on writing to the
// removed file, which disappears when the process ends, so every message
// acknowledged meanwhile would be lost on restart: writes are refused
// instead. Reads go on serving the removed file. Restart to open the new one.
var ErrFileGone = errors.New("database file was removed or replaced while open")

// checkFile reports ErrFileGone when the path no longer names the file the
// Store opened. One stat, on the writer goroutine, before and after a batch.
func (s *Store) checkFile() error {
	fi, err := os.Stat(s.cfg.Path)
	if err != nil || !os.SameFile(fi, s.file) {
		return fmt.Errorf("sqlite: %s: %w", s.cfg.Path, ErrFileGone)
	}
	return nil
}

// walSize gives the size of the WAL file, 0 when there is none.
func (s *Store) walSize() int64 {
	fi, err := os.Stat(s.cfg.Path + "-wal")
	if err != nil {
		return 0
	}
	return fi.Size()
}

// beforeBatch runs on the writer goroutine before each batch. It refuses
// the batch when the file is gone, and checkpoints when the WAL has grown
// past Config.MaxWAL or the last write failed on I/O. A checkpoint that
// fails (disk full: the database file cannot grow to take the WAL's pages)
// refuses the batch too: the WAL then stops growing, so it never holds much
// more than MaxWAL that the database file lacks, and freeing about that
// much space is enough for writes to resume, without a restart (issue 9).
func (s *Store) beforeBatch(ctx context.Context) error {
	if err := s.checkFile(); err != nil {
		return err
	}
	if !s.mustRecover && s.walSize() <= s.cfg.MaxWAL {
		return nil
	}
	return s.checkpoint(ctx)
}

// checkpoint copies the WAL into the database file and truncates it to
// zero bytes. A COMMIT that failed with SQLITE_FULL or SQLITE_IOERR may
// have left its transaction open (SQLite's result-code docs say to ROLLBACK
// then), and database/sql has forgotten it, so it is ended first, or every
// later BEGIN would fail. The checkpoint does not wait for readers
// (busy_timeout 0 meanwhile): when one blocks it, it is tried again before
// the next batch, and the write goes ahead. mustRecover stays set until a
// checkpoint completes.
func (s *Store) checkpoint(ctx context.Context) error {
	s.checkpoints.Add(1)
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		s.mustRecover = true
		return fmt.Errorf("sqlite: checkpoint: %w", err)
	}
	defer conn.Close()
	conn.ExecContext(ctx, `ROLLBACK`) // usually "no transaction is active": fine
	if _, err := conn.ExecContext(ctx, `PRAGMA busy_timeout = 0`); err != nil {
		s.mustRecover = true
		return fmt.Errorf("sqlite: checkpoint: %w", err)
	}
	defer conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, s.cfg.BusyTimeout.Milliseconds()))
	var busy, logFrames, done int
	err = conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done)
	if err != nil {
		s.mustRecover = true
		return fmt.Errorf("sqlite: checkpoint: %w", err)
	}
	s.mustRecover = busy != 0 && s.mustRecover
	return nil
}
