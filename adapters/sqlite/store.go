// Package sqlite owns Mailroom's storage in one SQLite file: accounts,
// messages stored once, and per-owner mailbox entries (adapters for
// account.Store and mail.Store), the migration runner over the embedded
// schema, and a change feed that streams committed entries to subscribers,
// including entries committed by other processes sharing the file.
//
// Every write goes through one writer goroutine that owns one connection and
// commits queued writes together (group commit), so concurrent deliveries
// never meet SQLITE_BUSY from each other. Reads use a separate pool. Hot
// statements are prepared once (stmts.go). The writer also guards the file:
// it checkpoints a WAL grown past Config.MaxWAL, recovers after a disk full
// without a restart, and refuses writes to a file removed while open
// (space.go); Open refuses a damaged file (integrity.go).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"mailroom/domain/account"
	"mailroom/domain/mail"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go)
)

var (
	_ account.Store = (*Store)(nil)
	_ mail.Store    = (*Store)(nil)
)

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("sqlite: store closed")

// Defaults.
const (
	DefaultBusyTimeout = 5 * time.Second
	DefaultMaxBatch    = 64
	DefaultGatherWait  = 2 * time.Millisecond
	DefaultIndexWait   = 100 * time.Millisecond
	DefaultMaxWAL      = 4 << 20
	// walSizeLimit is the journal_size_limit: the size a WAL that grew
	// beyond it is cut back to when it restarts after a checkpoint.
	walSizeLimit = 8 << 20
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
	// GatherWait bounds how long the writer waits, before a batch, for
	// the senders it has just acknowledged, so that their next writes
	// join the batch (writer.go). Default DefaultGatherWait; negative:
	// never wait.
	GatherWait time.Duration
	// SkipQuickCheck skips PRAGMA quick_check at Open. The check reads the
	// whole file (about a second per GB on an SSD), so that a damaged file
	// is refused at start rather than when a damaged entry is read. Default
	// false: the check runs.
	SkipQuickCheck bool
	// MaxWAL is the WAL file size past which the writer checkpoints and
	// truncates the WAL before its next batch, and refuses the batch if
	// that fails (disk full). It bounds how much the WAL holds that the
	// database file lacks, which is about how much space must be freed
	// after a disk full before writes resume. Default 4 MiB (SQLite's own
	// automatic checkpoint runs at about that size too).
	MaxWAL int64
	// IndexWait bounds how long the search indexer gathers committed
	// messages before it writes them to the index as one transaction
	// (index.go); a search that waits for the index cuts it short, so
	// search results do not wait for it. Longer: fewer, larger index
	// writes, fewer segments to merge. Interleaved at 10 KB x 8, the
	// index cost 11.6% of the submission rate at 20 ms, 3.3% at 100 ms
	// (another run: 7.8% at 100 ms, 5.7% at 250 ms); at 100 ms a busy
	// server's index write takes some 50 ms, which a search that hurries
	// it may wait for. Default DefaultIndexWait; negative: write at once.
	IndexWait time.Duration
	// Logger gets the search index's lines: its backfill of messages
	// stored before it existed, and failures to write it. Default: no
	// logging.
	Logger *zap.Logger
}

func (c Config) logger() *zap.Logger {
	if c.Logger == nil {
		return zap.NewNop()
	}
	return c.Logger
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

	wst writeStmts // prepared on wdb; used only by the writer goroutine
	rst readStmts  // prepared on rdb

	file os.FileInfo // the database file as opened, for checkFile

	// mustRecover is set when a write failed on I/O (disk full, say): the
	// writer then ends any transaction SQLite left open and checkpoints and
	// truncates the WAL, now and before each batch until that succeeds.
	// Only the writer goroutine touches it.
	mustRecover bool

	feedsMu sync.Mutex
	feeds   []*Feed

	// Writer statistics, for tests and benchmarks: requests taken,
	// transactions begun for them, and checkpoints run by the writer.
	taken, batches, checkpoints atomic.Int64

	idx *indexer // the search index (index.go)
	// afterAck, when set (tests only), runs after each batch's
	// acknowledgements, as a slow prune or checkpoint would.
	afterAck func()
	// noIndex turns the search index off, for the benchmarks that price
	// it (set before the first write; never in production).
	noIndex bool
}

