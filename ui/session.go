package ui

import (
	"context"
	"errors"
	"sync"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
	"mailroom/ui/model"
)

// Preview fetching: bodies are fetched only for rows on screen, a few at a
// time, and only for messages small enough that fetching one costs little.
const (
	maxPreviewFetches = 4
	maxPreviewBytes   = 64 << 10
	maxPreviews       = 2000 // cache entries before it is emptied
)

// session is the signed-in state: the open ports.Session, both folders'
// pages, counts and the live watch.
type session struct {
	s ports.Session
	// fs is the folder side of s, nil when the session has none (then
	// the mailbox shows Inbox and Sent tabs and Delete is permanent).
	fs ports.FolderSession
	// ss is the search side of s, nil when it has none (no search field).
	ss ports.SearchSession
	// ds stores drafts on the server, nil when s cannot (serverdraft.go).
	ds ports.DraftSession
	// infos is the folder list from the last count, special first.
	infos  []mail.FolderInfo
	ctx    context.Context
	cancel context.CancelFunc

	folders map[mail.Folder]*model.Pager
	total   map[mail.Folder]int
	unseen  map[mail.Folder]int

	connected bool
	retryIn   time.Duration

	counting, recount bool

	// pending is the delete waiting for its undo snackbar to expire.
	pending *pendingDelete
	// deletes counts deletes on their way to the server; the session is
	// closed only after them.
	deletes sync.WaitGroup

	previews     map[mail.EntryID]string
	previewBusy  map[mail.EntryID]bool
	previewsLive int
}

// startSession takes over a logged-in session: it remembers the username,
// opens the inbox and starts watching for new mail.
func (a *App) startSession(s ports.Session, username string) {
	a.endSession()
	ctx, cancel := context.WithCancel(a.ctx)
	fs, _ := s.(ports.FolderSession)
	ss, _ := s.(ports.SearchSession)
	ds, _ := s.(ports.DraftSession)
	a.sess = &session{
		s: s, fs: fs, ss: ss, ds: ds, ctx: ctx, cancel: cancel,
		folders:     map[mail.Folder]*model.Pager{mail.Inbox: {}, mail.Sent: {}},
		total:       map[mail.Folder]int{},
		unseen:      map[mail.Folder]int{},
		connected:   true,
		previews:    map[mail.EntryID]string{},
		previewBusy: map[mail.EntryID]bool{},
	}
	a.settings.Username = username
	a.saveSettings()
	a.login.pass.SetText("")
	a.mailbox.reset()
	a.reset(routeMailbox)
	a.refreshCounts()
	a.loadMore(mail.Inbox, 0)
	a.watch(a.sess)
	a.flushOutbox() // what was queued in an earlier run
}

// endSession cancels everything the session started and closes it.
// Deletes are the exception: the pending one is sent now, and those
// already sent go on; both on contexts of their own (see sendDelete).
func (a *App) endSession() {
	s := a.sess
	if s == nil {
		return
	}
	a.flushDelete(s)
	s.cancel()
	a.sess = nil
	a.compose.cancelChecks() // lookups and sends in flight belong to s
	// Close may wait on the network; the UI must not. App.Close waits
	// for it.
	a.flushing.Add(1)
	go func() {
		defer a.flushing.Done()
		s.deletes.Wait()
		s.s.Close()
	}()
	a.reader.close()
}

// logout ends the session and returns to the login page.
func (a *App) logout() {
	a.endSession()
	a.reset(routeLogin)
	a.focusLogin()
}

// watch relays the session's watch stream to the frame loop until the
// session ends.
func (a *App) watch(s *session) {
	ch := s.s.Watch(s.ctx)
	self := s.s.Account().Address
	go func() {
		for ev := range ch {
			if ev.Message != nil && s.ctx.Err() == nil {
				a.noticeMail(*ev.Message, self)
			}
			a.post(s.ctx, func() { a.onWatch(s, ev) })
		}
	}()
}

