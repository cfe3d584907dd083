package client

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
)

// catchUpPage is the page size used to list what a watcher missed.
const catchUpPage = 100

// Watch streams the session's new entries (every folder; inbox and sent
// are caught up after a reconnection), removed entries (Removed: deleted,
// expunged or moved away, by any client) and flag changes (Flagged: id,
// folder, flags and seen) until ctx ends or the session closes, then
// closes the channel.
//
// It emits Connected:true on each (re)connection. When the connection
// drops it emits Connected:false with the error and the delay before the
// next attempt (doubling from MinBackoff to MaxBackoff, with jitter; the
// full MaxBackoff after a ports.ErrRateLimited, since the server counts
// that attempt as a failed login). If the server refuses the session's
// password (it was changed, or the account deleted), the last event is
// Connected:false with Err wrapping account.ErrBadCredentials and no
// RetryIn, and the channel closes: retrying could never succeed and would
// spend the server's per-IP failed-login budget. After
// each reconnection, and on a "resync" event, it lists each folder back to
// the newest entry it had seen in that folder, so an entry committed while it
// was away is still emitted, once, in id order. Removals and flag changes
// are live only: those made while it was away are not replayed, so refresh
// on each Connected:true (it is emitted after a resync too). The watch
// connection is its own; the listing uses the session's request connection.
func (s *Session) Watch(ctx context.Context) <-chan ports.WatchEvent {
	ch := make(chan ports.WatchEvent, 16)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		close(ch)
		return ch
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(ch)
		defer cancel()
		defer stop()
		w := &watcher{s: s, ch: ch, last: make(map[mail.Folder]mail.EntryID)}
		w.run(ctx)
	}()
	return ch
}

type watcher struct {
	s  *Session
	ch chan<- ports.WatchEvent
	// last is, per folder, the newest entry emitted or known at the start.
	// One mark for both folders would lose entries: a self-send commits an
	// inbox copy and then a sent copy with the next id, and if that lands
	// between the listings of the two folders, the sent copy would raise the
	// mark over the inbox copy the inbox listing just missed.
	last  map[mail.Folder]mail.EntryID
	known bool // whether last has been learnt
}

func (w *watcher) emit(ctx context.Context, ev ports.WatchEvent) bool {
	select {
	case w.ch <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

func (w *watcher) run(ctx context.Context) {
	cfg := w.s.c.cfg
	backoff := cfg.MinBackoff
	for {
		connected, err := w.connection(ctx)
		if ctx.Err() != nil || w.s.ctx.Err() != nil {
			return
		}
		if errors.Is(err, account.ErrBadCredentials) {
			w.emit(ctx, ports.WatchEvent{Connected: false, Err: err})
			return
		}
		if connected {
			backoff = cfg.MinBackoff
		}
		// Jitter in [backoff/2, backoff] spreads out clients that lost the
		// same server at the same moment.
		wait := backoff/2 + rand.N(backoff/2+1)
		if errors.Is(err, ports.ErrRateLimited) {
			// Even a right password counts as a failed login while the
			// address's budget is spent: try as seldom as we are allowed.
			backoff = cfg.MaxBackoff
			wait = backoff
		}
		if !w.emit(ctx, ports.WatchEvent{Connected: false, Err: err, RetryIn: wait}) {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, cfg.MaxBackoff)
	}
}

// connection runs one watch connection until it fails or ctx ends.
// connected reports whether it got as far as watching.
func (w *watcher) connection(ctx context.Context) (connected bool, err error) {
	s := w.s
	if !w.known {
		// Learn the high-water mark before subscribing: the catch-up below
		// then covers anything committed in between.
		if err := w.learnLast(ctx); err != nil {
			return false, err
		}
	}
	ic, _, err := s.connect(ctx)
	if err != nil {
		return false, err
	}
	defer ic.close()
	if _, err := ic.roundTrip(ctx, inboxwire.Request{Op: inboxwire.OpWatch}); err != nil {
		return false, err
	}
	if !w.emit(ctx, ports.WatchEvent{Connected: true}) {
		return true, ctx.Err()
	}
	if err := w.catchUp(ctx); err != nil {
		return true, err
	}
	for _, ev := range ic.events {
		if err := w.handle(ctx, ev); err != nil {
			return true, err
		}
	}
	ic.events = nil
	return true, w.pump(ctx, ic)
}

// startReader hands ic's reads to a goroutine of their own, so that the
// caller can write pings meanwhile. stop ends the goroutine and closes ic.
func startReader(ic *inboxConn) (lines <-chan line, errc <-chan error, stop func()) {
	lc := make(chan line)
	ec := make(chan error, 1)
	done := make(chan struct{})
	exited := make(chan struct{})
	ic.conn.SetDeadline(time.Time{})
	go func() {
		defer close(exited)
		for {
			l, err := ic.readLine()
			if err != nil {
				ec <- err
				return
			}
			select {
			case lc <- l:
			case <-done:
				return
			}
		}
	}()
	return lc, ec, func() {
		close(done)
		ic.close()
		<-exited
	}
}

// pump handles events as they come and pings the server every
// PingInterval, until the connection fails or ctx ends.
func (w *watcher) pump(ctx context.Context, ic *inboxConn) error {
	lines, errc, stop := startReader(ic)
	defer stop()
	stopCtx := watchCtx(ctx, ic.conn)
	defer stopCtx()

	cfg := w.s.c.cfg
	ticker := time.NewTicker(cfg.PingInterval)
	defer ticker.Stop()
	var pingTag json.RawMessage
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errc:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%w: watch: %v", ports.ErrUnreachable, err)
		case l := <-lines:
			if l.event != nil {
				if err := w.handle(ctx, *l.event); err != nil {
					return err
				}
				continue
			}
			if pingTag != nil && bytes.Equal(l.resp.Tag, pingTag) {
				pingTag = nil
				ic.conn.SetReadDeadline(time.Time{})
				continue
			}
			if !l.resp.OK && l.resp.Error != nil {
				return &serverError{op: inboxwire.OpWatch, err: *l.resp.Error}
			}
		case <-ticker.C:
			if pingTag != nil {
				continue // the read deadline set with it will fire
			}
			ic.conn.SetWriteDeadline(time.Now().Add(cfg.IOTimeout))
			tag, err := ic.send(inboxwire.Request{Op: inboxwire.OpPing})
			if err != nil {
				return fmt.Errorf("%w: watch ping: %v", ports.ErrUnreachable, err)
			}
			pingTag = tag
			ic.conn.SetReadDeadline(time.Now().Add(cfg.IOTimeout))
		}
	}
}

