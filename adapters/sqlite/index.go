package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-migrate/migrate/v4"
	"go.uber.org/zap"
	sqlite "modernc.org/sqlite"

	"mailroom/domain/mail"
	"mailroom/migrations"
)

// The search index lives in a file of its own (migration 0011 says why),
// written by the indexer goroutine on a connection of its own, so that
// indexing runs beside the writer instead of inside its transactions. The
// writer hands each committed message's words (computed by the domain as
// it parsed the message, off the writer) to the indexer's queue as it
// acknowledges the batch; the indexer writes what has queued up as one
// transaction, at most IndexWait after the first, and records how far it
// got (index_state.upto) in the same transaction.
//
// Search first waits until upto reaches the newest message committed
// before it began (await), so what a 250 acknowledged is found. Nothing
// the index holds is trusted beyond that: results come from the entries,
// in the database file, so a deleted message (whose row the indexer
// removes moments later, from search_gone) is never a result. The queue
// only saves reading and decoding the message again: when it is full, or
// a write of the index failed, or at start (a crash loses the queue), the
// indexer reads the messages above upto from the database (catchUp).
//
// Processes that share the database share the index file. Message ids come
// from message_seq, in commit order whichever process commits, so upto
// means the same to all: each records it as max(upto, its own), catchUp
// adopts the file's, and a batch also indexes the messages between upto
// and its own that it lacks (another process's, not indexed yet).

// IndexFile gives the search index file that goes with the database file
// at path: mailroom.db's is mailroom.search.db, beside it.
func IndexFile(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + ".search" + ext
}

// indexItem is a committed message's index row.
type indexItem struct {
	id  int64
	doc mail.SearchDoc
}

// size is about what the item holds in memory.
func (it indexItem) size() int64 {
	d := it.doc
	return int64(64 + len(d.Subject) + len(d.From) + len(d.To) + len(d.Body) + len(d.Files))
}

// indexQueueItems is a variable for the test that makes the queue
// overflow all the time; it is read as the indexer starts.
var indexQueueItems = 4096

// Queue bounds: past either, the writer drops items and the indexer reads
// the messages from the database instead.
const (
	indexQueueBytes = 32 << 20
	// indexMaxBatch bounds the messages of one index transaction.
	indexMaxBatch = 1024
	// awaitMax bounds how long a search waits for the index: a busy
	// indexer catches up in milliseconds, and one that cannot (its file's
	// disk full) must not hang every search. Past it, the search answers
	// from what is indexed.
	awaitMax = 2 * time.Second
	// hurryAgain is how often a waiting search hurries the indexer again.
	hurryAgain = 50 * time.Millisecond
)

type indexer struct {
	s    *Store
	path string
	db   *sql.DB // the index file; one connection, used by run only
	ins  *sql.Stmt

	queue    chan indexItem
	queued   atomic.Int64 // bytes in queue
	overflow atomic.Bool  // items were dropped: catch up from the database
	failing  atomic.Bool  // the last write of the index failed
	hurry    chan struct{}

	upto  atomic.Int64 // every message up to it is indexed
	below int64        // the backfill's bound (run only)
	// The backfill's progress, for its log lines (run only).
	backfilled   int
	lastProgress time.Time
	purgeFailing bool // a purge failed and was logged (run only)
	mu           sync.Mutex
	moved        chan struct{} // closed, and replaced, when upto grows

	stop chan struct{}
	done chan struct{}
}

