package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Group commit for Deliver (issue 11). Every delivery of a sender takes the
// row locks of its folders (Inbox of each recipient, the sender's Sent) and
// holds them until its commit has been flushed to the WAL, so deliveries
// that share a folder ran one flush after another: with 8 connections of one
// account, ~250 deliveries/s on a 2-core host however fast the flush. The
// writers gather the deliveries that are waiting and commit them together,
// in one statement (deliverQuery), one transaction, one WAL flush and one
// round trip (a pgx Batch is a pipeline whose statements share an implicit
// transaction that its final Sync commits), and answer each caller only
// after that commit.
//
// A failing delivery must not fail the others. Rather than a SAVEPOINT per
// delivery (a round trip each, and past 64 subtransactions every snapshot
// taken on the server overflows into pg_subtrans), a batch that failed by
// one delivery's fault is rolled back as a whole, run again with a
// statement per delivery to find it (commitDeliveries), and then run again
// without it; that delivery alone gets the error. Failures are rare
// (an account deleted between RCPT and DATA), so this costs nothing in
// the common case.
const (
	// deliverWriters is how many batches may be in flight at once: while
	// one waits for its WAL flush, the next one executes. Only one batch
	// executes at a time (deliverQueue.exec): a writer that took its
	// first request waits there, and the requests that arrive meanwhile
	// join its batch. Two writers each taking whatever had queued the moment
	// it was free made batches of one or two deliveries at 8 SMTP sessions,
	// each paying for a statement, a trigger run and a commit of its own.
	deliverWriters = 2
	// maxBatch and maxBatchBytes bound one batch (the bytes only once it
	// holds more than one delivery, so a large message still goes alone).
	maxBatch      = 64
	maxBatchBytes = 8 << 20
	// batchTimeout bounds one batch's round trip: a caller's context must
	// not abort a transaction that holds other callers' mail, so the
	// writer uses its own.
	batchTimeout = time.Minute
	// execHold bounds how long a batch keeps the other writer waiting
	// (deliverQueue.exec): one that waits for a row lock (a folder another
	// host's batch holds) or stores a large message must not hold up the
	// deliveries to other folders for longer. 50 ms is about the execution
	// of a full batch, 64 letters of 10 KB at the ~0.8 ms of PostgreSQL's
	// CPU each measured for issue 11, so an ordinary batch releases exec
	// itself and batches still grow; only one that waits or stores far
	// more lets the other writer go early. It was chosen from that
	// estimate, not tuned by a benchmark.
	execHold = 50 * time.Millisecond
)

// Request states. A request is cancelled only while still queued; once a
// writer has taken it, its caller waits for the commit's outcome, so a
// context error always means nothing was written.
const (
	reqPending int32 = iota
	reqTaken
	reqCancelled
)

// lockFoldersSQL locks every folder of a batch, in id order, before any
// delivery of it runs: two batches (of this host or another) that share
// folders then wait for each other instead of deadlocking, as two single
// deliveries did with deliverQuery's own lk step. A folder that does not
// exist locks nothing; its delivery fails on its own.
const lockFoldersSQL = `SELECT f.id FROM folders f
WHERE (f.owner, f.name) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))
ORDER BY f.id FOR UPDATE`

// deliverReq is one Deliver waiting for a writer: its message (one element
// of each of deliverQuery's $1-$9) and its entries (elements of $10-$14;
// $10, the delivery's number, is its place in the batch: deliverArgs).
type deliverReq struct {
	size, received                int64
	from, subject, preview, msgid string
	raw                           []byte
	search                        pgtype.TSVector
	hasFiles                      bool
	owners                        []int64
	folders, rcpts                []string
	flags                         []int16

	state atomic.Int32
	// ids, uids and err are written by the writer and read by the caller
	// only after done is closed; ids and uids only when err is nil.
	ids, uids []int64
	err       error
	done      chan struct{}
}

// deliverQueue feeds the writers.
type deliverQueue struct {
	mu     sync.RWMutex
	closed bool
	reqs   chan *deliverReq
	wg     sync.WaitGroup
	// exec is held by the writer whose batch is executing, from before
	// it gathers the batch until the server has run its statements (its
	// commit is then under way), or until execHold has passed, whichever
	// comes first: deliverBatch's timer releases it then, and the batch
	// goes on without it.
	exec chan struct{}
	// taken counts the requests writers have received from reqs
	// (cancelled ones too); batches and delivered the committed batches
	// and the deliveries in them; fallbacks the batches run again a
	// statement per delivery (commitDeliveries). For tests and benchmarks.
	taken, batches, delivered, fallbacks atomic.Int64
}

