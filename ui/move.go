package ui

import (
	"context"

	"mailroom/domain/mail"
)

// moveMessage takes m out of its list at once and moves it on the server
// to folder to; if the server refuses, it comes back with the reason.
// Restore in Trash is a move back to the Inbox.
func (a *App) moveMessage(m mail.Meta, to mail.Folder) {
	s := a.sess
	if s == nil || s.fs == nil || m.Folder == to {
		return
	}
	a.leaveMessage(s, m)
	a.run(s.ctx, func(ctx context.Context) func() {
		_, err := s.fs.Move(ctx, m.ID, to)
		return func() {
			if a.sess != s {
				return
			}
			if err != nil {
				msg := a.failIn(s, err)
				if a.sess == s {
					a.restore(s, m)
					a.showToast("Could not move “" + subjectOf(m) + "”: " + msg)
				}
				return
			}
			a.showToast("Moved to " + folderTitle(to))
			a.relist(s, to)
			a.refreshCounts()
		}
	})
}

// leaveMessage hides m, which is deleted or moved, and deals with the
// reader if it showed m: beside the list the next message opens rather
// than an empty pane; on a phone the list comes back, as the back arrow
// would. It reports whether the reader showed m.
func (a *App) leaveMessage(s *session, m mail.Meta) bool {
	shown := a.reader.shown && a.reader.meta.ID == m.ID
	idx := s.pager(m.Folder).Index(m.ID)
	a.hide(s, m)
	if shown {
		if items := s.pager(m.Folder).Items; a.wide && idx >= 0 && len(items) > 0 {
			a.openMessage(items[min(idx, len(items)-1)])
		} else {
			if a.top() == routeReader {
				a.back()
			}
			a.reader.close()
		}
	}
	return shown
}

// relist merges the newest page of f, if it was listed, so that a message
// moved there shows without waiting for the watch.
func (a *App) relist(s *session, f mail.Folder) {
	p := s.folders[f]
	if p == nil || !p.Loaded {
		return
	}
	a.run(s.ctx, func(ctx context.Context) func() {
		page, err := s.s.List(ctx, f, 0, 50)
		return func() {
			if err != nil || a.sess != s {
				return
			}
			for _, m := range s.visible(page) {
				if i, added := p.Insert(m); added {
					a.mailbox.inserted(f, i)
				}
			}
		}
	})
}

// openMove asks where to move the open message, or the cursor's row.
func (a *App) openMove() {
	if a.sess == nil || a.sess.fs == nil {
		return
	}
	if a.reader.shown {
		a.dialog.openMove(a, a.reader.meta)
	} else if m, ok := a.cursorMeta(); ok {
		a.dialog.openMove(a, m)
	}
}
