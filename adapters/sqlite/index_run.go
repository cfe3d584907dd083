package sqlite

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
)

// The indexer's goroutine (index.go has the design); its reads and writes
// are in index_io.go.

const (
	// catchUpBatch is the messages read from the database per index
	// write when catching up, and backfillBatch per backfill write: small
	// enough that new mail waits little behind one.
	catchUpBatch  = 64
	backfillBatch = 32
	// readBytes bounds the raw messages one such read holds.
	readBytes = 8 << 20
	// purgeBatch is the deleted messages whose rows go per write.
	purgeBatch = 512
	// idleTick is how often an idle indexer looks for deleted messages.
	idleTick = time.Second
	// progressEvery is how often the backfill logs its progress.
	progressEvery = 5 * time.Second
)

func (x *indexer) run() {
	defer close(x.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-x.stop; cancel() }()
	tick := time.NewTicker(idleTick)
	defer tick.Stop()
	x.overflow.Store(true) // at start: whatever the last run had queued
	x.lastProgress = time.Now()
	if x.below > 1 {
		x.s.log().Info("search index: indexing the messages stored before it", zap.Int64("below", x.below))
	}
	for ctx.Err() == nil {
		var it indexItem
		got := false
		switch {
		case x.overflow.Load(): // catchUp first: it takes the queue too
		case x.below > 1: // the backfill gives way to new mail and searches
			select {
			case it, got = <-x.queue:
			case <-x.hurry:
				x.overflow.Store(true)
			default:
			}
		default:
			select {
			case it, got = <-x.queue:
			case <-tick.C:
			case <-x.hurry: // a search waits for what another process stored
				x.overflow.Store(true)
			case <-ctx.Done():
				return
			}
		}
		var err error
		switch {
		case got:
			err = x.index(ctx, x.collect(ctx, it, true))
		case x.overflow.Load():
			err = x.catchUp(ctx)
		case x.below > 1:
			err = x.backfill(ctx)
		}
		x.failed(ctx, err)
		if err == nil {
			x.purgeFailed(ctx, x.purge(ctx))
		}
	}
}

// purgeFailed logs a failed purge, once until one succeeds. It is not the
// index failing (failed): the rows of deleted messages wait for the next
// round, and no result can show them meanwhile.
func (x *indexer) purgeFailed(ctx context.Context, err error) {
	switch {
	case err == nil:
		x.purgeFailing = false
	case ctx.Err() != nil || errors.Is(err, ErrClosed):
	case !x.purgeFailing:
		x.purgeFailing = true
		x.s.log().Warn("search index: removing deleted messages' rows failed; it is tried again",
			zap.String("file", x.path), zap.Error(err))
	}
}

// failed records the outcome of a round; after a failure the indexer
// catches up from the database (what it had taken from the queue is
// lost), after a pause.
func (x *indexer) failed(ctx context.Context, err error) {
	if err == nil {
		x.failing.Store(false)
		return
	}
	if ctx.Err() != nil || errors.Is(err, ErrClosed) { // stopping
		return
	}
	x.overflow.Store(true)
	if !x.failing.Swap(true) {
		x.mu.Lock()
		x.wake() // searches waiting for it stop waiting
		x.mu.Unlock()
		x.s.log().Error("search index: write failed; new mail is found by search again once it succeeds",
			zap.String("file", x.path), zap.Error(err))
	}
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
	}
}

// collect gives first and what queues behind it: within IndexWait (or
// until a search waits) if wait is set, else what is queued now.
func (x *indexer) collect(ctx context.Context, first indexItem, wait bool) []indexItem {
	batch := []indexItem{first}
	bytes := first.size()
	if wait {
		t := time.NewTimer(x.s.cfg.IndexWait)
		defer t.Stop()
	gather:
		for len(batch) < indexMaxBatch && bytes < indexQueueBytes/4 {
			select {
			case it := <-x.queue:
				batch, bytes = append(batch, it), bytes+it.size()
			case <-t.C:
				break gather
			case <-x.hurry:
				break gather
			case <-ctx.Done():
				break gather
			}
		}
	}
	// What queued meanwhile: a search that hurried waits for it.
drain:
	for len(batch) < indexMaxBatch {
		select {
		case it := <-x.queue:
			batch, bytes = append(batch, it), bytes+it.size()
		default:
			break drain
		}
	}
	x.queued.Add(-bytes)
	return batch
}

