// Package postgres owns Mailroom's storage in a PostgreSQL database that
// several mailroomd hosts share: accounts, messages stored once, per-owner
// mailbox entries (adapters for account.Store and mail.Store), the migration
// runner over the embedded schema (migrations/postgres), and a change feed
// that streams committed entries to subscribers on every host through
// LISTEN/NOTIFY.
//
// Deliver stores the message and every entry in one statement, and returns
// once PostgreSQL has reported the commit (synchronous_commit is set on for
// every session); deliveries that wait at the same time share one
// transaction and one WAL flush (writer.go), and the NOTIFY that wakes the
// feeds follows the commit (announce).
// The password in the connection URL never appears in an error this package
// returns.
package postgres

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

var (
	_ account.Store = (*Store)(nil)
	_ mail.Store    = (*Store)(nil)
)

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("postgres: store closed")

// DefaultMaxConns is the pool size when Config.MaxConns is 0:
// max(4, GOMAXPROCS), pgxpool's own default. On a 2-core host that also runs
// PostgreSQL, BenchmarkDeliver did 600-830 deliveries/s with 4 connections
// and 370-710/s with 16: more sessions than cores only add switching. A host
// whose PostgreSQL is elsewhere waits on the network instead, and may want
// more.
func DefaultMaxConns() int32 { return int32(max(4, runtime.GOMAXPROCS(0))) }

// Config configures a Store.
type Config struct {
	// URL names the database: postgres://user:password@host:port/dbname
	// (postgresql:// too, with libpq's query parameters such as sslmode).
	// Required. The password is kept out of every error and log line.
	URL string
	// MaxConns bounds the connection pool. Default DefaultMaxConns(),
	// max(4, GOMAXPROCS). The deliver writers use up to deliverWriters (2)
	// of them while deliveries are in flight; the change feed's listener
	// holds one more connection of its own.
	MaxConns int32
	// Logger logs the search index backfill of messages stored before
	// search existed (search_backfill.go). Default: no logging.
	Logger *zap.Logger
}

// Store is the PostgreSQL-backed account and mail store.
type Store struct {
	pool   *pgxpool.Pool
	listen *pgx.ConnConfig // for the feed's dedicated listener connections
	red    redactor

	mu      sync.Mutex
	closed  bool
	feeds   []*Feed
	closing chan struct{}
	// backfillDone is closed when the search index backfill has ended.
	backfillDone chan struct{}
	// dq feeds the deliver writers (writer.go).
	dq deliverQueue
}

// Open connects to cfg.URL, runs every migration up (hosts starting at once
// take turns on an advisory lock, so the schema is migrated once), and
// returns a Store over a connection pool.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	red := newRedactor(cfg.URL)
	if cfg.URL == "" {
		return nil, errors.New("postgres: Config.URL is empty")
	}
	pc, err := parseConfig(cfg.URL)
	if err != nil {
		return nil, red.wrap("postgres: parse URL", err)
	}
	red = red.with(pc.ConnConfig.Password)
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns()
	}
	pc.MaxConns = cfg.MaxConns

	if err := migrateUp(ctx, pc.ConnConfig.Copy()); err != nil {
		return nil, red.wrap("postgres: migrate up", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, red.wrap("postgres: open pool", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, red.wrap("postgres: open pool", err)
	}
	s := &Store{pool: pool, listen: listenerConfig(pc.ConnConfig), red: red, closing: make(chan struct{})}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	s.startBackfill(log)
	s.startWriters()
	return s, nil
}

// parseConfig parses url and sets what every session of ours needs.
func parseConfig(url string) (*pgxpool.Config, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	rp := pc.ConnConfig.RuntimeParams
	// A delivery is acknowledged (250) once its commit returns, so the commit
	// must be durable then. "on" is the server default, but a server, role or
	// database default of "off" or "local" must not weaken it.
	rp["synchronous_commit"] = "on"
	if rp["application_name"] == "" {
		rp["application_name"] = "mailroomd"
	}
	return pc, nil
}

// Close stops every Feed and closes the pool. Calls made afterwards give
// ErrClosed. It is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	feeds := s.feeds
	s.feeds = nil
	s.mu.Unlock()
	for _, f := range feeds {
		f.Close()
	}
	<-s.backfillDone
	s.closeWriters() // commits what is queued already
	s.pool.Close()   // waits for the connections in use to be released
	return nil
}

// Pool gives the connection pool, for tests and tools only (the SQLite to
// PostgreSQL copy, benchmarks).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// check gives ErrClosed after Close, rather than letting a call reach the
// closed pool, whose error would not say why.
func (s *Store) check() error {
	select {
	case <-s.closing:
		return ErrClosed
	default:
		return nil
	}
}

// retryable reports whether err is a deadlock or serialisation failure:
// PostgreSQL rolled the statement back and running it again can succeed.
// Two DeleteAccount calls can deadlock on messages both accounts hold.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// write runs fn, one statement and so one transaction, again when it failed
// only because of a deadlock or a serialisation failure.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context) error) error {
	if err := s.check(); err != nil {
		return err
	}
	var err error
	for attempt := range 4 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return errors.Join(ctx.Err(), err)
			case <-time.After(time.Duration(attempt) * 5 * time.Millisecond):
			}
		}
		if err = fn(ctx); !retryable(err) {
			return err
		}
	}
	return err
}

// announceSQL wakes every feed's listener (on any host) after a write that
// changed entries. It runs after the write's COMMIT, as a transaction of its
// own: a transaction that NOTIFYs holds a database-wide lock from its
// pre-commit until its commit is over, so a NOTIFY inside the write made
// every write wait for every other's WAL flush (Lock:object, IO:WALSync).
// NOTIFY gives this transaction an xid and so a commit record;
// synchronous_commit off for it alone (set_config local) keeps that record
// from waiting for a flush while the lock is held. Listeners see the
// notification at once either way; a crash can lose it, which the listener's
// poll (Feed) makes up for.
const announceSQL = `SELECT set_config('synchronous_commit', 'off', true), pg_notify('` + notifyChannel + `', '')`

// execer is a pool, a pooled connection or a connection.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// announce sends announceSQL on q once a write has committed. A failure is
// ignored: the write is durable and acknowledged, and the listeners' poll
// finds it within FeedConfig.Poll.
func (s *Store) announce(ctx context.Context, q execer) {
	if q == nil {
		q = s.pool
	}
	_, _ = q.Exec(ctx, announceSQL) // a hint: see above
}

// pgCode gives err's SQLSTATE and constraint name, if it is a server error.
func pgCode(err error) (code, constraint string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, pe.ConstraintName
	}
	return "", ""
}