func (a *App) onWatch(s *session, ev ports.WatchEvent) {
	if a.sess != s {
		return // a stale event from a session that ended
	}
	// A changed certificate blocks; refused credentials (the re-login
	// failed: the watch closes after this) end the session.
	if ev.Err != nil && (errors.Is(ev.Err, ports.ErrFingerprintMismatch) || errors.Is(ev.Err, account.ErrBadCredentials)) {
		a.failIn(s, ev.Err)
		return
	}
	switch {
	case ev.Removed != 0:
		s.connected = true
		a.onRemoved(s, ev.Removed)
		return
	case ev.Flagged != nil:
		s.connected = true
		a.onFlagged(s, *ev.Flagged)
		return
	}
	if ev.Message == nil {
		s.connected = ev.Connected
		s.retryIn = ev.RetryIn
		if ev.Connected {
			a.refreshCounts() // mail may have changed while away
			a.catchUp(s)
			a.reader.reconnected(a)
			a.flushOutbox()
			a.draftsReconnected(s)
		}
		return
	}
	s.connected = true
	m := *ev.Message
	p := s.folders[m.Folder]
	if p == nil || s.hidden(m.ID) {
		a.refreshCounts() // a folder not listed yet still has a count
		return
	}
	if i, added := p.Insert(m); added {
		a.mailbox.inserted(m.Folder, i)
		s.total[m.Folder]++
		if !m.Seen {
			s.unseen[m.Folder]++
		}
	}
	a.refreshCounts()
}

// catchUp re-lists the newest page of every folder once the watch is
// (re)connected and merges it in. The watch is registered on the server
// before Connected arrives, so watch-then-list misses nothing: an entry
// committed between the first List and the watch's start shows up here,
// and anything later comes as an event. (After a reconnect the client
// adapter also pages back to the last entry it saw.)
func (a *App) catchUp(s *session) {
	for f, p := range s.folders {
		a.run(s.ctx, func(ctx context.Context) func() {
			page, err := s.s.List(ctx, f, 0, model.PageSize)
			return func() {
				if err != nil {
					a.failIn(s, err) // otherwise the next reconnect or event tries again
					return
				}
				if a.sess != s {
					return
				}
				// Full or not as the server answered: a delete waiting for
				// its undo, hidden below, still takes a place in the page.
				full := len(page) >= model.PageSize
				page := s.visible(page)
				for _, m := range page {
					if i, added := p.Insert(m); added {
						a.mailbox.inserted(f, i)
					}
				}
				a.reconcile(s, f, page, full)
			}
		})
	}
}

// reconcile applies what happened to folder f's newest page while the
// watch was away: the watch reports removals and flag changes live only.
// Rows within the page's id range (every row when the page is not full)
// that the page lacks were deleted or moved meanwhile; rows whose flags
// differ were changed meanwhile. Rows newer than the page came from events
// after the List and are left alone.
func (a *App) reconcile(s *session, f mail.Folder, page []mail.Meta, full bool) {
	p := s.folders[f]
	if p == nil {
		return
	}
	in := make(map[mail.EntryID]mail.Meta, len(page))
	var lo, hi mail.EntryID
	for _, m := range page {
		in[m.ID] = m
		if lo == 0 || m.ID < lo {
			lo = m.ID
		}
		hi = max(hi, m.ID)
	}
	if !full {
		lo = 0
	}
	var gone []mail.EntryID
	for _, row := range p.Items {
		m, ok := in[row.ID]
		switch {
		case row.ID < lo || row.ID > hi && len(page) > 0:
		case !ok:
			gone = append(gone, row.ID)
		case m.Flags != row.Flags || m.Seen != row.Seen:
			a.onFlagged(s, m)
		}
	}
	for _, id := range gone {
		a.onRemoved(s, id)
	}
}

// refreshCounts asks for both folders' counts; calls made while one is in
// flight are folded into one more.
func (a *App) refreshCounts() {
	s := a.sess
	if s == nil {
		return
	}
	if s.counting {
		s.recount = true
		return
	}
	s.counting = true
	if s.fs != nil {
		a.refreshFolders(s)
		return
	}
	a.run(s.ctx, func(ctx context.Context) func() {
		type count struct{ total, unseen int }
		got := map[mail.Folder]count{}
		var firstErr error
		for _, f := range []mail.Folder{mail.Inbox, mail.Sent} {
			t, u, err := s.s.Count(ctx, f)
			if err != nil {
				firstErr = err
				continue
			}
			got[f] = count{t, u}
		}
		return func() {
			for f, c := range got {
				s.setCount(f, c.total, c.unseen)
			}
			a.counted(s, firstErr)
		}
	})
}