// startWriters starts the deliver writers; closeWriters stops them.
func (s *Store) startWriters() {
	s.dq.reqs = make(chan *deliverReq, 4*maxBatch)
	s.dq.exec = make(chan struct{}, 1)
	s.dq.wg.Add(deliverWriters)
	for range deliverWriters {
		go s.deliverWriter()
	}
}

// closeWriters refuses new deliveries, lets the writers commit the ones
// already queued, and waits for them; the pool must still be open.
func (s *Store) closeWriters() {
	s.dq.mu.Lock()
	if !s.dq.closed {
		s.dq.closed = true
		close(s.dq.reqs)
	}
	s.dq.mu.Unlock()
	s.dq.wg.Wait()
}

// submit queues r and waits until the batch holding it has committed or
// failed. ctx is honoured while r waits in the queue.
func (s *Store) submit(ctx context.Context, r *deliverReq) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.done = make(chan struct{})
	s.dq.mu.RLock()
	if s.dq.closed {
		s.dq.mu.RUnlock()
		return ErrClosed
	}
	select {
	case s.dq.reqs <- r:
		s.dq.mu.RUnlock()
	case <-ctx.Done():
		s.dq.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqPending, reqCancelled) {
			return ctx.Err()
		}
		<-r.done // taken: its outcome is the commit's
		return r.err
	}
}

// deliverWriter takes the first queued request and whatever else is
// waiting already, up to a batch, and commits them together: requests that
// arrive during a commit form the next batch.
func (s *Store) deliverWriter() {
	defer s.dq.wg.Done()
	batch := make([]*deliverReq, 0, maxBatch)
	for r := range s.dq.reqs {
		s.dq.taken.Add(1)
		s.dq.exec <- struct{}{} // released by deliverBatch
		batch = append(batch[:0], r)
		size := r.size
	drain:
		for len(batch) < maxBatch && size < maxBatchBytes {
			select {
			case r, ok := <-s.dq.reqs:
				if !ok {
					break drain
				}
				batch, size = append(batch, r), size+r.size
				s.dq.taken.Add(1)
			default:
				break drain
			}
		}
		s.deliverBatch(batch)
		clear(batch)
	}
}