// index writes batch (queued, in id order) and moves upto to its last.
// The messages between upto and that which are not in it (another
// process stored them, or the queue dropped them) go in the same write,
// read from the database; if they are many, they are left to catchUp,
// which reads them a bounded batch at a time.
func (x *indexer) index(ctx context.Context, batch []indexItem) error {
	upto := x.upto.Load()
	fresh := batch[:0]
	for _, it := range batch {
		if it.id > upto { // else indexed already (catchUp, another process)
			fresh = append(fresh, it)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	last := fresh[len(fresh)-1].id
	others, ok, err := x.others(ctx, upto, fresh)
	if err != nil {
		return err
	}
	if !ok {
		x.overflow.Store(true)
		return nil
	}
	// Another process may index its own messages meanwhile: its rows are
	// replaced, not added twice.
	if err := x.write(ctx, append(fresh, others...), len(others) > 0, setUpto, last); err != nil {
		return err
	}
	x.publish(last)
	return nil
}

// catchUp indexes the messages above upto from the database, then goes
// back to the queue: what queues from now on follows them.
func (x *indexer) catchUp(ctx context.Context) error {
	// Another process may have got further; its upto holds for this one.
	var upto int64
	if err := x.db.QueryRowContext(ctx, `SELECT upto FROM index_state`).Scan(&upto); err != nil {
		return err
	}
	x.publish(upto)
	// What was queued before the overflow goes first (it is older), then
	// the flag is cleared, so that everything the queue misses from here
	// is committed before the reads below begin.
	select {
	case it := <-x.queue:
		if err := x.index(ctx, x.collect(ctx, it, false)); err != nil {
			return err
		}
	default:
	}
	if len(x.queue) > 0 {
		return nil // the next round takes the rest first
	}
	x.overflow.Store(false)
	// Every id below next is committed, or never will be: once the scan
	// below is done, each is indexed or deleted (so a search that waits
	// for a deleted newest message does not wait in vain).
	var next int64
	if err := x.s.rdb.QueryRowContext(ctx, `SELECT next FROM message_seq`).Scan(&next); err != nil {
		return err
	}
	for {
		upto := x.upto.Load()
		items, more, err := x.read(ctx, readBytes, `SELECT id, from_addr, raw FROM messages WHERE id > ? ORDER BY id LIMIT ?`, upto, catchUpBatch)
		if err != nil {
			return err
		}
		if len(items) > 0 {
			last := items[len(items)-1].id
			if err := x.write(ctx, items, true, setUpto, last); err != nil {
				return err
			}
			x.publish(last)
		}
		if len(items) < catchUpBatch && !more {
			x.publish(next - 1)
			return nil
		}
	}
}

// backfill indexes a batch of the messages stored before the index file
// was made, newest first, and logs its progress.
func (x *indexer) backfill(ctx context.Context) error {
	// Another process may backfill too: take up where either got.
	var below int64
	if err := x.db.QueryRowContext(ctx, `SELECT below FROM index_state`).Scan(&below); err != nil {
		return err
	}
	x.below = min(x.below, below)
	if x.below <= 1 {
		return nil
	}
	items, more, err := x.read(ctx, readBytes, `SELECT id, from_addr, raw FROM messages WHERE id < ? ORDER BY id DESC LIMIT ?`, x.below, backfillBatch)
	if err != nil {
		return err
	}
	next := int64(1)
	if len(items) == backfillBatch || more {
		next = items[len(items)-1].id
	}
	if err := x.write(ctx, items, true, `UPDATE index_state SET below = min(below, ?)`, next); err != nil {
		return err
	}
	x.below = next
	x.backfilled += len(items)
	switch {
	case next == 1:
		x.s.log().Info("search index: every message stored before it is indexed", zap.Int("messages", x.backfilled))
	case time.Since(x.lastProgress) >= progressEvery:
		x.lastProgress = time.Now()
		x.s.log().Info("search index: progress", zap.Int("indexed", x.backfilled), zap.Int64("left_below_id", next))
	}
	return nil
}