// handle acts on one event.
func (w *watcher) handle(ctx context.Context, ev inboxwire.Event) error {
	switch ev.Event {
	case inboxwire.EventMessage:
		if ev.Message == nil {
			return nil
		}
		m, err := w.s.meta(*ev.Message)
		if err != nil {
			return err
		}
		return w.emitMeta(ctx, m)
	case inboxwire.EventRemoved:
		if ev.ID == nil {
			return nil
		}
		return w.emitChange(ctx, ports.WatchEvent{Connected: true, Removed: mail.EntryID(*ev.ID)})
	case inboxwire.EventFlags:
		if ev.ID == nil {
			return nil
		}
		flags := inboxwire.FlagsOf(ev.Flags)
		if ev.Seen != nil && *ev.Seen {
			flags |= mail.FlagSeen
		}
		m := mail.Meta{ID: mail.EntryID(*ev.ID), Owner: w.s.info.ID, Folder: mail.Folder(ev.Folder),
			Flags: flags, Seen: flags.Has(mail.FlagSeen)}
		return w.emitChange(ctx, ports.WatchEvent{Connected: true, Flagged: &m})
	case inboxwire.EventResync:
		if err := w.catchUp(ctx); err != nil {
			return err
		}
		// Removals and flag changes in the gap are not listed back: a
		// Connected event has the consumer refresh what it shows, as
		// after a reconnection.
		return w.emitChange(ctx, ports.WatchEvent{Connected: true})
	}
	return nil // an event this client does not know
}

// emitChange emits an event that is not a new entry.
func (w *watcher) emitChange(ctx context.Context, ev ports.WatchEvent) error {
	if !w.emit(ctx, ev) {
		return ctx.Err()
	}
	return nil
}

// emitMeta emits m unless it was seen already. Entry ids grow in commit
// order, so "seen" is "not above its folder's high-water mark".
func (w *watcher) emitMeta(ctx context.Context, m mail.Meta) error {
	if m.ID <= w.last[m.Folder] {
		return nil
	}
	if !w.emit(ctx, ports.WatchEvent{Connected: true, Message: &m}) {
		return ctx.Err()
	}
	w.last[m.Folder] = m.ID
	return nil
}

// learnLast sets each folder's high-water mark to its newest entry.
func (w *watcher) learnLast(ctx context.Context) error {
	for _, f := range []mail.Folder{mail.Inbox, mail.Sent} {
		page, err := w.s.List(ctx, f, 0, 1)
		if err != nil {
			return err
		}
		if len(page) > 0 && page[0].ID > w.last[f] {
			w.last[f] = page[0].ID
		}
	}
	w.known = true
	return nil
}

// catchUp emits, oldest first, every entry of each folder above that
// folder's high-water mark.
func (w *watcher) catchUp(ctx context.Context) error {
	var missed []mail.Meta
	for _, f := range []mail.Folder{mail.Inbox, mail.Sent} {
		var before mail.EntryID
		for {
			page, err := w.s.List(ctx, f, before, catchUpPage)
			if err != nil {
				return err
			}
			done := len(page) < catchUpPage
			for _, m := range page {
				if m.ID <= w.last[f] {
					done = true
					break
				}
				missed = append(missed, m)
			}
			if done {
				break
			}
			before = page[len(page)-1].ID
		}
	}
	slices.SortFunc(missed, func(a, b mail.Meta) int { return cmp.Compare(a.ID, b.ID) })
	for _, m := range missed {
		if err := w.emitMeta(ctx, m); err != nil {
			return err
		}
	}
	return nil
}
