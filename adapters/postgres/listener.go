package postgres

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"mailroom/domain/mail"
)

// listenerConfig derives the listener's connection settings from the pool's.
// A cancelled wait must only interrupt the read (a deadline), not send the
// server a cancel request that could land on the next query.
func listenerConfig(pool *pgx.ConnConfig) *pgx.ConnConfig {
	cc := pool.Copy()
	cc.RuntimeParams["application_name"] = "mailroomd feed"
	cc.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	return cc
}

// listen keeps a LISTEN connection open until the feed stops.
func (f *Feed) listen() {
	defer f.wg.Done()
	for {
		f.listenOnce()
		select {
		case <-f.ctx.Done():
			return
		case <-time.After(f.cfg.ReconnectDelay):
		}
	}
}

// listenOnce connects, listens, and kicks the worker on every notification
// until the connection fails or the feed stops.
func (f *Feed) listenOnce() {
	conn, err := pgx.ConnectConfig(f.ctx, f.s.listen)
	if err != nil {
		return
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(ctx)
	}()
	for _, ch := range []string{notifyChannel, changesChannel} {
		if _, err := conn.Exec(f.ctx, "LISTEN "+ch); err != nil {
			return
		}
	}
	f.listenerPID.Store(conn.PgConn().PID())
	f.listens.Add(1)
	// Whatever committed while no listener was attached was announced to
	// nobody: read the table now.
	f.Notify(nil)
	var newest [2]int64 // entries' id and changes' seq at the last poll
	wait := min(f.cfg.Poll, f.cfg.KeepAlive)
	for {
		ctx, cancel := context.WithTimeout(f.ctx, wait)
		_, err := conn.WaitForNotification(ctx)
		cancel()
		switch {
		case err == nil:
			f.Notify(nil)
		case f.ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded):
			// Quiet for a while: poll. Writes announce themselves after
			// their commit, so a host that died in between announced
			// nothing; and a peer that vanished without a FIN would leave
			// the wait hanging for good. The poll covers both.
			ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
			now, err := pollNewest(ctx, conn)
			cancel()
			if err != nil {
				return
			}
			if now != newest {
				newest = now
				f.Notify(nil)
			}
		default:
			return
		}
	}
}

// pollNewest gives the newest entry id and change seq: two backward scans
// of a primary key, one index tuple each.
func pollNewest(ctx context.Context, conn *pgx.Conn) ([2]int64, error) {
	var n [2]int64
	err := conn.QueryRow(ctx, `SELECT (SELECT coalesce(max(id), 0) FROM entries), (SELECT coalesce(max(seq), 0) FROM changes)`).
		Scan(&n[0], &n[1])
	return n, err
}

// work fans out entries and changes whenever it is kicked, polls while it
// holds either back behind a gap or after a failed read, and prunes the
// change log every pruneInterval.
func (f *Feed) work() {
	defer f.wg.Done()
	var again <-chan time.Time
	prune := time.NewTicker(pruneInterval)
	defer prune.Stop()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-prune.C:
			f.s.pruneChanges(f.ctx, keepChanges) // a failure waits for the next tick
			continue
		case <-f.kick:
		case <-again:
		}
		again = nil
		f.mu.Lock()
		n, nc := len(f.subs), len(f.changes.subs)
		f.mu.Unlock()
		var held, heldC bool
		var err, errC error
		if n > 0 {
			held, err = f.catchUp()
		}
		if nc > 0 {
			heldC, errC = f.catchUpChanges()
		}
		switch {
		case err != nil || errC != nil:
			again = time.After(f.cfg.ReconnectDelay) // the database may be restarting
		case held || heldC:
			again = time.After(f.cfg.GapPoll)
		}
	}
}

// gapHold records a gap in the ids: the transactions in flight in this
// database right after a read that found ids missing below upto. Once they
// have all ended, the ids missing below upto are final.
type gapHold struct {
	xids  []string // backend_xid of each transaction in flight
	upto  mail.EntryID
	since time.Time
}

// catchUp fans out the entries after f.last, up to the first gap that may
// still fill. held reports that entries are held back behind one.
func (f *Feed) catchUp() (held bool, err error) {
	for {
		f.mu.Lock()
		after, hold, final := f.last, f.hold, f.final
		f.mu.Unlock()
		// Look at the hold before reading: a transaction that ends after the
		// read must not settle a gap that read could not see filled.
		if hold != nil {
			over, err := f.holdOver(hold)
			if err != nil {
				return true, err
			}
			if over {
				final, hold = max(final, hold.upto), nil
			}
		}
		metas, err := f.s.EntriesAfter(f.ctx, after, feedBatch)
		if err != nil {
			return hold != nil, err
		}
		next, n := after, 0
		for _, m := range metas {
			if m.ID != next+1 && m.ID > final {
				break
			}
			next, n = m.ID, n+1
		}
		if n < len(metas) && hold == nil {
			xids, err := f.inFlight()
			if err != nil {
				return true, err
			}
			hold = &gapHold{xids: xids, upto: metas[len(metas)-1].ID, since: time.Now()}
		}
		f.mu.Lock()
		if f.last != after {
			// Subscribe skipped the feed ahead meanwhile: start again from there.
			f.mu.Unlock()
			continue
		}
		f.fanOutLocked(metas[:n])
		f.last, f.hold, f.final = next, hold, final
		f.mu.Unlock()
		switch {
		case hold != nil && len(hold.xids) == 0:
			continue // nothing in flight: read again and settle at once
		case hold != nil:
			return true, nil
		case len(metas) < feedBatch:
			return false, nil
		}
	}
}

// inFlight gives the transactions that hold an id in this database: every
// one with an xid. Read-only sessions, the feeds' among them, have none.
func (f *Feed) inFlight() ([]string, error) {
	rows, err := f.s.pool.Query(f.ctx, `SELECT backend_xid::text FROM pg_stat_activity
WHERE datname = current_database() AND backend_xid IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// holdOver reports whether every transaction of h has ended, or h is older
// than MaxGapWait.
func (f *Feed) holdOver(h *gapHold) (bool, error) {
	if len(h.xids) == 0 || time.Since(h.since) > f.cfg.MaxGapWait {
		return true, nil
	}
	now, err := f.inFlight()
	if err != nil {
		return false, err
	}
	for _, x := range h.xids {
		if slices.Contains(now, x) {
			return false, nil
		}
	}
	return true, nil
}
