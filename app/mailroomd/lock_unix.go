//go:build unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockFile is the startup lock inside the data directory.
const lockFile = ".mailroomd.lock"

// lockDataDir takes an exclusive flock on the data directory's lock file,
// waiting for it. Every command holds it while it may create the
// certificate pair or migrate the database: the smtp and inbox processes of
// two-process mode often start together on a fresh directory, and without
// it each would make its own certificate (and keep serving a different one
// from the one on disk) and both would run the first migration. The kernel
// drops the lock when the process dies.
func lockDataDir(cfg config, warn func(string)) (unlock func(), err error) {
	if err := ensureDataDir(cfg, warn); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(cfg.DataDir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil // closing the file releases the lock
}