// openIndex opens (creating or migrating) the index file for the database
// file at cfg.Path. An index built for another state of the database
// (claim), a damaged one, or one whose schema migration was cut short
// (dirty: a kill or a full disk while the file was being made) is made
// again, empty; any other error (a lock, the disk) is Open's.
func openIndex(ctx context.Context, cfg Config) (*indexer, error) {
	x := &indexer{path: IndexFile(cfg.Path)}
	err := x.open(ctx, cfg)
	var dirty migrate.ErrDirty
	if err != nil && (errors.Is(err, errStaleIndex) || errors.Is(damaged(err), ErrDamaged) || isNotADatabase(err) ||
		errors.As(err, &dirty)) {
		cfg.logger().Warn("search index: building it again", zap.String("file", x.path), zap.Error(err))
		if err := removeIndex(x.path); err != nil {
			return nil, err
		}
		err = x.open(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: search index %s: %w", x.path, err)
	}
	return x, nil
}

// isNotADatabase reports a file SQLite cannot read as a database, as
// golang-migrate words it (it does not wrap the driver's error).
func isNotADatabase(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "file is not a database") || strings.Contains(msg, "database disk image is malformed")
}

var errStaleIndex = errors.New("built for another state of the database")

func (x *indexer) open(ctx context.Context, cfg Config) error {
	m, err := newMigrateFrom(migrations.SearchIndex, "searchindex", x.path, cfg.BusyTimeout)
	if err != nil {
		return err
	}
	err = run(ctx, m, x.path, Up)
	m.Close()
	if err != nil {
		return err
	}
	// synchronous=NORMAL: a power cut may lose the index's last commits,
	// and their upto with them; the indexer then reads those messages
	// from the database again. Nothing acknowledged depends on this file.
	db, err := sql.Open("sqlite", dsn(x.path, cfg.BusyTimeout, false)+"&_pragma=synchronous(NORMAL)")
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	err = x.claim(ctx, db, cfg)
	if err == nil {
		x.ins, err = db.PrepareContext(ctx, insSearchSQL)
	}
	if err != nil {
		db.Close()
		return err
	}
	x.db = db
	return nil
}

// claim checks the index against the database (under the index file's
// write lock, so that two processes opening at once make one state row)
// and reads its progress. An index is stale, and built again, when it was
// built for another database (its token), or is ahead of this one: it has
// seen message ids the database has not given out, or removed the rows of
// more deletions than the database has had. That is an older copy of the
// database put back (a backup, a snapshot of the file taken while the
// daemon ran): the index would lack rows the copy needs (of messages
// deleted since) and skip ids the copy gives out again.
func (x *indexer) claim(ctx context.Context, db *sql.DB, cfg Config) error {
	tx, err := db.BeginTx(ctx, nil) // _txlock=immediate: the write lock
	if err != nil {
		return err
	}
	defer tx.Rollback()
	mdb, err := sql.Open("sqlite", dsn(cfg.Path, cfg.BusyTimeout, true))
	if err != nil {
		return err
	}
	defer mdb.Close()
	var token string
	var next, gone int64
	err = mdb.QueryRowContext(ctx, `SELECT (SELECT token FROM search_index), (SELECT next FROM message_seq),
(SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'search_gone'), 0))`).Scan(&token, &next, &gone)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.Path, err)
	}
	var have string
	var upto, below, purged int64
	err = tx.QueryRowContext(ctx, `SELECT token, upto, below, gone FROM index_state`).Scan(&have, &upto, &below, &purged)
	if errors.Is(err, sql.ErrNoRows) {
		// New: what the database holds now is the backfill's.
		// New: what the database holds now is the backfill's, and it
		// skips what was deleted so far.
		have, upto, below, purged = token, next-1, next, gone
		_, err = tx.ExecContext(ctx, `INSERT INTO index_state (token, upto, below, gone) VALUES (?, ?, ?, ?)`, token, upto, below, gone)
	}
	if err != nil {
		return err
	}
	switch {
	case have != token:
		return fmt.Errorf("%w: another database's", errStaleIndex)
	case upto >= next:
		return fmt.Errorf("%w: indexed up to message %d, the database has given out ids up to %d", errStaleIndex, upto, next-1)
	case purged > gone:
		return fmt.Errorf("%w: %d deletions purged, the database has had %d", errStaleIndex, purged, gone)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	x.below = below
	x.upto.Store(upto)
	return nil
}

