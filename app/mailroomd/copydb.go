package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"mailroom/adapters/postgres"
)

// Sentinels of copy-db.
var (
	// errTargetNotEmpty: copy-db keeps every id, so it only fills a
	// database that holds no account, message or entry yet.
	errTargetNotEmpty = errors.New("the PostgreSQL database is not empty")
	// errCopyMismatch: a table's rows in PostgreSQL do not add up to the
	// SQLite database's after the copy; nothing was committed.
	errCopyMismatch = errors.New("copy check failed")
)

// copyTotals is what copy-db counts on both sides and compares.
type copyTotals struct {
	Accounts, Messages, Previews, Entries int64
	// Total and Unseen are the sums of the folders' counts, which each
	// engine keeps with its own triggers: equal sums mean the copied
	// entries were counted, and their seen flags came across.
	Total, Unseen int64
}

func (t copyTotals) String() string {
	return fmt.Sprintf("%d accounts, %d messages (%d with a preview), %d entries (%d unseen)",
		t.Accounts, t.Messages, t.Previews, t.Entries, t.Unseen)
}

// copyDB runs `copy-db`: it copies the SQLite database in --data into the
// PostgreSQL database --db names, which it migrates up first if needed
// and which must hold no accounts, messages or entries. Everything is
// copied in one PostgreSQL transaction, from one SQLite read transaction,
// so a failure leaves the target as it was. Stop the daemons first: mail
// that arrives in SQLite after the copy stays there.
func (c *cli) copyDB(ctx context.Context, cfg config) int {
	if !cfg.Postgres() {
		return c.fail(usagef("copy-db copies into the PostgreSQL database that --db (or MAILROOM_DB) names: set it to a postgres:// URL"))
	}
	unlock, err := lockDataDir(cfg, c.warn)
	if err != nil {
		return c.fail(err)
	}
	src, err := openExistingSQLite(ctx, cfg)
	unlock()
	if err != nil {
		return c.fail(fmt.Errorf("copy-db: %w", err))
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, postgres.Config{URL: cfg.DB, MaxConns: 2})
	if err != nil {
		return c.fail(fmt.Errorf("copy-db: %w", err))
	}
	defer dst.Close()
	// DB is the SQLite writer's own connection; nothing else writes
	// through this store while the copy holds it.
	tot, err := copySQLite(ctx, src.DB(), dst.Pool())
	if err != nil {
		return c.fail(fmt.Errorf("copy-db: %s: %w", cfg.DBName(), err))
	}
	fmt.Fprintf(c.stdout, "copied %s\nfrom %s\nto   %s\n", tot, cfg.DBPath(), cfg.DBName())
	return exitOK
}

// beginner is what copySQLite needs of a pgx pool.
type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// copySQLite copies every account, message (with its preview) and entry,
// ids included, and moves the identity sequences past them, then checks
// the totals on both sides before it commits.
func copySQLite(ctx context.Context, src *sql.DB, dst beginner) (copyTotals, error) {
	stx, err := src.BeginTx(ctx, nil)
	if err != nil {
		return copyTotals{}, fmt.Errorf("sqlite: %w", err)
	}
	defer stx.Rollback() // read only: nothing to keep
	want, err := sqliteTotals(ctx, stx)
	if err != nil {
		return copyTotals{}, fmt.Errorf("sqlite: %w", err)
	}
	dtx, err := dst.Begin(ctx)
	if err != nil {
		return copyTotals{}, err
	}
	defer dtx.Rollback(ctx) // a no-op after Commit
	// No host may write while the copy checks emptiness and fills the
	// tables; readers may go on.
	if _, err := dtx.Exec(ctx, "LOCK TABLE accounts, messages, folders, entries IN EXCLUSIVE MODE"); err != nil {
		return copyTotals{}, err
	}
	have, err := postgresTotals(ctx, dtx)
	if err != nil {
		return copyTotals{}, err
	}
	if have.Accounts+have.Messages+have.Entries > 0 {
		return copyTotals{}, fmt.Errorf("%w (it holds %s): copy-db keeps every id, so it only fills an empty database; nothing was copied", errTargetNotEmpty, have)
	}
	for _, t := range copyTables {
		if err := copyRows(ctx, stx, dtx, t); err != nil {
			return copyTotals{}, fmt.Errorf("copying %s: %w", t.name, err)
		}
	}
	if err := moveSequences(ctx, stx, dtx); err != nil {
		return copyTotals{}, err
	}
	got, err := postgresTotals(ctx, dtx)
	if err != nil {
		return copyTotals{}, err
	}
	if got != want {
		return copyTotals{}, fmt.Errorf("%w: SQLite has %s, PostgreSQL would have %s; nothing was copied", errCopyMismatch, want, got)
	}
	return got, dtx.Commit(ctx)
}

// copyTable is one table's copy: the SQLite query (in id order) and the
// PostgreSQL columns its rows fill, and how a row converts.
type copyTable struct {
	name  string
	query string
	cols  []string
	row   func(*sql.Rows) ([]any, error)
}

