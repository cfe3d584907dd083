package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	sqlite3 "modernc.org/sqlite/lib"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// Deliver stores msg once and one entry per element of entries, all or
// nothing, and gives the entries' metadata in the order given. An entry whose
// owner does not exist (e.g. an account deleted meanwhile) fails the whole
// delivery with mail.ErrNoSuchRecipient; a bad folder with mail.ErrBadFolder.
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
	rcpts := make([]string, len(entries))
	for i, e := range entries {
		to := e.To
		if to == nil {
			to = []string{}
		}
		b, err := json.Marshal(to)
		if err != nil {
			return nil, fmt.Errorf("sqlite: deliver: %w", err)
		}
		rcpts[i] = string(b)
		metas[i] = mail.Meta{
			Owner: e.Owner, Folder: e.Folder, From: msg.From, To: to,
			Subject: msg.Subject, Preview: msg.Preview, Date: received, Size: int64(len(raw)), Seen: e.Seen,
		}
	}
	err := s.write(ctx, func(w *wtx) error {
		res, err := w.exec(s.wst.insMessage, len(raw), msg.From, msg.Subject, received.UnixNano(), raw)
		if err != nil {
			return err
		}
		msgID, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if msg.Preview != "" { // no row reads as ''
			if _, err := w.exec(s.wst.insPreview, msgID, msg.Preview); err != nil {
				return err
			}
		}
		stmt := w.stmt(s.wst.insEntry)
		for i, e := range entries {
			res, err := stmt.ExecContext(w.ctx, int64(e.Owner), msgID, string(e.Folder), rcpts[i], e.Seen, received.UnixNano())
			switch {
			case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY):
				return fmt.Errorf("%w: account id %d", mail.ErrNoSuchRecipient, e.Owner)
			case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_CHECK):
				return fmt.Errorf("%w: %q", mail.ErrBadFolder, e.Folder)
			case err != nil:
				return err
			}
			id, err := res.LastInsertId()
			if err != nil {
				return err
			}
			metas[i].ID = mail.EntryID(id)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, mail.ErrNoSuchRecipient) || errors.Is(err, mail.ErrBadFolder) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlite: deliver: %w", err)
	}
	return metas, nil
}

// metaCols reads an entry's metadata; with "e" the entry, "m" its message
// and "p" the message's preview (metaJoin). None of them is messages.raw, so
// no blob is read.
const metaCols = `e.id, e.owner, e.folder, e.rcpts, e.seen, e.received, m.size, m.from_addr, m.subject, coalesce(p.preview, '')`

// metaJoin joins an entry to its message and preview. The preview is in
// its own table so that it is not stored after messages.raw (see
// migrations/0002_preview.up.sql); a message without one reads as "".
const metaJoin = `entries e CROSS JOIN messages m ON m.id = e.message_id
LEFT JOIN message_previews p ON p.message_id = e.message_id`

// listQuery is a range scan of entries_owner_folder_id, already in id
// order, then one rowid lookup per row in messages and one in
// message_previews. CROSS JOIN pins entries as the outer loop.
const listQuery = `SELECT ` + metaCols + `
FROM ` + metaJoin + `
WHERE e.owner = ? AND e.folder = ? AND e.id < ?
ORDER BY e.id DESC
LIMIT ?`

func scanMeta(sc interface{ Scan(...any) error }, extra ...any) (mail.Meta, error) {
	var m mail.Meta
	var folder, rcpts string
	var received int64
	dst := append([]any{&m.ID, &m.Owner, &folder, &rcpts, &m.Seen, &received, &m.Size, &m.From, &m.Subject, &m.Preview}, extra...)
	if err := sc.Scan(dst...); err != nil {
		return mail.Meta{}, err
	}
	m.Folder = mail.Folder(folder)
	m.Date = fromNanos(received)
	if err := json.Unmarshal([]byte(rcpts), &m.To); err != nil {
		return mail.Meta{}, fmt.Errorf("entry %d: rcpts: %w", m.ID, err)
	}
	return m, nil
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
	rows, err := s.rst.list.QueryContext(ctx, int64(owner), string(folder), int64(before), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list: %w", err)
	}
	return collectMetas(rows, limit)
}

func collectMetas(rows *sql.Rows, capHint int) ([]mail.Meta, error) {
	defer rows.Close()
	out := make([]mail.Meta, 0, min(capHint, 64))
	for rows.Next() {
		m, err := scanMeta(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return out, nil
}

// EntriesAfter gives every owner's entries with id > after, oldest first, at
// most limit of them: the change feed's query, also usable to resync.
func (s *Store) EntriesAfter(ctx context.Context, after mail.EntryID, limit int) ([]mail.Meta, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.rst.after.QueryContext(ctx, int64(after), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: entries after: %w", err)
	}
	return collectMetas(rows, limit)
}

const afterQuery = `SELECT ` + metaCols + `
FROM ` + metaJoin + `
WHERE e.id > ?
ORDER BY e.id
LIMIT ?`

// Fetch gives one of the owner's entries with its raw bytes. Another owner's
// entry is mail.ErrNotFound, exactly like a missing one.
func (s *Store) Fetch(ctx context.Context, owner account.ID, id mail.EntryID) (mail.Message, error) {
	var msg mail.Message
	meta, err := scanMeta(s.rst.fetch.QueryRowContext(ctx, int64(id), int64(owner)), &msg.Raw)
	if errors.Is(err, sql.ErrNoRows) {
		return mail.Message{}, fmt.Errorf("%w: entry %d", mail.ErrNotFound, id)
	}
	if err != nil {
		return mail.Message{}, fmt.Errorf("sqlite: fetch: %w", err)
	}
	msg.Meta = meta
	if msg.Raw == nil {
		msg.Raw = []byte{}
	}
	return msg, nil
}

// SetSeen flags one of the owner's entries.
func (s *Store) SetSeen(ctx context.Context, owner account.ID, id mail.EntryID, seen bool) error {
	err := s.write(ctx, func(w *wtx) error {
		res, err := w.exec(s.wst.setSeen, seen, int64(id), int64(owner))
		if err != nil {
			return err
		}
		return mustAffect(res, fmt.Errorf("%w: entry %d", mail.ErrNotFound, id))
	})
	if err != nil && !errors.Is(err, mail.ErrNotFound) {
		return fmt.Errorf("sqlite: set seen: %w", err)
	}
	return err
}

// Delete removes one of the owner's entries; the message goes with its last
// entry (by trigger, in the same transaction).
func (s *Store) Delete(ctx context.Context, owner account.ID, id mail.EntryID) error {
	err := s.write(ctx, func(w *wtx) error {
		res, err := w.exec(s.wst.delEntry, int64(id), int64(owner))
		if err != nil {
			return err
		}
		return mustAffect(res, fmt.Errorf("%w: entry %d", mail.ErrNotFound, id))
	})
	if err != nil && !errors.Is(err, mail.ErrNotFound) {
		return fmt.Errorf("sqlite: delete: %w", err)
	}
	return err
}

// Count gives the number of entries and of unseen entries in a folder, from
// folder_counts, which triggers keep in step with entries.
func (s *Store) Count(ctx context.Context, owner account.ID, folder mail.Folder) (total, unseen int, err error) {
	err = s.rst.count.QueryRowContext(ctx, int64(owner), string(folder)).Scan(&total, &unseen)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil // nothing ever delivered there
	}
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: count: %w", err)
	}
	return total, unseen, nil
}

const countQuery = `SELECT total, unseen FROM folder_counts WHERE owner = ? AND folder = ?`
