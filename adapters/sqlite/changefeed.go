package sqlite

import (
	"context"
	"fmt"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// The change log's queries and its bound.
const (
	changesAfterSQL = `SELECT seq, kind, uidvalidity, owner, folder, uid, entry_id, flags
FROM changes WHERE seq > ? ORDER BY seq LIMIT ?`
	newestSeqSQL = `SELECT coalesce(max(seq), 0) FROM changes`
	// pruneChangesSQL keeps the newest ?1 rows. A subscriber that far
	// behind was dropped long before (its buffer is far smaller).
	pruneChangesSQL = `DELETE FROM changes WHERE seq <= (SELECT max(seq) FROM changes) - ?`
	// keepChanges and pruneEvery: the writer prunes the log to the newest
	// keepChanges rows after every pruneEvery batches.
	keepChanges = 100_000
	pruneEvery  = 128
)

// changeSubs are the SubscribeChanges subscribers, under Feed.mu.
type changeSubs struct {
	subs map[*changeSub]struct{}
	last int64 // newest seq fanned out
}

type changeSub struct {
	ch        chan mail.Change
	from      int64    // deliver only seqs above this
	in        Interest // nil: every owner
	stopAfter func() bool
}

// SubscribeChanges delivers the change log (mail.Change: new entries, flag
// changes, removals, of this process and of others sharing the file) from
// the newest change at the time of the call on, in Seq order, for the
// owners in wants (nil: every owner; asked as each change is fanned out,
// see Interest). The channel is closed when ctx ends, when the subscriber
// falls Buffer changes behind or changes it has not read were pruned (it
// must then resync, e.g. an IMAP session reads its folder's UIDs again),
// or when the feed stops.
//
// While no change subscriber has in.Any() (and none has a nil in), the
// feed reads nothing for them, not even PRAGMA data_version. When Any()
// turns true, the poller's next look catches up by sequence from the last
// change it read: an owner wanted from time T gets every change committed
// after T, and possibly older ones (as many as were committed while
// nobody watched, up to Buffer; more drops the subscription). Those are
// what a snapshot taken after T already holds, so a subscriber that
// compares with its snapshot can ignore them; one that cannot should
// subscribe when its interest begins rather than keep an idle
// subscription.
func (f *Feed) SubscribeChanges(ctx context.Context, in Interest) <-chan mail.Change {
	sub := &changeSub{ch: make(chan mail.Change, f.cfg.Buffer), in: in}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || ctx.Err() != nil {
		close(sub.ch)
		return sub.ch
	}
	var newest int64
	err := f.s.rdb.QueryRowContext(ctx, newestSeqSQL).Scan(&newest)
	switch {
	case err == nil && len(f.changes.subs) == 0:
		f.changes.last = newest // nobody was listening: skip the poller ahead
	case err == nil:
	case len(f.changes.subs) > 0:
		newest = f.changes.last
	default:
		close(sub.ch)
		return sub.ch
	}
	sub.from = max(newest, f.changes.last)
	f.changes.subs[sub] = struct{}{}
	sub.stopAfter = context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.dropChangeLocked(sub)
	})
	f.Notify(nil) // the poller starts watching data_version now
	return sub.ch
}

func (f *Feed) dropChangeLocked(sub *changeSub) {
	if _, ok := f.changes.subs[sub]; !ok {
		return
	}
	delete(f.changes.subs, sub)
	close(sub.ch)
	if sub.stopAfter != nil {
		sub.stopAfter()
	}
}

// catchUpChanges fans out every change after the last one.
func (f *Feed) catchUpChanges(fc *feedConn) error {
	for {
		f.mu.Lock()
		after := f.changes.last
		f.mu.Unlock()
		cs, err := fc.readChanges(f.ctx, after, feedBatch)
		f.changeReads.Add(1)
		if err != nil {
			return err
		}
		if err := f.fillNew(fc, cs); err != nil {
			return err
		}
		f.mu.Lock()
		if f.changes.last == after { // else a Subscribe skipped ahead: read again
			f.fanOutChangesLocked(after, cs)
			if len(cs) > 0 {
				f.changes.last = cs[len(cs)-1].Seq
			}
		}
		f.mu.Unlock()
		if len(cs) < feedBatch {
			return nil
		}
	}
}

