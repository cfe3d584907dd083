package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Request states. A request is cancelled only while still pending; once the
// writer has taken it, its caller waits for the commit's outcome, so a
// context error always means nothing was written.
const (
	reqPending int32 = iota
	reqTaken
	reqCancelled
)

// writeReq is one unit of work for the writer. fn runs inside its own
// SAVEPOINT in the writer's transaction; it records its results in variables
// its caller reads only after done reports success, i.e. after COMMIT.
type writeReq struct {
	fn    func(w *wtx) error
	state atomic.Int32
	err   error
	done  chan struct{}
}

// write queues fn for the writer and waits for the transaction holding it to
// commit. ctx is honoured while the request waits in the queue.
func (s *Store) write(ctx context.Context, fn func(w *wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &writeReq{fn: fn, done: make(chan struct{})}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	select {
	case s.reqs <- r:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqPending, reqCancelled) {
			return ctx.Err()
		}
		// The writer has it: the outcome is decided by its commit.
		<-r.done
		return r.err
	}
}

// writer owns the write connection. It takes the first queued request, drains
// up to MaxBatch-1 more that are already waiting, briefly waits for those it
// expects (gather), runs them all in one BEGIN IMMEDIATE transaction, each in
// its own savepoint, and commits once: requests that arrive while a commit is
// syncing form the next batch.
func (s *Store) writer() {
	defer close(s.wdone)
	ctx := context.Background() // a caller's ctx must never abort a shared transaction
	batch := make([]*writeReq, 0, s.cfg.MaxBatch)
	expect := 0
	for r := range s.reqs {
		batch = append(batch[:0], r)
	drain:
		for len(batch) < s.cfg.MaxBatch {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		batch = s.gather(batch, min(expect, s.cfg.MaxBatch), s.cfg.GatherWait)
		queued := s.runBatch(ctx, batch)
		expect = len(batch) + queued
		clear(batch)
	}
}

// gather waits up to wait for more requests until batch holds want. The
// writer wants as many as it expects soon: the requests it has just
// acknowledged (their senders' next writes: an SMTP client sends its next
// message a round trip after its 250) and those that were queued then.
// Without it, a few busy clients split into two groups that alternate, each
// committing while the other's are on their way back, so every commit's
// fixed cost (its fsync, the pages every batch rewrites) is paid by half
// of them. Waiting costs nothing when none is expected (a lone client), and
// at most wait when an expected sender has gone.
func (s *Store) gather(batch []*writeReq, want int, wait time.Duration) []*writeReq {
	if len(batch) >= want || wait <= 0 {
		return batch
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for len(batch) < want {
		select {
		case r, ok := <-s.reqs:
			if !ok {
				return batch
			}
			batch = append(batch, r)
		case <-t.C:
			return batch
		}
	}
	return batch
}

// runBatch commits batch and acknowledges it. It gives how many requests
// were queued just before the acknowledgements: counted after them, a
// sender's next request, sent the moment its write was acknowledged,
// would be expected twice (as acknowledged and as queued), and a lone
// client would wait out GatherWait on every write.
func (s *Store) runBatch(ctx context.Context, batch []*writeReq) (queued int) {
	taken := batch[:0:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(reqPending, reqTaken) {
			taken = append(taken, r)
		} else {
			close(r.done) // cancelled; the caller has gone
		}
	}
	if len(taken) == 0 {
		return len(s.reqs)
	}
	s.taken.Add(int64(len(taken)))
	s.batches.Add(1)
	err := s.beforeBatch(ctx)
	var index []indexItem
	if err == nil {
		index, err = s.commitBatch(ctx, taken)
	}
	if err == nil {
		// A file removed during the commit: what was just committed lives
		// only until the process ends, so it must not be acknowledged.
		err = s.checkFile()
	}
	for _, r := range taken {
		if err != nil {
			r.err = err
		}
		if isIOFailure(r.err) {
			s.mustRecover = true
		}
	}
	if err == nil && len(index) > 0 {
		s.idx.offer(index)
	}
	queued = len(s.reqs)
	for _, r := range taken {
		close(r.done)
	}
	if s.mustRecover {
		s.checkpoint(ctx) // at once: the space may be back before the next write
	} else if err == nil && s.batches.Load()%pruneEvery == 0 {
		// Its own statement, after the commit: a failed prune must not
		// fail the batch, and the next one tries again.
		s.pruneChanges(ctx, keepChanges)
	}
	if s.afterAck != nil {
		s.afterAck()
	}
	return queued
}

// commitBatch runs taken in one transaction, each request in its own
// savepoint so that one request's failure undoes only its own writes (it is
// left in r.err). An error is the whole batch's: nothing was committed.
// It gives the messages the batch stored, for the search index.
func (s *Store) commitBatch(ctx context.Context, taken []*writeReq) ([]indexItem, error) {
	tx, err := s.wdb.BeginTx(ctx, nil) // _txlock=immediate: BEGIN IMMEDIATE
	if err != nil {
		return nil, fmt.Errorf("sqlite: begin: %w", err)
	}
	w := &wtx{ctx: ctx, tx: tx, st: &s.wst, bound: make(map[*sql.Stmt]*sql.Stmt, 8)}
	for _, r := range taken {
		if _, err := w.exec(s.wst.savepoint); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("sqlite: savepoint: %w", err)
		}
		queued := len(w.index)
		r.err = r.fn(w)
		if r.err != nil {
			w.index = w.index[:queued] // its messages were not stored
			// Undo this request only. If SQLite already rolled the whole
			// transaction back (e.g. disk full), this fails and so does the batch.
			if _, err := w.exec(s.wst.rollbackTo); err != nil {
				tx.Rollback()
				return nil, errors.Join(fmt.Errorf("sqlite: rollback to savepoint: %w", err), r.err)
			}
		}
		if _, err := w.exec(s.wst.release); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("sqlite: release savepoint: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: commit: %w", err)
	}
	return w.index, nil
}