// setCount records a folder's counts from the server, less the delete
// waiting for its undo, which the server still counts.
func (s *session) setCount(f mail.Folder, total, unseen int) {
	if pd := s.pending; pd != nil && pd.m.Folder == f {
		total = max(0, total-1)
		if !pd.m.Seen {
			unseen = max(0, unseen-1)
		}
	}
	s.total[f], s.unseen[f] = total, unseen
}

// counted ends a count: an error is handled, and a count asked for
// meanwhile starts.
func (a *App) counted(s *session, err error) {
	s.counting = false
	if err != nil {
		a.failIn(s, err) // a changed certificate or refused credentials end it
	}
	if s.recount && a.sess == s {
		s.recount = false
		a.refreshCounts()
	}
}

// pager is folder f's pages, made when f is first shown.
func (s *session) pager(f mail.Folder) *model.Pager {
	p := s.folders[f]
	if p == nil {
		p = &model.Pager{}
		s.folders[f] = p
	}
	return p
}

// loadMore asks for the next page of folder if the pager wants one given
// the last row on screen.
func (a *App) loadMore(f mail.Folder, lastVisible int) {
	s := a.sess
	if s == nil {
		return
	}
	p := s.pager(f)
	before, ok := p.Next(lastVisible)
	if !ok {
		return
	}
	a.run(s.ctx, func(ctx context.Context) func() {
		page, err := s.s.List(ctx, f, before, model.PageSize)
		return func() {
			if a.sess != s {
				return // the page belongs to a session that ended
			}
			if err != nil {
				p.Fail(err)
				a.mailbox.listErr = a.failIn(s, err)
				return
			}
			a.mailbox.listErr = ""
			p.Append(s.visible(page), model.PageSize)
			p.Done = len(page) < model.PageSize // judged before the pending delete was dropped
		}
	})
}

// preview gives the preview line of m: the server's (Meta.Preview) when it
// sent one, else one made from the body, starting a fetch if it is worth
// one. Mail stored before the server made previews has none, so the fetch
// stays as the fallback. It reports false while none is known.
func (a *App) preview(m mail.Meta) (string, bool) {
	if m.Preview != "" {
		return m.Preview, true
	}
	s := a.sess
	if s == nil {
		return "", false
	}
	if p, ok := s.previews[m.ID]; ok {
		return p, true
	}
	if m.Size > maxPreviewBytes || s.previewBusy[m.ID] || s.previewsLive >= maxPreviewFetches {
		return "", false
	}
	if len(s.previews) > maxPreviews {
		s.previews = map[mail.EntryID]string{}
	}
	s.previewBusy[m.ID] = true
	s.previewsLive++
	a.run(s.ctx, func(ctx context.Context) func() {
		b, err := s.s.Fetch(ctx, m.ID)
		return func() {
			s.previewsLive--
			delete(s.previewBusy, m.ID)
			if err != nil {
				s.previews[m.ID] = "" // don't ask again
				a.failIn(s, err)
				return
			}
			s.previews[m.ID] = mail.PreviewText(b.Text, b.HTML)
		}
	})
	return "", false
}

// setSeen flags a message on the server, updating the list and counts at
// once and putting them back if the server refuses.
func (a *App) setSeen(m mail.Meta, seen bool) {
	s := a.sess
	if s == nil || m.Seen == seen {
		return
	}
	a.applySeen(s, m, seen)
	a.run(s.ctx, func(ctx context.Context) func() {
		err := s.s.SetSeen(ctx, m.ID, seen)
		return func() {
			if a.sess != s {
				return
			}
			if err != nil {
				if msg := a.failIn(s, err); a.sess == s {
					a.applySeen(s, m, !seen)
					// Offline, the banner already says so, and the reader
					// marks the message again on reconnect: no toast.
					if !model.Retryable(err) {
						a.showToast(msg)
					}
				}
			}
			a.refreshCounts()
		}
	})
}

func (a *App) applySeen(s *session, m mail.Meta, seen bool) {
	if s.pager(m.Folder).SetSeen(m.ID, seen) {
		if seen {
			s.unseen[m.Folder] = max(0, s.unseen[m.Folder]-1)
		} else {
			s.unseen[m.Folder]++
		}
	}
	if a.reader.shown && a.reader.meta.ID == m.ID {
		a.reader.meta.Seen = seen
	}
}
