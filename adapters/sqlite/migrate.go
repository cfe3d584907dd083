package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/golang-migrate/migrate/v4"
	migratesqlite "github.com/golang-migrate/migrate/v4/database/sqlite"
	"github.com/golang-migrate/migrate/v4/source/iofs"

	"mailroom/migrations"
)

// Migration directions for Migrate.
const (
	Up   = "up"
	Down = "down"
)

// Migrate runs the embedded migrations on the database at path. "up" applies
// every pending migration (none pending is not an error); "down" reverts the
// most recent applied migration only, one step, since reverting 0001 drops
// every table. The file is created if it does not exist.
func Migrate(ctx context.Context, path string, direction string) error {
	if direction != Up && direction != Down {
		return fmt.Errorf("sqlite: migrate direction %q: want %q or %q", direction, Up, Down)
	}
	if err := checkPath(path); err != nil {
		return err
	}
	m, err := newMigrate(path, DefaultBusyTimeout)
	if err != nil {
		return err
	}
	defer m.Close()
	return run(ctx, m, path, direction)
}

// MigrationVersion gives the schema version of the database at path, and
// whether a migration failed halfway (dirty). A database no migration has
// touched is version 0. A missing file is an error (fs.ErrNotExist), not an
// empty database.
func MigrationVersion(path string) (version uint, dirty bool, err error) {
	if err := checkPath(path); err != nil {
		return 0, false, err
	}
	if _, err := os.Stat(path); err != nil {
		return 0, false, fmt.Errorf("sqlite: %w", err)
	}
	m, err := newMigrate(path, DefaultBusyTimeout)
	if err != nil {
		return 0, false, err
	}
	defer m.Close()
	v, d, err := m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("sqlite: %s: migration version: %w", path, err)
	}
	return v, d, nil
}

func migrateUp(ctx context.Context, path string, busy time.Duration) error {
	m, err := newMigrate(path, busy)
	if err != nil {
		return err
	}
	defer m.Close()
	return run(ctx, m, path, Up)
}

// newMigrate builds a migrate instance over migrations.FS and a one-connection
// *sql.DB with the Store's pragmas. Closing the instance closes the DB.
func newMigrate(path string, busy time.Duration) (*migrate.Migrate, error) {
	return newMigrateFrom(migrations.FS, ".", path, busy)
}

// newMigrateFrom is newMigrate over the migrations in dir of files.
func newMigrateFrom(files fs.FS, dir, path string, busy time.Duration) (*migrate.Migrate, error) {
	src, err := iofs.New(files, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: migrations source: %w", path, err)
	}
	if err := createPrivate(path); err != nil {
		src.Close()
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(path, busy, false))
	if err != nil {
		src.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	drv, err := migratesqlite.WithInstance(db, &migratesqlite.Config{})
	if err != nil {
		src.Close()
		db.Close()
		return nil, fmt.Errorf("sqlite: %s: migrations driver: %w", path, err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "sqlite", drv)
	if err != nil {
		src.Close()
		drv.Close()
		return nil, fmt.Errorf("sqlite: %s: migrate: %w", path, err)
	}
	return m, nil
}

func run(ctx context.Context, m *migrate.Migrate, path, direction string) error {
	// migrate stops between migrations when GracefulStop is signalled; a
	// migration already running finishes (each runs in its own transaction).
	stop := context.AfterFunc(ctx, func() {
		select {
		case m.GracefulStop <- true:
		default:
		}
	})
	defer stop()
	var err error
	switch direction {
	case Up:
		err = m.Up()
	case Down:
		if _, _, verr := m.Version(); errors.Is(verr, migrate.ErrNilVersion) {
			return nil // nothing applied, nothing to revert
		}
		err = m.Steps(-1)
	}
	if errors.Is(err, migrate.ErrNoChange) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("sqlite: %s: migrate %s: %w", path, direction, err)
	}
	return ctx.Err()
}

// createPrivate creates a missing database file with mode 0600 before SQLite
// opens it: the file holds password hashes and everyone's mail, and SQLite
// would create it (and its -wal and -shm files, which copy the database's
// mode) under the process umask, often world-readable. An existing file
// keeps the mode ops gave it.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	return f.Close()
}
