package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// The feed's queries.
const (
	newestSQL      = `SELECT coalesce(max(id), 0) FROM entries`
	dataVersionSQL = `PRAGMA data_version`
	// refsAfterSQL reads only the entries table, no join: for the owners
	// nobody watches, that is all the feed reads.
	refsAfterSQL = `SELECT id, owner FROM entries WHERE id > ? ORDER BY id LIMIT ?`
	// metasByIDSQL takes the ids as one JSON array: one statement, prepared
	// once, whatever their number. The ids come sorted, so a rowid lookup
	// per id already gives id order.
	metasByIDSQL = `SELECT ` + metaCols + `
FROM ` + metaJoin + `
WHERE e.id IN (SELECT value FROM json_each(?))
ORDER BY e.id`
)

// feedConn is the poller's read connection with its prepared statements.
// data_version is per connection, so the poller keeps one.
type feedConn struct {
	conn                                 *sql.Conn
	version, newestID, refs, after, byID *sql.Stmt
	changesAfter                         *sql.Stmt
}

func (s *Store) openFeedConn(ctx context.Context) (*feedConn, error) {
	c, err := s.rdb.Conn(ctx)
	if err != nil {
		return nil, err
	}
	fc := &feedConn{conn: c}
	err = prepareAll(ctx, c, map[**sql.Stmt]string{
		&fc.version:  dataVersionSQL,
		&fc.newestID: newestSQL,
		&fc.refs:     refsAfterSQL,
		&fc.after:    afterQuery,
		&fc.byID:     metasByIDSQL,

		&fc.changesAfter: changesAfterSQL,
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	return fc, nil
}

// close closes the statements and gives the connection back; nil is fine.
func (fc *feedConn) close() {
	if fc == nil {
		return
	}
	closeStmts(fc.version, fc.newestID, fc.refs, fc.after, fc.byID, fc.changesAfter)
	fc.conn.Close()
}

func (fc *feedConn) dataVersion(ctx context.Context) (v int64, err error) {
	err = fc.version.QueryRowContext(ctx).Scan(&v)
	return v, err
}

func (fc *feedConn) newest(ctx context.Context) (id mail.EntryID, err error) {
	if err := fc.newestID.QueryRowContext(ctx).Scan(&id); err != nil {
		return 0, fmt.Errorf("sqlite: feed: newest entry: %w", err)
	}
	return id, nil
}

// newestEntry gives the newest entry's id, 0 for none.
func (s *Store) newestEntry(ctx context.Context) (id mail.EntryID, err error) {
	err = s.rst.newest.QueryRowContext(ctx).Scan(&id)
	return id, err
}

func (fc *feedConn) metasAfter(ctx context.Context, after mail.EntryID, limit int) ([]mail.Meta, error) {
	rows, err := fc.after.QueryContext(ctx, int64(after), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: feed: entries after: %w", err)
	}
	return collectMetas(rows, limit)
}

type entryRef struct {
	id    mail.EntryID
	owner account.ID
}

func (fc *feedConn) refsAfter(ctx context.Context, after mail.EntryID, limit int) ([]entryRef, error) {
	rows, err := fc.refs.QueryContext(ctx, int64(after), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: feed: entry owners: %w", err)
	}
	defer rows.Close()
	var out []entryRef
	for rows.Next() {
		var r entryRef
		if err := rows.Scan(&r.id, &r.owner); err != nil {
			return nil, fmt.Errorf("sqlite: feed: entry owners: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: feed: entry owners: %w", err)
	}
	return out, nil
}

// metasByID gives the metadata of the entries ids (sorted), in id order.
// An entry deleted since its id was read is simply missing.
func (fc *feedConn) metasByID(ctx context.Context, ids []mail.EntryID) ([]mail.Meta, error) {
	if len(ids) == 0 {
		return nil, errors.New("sqlite: feed: no ids")
	}
	rows, err := fc.byID.QueryContext(ctx, jsonInts(ids))
	if err != nil {
		return nil, fmt.Errorf("sqlite: feed: entries by id: %w", err)
	}
	return collectMetas(rows, len(ids))
}
