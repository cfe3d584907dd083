package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// The change log's channel, queries and bound.
const (
	// changesChannel is NOTIFYed (empty payload, once per transaction) by
	// the triggers that write the change log.
	changesChannel  = "mailroom_changes"
	changesAfterSQL = `SELECT seq, kind, uidvalidity, owner, folder, uid, entry_id, flags
FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2`
	// pruneChangesSQL keeps the newest $1 rows; every host's feed runs it
	// every pruneInterval.
	pruneChangesSQL = `DELETE FROM changes WHERE seq <= (SELECT max(seq) FROM changes) - $1`
	keepChanges     = 100_000
	pruneInterval   = time.Minute
)

// changeSubs are the SubscribeChanges subscribers and the worker's
// position in the log, under Feed.mu. Seqs, like entry ids, commit out of
// order: hold and final play the parts they play for entries (see Feed).
type changeSubs struct {
	subs  map[*changeSub]struct{}
	last  int64
	hold  *gapHold // upto holds a seq
	final int64
}

type changeSub struct {
	ch        chan mail.Change
	from      int64
	in        Interest // nil: every owner
	stopAfter func() bool
}

// SubscribeChanges delivers the change log (mail.Change: new entries, flag
// changes, removals, from every host) from the newest change at the time of
// the call on, in Seq order, for the owners in wants (nil: every owner).
// The channel is closed when ctx ends, when the subscriber falls Buffer
// changes behind (it must then resync), or when the feed stops.
func (f *Feed) SubscribeChanges(ctx context.Context, in Interest) <-chan mail.Change {
	sub := &changeSub{ch: make(chan mail.Change, f.cfg.Buffer), in: in}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || ctx.Err() != nil {
		close(sub.ch)
		return sub.ch
	}
	var newest int64
	err := f.s.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM changes`).Scan(&newest)
	switch {
	case err == nil && len(f.changes.subs) == 0:
		f.changes.last, f.changes.hold = newest, nil
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

// catchUpChanges fans out the changes after the last one, up to the first
// gap in the seqs that may still fill (as catchUp does for entries).
func (f *Feed) catchUpChanges() (held bool, err error) {
	for {
		f.mu.Lock()
		after, hold, final := f.changes.last, f.changes.hold, f.changes.final
		f.mu.Unlock()
		if hold != nil {
			over, err := f.holdOver(hold)
			if err != nil {
				return true, err
			}
			if over {
				final, hold = max(final, int64(hold.upto)), nil
			}
		}
		cs, err := f.s.changesAfter(f.ctx, after, feedBatch)
		if err != nil {
			return hold != nil, err
		}
		next, n := after, 0
		for _, c := range cs {
			if c.Seq != next+1 && c.Seq > final {
				break
			}
			next, n = c.Seq, n+1
		}
		if n < len(cs) && hold == nil {
			xids, err := f.inFlight()
			if err != nil {
				return true, err
			}
			hold = &gapHold{xids: xids, upto: mail.EntryID(cs[len(cs)-1].Seq), since: time.Now()}
		}
		if err := f.fillNew(cs[:n]); err != nil {
			return true, err
		}
		f.mu.Lock()
		if f.changes.last != after {
			f.mu.Unlock()
			continue
		}
		f.fanOutChangesLocked(cs[:n])
		f.changes.last, f.changes.hold, f.changes.final = next, hold, final
		f.mu.Unlock()
		switch {
		case hold != nil && len(hold.xids) == 0:
			continue
		case hold != nil:
			return true, nil
		case len(cs) < feedBatch:
			return false, nil
		}
	}
}

// fillNew reads the metadata of the new entries among cs that some
// subscriber wants; an entry gone meanwhile keeps what the log row holds.
func (f *Feed) fillNew(cs []mail.Change) error {
	f.mu.Lock()
	var ids []int64
	for _, c := range cs {
		if c.Kind == mail.ChangeNew && f.wantedLocked(c.Meta.Owner) {
			ids = append(ids, int64(c.Meta.ID))
		}
	}
	f.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	metas, err := f.s.queryMetas(f.ctx, "feed: entries by id", `SELECT `+metaCols+` FROM `+metaJoin+` WHERE e.id = ANY($1)`, ids)
	if err != nil {
		return err
	}
	byID := make(map[mail.EntryID]mail.Meta, len(metas))
	for _, m := range metas {
		byID[m.ID] = m
	}
	for i, c := range cs {
		if m, ok := byID[c.Meta.ID]; ok && c.Kind == mail.ChangeNew {
			m.Folder, m.Flags, m.Seen = c.Meta.Folder, c.Meta.Flags, c.Meta.Seen
			cs[i].Meta = m
		}
	}
	return nil
}

func (f *Feed) wantedLocked(owner account.ID) bool {
	for sub := range f.changes.subs {
		if sub.in == nil || sub.in.Wants(owner) {
			return true
		}
	}
	return false
}

func (f *Feed) fanOutChangesLocked(cs []mail.Change) {
	for sub := range f.changes.subs {
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

// changesAfter reads up to limit log rows after seq after.
func (s *Store) changesAfter(ctx context.Context, after int64, limit int) ([]mail.Change, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, changesAfterSQL, after, limit)
	if err != nil {
		return nil, s.fail("feed: changes", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (mail.Change, error) {
		var c mail.Change
		var kind, flags int16
		var validity, uid int64
		var folder string
		m := &c.Meta
		err := r.Scan(&c.Seq, &kind, &validity, &m.Owner, &folder, &uid, &m.ID, &flags)
		c.Kind, c.UIDValidity = mail.ChangeKind(kind), uint32(validity)
		m.Folder, m.UID, m.Flags = mail.Folder(folder), uint32(uid), mail.Flags(flags)
		m.Seen = m.Flags.Has(mail.FlagSeen)
		return c, err
	})
	if err != nil {
		return nil, s.fail("feed: changes", err)
	}
	return out, nil
}

// pruneChanges cuts the change log to its newest keep rows.
func (s *Store) pruneChanges(ctx context.Context, keep int) error {
	if err := s.check(); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, pruneChangesSQL, keep)
	return err
}