// removeIndex removes the index file at path and its WAL files.
func removeIndex(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sqlite: search index: %w", err)
		}
	}
	return nil
}

// start runs the indexer until close.
func (x *indexer) start(s *Store) {
	x.s = s
	x.queue = make(chan indexItem, indexQueueItems)
	x.hurry = make(chan struct{}, 1)
	x.moved = make(chan struct{})
	x.stop, x.done = make(chan struct{}), make(chan struct{})
	go x.run()
}

// close stops the indexer and closes its file.
func (x *indexer) close() error {
	if x.stop != nil {
		close(x.stop)
		<-x.done
	}
	return errors.Join(x.ins.Close(), x.db.Close())
}

// offer queues a committed batch's items, or, if the queue is full (or
// was, and the indexer has not caught up yet), drops them for catchUp.
// The writer calls it before it acknowledges the batch.
func (x *indexer) offer(items []indexItem) {
	for _, it := range items {
		if x.overflow.Load() {
			return
		}
		n := it.size()
		if x.queued.Add(n) > indexQueueBytes {
			x.queued.Add(-n)
			x.overflow.Store(true)
			return
		}
		select {
		case x.queue <- it:
		default:
			x.queued.Add(-n)
			x.overflow.Store(true)
		}
	}
}

// publish records that every message up to upto is indexed.
func (x *indexer) publish(upto int64) {
	if upto <= x.upto.Load() {
		return
	}
	x.mu.Lock()
	x.upto.Store(upto)
	x.wake()
	x.mu.Unlock()
}

// wake wakes every await, to look again; x.mu must be held.
func (x *indexer) wake() {
	close(x.moved)
	x.moved = make(chan struct{})
}

// awaitIndexed waits until every message committed so far (by any
// process) is indexed; see indexer.await.
func (s *Store) awaitIndexed(ctx context.Context) error {
	var newest int64
	if err := s.rst.newestMsg.QueryRowContext(ctx).Scan(&newest); err != nil {
		return err
	}
	return s.idx.await(ctx, newest)
}

// await waits until every message up to target is indexed, at most
// awaitMax, and not at all while the index cannot be written.
func (x *indexer) await(ctx context.Context, target int64) error {
	var deadline <-chan time.Time
	for {
		x.mu.Lock()
		moved := x.moved
		x.mu.Unlock()
		if x.upto.Load() >= target || x.failing.Load() {
			return nil
		}
		select { // the indexer writes what it has at once
		case x.hurry <- struct{}{}:
		default:
		}
		if deadline == nil {
			t := time.NewTimer(awaitMax)
			defer t.Stop()
			deadline = t.C
		}
		// Again and again: a hurry the indexer took for a batch that
		// moved nothing (all of it indexed already, by another process)
		// must not leave this waiting until the deadline.
		again := time.NewTimer(hurryAgain)
		select {
		case <-moved:
		case <-again.C:
		case <-deadline:
			again.Stop()
			return nil
		case <-ctx.Done():
			again.Stop()
			return ctx.Err()
		}
		again.Stop()
	}
}

// attachIndex is a connector for the read pool: each connection attaches
// the index file as "search", so a query joins message_search to the
// entries (the name is unique across both files) in one statement and one
// read transaction.
type attachIndex struct {
	driver.Connector
	path string
}

func newAttachIndex(dsn, path string) (attachIndex, error) {
	c, err := sqlite.NewConnector(dsn)
	return attachIndex{c, path}, err
}

func (a attachIndex) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := a.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		conn.Close()
		return nil, errors.New("sqlite: connection cannot exec")
	}
	if _, err := ex.ExecContext(ctx, `ATTACH DATABASE ? AS search`, []driver.NamedValue{{Ordinal: 1, Value: a.path}}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("attach the search index: %w", err)
	}
	return conn, nil
}