// Open opens the database at cfg.Path, creating the file if needed, checks
// it (PRAGMA quick_check, unless cfg.SkipQuickCheck), runs every migration
// up, and starts the writer. Every error names the file; a damaged file
// gives ErrDamaged.
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
	if cfg.GatherWait == 0 {
		cfg.GatherWait = DefaultGatherWait
	}
	if cfg.MaxWAL <= 0 {
		cfg.MaxWAL = DefaultMaxWAL
	}
	if cfg.IndexWait == 0 {
		cfg.IndexWait = DefaultIndexWait
	}
	if !cfg.SkipQuickCheck {
		if err := quickCheck(ctx, cfg.Path, cfg.BusyTimeout); err != nil {
			return nil, err
		}
	}
	if err := migrateUp(ctx, cfg.Path, cfg.BusyTimeout); err != nil {
		return nil, damaged(err) // migrate's errors name the file
	}
	idx, err := openIndex(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{
		cfg:   cfg,
		reqs:  make(chan *writeReq, 4*cfg.MaxBatch),
		wdone: make(chan struct{}),
		idx:   idx,
	}
	if err := s.openPools(ctx); err != nil {
		idx.close()
		return nil, damaged(fmt.Errorf("sqlite: open %s: %w", cfg.Path, err))
	}
	fi, err := os.Stat(cfg.Path)
	if err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	s.file = fi
	go s.writer()
	idx.start(s)
	return s, nil
}

// openPools opens the writer's connection and the read pool and prepares
// their statements. On error it leaves nothing open.
func (s *Store) openPools(ctx context.Context) (err error) {
	cfg := s.cfg
	s.wdb, err = sql.Open("sqlite", dsn(cfg.Path, cfg.BusyTimeout, false))
	if err != nil {
		return fmt.Errorf("writer: %w", err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	conn, err := newAttachIndex(dsn(cfg.Path, cfg.BusyTimeout, true), s.idx.path)
	if err == nil {
		s.rdb = sql.OpenDB(conn)
	}
	if err != nil {
		s.wdb.Close()
		return fmt.Errorf("readers: %w", err)
	}
	n := max(4, runtime.NumCPU())
	s.rdb.SetMaxOpenConns(n)
	s.rdb.SetMaxIdleConns(n)
	// Preparing connects, so it also proves that both can open the file.
	if err = s.wst.prepare(ctx, s.wdb); err != nil {
		err = fmt.Errorf("writer: %w", err)
	} else if err = s.rst.prepare(ctx, s.rdb); err != nil {
		s.wst.close()
		err = fmt.Errorf("readers: %w", err)
	}
	if err != nil {
		s.wdb.Close()
		s.rdb.Close()
	}
	return err
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
	// The WAL file is reused, not shrunk, after a checkpoint: without a
	// limit one batch of big messages leaves it that big for good.
	q.Add("_pragma", "journal_size_limit("+strconv.Itoa(walSizeLimit)+")")
	q.Add("_pragma", "foreign_keys(ON)")
	// Each request of a group commit runs in a SAVEPOINT, whose sub-journal
	// (the pages it changed, to roll back to) spills to a temporary file
	// past 64 KiB: a 10-recipient delivery did that, one pwrite per page.
	// In memory it costs at most one batch's changed pages. Durability is
	// the WAL's and synchronous's, not the sub-journal's.
	q.Add("_pragma", "temp_store(MEMORY)")
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
	s.mu.Unlock()
	// The indexer first: it writes through the writer.
	idxErr := s.idx.close()
	s.mu.Lock()
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
	return errors.Join(idxErr, s.closeMain())
}

func (s *Store) closeDBs() error {
	return errors.Join(s.idx.close(), s.closeMain())
}

func (s *Store) closeMain() error {
	return errors.Join(s.wst.close(), s.rst.close(), s.rdb.Close(), s.wdb.Close())
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

func (s *Store) log() *zap.Logger { return s.cfg.logger() }
