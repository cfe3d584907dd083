package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/jackc/pgx/v5"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// notifyChannel is the LISTEN/NOTIFY channel a delivery announces itself
// on; the payload is the highest entry id it committed.
const notifyChannel = "mailroom_entries"

// deliverQuery stores a message, its entries and the notification in one
// statement, and so in one transaction: NOTIFY is sent to listeners when
// that transaction commits, never for a delivery that rolled back. pgx reads
// the statement's results up to ReadyForQuery, which the server sends after
// the commit (and an error at commit comes back from Scan), so Deliver
// returns only once the delivery is durable.
//
// The entries are inserted in the order given (ORDER BY the unnest
// ordinality), so their ids, drawn from the identity sequence as rows are
// inserted, grow in that order: the ids sorted ascending are the entries in
// the order given. The message is inserted before any entry takes an id
// (the entries are joined to its row), which the feed's gap logic relies on.
const deliverQuery = `WITH m AS (
    INSERT INTO messages (size, from_addr, subject, preview, received, raw)
    VALUES ($1, $2, $3, $4, $5, $6)
    RETURNING id
), e AS (
    INSERT INTO entries (owner, message_id, folder, rcpts, seen, received)
    SELECT x.owner, m.id, x.folder, x.rcpts::jsonb, x.seen, $5
    FROM m CROSS JOIN unnest($7::bigint[], $8::text[], $9::text[], $10::boolean[])
        WITH ORDINALITY AS x (owner, folder, rcpts, seen, n)
    ORDER BY x.n
    RETURNING id
)
SELECT array_agg(id ORDER BY id), pg_notify('` + notifyChannel + `', max(id)::text) FROM e`

// Deliver stores msg once and one entry per element of entries, all or
// nothing, and gives the entries' metadata in the order given. An entry whose
// owner does not exist (e.g. an account deleted meanwhile, on any host) fails
// the whole delivery with mail.ErrNoSuchRecipient; a bad folder with
// mail.ErrBadFolder.
func (s *Store) Deliver(ctx context.Context, msg mail.NewMessage, entries []mail.NewEntry) ([]mail.Meta, error) {
	if len(entries) == 0 {
		return nil, mail.ErrNoRecipients
	}
	raw := msg.Raw
	if raw == nil {
		raw = []byte{} // NOT NULL: an empty message is still a message
	}
	received := fromNanos(msg.Received.UnixNano())
	metas := make([]mail.Meta, len(entries))
	owners := make([]int64, len(entries))
	folders := make([]string, len(entries))
	rcpts := make([]string, len(entries))
	seen := make([]bool, len(entries))
	for i, e := range entries {
		to := e.To
		if to == nil {
			to = []string{}
		}
		b, err := json.Marshal(to)
		if err != nil {
			return nil, fmt.Errorf("postgres: deliver: %w", err)
		}
		owners[i], folders[i], rcpts[i], seen[i] = int64(e.Owner), string(e.Folder), string(b), e.Seen
		metas[i] = mail.Meta{
			Owner: e.Owner, Folder: e.Folder, From: msg.From, To: to,
			Subject: msg.Subject, Preview: msg.Preview, Date: received, Size: int64(len(raw)), Seen: e.Seen,
		}
	}
	var ids []int64
	err := s.write(ctx, func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, deliverQuery,
			len(raw), msg.From, msg.Subject, msg.Preview, received.UnixNano(), raw,
			owners, folders, rcpts, seen).Scan(&ids, nil)
	})
	switch code, constraint := pgCode(err); {
	case code == "23503" && constraint != "entries_message_id_fkey": // foreign_key_violation
		return nil, fmt.Errorf("%w: an account among %v", mail.ErrNoSuchRecipient, owners)
	case code == "23514": // check_violation: entries.folder
		return nil, fmt.Errorf("%w: one of %q", mail.ErrBadFolder, folders)
	case err != nil:
		return nil, s.fail("deliver", err)
	case len(ids) != len(entries) || !slices.IsSorted(ids):
		return nil, fmt.Errorf("postgres: deliver: %d ids for %d entries", len(ids), len(entries))
	}
	for i, id := range ids {
		metas[i].ID = mail.EntryID(id)
	}
	return metas, nil
}

// metaCols reads an entry's metadata, with "e" the entry and "m" its
// message; none of them is m.raw, which stays TOASTed unless selected.
const metaCols = `e.id, e.owner, e.folder, e.rcpts, e.seen, e.received, m.size, m.from_addr, m.subject, m.preview`