// deliverBatch commits the requests of batch that are still wanted and
// answers every one of them. It releases dq.exec once the batch's
// statements have run.
func (s *Store) deliverBatch(batch []*deliverReq) {
	var once sync.Once
	executed := func() { once.Do(func() { <-s.dq.exec }) }
	defer executed()
	defer time.AfterFunc(execHold, executed).Stop()
	taken := make([]*deliverReq, 0, len(batch))
	for _, r := range batch {
		if r.state.CompareAndSwap(reqPending, reqTaken) {
			taken = append(taken, r)
		} else {
			close(r.done) // cancelled; its caller has gone
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	answer := func(rs []*deliverReq, err error) {
		for _, r := range rs {
			r.err = err
			close(r.done)
		}
	}
	for attempt := 0; len(taken) > 0; {
		bad, err := s.commitDeliveries(ctx, taken, executed)
		switch {
		case err == nil:
			s.dq.batches.Add(1)
			s.dq.delivered.Add(int64(len(taken)))
			answer(taken, nil)
			return
		case bad >= 0:
			// That delivery's own fault: it fails alone, the others go
			// again at once (nothing of the batch was committed).
			answer(taken[bad:bad+1], err)
			taken = slices.Delete(taken, bad, bad+1)
		case retryable(err) && attempt < 3:
			// A deadlock with another kind of write (the batch's folders
			// are locked in order, its other writes may not be) or a
			// serialisation failure: rolled back, run it again.
			attempt++
			time.Sleep(time.Duration(attempt) * 5 * time.Millisecond)
		default:
			// The connection or the server failed: whether the commit
			// happened is unknown, so nothing is acknowledged.
			answer(taken, err)
			return
		}
	}
}

// commitDeliveries runs reqs in one transaction, one round trip, and then
// announces them. bad is the index of the request whose own statement failed
// (the error is its alone: see requestFault), or -1; any error means that
// nothing was committed, or that it is unknown whether it was.
//
// All of reqs go in one deliverQuery. When that fails for one delivery's
// fault, which one is unknown: they run again at once, each in a
// deliverQuery of its own (still one transaction and one round trip), which
// fails at the one to blame. Failures are rare, so this costs nothing in
// the common case.
func (s *Store) commitDeliveries(ctx context.Context, reqs []*deliverReq, executed func()) (bad int, err error) {
	err = s.pool.AcquireFunc(ctx, func(c *pgxpool.Conn) error {
		failed, err := runDeliveries(ctx, c, [][]*deliverReq{reqs}, executed)
		if failed >= 0 && len(reqs) > 1 {
			s.dq.fallbacks.Add(1)
			singles := make([][]*deliverReq, len(reqs))
			for i := range reqs {
				singles[i] = reqs[i : i+1]
			}
			failed, err = runDeliveries(ctx, c, singles, executed)
		}
		bad = failed
		if err == nil {
			// On the same connection, right after the commit, rather
			// than back through the pool behind other callers.
			s.announce(ctx, c)
		}
		return err
	})
	if err == nil {
		bad = -1
	}
	return bad, err
}

// runDeliveries runs one deliverQuery per group, after locking every
// folder of them, in one transaction and one round trip (a pgx Batch), and
// gives each request its entries' ids and UIDs. failed is the index of the
// group whose statement failed by its own fault (requestFault), or -1.
// executed is called once the statements' results are in, as the commit
// begins.
func runDeliveries(ctx context.Context, c *pgxpool.Conn, groups [][]*deliverReq, executed func()) (failed int, err error) {
	b := &pgx.Batch{}
	var owners []int64
	var folders []string
	for _, g := range groups {
		for _, r := range g {
			owners, folders = append(owners, r.owners...), append(folders, r.folders...)
			r.ids, r.uids = r.ids[:0], r.uids[:0]
		}
	}
	b.Queue(lockFoldersSQL, owners, folders)
	for _, g := range groups {
		b.Queue(deliverQuery, deliverArgs(g)...)
	}
	failed = -1
	br := c.SendBatch(ctx, b)
	_, err = br.Exec()
	for i, g := range groups {
		if err != nil {
			break
		}
		var dn, ids, uids []int64
		if err = br.QueryRow().Scan(&dn, &ids, &uids); err != nil {
			if requestFault(err) {
				failed = i
			}
			break
		}
		err = spread(g, dn, ids, uids)
	}
	executed()
	// Close reads up to ReadyForQuery, which the server sends after the
	// implicit transaction's COMMIT (with synchronous_commit on: after the
	// WAL flush), or its error.
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return failed, err
}

// deliverArgs gives deliverQuery's parameters for the deliveries g.
func deliverArgs(g []*deliverReq) []any {
	n := len(g)
	size, received := make([]int64, n), make([]int64, n)
	from, subject, preview, msgid := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	raw, search, hasFiles := make([][]byte, n), make([]pgtype.TSVector, n), make([]bool, n)
	var dn, owners []int64
	var folders, rcpts []string
	var flags []int16
	for i, r := range g {
		size[i], received[i], raw[i], search[i], hasFiles[i] = r.size, r.received, r.raw, r.search, r.hasFiles
		from[i], subject[i], preview[i], msgid[i] = r.from, r.subject, r.preview, r.msgid
		for range r.owners {
			dn = append(dn, int64(i+1))
		}
		owners, folders = append(owners, r.owners...), append(folders, r.folders...)
		rcpts, flags = append(rcpts, r.rcpts...), append(flags, r.flags...)
	}
	return []any{size, from, subject, preview, received, raw, search, hasFiles, msgid,
		dn, owners, folders, rcpts, flags}
}

// spread gives each delivery of g its entries from deliverQuery's result:
// the delivery number (from 1), id and UID of every entry, in id order.
func spread(g []*deliverReq, dn, ids, uids []int64) error {
	if len(dn) != len(ids) || len(ids) != len(uids) {
		return fmt.Errorf("postgres: deliver: %d numbers for %d ids, %d uids", len(dn), len(ids), len(uids))
	}
	for i, d := range dn {
		if d < 1 || d > int64(len(g)) {
			return fmt.Errorf("postgres: deliver: delivery %d of %d", d, len(g))
		}
		r := g[d-1]
		r.ids, r.uids = append(r.ids, ids[i]), append(r.uids, uids[i])
	}
	return nil
}

// requestFault reports whether err is the fault of the one statement that
// raised it, so that the same delivery alone fails the same way: a data
// exception (class 22), an integrity constraint (23: a folder or owner gone
// meanwhile), a program limit (54: a text too long to index).
func requestFault(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || len(pe.Code) != 5 {
		return false
	}
	switch pe.Code[:2] {
	case "22", "23", "54":
		return true
	}
	return false
}
