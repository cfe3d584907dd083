package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// setFlagsSQL applies a mail.FlagOp ($1) with flags $2 to the entries $3
// of owner $4. The entries_logged_flags trigger logs each real change.
const setFlagsSQL = `UPDATE entries
SET flags = CASE $1::smallint WHEN 0 THEN $2::smallint WHEN 1 THEN flags | $2::smallint ELSE flags & ~$2::smallint END
WHERE id = ANY($3) AND owner = $4
RETURNING id, uid, flags`

// SetFlags applies op with flags to the owner's entries ids, in one
// statement, and gives their new flags in the order of ids; ids the owner
// lacks are skipped.
func (s *Store) SetFlags(ctx context.Context, owner account.ID, ids []mail.EntryID, op mail.FlagOp, flags mail.Flags) ([]mail.UIDEntry, error) {
	byID := map[mail.EntryID]mail.UIDEntry{}
	err := s.write(ctx, func(ctx context.Context) error {
		clear(byID)
		rows, err := s.pool.Query(ctx, setFlagsSQL, int16(op), int16(flags), int64s(ids), int64(owner))
		if err != nil {
			return err
		}
		var id, uid int64
		var f int16
		_, err = pgx.ForEachRow(rows, []any{&id, &uid, &f}, func() error {
			byID[mail.EntryID(id)] = mail.UIDEntry{UID: uint32(uid), ID: mail.EntryID(id), Flags: mail.Flags(f)}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, s.fail("set flags", err)
	}
	out := make([]mail.UIDEntry, 0, len(byID))
	for _, id := range ids {
		if u, ok := byID[id]; ok {
			out = append(out, u)
			delete(byID, id)
		}
	}
	return out, nil
}

// copySQL copies the entries $1 of owner $2 into folder $3 (whose row the
// caller locked) in the order given, taking a block of its UIDNEXT: their
// ids and UIDs grow in that order.
const copySQL = `WITH src AS (
    SELECT e.*, row_number() OVER (ORDER BY x.n) AS k
    FROM unnest($1::bigint[]) WITH ORDINALITY AS x (id, n) JOIN entries e ON e.id = x.id AND e.owner = $2
), r AS (
    UPDATE folders SET uidnext = uidnext + (SELECT count(*) FROM src) WHERE id = $3
    RETURNING uidnext - (SELECT count(*) FROM src) AS first
)
INSERT INTO entries (owner, folder_id, uid, message_id, rcpts, flags, received, msgid)
SELECT src.owner, $3, r.first + src.k - 1, src.message_id, src.rcpts, src.flags, src.received, src.msgid
FROM src CROSS JOIN r
ORDER BY src.k
RETURNING id, uid`

// Transfer copies the owner's entries ids into folder to, each with the
// next UID there, and with move deletes the originals, in one transaction.
func (s *Store) Transfer(ctx context.Context, owner account.ID, ids []mail.EntryID, to mail.Folder, move bool) ([]mail.Transfer, error) {
	ids = uniqueIDs(ids)
	var out []mail.Transfer
	err := s.inTx(ctx, "transfer", func(tx pgx.Tx) error {
		out = out[:0]
		dst, err := s.txFolder(ctx, tx, owner, to)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+metaCols+` FROM `+metaJoin+` WHERE e.id = ANY($1) AND e.owner = $2`,
			int64s(ids), int64(owner))
		if err != nil {
			return err
		}
		srcs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (mail.Meta, error) { return scanMeta(r) })
		if err != nil {
			return err
		}
		pos := make(map[mail.EntryID]int, len(ids))
		for i, id := range ids {
			pos[id] = i
		}
		slices.SortFunc(srcs, func(a, b mail.Meta) int { return pos[a.ID] - pos[b.ID] })
		if len(srcs) == 0 {
			return nil
		}
		var newIDs, uids []int64
		rows, err = tx.Query(ctx, copySQL, int64s(ids), int64(owner), dst.id)
		if err != nil {
			return err
		}
		var id, uid int64
		if _, err := pgx.ForEachRow(rows, []any{&id, &uid}, func() error {
			newIDs, uids = append(newIDs, id), append(uids, uid)
			return nil
		}); err != nil {
			return err
		}
		if len(newIDs) != len(srcs) || !slices.IsSorted(newIDs) {
			return fmt.Errorf("%d copies of %d entries", len(newIDs), len(srcs))
		}
		for i, m := range srcs {
			t := mail.Transfer{From: m.ID, FromUID: m.UID, To: m}
			t.To.ID, t.To.UID, t.To.Folder = mail.EntryID(newIDs[i]), uint32(uids[i]), to
			out = append(out, t)
		}
		if move {
			if _, err := tx.Exec(ctx, `DELETE FROM entries WHERE id = ANY($1) AND owner = $2`, int64s(ids), int64(owner)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func uniqueIDs(ids []mail.EntryID) []mail.EntryID {
	seen := make(map[mail.EntryID]bool, len(ids))
	out := make([]mail.EntryID, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// appendSQL stores a message and one entry for it with the next UID of
// folder $8 (whose row the caller locked).
const appendSQL = `WITH m AS (
    INSERT INTO messages (size, from_addr, subject, preview, received, raw, search, has_files)
    VALUES ($1, $2, $3, $4, $5, $6, ` + searchVector + `, $13)
    RETURNING id
), r AS (
    UPDATE folders SET uidnext = uidnext + 1 WHERE id = $8 RETURNING uidnext - 1 AS uid
), e AS (
    INSERT INTO entries (owner, folder_id, uid, message_id, rcpts, flags, received, msgid)
    SELECT $7, $8, r.uid, m.id, $9::jsonb, $10, $5, $11 FROM m CROSS JOIN r
    RETURNING id, uid
)
SELECT id, uid FROM e`

// Append stores msg and the entry e for it; with dedup, an entry of
// e.Folder with msg.MessageID already there is given back instead, with
// true, and nothing is stored. The folder's row is locked first, so two
// appends of one message cannot both store it.
func (s *Store) Append(ctx context.Context, msg mail.NewMessage, e mail.NewEntry, dedup bool) (mail.Meta, bool, error) {
	raw := msg.Raw
	if raw == nil {
		raw = []byte{}
	}
	to := e.To
	if to == nil {
		to = []string{}
	}
	received := fromNanos(msg.Received.UnixNano())
	doc := msg.SearchDoc() // computed once by the domain when it parsed the message
	var meta mail.Meta
	var existed bool
	err := s.inTx(ctx, "append", func(tx pgx.Tx) error {
		meta, existed = newMeta(msg, e, to, received, int64(len(raw))), false
		f, err := s.txFolder(ctx, tx, e.Owner, e.Folder)
		if err != nil {
			return err
		}
		if dedup && msg.MessageID != "" {
			m, err := scanMeta(tx.QueryRow(ctx, `SELECT `+metaCols+` FROM `+metaJoin+`
WHERE e.folder_id = $1 AND e.msgid = $2 AND e.msgid <> '' LIMIT 1`, f.id, msg.MessageID))
			if err == nil {
				meta, existed = m, true
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		var id, uid int64
		err = tx.QueryRow(ctx, appendSQL, len(raw), msg.From, msg.Subject, msg.Preview, received.UnixNano(), raw,
			int64(e.Owner), f.id, to, int16(meta.Flags), msg.MessageID,
			tsVector(doc), doc.Attachment).Scan(&id, &uid)
		meta.ID, meta.UID = mail.EntryID(id), uint32(uid)
		return err
	})
	if err != nil {
		return mail.Meta{}, false, err
	}
	return meta, existed, nil
}

// Expunge deletes the entries of a folder flagged \Deleted (among uids when
// uids is not nil) and gives their UIDs ascending.
func (s *Store) Expunge(ctx context.Context, owner account.ID, name mail.Folder, uids []uint32) ([]uint32, error) {
	var out []uint32
	err := s.inTx(ctx, "expunge", func(tx pgx.Tx) error {
		out = out[:0]
		f, err := s.txFolder(ctx, tx, owner, name)
		if err != nil {
			return err
		}
		q := `DELETE FROM entries WHERE folder_id = $1 AND flags & $3::smallint <> 0 AND ($2::bigint[] IS NULL OR uid = ANY($2))
RETURNING uid`
		var arg []int64
		if uids != nil {
			arg = int64s(uids)
		}
		rows, err := tx.Query(ctx, q, f.id, arg, int16(mail.FlagDeleted))
		if err != nil {
			return err
		}
		var uid int64
		_, err = pgx.ForEachRow(rows, []any{&uid}, func() error {
			out = append(out, uint32(uid))
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}
