package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// Deliver stores msg once and one entry per element of entries, all or
// nothing, and gives the entries' metadata in the order given. Each entry
// takes its folder's next UID. An entry whose owner does not exist (e.g. an
// account deleted meanwhile) fails the whole delivery with
// mail.ErrNoSuchRecipient; a folder the owner lacks with mail.ErrBadFolder.
func (s *Store) Deliver(ctx context.Context, msg mail.NewMessage, entries []mail.NewEntry) ([]mail.Meta, error) {
	if len(entries) == 0 {
		return nil, mail.ErrNoRecipients
	}
	raw := msg.Raw
	if raw == nil {
		raw = []byte{} // NOT NULL: an empty message is still a message
	}
	received := fromNanos(msg.Received.UnixNano())
	doc := s.searchDoc(msg) // before the writer: decoding is the slow part
	metas := make([]mail.Meta, len(entries))
	rows := make([]entryRow, len(entries))
	for i, e := range entries {
		to := e.To
		if to == nil {
			to = []string{}
		}
		b, err := json.Marshal(to)
		if err != nil {
			return nil, fmt.Errorf("sqlite: deliver: %w", err)
		}
		metas[i] = newMeta(msg, e, to, received, int64(len(raw)))
		rows[i] = entryRow{owner: e.Owner, folder: e.Folder, rcpts: string(b), flags: metas[i].Flags,
			received: received.UnixNano()}
	}
	err := s.write(ctx, func(w *wtx) error {
		msgID, err := s.insertMessage(w, msg, raw, received, doc)
		if err != nil {
			return err
		}
		for i := range rows {
			rows[i].msgID = msgID
		}
		err = s.insertEntries(w, rows)
		if k, ok := missingFolder(err); ok {
			if k.name.Special() != mail.SpecialNone {
				return fmt.Errorf("%w: account id %d", mail.ErrNoSuchRecipient, k.owner)
			}
			return fmt.Errorf("%w: %q", mail.ErrBadFolder, k.name)
		}
		return err
	})
	if err != nil {
		if errors.Is(err, mail.ErrNoSuchRecipient) || errors.Is(err, mail.ErrBadFolder) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlite: deliver: %w", err)
	}
	for i := range metas {
		metas[i].ID, metas[i].UID = rows[i].id, rows[i].uid
	}
	return metas, nil
}

// newMeta is the metadata of a new entry e of msg.
func newMeta(msg mail.NewMessage, e mail.NewEntry, to []string, received time.Time, size int64) mail.Meta {
	flags := e.Flags
	if e.Seen {
		flags |= mail.FlagSeen
	}
	return mail.Meta{
		Owner: e.Owner, Folder: e.Folder, From: msg.From, To: to,
		Subject: msg.Subject, Preview: msg.Preview, Date: received, Size: size,
		Seen: flags.Has(mail.FlagSeen), Flags: flags, MessageID: msg.MessageID,
	}
}

// insertMessage stores a message and its preview, gives it to the search
// indexer once the batch commits (wtx.index), and gives its id.
func (s *Store) insertMessage(w *wtx, msg mail.NewMessage, raw []byte, received time.Time, doc mail.SearchDoc) (int64, error) {
	var msgID int64
	if err := w.stmt(s.wst.nextMsg).QueryRowContext(w.ctx).Scan(&msgID); err != nil {
		return 0, err
	}
	if _, err := w.exec(s.wst.insMessage, msgID, len(raw), msg.From, msg.Subject, received.UnixNano(), raw); err != nil {
		return 0, err
	}
	if msg.Preview != "" || msg.MessageID != "" { // no row reads as '', ''
		if _, err := w.exec(s.wst.insPreview, msgID, msg.Preview, msg.MessageID); err != nil {
			return 0, err
		}
	}
	if !s.noIndex {
		w.index = append(w.index, indexItem{msgID, doc})
	}
	return msgID, nil
}

// metaCols reads an entry's metadata; with "e" the entry, "f" its folder,
// "m" its message and "p" the message's preview and Message-ID (metaJoin).
// None of them is messages.raw or after it, so no blob is read.
const metaCols = `e.id, e.owner, f.name, e.rcpts, e.flags, e.received, m.size, m.from_addr, m.subject, coalesce(p.preview, ''), e.uid,
coalesce(p.msgid, '')`

// metaJoin joins an entry to its folder, message and preview. The preview
// is in its own table so that it is not stored after messages.raw (see
// migrations/0002_preview.up.sql); a message without one reads as "".
// CROSS JOIN pins entries as the outer loop.
const metaJoin = `entries e CROSS JOIN folders f ON f.id = e.folder_id
CROSS JOIN messages m ON m.id = e.message_id
LEFT JOIN message_previews p ON p.message_id = e.message_id`

// listQuery is a backward range scan of entries_folder_id, already in id
// order, then one rowid lookup per row in folders, messages and
// message_previews.
const listQuery = `SELECT ` + metaCols + `
FROM ` + metaJoin + `
WHERE e.folder_id = ? AND e.id < ?
ORDER BY e.id DESC
LIMIT ?`

func scanMeta(sc interface{ Scan(...any) error }, extra ...any) (mail.Meta, error) {
	var m mail.Meta
	var folder, rcpts string
	var received int64
	dst := append([]any{&m.ID, &m.Owner, &folder, &rcpts, &m.Flags, &received, &m.Size, &m.From, &m.Subject, &m.Preview,
		&m.UID, &m.MessageID}, extra...)
	if err := sc.Scan(dst...); err != nil {
		return mail.Meta{}, err
	}
	m.Seen = m.Flags.Has(mail.FlagSeen)
	m.Folder = mail.Folder(folder)
	m.Date = fromNanos(received)
	if err := json.Unmarshal([]byte(rcpts), &m.To); err != nil {
		return mail.Meta{}, fmt.Errorf("entry %d: rcpts: %w", m.ID, err)
	}
	return m, nil
}

// List gives the owner's entries in folder with id < before (0: no bound),
// newest first, at most limit of them; mail.ErrNotFound for a folder owner
// lacks.
func (s *Store) List(ctx context.Context, owner account.ID, folder mail.Folder, before mail.EntryID, limit int) ([]mail.Meta, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	fi, err := s.folderRow(ctx, owner, folder)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.rst.list.QueryContext(ctx, fi.id, int64(before), limit)
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

// SetSeen sets or clears \Seen on one of the owner's entries.
func (s *Store) SetSeen(ctx context.Context, owner account.ID, id mail.EntryID, seen bool) error {
	op := mail.FlagsRemove
	if seen {
		op = mail.FlagsAdd
	}
	err := s.write(ctx, func(w *wtx) error {
		var uid uint32
		var flags mail.Flags
		err := w.stmt(s.wst.setFlags).QueryRowContext(w.ctx, uint8(op), uint8(mail.FlagSeen), int64(id), int64(owner)).Scan(&uid, &flags)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: entry %d", mail.ErrNotFound, id)
		}
		return err
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

// Count gives the number of entries and of unseen entries in a folder, which
// triggers keep in step with entries; mail.ErrNotFound for a folder owner
// lacks.
func (s *Store) Count(ctx context.Context, owner account.ID, folder mail.Folder) (total, unseen int, err error) {
	fi, err := s.folderRow(ctx, owner, folder)
	if err != nil {
		return 0, 0, err
	}
	return fi.Total, fi.Unseen, nil
}
