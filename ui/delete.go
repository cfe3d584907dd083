package ui

import (
	"context"
	"errors"
	"time"

	"gioui.org/layout"
	"gioui.org/widget"

	"mailroom/domain/mail"
)

// undoFor is how long the "Message deleted — Undo" snackbar stays, and so
// how long the server delete waits.
const undoFor = 5 * time.Second

// pendingDelete is a message hidden from the list whose server delete
// waits for the snackbar to expire. At most one is pending: a second
// delete sends the first one's at once (one snackbar at a time).
type pendingDelete struct {
	m    mail.Meta
	stop func() bool
	// reopen: the reader showed it, so Undo shows it again.
	reopen bool
	// toTrash: the delete is a move to Trash (the session has folders
	// and m is not in Trash); otherwise it is for good.
	toTrash bool
}

// deleteMessage hides m at once and shows the undo snackbar; the server
// is told when the snackbar expires, or when the session ends.
func (a *App) deleteMessage(m mail.Meta) {
	s := a.sess
	if s == nil {
		return
	}
	if s.pending != nil {
		if s.pending.m.ID == m.ID {
			return
		}
		a.commitDelete(s)
	}
	pd := &pendingDelete{m: m, toTrash: s.fs != nil && m.Folder != mail.Trash}
	pd.reopen = a.leaveMessage(s, m)
	pd.stop = a.cfg.AfterFunc(undoFor, func() {
		a.post(s.ctx, func() {
			if a.sess == s && s.pending == pd {
				a.commitDelete(s)
			}
		})
	})
	s.pending = pd
}

// undoDelete puts the pending message back where it was; the server never
// hears of it.
func (a *App) undoDelete() {
	s := a.sess
	if s == nil || s.pending == nil {
		return
	}
	pd := s.pending
	s.pending = nil
	pd.stop()
	a.restore(s, pd.m)
	if pd.reopen {
		a.openMessage(pd.m)
	}
}

// commitDelete sends the pending delete to the server. If the server
// refuses, the message comes back with the reason.
func (a *App) commitDelete(s *session) {
	pd := s.pending
	if pd == nil {
		return
	}
	s.pending = nil
	pd.stop()
	m := pd.m
	a.sendDelete(s, m.ID, pd.toTrash, func(err error) {
		if a.sess != s {
			return
		}
		if err != nil && !errors.Is(err, mail.ErrNotFound) {
			msg := a.failIn(s, err)
			if a.sess != s {
				return // refused credentials ended the session
			}
			a.restore(s, m)
			a.showToast("Could not delete “" + subjectOf(m) + "”: " + msg)
			return
		}
		if pd.toTrash {
			a.relist(s, mail.Trash)
		}
		a.refreshCounts()
	})
}

// sendDelete tells the server to delete id (toTrash: to move it to
// Trash), on a context of its own
// bounded by Config.Timeout: the message has gone from the list, and the
// user's intent outlives the session, so logging out or closing the app
// must not cancel it. endSession closes the session only after it, and
// App.Close waits for it. then, if not nil, gets the result on the frame
// loop while the session lasts.
func (a *App) sendDelete(s *session, id mail.EntryID, toTrash bool, then func(err error)) {
	a.inflight.Add(1)
	a.flushing.Add(1)
	s.deletes.Add(1)
	timeout := a.cfg.Timeout
	go func() {
		defer a.inflight.Add(-1)
		defer a.flushing.Done()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		var err error
		if toTrash {
			_, err = s.fs.Move(ctx, id, mail.Trash)
		} else {
			err = s.s.Delete(ctx, id)
		}
		cancel()
		s.deletes.Done()
		if then != nil {
			a.post(s.ctx, func() { then(err) })
		}
	}()
}

// flushDelete is endSession's: the pending delete is sent now, before the
// session closes. The user's intent outlives the session.
func (a *App) flushDelete(s *session) {
	pd := s.pending
	if pd == nil {
		return
	}
	s.pending = nil
	pd.stop()
	a.sendDelete(s, pd.m.ID, pd.toTrash, nil) // nothing is left to tell of a failure
}

// hide takes m out of its folder's list and counts.
func (a *App) hide(s *session, m mail.Meta) {
	if i := s.pager(m.Folder).Remove(m.ID); i >= 0 {
		s.total[m.Folder] = max(0, s.total[m.Folder]-1)
		if !m.Seen {
			s.unseen[m.Folder] = max(0, s.unseen[m.Folder]-1)
		}
		a.mailbox.removed(m.Folder, i)
	}
}

// restore undoes hide.
func (a *App) restore(s *session, m mail.Meta) {
	p := s.pager(m.Folder)
	if i, added := p.Restore(m); added {
		s.total[m.Folder]++
		if !m.Seen {
			s.unseen[m.Folder]++
		}
		a.mailbox.inserted(m.Folder, i)
	}
}

// hidden reports whether id is waiting to be deleted, so that lists and
// events arriving meanwhile do not bring it back.
func (s *session) hidden(id mail.EntryID) bool { return s.pending != nil && s.pending.m.ID == id }

// visible drops the pending delete from a page.
func (s *session) visible(page []mail.Meta) []mail.Meta {
	if s.pending == nil {
		return page
	}
	out := page[:0:0]
	for _, m := range page {
		if !s.hidden(m.ID) {
			out = append(out, m)
		}
	}
	return out
}

func subjectOf(m mail.Meta) string {
	if m.Subject == "" {
		return "(no subject)"
	}
	return m.Subject
}

// snackbar is the bar with the undo action.
type snackbar struct {
	undo widget.Clickable
}

func (b *snackbar) Layout(gtx C, a *App) D {
	if b.undo.Clicked(gtx) {
		a.undoDelete()
	}
	if a.sess == nil || a.sess.pending == nil {
		return D{}
	}
	th := a.th
	what := "Message deleted"
	if a.sess.pending.toTrash {
		what = "Moved to Trash"
	}
	return toastBox(gtx, th, b, func(gtx C) D {
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Flexed(1, func(gtx C) D {
				return layout.Inset{Left: 16, Right: smallSpace}.Layout(gtx, label(th, 15, th.Bg, what).Layout)
			}),
			layout.Rigid(func(gtx C) D {
				return layout.Inset{Right: 4}.Layout(gtx, func(gtx C) D {
					return flatButton(gtx, th, &b.undo, "Undo", th.SnackAction)
				})
			}),
		)
	})
}
