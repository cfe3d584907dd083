package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"mailroom/domain/mail"
)

// The indexer's goroutine (index.go has the design).

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
)

func (x *indexer) run() {
	defer close(x.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-x.stop; cancel() }()
	tick := time.NewTicker(idleTick)
	defer tick.Stop()
	x.overflow.Store(true) // at start: whatever the last run had queued
	if x.below > 1 {
		x.s.log().Info("search index: indexing the messages stored before it", zap.Int64("below", x.below))
	}
	for {
		var it indexItem
		got := false
		if x.below > 1 || x.overflow.Load() { // work waits: just look
			select {
			case it, got = <-x.queue:
			case <-ctx.Done():
				return
			default:
			}
		} else {
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
			err = x.live(ctx, it)
		case x.overflow.Load():
			err = x.catchUp(ctx)
		case x.below > 1:
			err = x.backfill(ctx)
		}
		if err == nil {
			err = x.purge(ctx)
		}
		x.failed(ctx, err)
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
		x.s.log().Error("search index: write failed; new mail is found by search again once it succeeds",
			zap.String("file", x.path), zap.Error(err))
	}
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
	}
}

// live writes first and what queues behind it within IndexWait (or until
// a search waits), in one transaction.
func (x *indexer) live(ctx context.Context, first indexItem) error {
	batch := []indexItem{first}
	bytes := first.size()
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
	// Drain what queued meanwhile: a search that hurried waits for it.
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
	upto := x.upto.Load()
	fresh := batch[:0]
	for _, it := range batch {
		if it.id > upto { // else read by a catchUp already
			fresh = append(fresh, it)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	last := fresh[len(fresh)-1].id
	others, err := x.others(ctx, upto, fresh)
	if err != nil {
		return err
	}
	// Another process's messages (rare) may be indexed by it meanwhile:
	// replace rows then, and after a write that met one.
	err = x.write(ctx, append(fresh, others...), len(others) > 0, `UPDATE index_state SET upto = ?`, last)
	if err != nil && len(others) == 0 {
		err = x.write(ctx, fresh, true, `UPDATE index_state SET upto = ?`, last)
	}
	if err != nil {
		return err
	}
	x.publish(last)
	return nil
}

// others gives the messages between upto and batch's last that are not in
// batch: another process stored them (another Store on the same file, a
// command such as import while the daemon runs).
func (x *indexer) others(ctx context.Context, upto int64, batch []indexItem) ([]indexItem, error) {
	last := batch[len(batch)-1].id
	ids := make([]int64, len(batch))
	for i, it := range batch {
		ids[i] = it.id
	}
	items, _, err := x.read(ctx, 0, `SELECT id, from_addr, raw FROM messages WHERE id > ? AND id <= ?
AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY id`, upto, last, jsonInts(ids))
	return items, err
}

// catchUp indexes the messages above upto from the database, then goes
// back to the queue: what queues from now on follows them.
func (x *indexer) catchUp(ctx context.Context) error {
	// What was queued before the overflow goes first (it is older), then
	// the flag is cleared, so that everything the queue misses from here
	// is committed before the reads below begin.
	for {
		select {
		case it := <-x.queue:
			if err := x.live(ctx, it); err != nil {
				return err
			}
			continue
		default:
		}
		break
	}
	x.overflow.Store(false)
	for {
		upto := x.upto.Load()
		items, more, err := x.read(ctx, readBytes, `SELECT id, from_addr, raw FROM messages WHERE id > ? ORDER BY id LIMIT ?`, upto, catchUpBatch)
		if err != nil {
			return err
		}
		if len(items) > 0 {
			last := items[len(items)-1].id
			if err := x.write(ctx, items, true, `UPDATE index_state SET upto = ?`, last); err != nil {
				return err
			}
			x.publish(last)
		}
		if len(items) < catchUpBatch && !more {
			return nil
		}
	}
}

// backfill indexes a batch of the messages stored before the index file
// was made, newest first, and logs when it is done.
func (x *indexer) backfill(ctx context.Context) error {
	items, more, err := x.read(ctx, readBytes, `SELECT id, from_addr, raw FROM messages WHERE id < ? ORDER BY id DESC LIMIT ?`, x.below, backfillBatch)
	if err != nil {
		return err
	}
	next := int64(1)
	if len(items) == backfillBatch || more {
		next = items[len(items)-1].id
	}
	if err := x.write(ctx, items, true, `UPDATE index_state SET below = ?`, next); err != nil {
		return err
	}
	x.below = next
	if next == 1 {
		x.s.log().Info("search index: every message stored before it is indexed")
	}
	return nil
}

// read gives the index items of the messages query selects, and whether
// it stopped before the end because they held bytes (if not 0) or more.
func (x *indexer) read(ctx context.Context, bytes int64, query string, args ...any) (_ []indexItem, more bool, _ error) {
	rows, err := x.s.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []indexItem
	var n int64
	for rows.Next() {
		if bytes > 0 && n >= bytes {
			return out, true, nil
		}
		var id int64
		var from string
		var raw []byte
		if err := rows.Scan(&id, &from, &raw); err != nil {
			return nil, false, err
		}
		n += int64(len(raw))
		out = append(out, indexItem{id, mail.NewSearchDoc(raw, from)})
	}
	return out, false, rows.Err()
}

// write indexes items, replacing any row of the same id when replace is
// set, and runs state (an UPDATE of index_state) in the same transaction.
func (x *indexer) write(ctx context.Context, items []indexItem, replace bool, state string, arg int64) error {
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	ins := tx.StmtContext(ctx, x.ins)
	for _, it := range items {
		if replace {
			if _, err := tx.ExecContext(ctx, `DELETE FROM message_search WHERE rowid = ?`, it.id); err != nil {
				return err
			}
		}
		d := it.doc
		tags := ""
		if d.Attachment {
			tags = "attachment"
		}
		if _, err := ins.ExecContext(ctx, it.id, d.Subject, d.From, d.To, d.Body, d.Files, tags); err != nil {
			return fmt.Errorf("index message %d: %w", it.id, err)
		}
	}
	if _, err := tx.ExecContext(ctx, state, arg); err != nil {
		return err
	}
	return tx.Commit()
}

// purge removes the rows of deleted messages (search_gone) up to upto. A
// message above it may still be in the queue, to be indexed, so its
// deletion waits. One under the backfill's bound (also under upto) has no
// row: the backfill reads only messages that exist, and one deleted after
// it read it is purged after its write, in this goroutine.
func (x *indexer) purge(ctx context.Context) error {
	rows, err := x.s.rdb.QueryContext(ctx, `SELECT id FROM search_gone WHERE id <= ? ORDER BY id LIMIT ?`,
		x.upto.Load(), purgeBatch)
	if err != nil {
		return err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return err
	}
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `DELETE FROM message_search WHERE rowid = ?`, id); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return x.s.write(ctx, func(w *wtx) error {
		_, err := w.tx.ExecContext(w.ctx, `DELETE FROM search_gone WHERE id IN (SELECT value FROM json_each(?))`, jsonInts(ids))
		return err
	})
}
