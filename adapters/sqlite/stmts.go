package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Prepared statements. modernc.org/sqlite keeps a prepared statement's
// compiled program and only resets and rebinds it on each run, while a plain
// ExecContext or QueryContext parses the SQL again every time: preparing was
// 11.7% of all CPU in a 10 KB delivery profile (issue 10). The hot
// statements are prepared once, at Open, and reused.

// SQL of the prepared statements not declared beside their callers.
const (
	insMessageSQL = `INSERT INTO messages (id, size, from_addr, subject, received, raw) VALUES (?, ?, ?, ?, ?, ?)`
	nextMsgSQL    = `UPDATE message_seq SET next = next + 1 RETURNING next - 1`
	insPreviewSQL = `INSERT INTO message_previews (message_id, preview, msgid) VALUES (?, ?, ?)`
	// setFlagsSQL applies a mail.FlagOp (?1) with flags ?2.
	setFlagsSQL = `UPDATE entries SET flags = CASE ?1 WHEN 0 THEN ?2 WHEN 1 THEN flags | ?2 ELSE flags & ~?2 END
WHERE id = ?3 AND owner = ?4 RETURNING uid, flags`
	delEntrySQL = `DELETE FROM entries WHERE id = ? AND owner = ?`

	accountByNameSQL = `SELECT ` + accountCols + ` FROM accounts WHERE username = ?`
	accountByIDSQL   = `SELECT ` + accountCols + ` FROM accounts WHERE id = ?`
	fetchSQL         = `SELECT ` + metaCols + `, m.raw
FROM ` + metaJoin + `
WHERE e.id = ? AND e.owner = ?`
)

// writeStmts are prepared on the writer's single connection, so running one
// inside the writer's transaction (wtx.stmt) never prepares it again.
type writeStmts struct {
	savepoint, release, rollbackTo  *sql.Stmt
	nextMsg, insMessage, insPreview *sql.Stmt
	setFlags, delEntry              *sql.Stmt
	chunks                          chunkStmts // insert.go
}

// readStmts are prepared on the read pool; database/sql prepares each one
// once per pooled connection, on that connection's first use of it.
type readStmts struct {
	list, fetch, folder, after *sql.Stmt
	accountByName, accountByID *sql.Stmt
	newest, newestMsg          *sql.Stmt
}

// preparer is a *sql.DB or a *sql.Conn.
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// prepareAll prepares each query into its destination; on failure it
// closes what it prepared.
func prepareAll(ctx context.Context, p preparer, dst map[**sql.Stmt]string) error {
	var done []*sql.Stmt
	for ptr, q := range dst {
		st, err := p.PrepareContext(ctx, q)
		if err != nil {
			closeStmts(done...)
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		*ptr = st
		done = append(done, st)
	}
	return nil
}

func closeStmts(sts ...*sql.Stmt) error {
	var errs []error
	for _, st := range sts {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

func (w *writeStmts) prepare(ctx context.Context, db *sql.DB) error {
	if err := w.chunks.prepare(ctx, db); err != nil {
		return err
	}
	err := prepareAll(ctx, db, map[**sql.Stmt]string{
		&w.savepoint:  `SAVEPOINT w`,
		&w.release:    `RELEASE w`,
		&w.rollbackTo: `ROLLBACK TO w`,
		&w.nextMsg:    nextMsgSQL,
		&w.insMessage: insMessageSQL,
		&w.insPreview: insPreviewSQL,
		&w.setFlags:   setFlagsSQL,
		&w.delEntry:   delEntrySQL,
	})
	if err != nil {
		w.chunks.close()
	}
	return err
}

func (w *writeStmts) close() error {
	return errors.Join(w.chunks.close(), closeStmts(w.savepoint, w.release, w.rollbackTo, w.nextMsg, w.insMessage, w.insPreview,
		w.setFlags, w.delEntry))
}

func (r *readStmts) prepare(ctx context.Context, db *sql.DB) error {
	return prepareAll(ctx, db, map[**sql.Stmt]string{
		&r.list:          listQuery,
		&r.fetch:         fetchSQL,
		&r.folder:        folderSQL,
		&r.after:         afterQuery,
		&r.accountByName: accountByNameSQL,
		&r.accountByID:   accountByIDSQL,
		&r.newest:        newestSQL,
		&r.newestMsg:     `SELECT coalesce(max(id), 0) FROM messages`,
	})
}

func (r *readStmts) close() error {
	return closeStmts(r.list, r.fetch, r.folder, r.after, r.accountByName, r.accountByID, r.newest, r.newestMsg)
}

// wtx is one write request's view of the writer's transaction.
type wtx struct {
	ctx context.Context
	tx  *sql.Tx
	st  *writeStmts
	// bound holds the transaction's copies of prepared statements:
	// Tx.StmtContext reuses the compiled statement of the writer's
	// connection but allocates a wrapper, once per batch is enough.
	bound map[*sql.Stmt]*sql.Stmt
	// index holds the messages the batch's successful requests stored,
	// for the search indexer once the batch has committed (commitBatch
	// drops a failed request's).
	index []indexItem
}

// stmt gives st bound to the transaction.
func (w *wtx) stmt(st *sql.Stmt) *sql.Stmt {
	if b, ok := w.bound[st]; ok {
		return b
	}
	b := w.tx.StmtContext(w.ctx, st)
	w.bound[st] = b
	return b
}

// exec runs a prepared statement in the transaction.
func (w *wtx) exec(st *sql.Stmt, args ...any) (sql.Result, error) {
	return w.stmt(st).ExecContext(w.ctx, args...)
}
