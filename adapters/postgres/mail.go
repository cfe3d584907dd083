package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// notifyChannel is the LISTEN/NOTIFY channel every write that changed
// entries announces itself on, after its commit (Store.announce); the
// payload is empty.
const notifyChannel = "mailroom_entries"

// deliverQuery stores the messages of a batch of deliveries and all their
// entries in one statement: one plan, one run of the entries_inserted
// trigger and one row update per folder for the whole batch, where a
// statement per delivery cost each of them per delivery. $1-$9 hold one
// element per delivery (deliverReq), $10-$14 one per entry, with $10 the
// delivery's number (from 1). The writers run it in one transaction after
// locking all the batch's folders in id order (writer.go), and answer only
// once that transaction has committed, so Deliver returns only once the
// delivery is durable.
//
// The messages are inserted in delivery order (ORDER BY n), so their ids,
// drawn from the identity sequence as rows are inserted, grow in that order:
// mn numbers them back. All of them are inserted before any entry takes an
// id (mn's window reads every row of m first), which the feed's gap logic
// relies on. The entries are inserted in the order given, delivery by
// delivery, so their ids grow in that order too: the ids sorted ascending
// are the entries in the order given.
//
// Each entry takes its folder's next UID: r takes a block of each folder's
// UIDNEXT (k numbers the batch's entries of one folder), one row update per
// folder. A folder the owner lacks (or a missing owner) leaves folder_id
// and uid NULL: a not-null violation, which fails the whole batch; the
// writer then finds the delivery at fault by running each alone.
//
// The result is one row of three arrays in entry id order: each entry's
// delivery number, id and UID.
const deliverQuery = `WITH d AS MATERIALIZED (
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bytea[],
        $7::tsvector[], $8::boolean[], $9::text[])
        WITH ORDINALITY AS d (size, from_addr, subject, preview, received, raw, search, has_files, msgid, n)
), m AS (
    INSERT INTO messages (size, from_addr, subject, preview, received, raw, search, has_files)
    SELECT size, from_addr, subject, preview, received, raw, search, has_files FROM d ORDER BY n
    RETURNING id
), mn AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM m
), x AS (
    SELECT x.dn, x.owner, x.rcpts, x.flags, x.n, f.id AS folder_id,
        row_number() OVER (PARTITION BY f.id ORDER BY x.dn, x.n) AS k
    FROM unnest($10::bigint[], $11::bigint[], $12::text[], $13::text[], $14::smallint[])
        WITH ORDINALITY AS x (dn, owner, folder, rcpts, flags, n)
    LEFT JOIN folders f ON f.owner = x.owner AND f.name = x.folder
), r AS (
    UPDATE folders f SET uidnext = f.uidnext + c.n
    FROM (SELECT folder_id, count(*) AS n FROM x WHERE folder_id IS NOT NULL GROUP BY folder_id) c
    WHERE f.id = c.folder_id
    RETURNING f.id, f.uidnext - c.n AS first
), e AS (
    INSERT INTO entries (owner, folder_id, uid, message_id, rcpts, flags, received, msgid)
    SELECT x.owner, x.folder_id, r.first + x.k - 1, mn.id, x.rcpts::jsonb, x.flags, d.received, d.msgid
    FROM x JOIN mn ON mn.n = x.dn JOIN d ON d.n = x.dn LEFT JOIN r ON r.id = x.folder_id
    ORDER BY x.dn, x.n
    RETURNING id, uid, message_id
)
SELECT array_agg(mn.n ORDER BY e.id), array_agg(e.id ORDER BY e.id), array_agg(e.uid ORDER BY e.id)
FROM e JOIN mn ON mn.id = e.message_id`

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
	doc := msg.SearchDoc() // computed once by the domain when it parsed the message
	metas := make([]mail.Meta, len(entries))
	owners := make([]int64, len(entries))
	folders := make([]string, len(entries))
	rcpts := make([]string, len(entries))
	flags := make([]int16, len(entries))
	for i, e := range entries {
		to := e.To
		if to == nil {
			to = []string{}
		}
		b, err := json.Marshal(to)
		if err != nil {
			return nil, fmt.Errorf("postgres: deliver: %w", err)
		}
		owners[i], folders[i], rcpts[i] = int64(e.Owner), string(e.Folder), string(b)
		metas[i] = newMeta(msg, e, to, received, int64(len(raw)))
		flags[i] = int16(metas[i].Flags)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	r := &deliverReq{
		size: int64(len(raw)), from: msg.From, subject: msg.Subject, preview: msg.Preview,
		received: received.UnixNano(), raw: raw, search: tsVector(doc), hasFiles: doc.Attachment,
		msgid: msg.MessageID, owners: owners, folders: folders, rcpts: rcpts, flags: flags,
	}
	// The writers commit it with the deliveries waiting beside it, in one
	// transaction (writer.go), and announce them after the commit.
	err := s.submit(ctx, r)
	ids, uids := r.ids, r.uids
	switch code, _ := pgCode(err); {
	case code == "23502": // not_null_violation: entries.folder_id
		return nil, s.missingFolder(ctx, entries)
	case err != nil:
		return nil, s.fail("deliver", err)
	case len(ids) != len(entries) || !slices.IsSorted(ids):
		return nil, fmt.Errorf("postgres: deliver: %d ids for %d entries", len(ids), len(entries))
	}
	for i, id := range ids {
		metas[i].ID, metas[i].UID = mail.EntryID(id), uint32(uids[i])
	}
	return metas, nil
}