// listQuery is a backward range scan of entries_owner_folder_id, already in
// id order, and one primary key lookup per row in messages.
const listQuery = `SELECT ` + metaCols + `
FROM entries e JOIN messages m ON m.id = e.message_id
WHERE e.owner = $1 AND e.folder = $2 AND e.id < $3
ORDER BY e.id DESC
LIMIT $4`

const afterQuery = `SELECT ` + metaCols + `
FROM entries e JOIN messages m ON m.id = e.message_id
WHERE e.id > $1
ORDER BY e.id
LIMIT $2`

func scanMeta(row pgx.Row, extra ...any) (mail.Meta, error) {
	var m mail.Meta
	var folder string
	var received int64
	dst := append([]any{&m.ID, &m.Owner, &folder, &m.To, &m.Seen, &received, &m.Size, &m.From, &m.Subject, &m.Preview}, extra...)
	if err := row.Scan(dst...); err != nil {
		return mail.Meta{}, err
	}
	m.Folder = mail.Folder(folder)
	m.Date = fromNanos(received)
	if m.To == nil {
		m.To = []string{}
	}
	return m, nil
}

func (s *Store) queryMetas(ctx context.Context, op, sql string, args ...any) ([]mail.Meta, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, s.fail(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (mail.Meta, error) { return scanMeta(r) })
	if err != nil {
		return nil, s.fail(op, err)
	}
	return out, nil
}

// List gives the owner's entries in folder with id < before (0: no bound),
// newest first, at most limit of them.
func (s *Store) List(ctx context.Context, owner account.ID, folder mail.Folder, before mail.EntryID, limit int) ([]mail.Meta, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	if limit <= 0 {
		return nil, nil
	}
	return s.queryMetas(ctx, "list", listQuery, int64(owner), string(folder), int64(before), limit)
}

// EntriesAfter gives every owner's entries with id > after, oldest first, at
// most limit of them: the change feed's query, also usable to resync.
func (s *Store) EntriesAfter(ctx context.Context, after mail.EntryID, limit int) ([]mail.Meta, error) {
	if limit <= 0 {
		return nil, nil
	}
	return s.queryMetas(ctx, "entries after", afterQuery, int64(after), limit)
}

// Fetch gives one of the owner's entries with its raw bytes. Another owner's
// entry is mail.ErrNotFound, exactly like a missing one.
func (s *Store) Fetch(ctx context.Context, owner account.ID, id mail.EntryID) (mail.Message, error) {
	if err := s.check(); err != nil {
		return mail.Message{}, err
	}
	var msg mail.Message
	meta, err := scanMeta(s.pool.QueryRow(ctx, `SELECT `+metaCols+`, m.raw
FROM entries e JOIN messages m ON m.id = e.message_id
WHERE e.id = $1 AND e.owner = $2`, int64(id), int64(owner)), &msg.Raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return mail.Message{}, fmt.Errorf("%w: entry %d", mail.ErrNotFound, id)
	}
	if err != nil {
		return mail.Message{}, s.fail("fetch", err)
	}
	msg.Meta = meta
	if msg.Raw == nil {
		msg.Raw = []byte{}
	}
	return msg, nil
}

// SetSeen flags one of the owner's entries.
func (s *Store) SetSeen(ctx context.Context, owner account.ID, id mail.EntryID, seen bool) error {
	return s.execOne(ctx, "set seen", fmt.Errorf("%w: entry %d", mail.ErrNotFound, id),
		`UPDATE entries SET seen = $1 WHERE id = $2 AND owner = $3`, seen, int64(id), int64(owner))
}

// Delete removes one of the owner's entries; the message goes with its last
// entry (by trigger, in the same transaction).
func (s *Store) Delete(ctx context.Context, owner account.ID, id mail.EntryID) error {
	return s.execOne(ctx, "delete", fmt.Errorf("%w: entry %d", mail.ErrNotFound, id),
		`DELETE FROM entries WHERE id = $1 AND owner = $2`, int64(id), int64(owner))
}

// Count gives the number of entries and of unseen entries in a folder, from
// folder_counts, which triggers keep in step with entries.
func (s *Store) Count(ctx context.Context, owner account.ID, folder mail.Folder) (total, unseen int, err error) {
	if err := s.check(); err != nil {
		return 0, 0, err
	}
	err = s.pool.QueryRow(ctx, `SELECT total, unseen FROM folder_counts WHERE owner = $1 AND folder = $2`,
		int64(owner), string(folder)).Scan(&total, &unseen)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, nil // nothing ever delivered there
	}
	if err != nil {
		return 0, 0, s.fail("count", err)
	}
	return total, unseen, nil
}
