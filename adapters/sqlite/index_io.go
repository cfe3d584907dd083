package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"mailroom/domain/mail"
)

// The indexer's reads of the database and writes of the index file.

// setUpto records progress: never back, since another process's indexer
// may have recorded more (its upto holds for every process).
const setUpto = `UPDATE index_state SET upto = max(upto, ?)`

// others gives the messages between upto and batch's last that are not in
// batch, and ok; not ok (and nothing read) if they are more than one
// catchUp batch holds.
func (x *indexer) others(ctx context.Context, upto int64, batch []indexItem) (_ []indexItem, ok bool, _ error) {
	last := batch[len(batch)-1].id
	ids := make([]int64, len(batch))
	for i, it := range batch {
		ids[i] = it.id
	}
	rows, err := x.s.rdb.QueryContext(ctx, `SELECT id FROM messages WHERE id > ? AND id <= ?
AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?`, upto, last, jsonInts(ids), catchUpBatch+1)
	if err != nil {
		return nil, false, err
	}
	missing, err := scanIDs(rows)
	if err != nil || len(missing) == 0 {
		return nil, err == nil, err
	}
	if len(missing) > catchUpBatch {
		return nil, false, nil
	}
	items, more, err := x.read(ctx, readBytes, `SELECT id, from_addr, raw FROM messages WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`, jsonInts(missing))
	return items, !more && err == nil, err
}

// scanIDs reads and closes rows of one integer column.
func scanIDs(rows *sql.Rows) ([]int64, error) {
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
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
// set (FTS5 would keep both), and runs state (an UPDATE of index_state)
// in the same transaction. Then it removes again the rows of those of
// items deleted meanwhile: their deletion may have been purged already by
// another process, between this one's read of the message and its write.
//
// The write also records, as deletions the index reflects (gone), every
// deletion numbered by now: the reads of items skipped the messages
// deleted before them, and upto or below moves past those, so an older
// copy of the database that still holds one must not be given this index
// (claim). Later deletions are numbered higher.
func (x *indexer) write(ctx context.Context, items []indexItem, replace bool, state string, arg int64) error {
	seen, err := x.goneSeq(ctx)
	if err != nil {
		return err
	}
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE index_state SET gone = max(gone, ?)`, seen); err != nil {
		return err
	}
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
	if err := tx.Commit(); err != nil || len(items) == 0 {
		return err
	}
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.id
	}
	rows, err := x.s.rdb.QueryContext(ctx, `SELECT value FROM json_each(?1)
WHERE value NOT IN (SELECT id FROM messages WHERE id IN (SELECT value FROM json_each(?1)))`, jsonInts(ids))
	if err != nil {
		return err
	}
	gone, err := scanIDs(rows)
	if err != nil || len(gone) == 0 {
		return err
	}
	if seen, err = x.goneSeq(ctx); err != nil {
		return err
	}
	return x.unindex(ctx, gone, seen)
}

// goneSeq gives the number of the newest deletion the database has had
// (search_gone's AUTOINCREMENT sequence, which never goes back).
func (x *indexer) goneSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := x.s.rdb.QueryRowContext(ctx, `SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'search_gone'), 0)`).Scan(&seq)
	return seq, err
}

// unindex removes the rows of ids and records gone (if not 0) as the
// highest deletion purged, durably: the deletions that made them go may be
// forgotten (search_gone) once this returns, so a power cut must not take
// it back (the index file is otherwise synchronous=NORMAL).
func (x *indexer) unindex(ctx context.Context, ids []int64, gone int64) error {
	if _, err := x.db.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
		return err
	}
	defer x.db.ExecContext(context.Background(), `PRAGMA synchronous = NORMAL`)
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
	if gone > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE index_state SET gone = max(gone, ?)`, gone); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// purge removes the rows of deleted messages (search_gone) up to upto,
// then forgets those deletions. A message above upto may still be in the
// queue, to be indexed, so its deletion waits. One under the backfill's
// bound (also under upto) has no row: the backfill reads only messages
// that exist, and one deleted after it read it is purged after its write.
func (x *indexer) purge(ctx context.Context) error {
	rows, err := x.s.rdb.QueryContext(ctx, `SELECT seq, id FROM search_gone WHERE id <= ? ORDER BY seq LIMIT ?`,
		x.upto.Load(), purgeBatch)
	if err != nil {
		return err
	}
	var seqs, ids []int64
	for rows.Next() {
		var seq, id int64
		if err := rows.Scan(&seq, &id); err != nil {
			rows.Close()
			return err
		}
		seqs, ids = append(seqs, seq), append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return err
	}
	if err := x.unindex(ctx, ids, slices.Max(seqs)); err != nil {
		return err
	}
	return x.s.write(ctx, func(w *wtx) error {
		_, err := w.tx.ExecContext(w.ctx, `DELETE FROM search_gone WHERE seq IN (SELECT value FROM json_each(?))`, jsonInts(seqs))
		return err
	})
}