// missingFolder tells why a delivery found no folder for an entry: a
// special folder is missing only with its account.
func (s *Store) missingFolder(ctx context.Context, entries []mail.NewEntry) error {
	for _, e := range entries {
		if _, err := s.Folder(ctx, e.Owner, e.Folder); errors.Is(err, mail.ErrNotFound) {
			if e.Folder.Special() != mail.SpecialNone {
				return fmt.Errorf("%w: account id %d", mail.ErrNoSuchRecipient, e.Owner)
			}
			return fmt.Errorf("%w: %q", mail.ErrBadFolder, e.Folder)
		}
	}
	return fmt.Errorf("%w: an account or folder went meanwhile", mail.ErrNoSuchRecipient)
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

// metaCols reads an entry's metadata, with "e" the entry, "f" its folder
// and "m" its message (metaJoin); none of them is m.raw, which stays
// TOASTed unless selected.
const metaCols = `e.id, e.owner, f.name, e.rcpts, e.flags, e.received, m.size, m.from_addr, m.subject, m.preview, e.uid, e.msgid`

const metaJoin = `entries e JOIN folders f ON f.id = e.folder_id JOIN messages m ON m.id = e.message_id`

// listQuery is a backward range scan of entries_folder_id, already in id
// order, and one primary key lookup per row in folders and messages.
const listQuery = `SELECT ` + metaCols + `
FROM ` + metaJoin + `
WHERE e.folder_id = $1 AND e.id < $2
ORDER BY e.id DESC
LIMIT $3`

const afterQuery = `SELECT ` + metaCols + `
FROM ` + metaJoin + `
WHERE e.id > $1
ORDER BY e.id
LIMIT $2`

func scanMeta(row pgx.Row, extra ...any) (mail.Meta, error) {
	var m mail.Meta
	var folder string
	var received int64
	var flags int16
	var uid int64
	dst := append([]any{&m.ID, &m.Owner, &folder, &m.To, &flags, &received, &m.Size, &m.From, &m.Subject, &m.Preview,
		&uid, &m.MessageID}, extra...)
	if err := row.Scan(dst...); err != nil {
		return mail.Meta{}, err
	}
	m.Flags, m.UID = mail.Flags(flags), uint32(uid)
	m.Seen = m.Flags.Has(mail.FlagSeen)
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
// newest first, at most limit of them; mail.ErrNotFound for a folder the
// owner lacks.
func (s *Store) List(ctx context.Context, owner account.ID, folder mail.Folder, before mail.EntryID, limit int) ([]mail.Meta, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	f, err := s.folderRow(ctx, owner, folder)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	return s.queryMetas(ctx, "list", listQuery, f.id, int64(before), limit)
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
FROM `+metaJoin+`
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

// SetSeen sets or clears \Seen on one of the owner's entries.
func (s *Store) SetSeen(ctx context.Context, owner account.ID, id mail.EntryID, seen bool) error {
	op := mail.FlagsRemove
	if seen {
		op = mail.FlagsAdd
	}
	return s.execOne(ctx, "set seen", fmt.Errorf("%w: entry %d", mail.ErrNotFound, id),
		setFlagsSQL, int16(op), int16(mail.FlagSeen), []int64{int64(id)}, int64(owner))
}

// Delete removes one of the owner's entries; the message goes with its last
// entry (by trigger, in the same transaction).
func (s *Store) Delete(ctx context.Context, owner account.ID, id mail.EntryID) error {
	return s.execOne(ctx, "delete", fmt.Errorf("%w: entry %d", mail.ErrNotFound, id),
		`DELETE FROM entries WHERE id = $1 AND owner = $2`, int64(id), int64(owner))
}

// Count gives the number of entries and of unseen entries in a folder, which
// triggers keep in step with entries; mail.ErrNotFound for a folder the
// owner lacks.
func (s *Store) Count(ctx context.Context, owner account.ID, folder mail.Folder) (total, unseen int, err error) {
	f, err := s.folderRow(ctx, owner, folder)
	if err != nil {
		return 0, 0, err
	}
	return f.Total, f.Unseen, nil
}