// fillNew reads the metadata of the new entries among cs that some
// subscriber wants; an entry gone meanwhile keeps what the log row holds.
func (f *Feed) fillNew(fc *feedConn, cs []mail.Change) error {
	f.mu.Lock()
	var ids []mail.EntryID
	for _, c := range cs {
		if c.Kind == mail.ChangeNew && f.wantedLocked(c.Meta.Owner) {
			ids = append(ids, c.Meta.ID)
		}
	}
	f.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	metas, err := fc.metasByID(f.ctx, ids)
	if err != nil {
		return err
	}
	byID := make(map[mail.EntryID]mail.Meta, len(metas))
	for _, m := range metas {
		byID[m.ID] = m
	}
	for i, c := range cs {
		if m, ok := byID[c.Meta.ID]; ok && c.Kind == mail.ChangeNew {
			// The log's folder name and flags are those of the change; the
			// entry's may be newer.
			m.Folder, m.Flags, m.Seen = c.Meta.Folder, c.Meta.Flags, c.Meta.Seen
			cs[i].Meta = m
		}
	}
	return nil
}

// changesWantedLocked reports whether some change subscriber watches now.
func (f *Feed) changesWantedLocked() bool {
	for sub := range f.changes.subs {
		if sub.in == nil || sub.in.Any() {
			return true
		}
	}
	return false
}

func (f *Feed) wantedLocked(owner account.ID) bool {
	for sub := range f.changes.subs {
		if sub.in == nil || sub.in.Wants(owner) {
			return true
		}
	}
	return false
}

// fanOutChangesLocked fans cs, read after seq after, out. Seqs have no
// gaps in SQLite (a rolled-back write gives its seqs back), so a first
// seq past after+1 means rows were pruned unread.
func (f *Feed) fanOutChangesLocked(after int64, cs []mail.Change) {
	if len(cs) == 0 {
		return
	}
	for sub := range f.changes.subs {
		if cs[0].Seq > after+1 && sub.from < cs[0].Seq-1 {
			// Rows it has not read were pruned: it must resync.
			f.dropChangeLocked(sub)
			continue
		}
		for _, c := range cs {
			if c.Seq <= sub.from || (sub.in != nil && !sub.in.Wants(c.Meta.Owner)) {
				continue
			}
			select {
			case sub.ch <- c:
				sub.from = c.Seq
			default:
				f.dropChangeLocked(sub) // too far behind: it resyncs
			}
			if _, ok := f.changes.subs[sub]; !ok {
				break
			}
		}
	}
}

// readChanges reads up to limit log rows after seq after.
func (fc *feedConn) readChanges(ctx context.Context, after int64, limit int) ([]mail.Change, error) {
	rows, err := fc.changesAfter.QueryContext(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: feed: changes: %w", err)
	}
	defer rows.Close()
	var out []mail.Change
	for rows.Next() {
		var c mail.Change
		var folder string
		m := &c.Meta
		if err := rows.Scan(&c.Seq, &c.Kind, &c.UIDValidity, &m.Owner, &folder, &m.UID, &m.ID, &m.Flags); err != nil {
			return nil, fmt.Errorf("sqlite: feed: changes: %w", err)
		}
		m.Folder, m.Seen = mail.Folder(folder), m.Flags.Has(mail.FlagSeen)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: feed: changes: %w", err)
	}
	return out, nil
}

// pruneChanges cuts the change log to its newest keep rows. The writer
// calls it on its own connection between batches.
func (s *Store) pruneChanges(ctx context.Context, keep int) error {
	_, err := s.wdb.ExecContext(ctx, pruneChangesSQL, keep)
	return err
}