var copyTables = []copyTable{
	{
		name:  "accounts",
		query: "SELECT id, username, password_hash, created, last_uidvalidity FROM accounts ORDER BY id",
		cols:  []string{"id", "username", "password_hash", "created", "last_uidvalidity"},
		row: func(r *sql.Rows) ([]any, error) {
			var id, created, last int64
			var name, hash string
			err := r.Scan(&id, &name, &hash, &created, &last)
			return []any{id, name, hash, created, last}, err
		},
	},
	{
		// Counts start at 0: PostgreSQL's triggers count the entries as
		// they are copied. UIDVALIDITY and UIDNEXT come across as they are.
		name:  "folders",
		query: "SELECT id, owner, name, special, uidvalidity, uidnext FROM folders ORDER BY id",
		cols:  []string{"id", "owner", "name", "special", "uidvalidity", "uidnext"},
		row: func(r *sql.Rows) ([]any, error) {
			var id, owner, validity, next int64
			var name, special string
			err := r.Scan(&id, &owner, &name, &special, &validity, &next)
			return []any{id, owner, name, special, validity, next}, err
		},
	},
	{
		name: "messages",
		query: `SELECT m.id, m.size, m.from_addr, m.subject, COALESCE(p.preview, ''), m.received, m.raw
FROM messages m LEFT JOIN message_previews p ON p.message_id = m.id ORDER BY m.id`,
		cols: []string{"id", "size", "from_addr", "subject", "preview", "received", "raw"},
		row: func(r *sql.Rows) ([]any, error) {
			var id, size, received int64
			var from, subject, preview string
			var raw []byte
			err := r.Scan(&id, &size, &from, &subject, &preview, &received, &raw)
			if raw == nil {
				raw = []byte{} // NOT NULL on both sides
			}
			return []any{id, size, from, subject, preview, received, raw}, err
		},
	},
	{
		name: "entries",
		// The Message-ID is the message's in SQLite, each entry's here.
		query: "SELECT e.id, e.owner, e.folder_id, e.uid, e.message_id, e.rcpts, e.flags, e.received, coalesce(p.msgid, '') " +
			"FROM entries e LEFT JOIN message_previews p ON p.message_id = e.message_id ORDER BY e.id",
		cols: []string{"id", "owner", "folder_id", "uid", "message_id", "rcpts", "flags", "received", "msgid"},
		row: func(r *sql.Rows) ([]any, error) {
			var id, owner, folder, uid, msg, flags, received int64
			var rcpts, msgid string
			err := r.Scan(&id, &owner, &folder, &uid, &msg, &rcpts, &flags, &received, &msgid)
			// RawMessage: the JSON text as it is, not a JSON string of it.
			return []any{id, owner, folder, uid, msg, json.RawMessage(rcpts), int16(flags), received, msgid}, err
		},
	},
}

// copyRows streams one table from SQLite into PostgreSQL with COPY; the
// rows are never all in memory (a message's raw bytes are, one at a time).
func copyRows(ctx context.Context, src *sql.Tx, dst pgx.Tx, t copyTable) error {
	rows, err := src.QueryContext(ctx, t.query)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	defer rows.Close()
	_, err = dst.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromFunc(func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		return t.row(rows)
	}))
	return err
}

// moveSequences sets each identity sequence so that the next id is past
// every copied one and past every id SQLite ever handed out: AUTOINCREMENT
// never reuses the id of a deleted account or entry (sqlite_sequence keeps
// the highest), and neither may PostgreSQL after the move.
func moveSequences(ctx context.Context, src *sql.Tx, dst pgx.Tx) error {
	for _, table := range []string{"accounts", "messages", "folders", "entries"} {
		var top int64
		// table is one of the names above, never input. messages has
		// no AUTOINCREMENT, so no sqlite_sequence row: max(id) it is.
		q := "SELECT max(COALESCE((SELECT max(id) FROM " + table + "), 0), COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '" + table + "'), 0))"
		if err := src.QueryRowContext(ctx, q).Scan(&top); err != nil {
			return fmt.Errorf("sqlite: highest %s id: %w", table, err)
		}
		if top == 0 {
			continue // nothing handed out: the sequence starts at 1 as it is
		}
		if _, err := dst.Exec(ctx, "SELECT setval(pg_get_serial_sequence($1, 'id'), $2)", table, top); err != nil {
			return fmt.Errorf("moving the %s id sequence: %w", table, err)
		}
	}
	return nil
}

// totalsQuery is run on both engines: the same tables, except where the
// preview lives.
const totalsQuery = `SELECT
 (SELECT count(*) FROM accounts),
 (SELECT count(*) FROM messages),
 (SELECT count(*) FROM %s WHERE preview <> ''),
 (SELECT count(*) FROM entries),
 (SELECT CAST(COALESCE(sum(total), 0) AS bigint) FROM folders),
 (SELECT CAST(COALESCE(sum(unseen), 0) AS bigint) FROM folders)`

func sqliteTotals(ctx context.Context, tx *sql.Tx) (copyTotals, error) {
	var t copyTotals
	err := tx.QueryRowContext(ctx, fmt.Sprintf(totalsQuery, "message_previews")).
		Scan(&t.Accounts, &t.Messages, &t.Previews, &t.Entries, &t.Total, &t.Unseen)
	return t, err
}

func postgresTotals(ctx context.Context, tx pgx.Tx) (copyTotals, error) {
	var t copyTotals
	err := tx.QueryRow(ctx, fmt.Sprintf(totalsQuery, "messages")).
		Scan(&t.Accounts, &t.Messages, &t.Previews, &t.Entries, &t.Total, &t.Unseen)
	return t, err
}
