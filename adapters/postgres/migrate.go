package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"mailroom/migrations"
)

// Migration directions for Migrate.
const (
	Up   = "up"
	Down = "down"
)

// Migrate runs the embedded migrations on the database at url. "up" applies
// every pending migration (none pending is not an error); "down" reverts the
// most recent applied migration only, one step, since reverting 0001 drops
// every table.
func Migrate(ctx context.Context, url string, direction string) error {
	red := newRedactor(url)
	if direction != Up && direction != Down {
		return fmt.Errorf("postgres: migrate direction %q: want %q or %q", direction, Up, Down)
	}
	pc, err := parseConfig(url)
	if err != nil {
		return red.wrap("postgres: parse URL", err)
	}
	red = red.with(pc.ConnConfig.Password)
	m, err := newMigrate(pc.ConnConfig)
	if err != nil {
		return red.wrap("postgres: migrate", err)
	}
	defer m.Close()
	return red.wrap("postgres: migrate "+direction, run(ctx, m, direction))
}

// MigrationVersion gives the schema version of the database at url, and
// whether a migration failed halfway (dirty). A database no migration has
// touched is version 0.
func MigrationVersion(ctx context.Context, url string) (version uint, dirty bool, err error) {
	red := newRedactor(url)
	pc, err := parseConfig(url)
	if err != nil {
		return 0, false, red.wrap("postgres: parse URL", err)
	}
	red = red.with(pc.ConnConfig.Password)
	m, err := newMigrate(pc.ConnConfig)
	if err != nil {
		return 0, false, red.wrap("postgres: migrate", err)
	}
	defer m.Close()
	v, d, err := m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, red.wrap("postgres: migration version", err)
	}
	return v, d, nil
}

func migrateUp(ctx context.Context, cc *pgx.ConnConfig) error {
	// database/sql, which golang-migrate drives, connects without a context:
	// connect once with ctx first so that an unreachable server fails here,
	// within the caller's deadline.
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return err
	}
	conn.Close(ctx)
	m, err := newMigrate(cc)
	if err != nil {
		return err
	}
	defer m.Close()
	return run(ctx, m, Up)
}

// newMigrate builds a migrate instance over migrations.Postgres and a
// database/sql handle on pgx. golang-migrate's pgx/v5 driver takes a
// session advisory lock (keyed by database, schema and table name) around
// creating its version table and around every run, so hosts that start
// together migrate one after the other and the later ones find nothing to
// do. Closing the instance closes the handle.
func newMigrate(cc *pgx.ConnConfig) (*migrate.Migrate, error) {
	sub, err := fs.Sub(migrations.Postgres, "postgres")
	if err != nil {
		return nil, fmt.Errorf("migrations source: %w", err)
	}
	src, err := iofs.New(sub, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations source: %w", err)
	}
	db := stdlib.OpenDB(*cc)
	db.SetMaxOpenConns(2) // the driver pins one for its lock; Version may use another
	drv, err := migratepgx.WithInstance(db, &migratepgx.Config{})
	if err != nil {
		src.Close()
		db.Close()
		return nil, err
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		src.Close()
		drv.Close()
		return nil, err
	}
	return m, nil
}

func run(ctx context.Context, m *migrate.Migrate, direction string) error {
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
		return err
	}
	return ctx.Err()
}
