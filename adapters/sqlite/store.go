// Package sqlite owns Mailroom's storage in one SQLite file: accounts,
// messages stored once, and per-owner mailbox entries (adapters for
// account.Store and mail.Store), the migration runner over the embedded
// schema, and a change feed that streams committed entries to subscribers,
// including entries committed by other processes sharing the file.
//
// Every write goes through one writer goroutine that owns one connection and
// commits queued writes together (group commit), so concurrent deliveries
// never meet SQLITE_BUSY from each other. Reads use a separate pool.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mailroom/ports"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go)
)

var (
	_ ports.AccountStore = (*Store)(nil)
	_ ports.MailStore    = (*Store)(nil)
)

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("sqlite: store closed")

// Defaults.
const (
	DefaultBusyTimeout = 5 * time.Second
	DefaultMaxBatch    = 64
)

// Config configures a Store.
type Config struct {
	// Path is the database file. Required. The caller creates its directory.
	Path string
	// BusyTimeout is how long a connection waits for a lock held by another
	// process before giving SQLITE_BUSY. Default 5s.
	BusyTimeout time.Duration
	// MaxBatch bounds how many queued writes the writer commits in one
	// transaction (group commit). Default 64; 1 commits every write alone.
	MaxBatch int
}

// Store is the SQLite-backed account and mail store.
type Store struct {
	cfg Config
	rdb *sql.DB // read pool, query_only
	wdb *sql.DB // the writer's single connection

	mu     sync.RWMutex // guards closed and sends on reqs
	closed bool
	reqs   chan *writeReq
	wdone  chan struct{}

	feedsMu sync.Mutex
	feeds   []*Feed

	// Writer statistics, for tests and benchmarks: requests taken, and
	// transactions begun for them.
	taken, batches atomic.Int64
}

// Open opens the database at cfg.Path, creating the file if needed, runs
// every migration up, and starts the writer.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("sqlite: Config.Path is empty")
	}
	if err := checkPath(cfg.Path); err != nil {
		return nil, err
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = DefaultBusyTimeout
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if err := migrateUp(ctx, cfg.Path, cfg.BusyTimeout); err != nil {
		return nil, err
	}

	wdb, err := sql.Open("sqlite", dsn(cfg.Path, cfg.BusyTimeout, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := wdb.PingContext(ctx); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}

	rdb, err := sql.Open("sqlite", dsn(cfg.Path, cfg.BusyTimeout, true))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open readers: %w", err)
	}
	n := max(4, runtime.NumCPU())
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	if err := rdb.PingContext(ctx); err != nil {
		wdb.Close()
		rdb.Close()
		return nil, fmt.Errorf("sqlite: open readers: %w", err)
	}

	s := &Store{
		cfg:   cfg,
		rdb:   rdb,
		wdb:   wdb,
		reqs:  make(chan *writeReq, 4*cfg.MaxBatch),
		wdone: make(chan struct{}),
	}
	go s.writer()
	return s, nil
}

// dsn builds a modernc.org/sqlite DSN: a plain file name whose query string
// the driver consumes (see the driver's package doc). Pragmas run on every new
// connection. readOnly connections refuse writes (query_only), so a write can
// only ever come from the writer.
func dsn(path string, busy time.Duration, readOnly bool) string {
	q := url.Values{}
	// busy_timeout first, so the journal_mode change can wait for a lock.
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	// FULL: a commit is on disk when COMMIT returns, even across power loss
	// (NORMAL in WAL mode may lose the last commits).
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode()
}

// Close stops accepting writes, lets the writer finish what is queued,
// stops every Feed and closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.reqs)
	s.mu.Unlock()
	<-s.wdone

	s.feedsMu.Lock()
	feeds := s.feeds
	s.feeds = nil
	s.feedsMu.Unlock()
	for _, f := range feeds {
		f.Close()
	}
	return errors.Join(s.rdb.Close(), s.wdb.Close())
}

// DB gives the writer's *sql.DB, for tests and benchmarks only. It has a single
// connection shared with the writer goroutine, so anything done through it is
// serialised with the Store's writes; holding a transaction on it while
// calling a Store write method deadlocks.
func (s *Store) DB() *sql.DB { return s.wdb }

// checkPath rejects paths the plain-file-name DSN form cannot carry.
func checkPath(path string) error {
	if strings.ContainsRune(path, '?') {
		return fmt.Errorf("sqlite: database path %q contains '?'", path)
	}
	return nil
}
