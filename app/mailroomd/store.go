package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"

	"go.uber.org/zap"

	"mailroom/adapters/postgres"
	"mailroom/adapters/sqlite"
	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
)

// store is what the daemon needs of either store adapter.
type store interface {
	account.Store
	mail.Store
	Close() error
}

// changeFeed is what the daemon needs of either store's change feed: the
// inbox server watches through it, and the mail service tells it of its own
// commits.
type changeFeed interface {
	ports.ChangeFeed
	mail.Notifier
	Close() error
}

// openStore opens the database cfg selects: the SQLite file in cfg.DataDir,
// or the PostgreSQL database cfg.DB names. Either is migrated up. Every
// command that reads or writes accounts or mail opens it here. An error
// never holds the URL's password (the postgres adapter scrubs its errors).
// log, when not nil, gets the store's own lines (the search index backfill
// of messages stored before search, with its progress); a short command
// passes nil.
func openStore(ctx context.Context, cfg config, log *zap.Logger) (store, error) {
	if log != nil {
		log = log.Named("db")
	}
	if cfg.Postgres() {
		return postgres.Open(ctx, postgres.Config{URL: cfg.DB, MaxConns: int32(cfg.DBMaxConns), Logger: log})
	}
	return openSQLite(ctx, cfg, log)
}

func openSQLite(ctx context.Context, cfg config, log *zap.Logger) (*sqlite.Store, error) {
	sc := sqliteConfig(cfg)
	sc.Logger = log
	return sqlite.Open(ctx, sc)
}

// sqliteConfig is the SQLite store's part of the settings.
func sqliteConfig(cfg config) sqlite.Config {
	return sqlite.Config{
		Path:           cfg.DBPath(),
		BusyTimeout:    cfg.DBBusyTimeout,
		SkipQuickCheck: cfg.DBSkipQuickCheck,
		MaxWAL:         cfg.DBMaxWAL,
	}
}

// errNoSQLite: a command that only reads the SQLite database (copy-db)
// must not create an empty one.
var errNoSQLite = errors.New("no SQLite database")

// openExistingSQLite is openSQLite for a file that must exist already.
func openExistingSQLite(ctx context.Context, cfg config) (*sqlite.Store, error) {
	if _, err := os.Stat(cfg.DBPath()); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s (is --data right?)", errNoSQLite, cfg.DBPath())
	}
	return openSQLite(ctx, cfg, nil)
}

// urlSecrets gives the password of a database URL in the spellings it may
// take in an error text: as written, and decoded.
func urlSecrets(dbURL string) []string {
	u, err := url.Parse(dbURL)
	if err != nil || u.User == nil {
		return nil
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" {
		return nil
	}
	return []string{pw, url.QueryEscape(pw), url.PathEscape(pw)}
}

// scrub replaces every secret in s. The postgres adapter already keeps the
// password out of its errors; this is the daemon's own guard, for text
// from anywhere else.
func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, "xxxxx")
	}
	return s
}

// storeWiring is the database of a serve run and the change feed that the
// inbox server and the mail service share.
type storeWiring struct {
	store store
	feed  changeFeed
	log   *zap.Logger
}

func newStoreWiring(s store, log *zap.Logger) *storeWiring {
	w := &storeWiring{store: s, log: log}
	switch s := s.(type) {
	case *sqlite.Store:
		w.feed = s.Feed(sqlite.FeedConfig{})
	case *postgres.Store:
		// LISTEN/NOTIFY: mail committed through any host reaches this
		// host's watchers; a listener that reconnects catches up by id.
		w.feed = s.Feed(postgres.FeedConfig{})
	default:
		panic(fmt.Sprintf("mailroomd: no change feed for %T", s))
	}
	return w
}

// close stops the feed before the database it reads from.
func (w *storeWiring) close() {
	w.feed.Close()
	if err := w.store.Close(); err != nil {
		w.log.Error("closing the database", zap.Error(err))
	}
}
