package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// SetFlags applies op with flags to the owner's entries ids, in one
// transaction, and gives their new flags in the order of ids; ids the owner
// lacks are skipped. The entries_flags trigger logs each real change.
func (s *Store) SetFlags(ctx context.Context, owner account.ID, ids []mail.EntryID, op mail.FlagOp, flags mail.Flags) ([]mail.UIDEntry, error) {
	var out []mail.UIDEntry
	err := s.write(ctx, func(w *wtx) error {
		out = out[:0]
		st := w.stmt(s.wst.setFlags)
		for _, id := range ids {
			u := mail.UIDEntry{ID: id}
			err := st.QueryRowContext(w.ctx, uint8(op), uint8(flags), int64(id), int64(owner)).Scan(&u.UID, &u.Flags)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, u)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: set flags: %w", err)
	}
	return out, nil
}

// srcSQL reads what a copy of an entry needs, and its metadata.
const srcSQL = `SELECT ` + metaCols + `, e.message_id FROM ` + metaJoin + ` WHERE e.id = ? AND e.owner = ?`

// Transfer copies the owner's entries ids into folder to, each with the
// next UID there, and with move deletes the originals, in one transaction.
// The copies come first, so no message loses its last entry on the way.
func (s *Store) Transfer(ctx context.Context, owner account.ID, ids []mail.EntryID, to mail.Folder, move bool) ([]mail.Transfer, error) {
	var out []mail.Transfer
	err := s.write(ctx, func(w *wtx) error {
		out = out[:0]
		type src struct {
			meta  mail.Meta
			msgID int64
		}
		var srcs []src
		for _, id := range ids {
			var sr src
			var err error
			sr.meta, err = scanMeta(w.tx.QueryRowContext(w.ctx, srcSQL, int64(id), int64(owner)), &sr.msgID)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			srcs = append(srcs, sr)
		}
		rows := make([]entryRow, len(srcs))
		for i, sr := range srcs {
			m := sr.meta
			rcpts, err := json.Marshal(m.To)
			if err != nil {
				return err
			}
			rows[i] = entryRow{owner: owner, folder: to, msgID: sr.msgID, rcpts: string(rcpts), flags: m.Flags,
				received: m.Date.UnixNano()}
		}
		if len(rows) > 0 {
			if err := s.insertEntries(w, rows); err != nil {
				return err
			}
		} else if _, err := txFolder(w, owner, to); err != nil {
			return err // no entry to copy, but the folder must still exist
		}
		for i, sr := range srcs {
			m := sr.meta
			t := mail.Transfer{From: m.ID, FromUID: m.UID, To: m}
			t.To.ID, t.To.UID, t.To.Folder = rows[i].id, rows[i].uid, to
			out = append(out, t)
		}
		if !move {
			return nil
		}
		for _, sr := range srcs {
			if _, err := w.exec(s.wst.delEntry, int64(sr.meta.ID), int64(owner)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrapErr("transfer", err)
	}
	return out, nil
}

// dedupSQL finds an entry of folder ?1 with Message-ID ?2: the newest
// 1,000 messages with that Message-ID (message_previews_msgid, of every
// owner), then their entries in the folder. The bound keeps a
// Message-ID a client gave thousands of messages from stalling the writer;
// a copy older than that many others is not found, and the append stores.
const dedupSQL = `SELECT ` + metaCols + ` FROM (
    SELECT message_id FROM message_previews WHERE msgid = ?2 AND msgid <> '' ORDER BY message_id DESC LIMIT 1000
) d CROSS JOIN entries e INDEXED BY entries_message_id ON e.message_id = d.message_id
CROSS JOIN folders f ON f.id = e.folder_id
CROSS JOIN messages m ON m.id = e.message_id
LEFT JOIN message_previews p ON p.message_id = e.message_id
WHERE e.folder_id = ?1 LIMIT 1`

// Append stores msg and the entry e for it; with dedup, an entry of
// e.Folder with msg.MessageID already there is given back instead, with
// true, and nothing is stored. The check and the insert are one
// transaction, so two appends of one message cannot both store it.
func (s *Store) Append(ctx context.Context, msg mail.NewMessage, e mail.NewEntry, dedup bool) (mail.Meta, bool, error) {
	raw := msg.Raw
	if raw == nil {
		raw = []byte{}
	}
	to := e.To
	if to == nil {
		to = []string{}
	}
	rcpts, err := json.Marshal(to)
	if err != nil {
		return mail.Meta{}, false, fmt.Errorf("sqlite: append: %w", err)
	}
	received := fromNanos(msg.Received.UnixNano())
	doc := s.searchDoc(msg)
	var meta mail.Meta
	var existed bool
	err = s.write(ctx, func(w *wtx) error {
		meta, existed = newMeta(msg, e, to, received, int64(len(raw))), false
		if dedup && msg.MessageID != "" {
			f, err := txFolder(w, e.Owner, e.Folder)
			if err != nil {
				return err
			}
			m, err := scanMeta(w.tx.QueryRowContext(w.ctx, dedupSQL, f.id, msg.MessageID))
			if err == nil {
				meta, existed = m, true
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		msgID, err := s.insertMessage(w, msg, raw, received, doc)
		if err != nil {
			return err
		}
		rows := []entryRow{{owner: e.Owner, folder: e.Folder, msgID: msgID, rcpts: string(rcpts), flags: meta.Flags,
			received: received.UnixNano()}}
		if err := s.insertEntries(w, rows); err != nil {
			return err
		}
		meta.ID, meta.UID = rows[0].id, rows[0].uid
		return nil
	})
	if err != nil {
		return mail.Meta{}, false, wrapErr("append", err)
	}
	return meta, existed, nil
}

// Expunge deletes the entries of a folder flagged \Deleted (among uids when
// uids is not nil) and gives their UIDs ascending.
func (s *Store) Expunge(ctx context.Context, owner account.ID, name mail.Folder, uids []uint32) ([]uint32, error) {
	var out []uint32
	err := s.write(ctx, func(w *wtx) error {
		out = out[:0]
		f, err := txFolder(w, owner, name)
		if err != nil {
			return err
		}
		q := `DELETE FROM entries WHERE folder_id = ? AND flags & ? <> 0 RETURNING uid`
		args := []any{f.id, uint8(mail.FlagDeleted)}
		if uids != nil {
			q = `DELETE FROM entries WHERE folder_id = ? AND flags & ? <> 0
AND uid IN (SELECT value FROM json_each(?)) RETURNING uid`
			args = append(args, jsonInts(uids))
		}
		rows, err := w.tx.QueryContext(w.ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var uid uint32
			if err := rows.Scan(&uid); err != nil {
				return err
			}
			out = append(out, uid)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrapErr("expunge", err)
	}
	return sortUIDs(out), nil
}
