package ui

import (
	"context"
	"errors"
	"time"

	"mailroom/domain/mail"
	"mailroom/ports"
	"mailroom/ui/model"
)

// serverDraftDelay is how long typing must pause before the draft is
// stored in the server's Drafts folder: a round trip and a whole message
// each time, so far less often than the local save.
const serverDraftDelay = 5 * time.Second

// serverDrafts keeps the draft in compose in the server's Drafts folder,
// where the user's other devices see it, beside the local copy that
// drafts keeps. Each store appends the new version and then deletes the
// one it replaces. While offline only the local copy changes; the server
// copy follows when the connection returns.
type serverDrafts struct {
	cur     *serverCopy // the draft in compose
	dirty   bool        // compose changed since cur was stored
	dueAt   time.Time
	pushing bool // one Append at a time
	// orphans are copies whose delete failed offline (sent or replaced
	// meanwhile); deleted again on reconnect.
	orphans []mail.EntryID
}

// serverCopy is one draft's copy on the server.
type serverCopy struct {
	id mail.EntryID // 0: none stored yet
	// gone: the draft was sent, queued or discarded, so a store still in
	// flight for it is deleted as soon as it lands.
	gone bool
}

// serverDraftsOn reports whether drafts go to the server: the session has
// folders and appends, and the main package can build a message.
func (a *App) serverDraftsOn() bool {
	s := a.sess
	return s != nil && s.fs != nil && s.ds != nil && a.cfg.DraftRaw != nil
}

// newServerDraft starts a draft that has no server copy yet (or id).
func (a *App) newServerDraft(id mail.EntryID) {
	sd := &a.drafts.server
	sd.cur, sd.dirty = &serverCopy{id: id}, false
}

// serverChanged schedules a store once typing pauses.
func (a *App) serverChanged(now time.Time) {
	sd := &a.drafts.server
	sd.dirty, sd.dueAt = true, now.Add(serverDraftDelay)
}

// pushDueDraft stores the draft if typing paused long enough.
func (a *App) pushDueDraft(now time.Time) {
	if sd := &a.drafts.server; sd.dirty && !now.Before(sd.dueAt) {
		a.pushDraft()
	}
}

// pushDraft stores the compose draft on the server now if it changed.
// Offline, or while a store is in flight, it stays marked for later.
func (a *App) pushDraft() {
	sd := &a.drafts.server
	s := a.sess
	if !sd.dirty || sd.pushing || !a.serverDraftsOn() || !s.connected {
		return
	}
	if sd.cur == nil {
		sd.cur = &serverCopy{}
	}
	if a.compose.empty() {
		sd.dirty = false
		return
	}
	c, d, from := sd.cur, a.compose.snapshot(), a.address()
	sd.dirty, sd.pushing = false, true
	a.transfer(s.ctx, func(ctx context.Context) func() {
		raw, err := a.cfg.DraftRaw(d, from)
		var m mail.Meta
		if err == nil {
			m, err = s.ds.Append(ctx, mail.Drafts, raw, mail.FlagSeen|mail.FlagDraft)
		}
		return func() { a.pushed(s, c, m.ID, err) }
	})
}

// pushed ends a store of copy c: the new copy replaces the old one, or is
// deleted at once if the draft is gone meanwhile.
func (a *App) pushed(s *session, c *serverCopy, id mail.EntryID, err error) {
	sd := &a.drafts.server
	sd.pushing = false
	if a.sess != s {
		return
	}
	if err != nil {
		if c == sd.cur && !c.gone {
			sd.dirty = true // again on reconnect or the next pause in typing
		}
		if !model.Retryable(err) {
			a.showToast("Could not save the draft on the server: " + a.failIn(s, err))
		}
		return
	}
	if c.gone {
		a.deleteCopy(s, id)
	} else {
		old := c.id
		c.id = id
		if old != 0 {
			a.deleteCopy(s, old)
		}
		if c == sd.cur {
			a.drafts.dirty = true // the local copy remembers the server's id
			a.flushDraft()
		}
	}
	if sd.dirty && a.top() != routeCompose {
		a.pushDraft() // changed while the store was in flight, and compose is closed
	}
}

// dropServerDraft is for a draft that was sent, queued or discarded: its
// server copy is deleted, now or once a store in flight lands.
func (a *App) dropServerDraft() {
	sd := &a.drafts.server
	c := sd.cur
	a.newServerDraft(0)
	if c == nil {
		return
	}
	c.gone = true
	if c.id != 0 && a.sess != nil {
		a.deleteCopy(a.sess, c.id)
	}
}

// deleteCopy deletes a server copy for good; one that cannot be deleted
// offline is tried again on reconnect.
func (a *App) deleteCopy(s *session, id mail.EntryID) {
	a.sendDelete(s, id, false, func(err error) {
		if err != nil && model.Retryable(err) && a.sess == s {
			a.drafts.server.orphans = append(a.drafts.server.orphans, id)
		}
	})
}

// draftsReconnected stores what changed offline and deletes the copies
// that could not be deleted then.
func (a *App) draftsReconnected(s *session) {
	sd := &a.drafts.server
	orphans := sd.orphans
	sd.orphans = nil
	for _, id := range orphans {
		a.deleteCopy(s, id)
	}
	a.pushDraft()
}

// editDraft opens a message of the Drafts folder in compose; storing it
// again replaces that copy.
func (a *App) editDraft(m mail.Meta) {
	s := a.sess
	if s == nil {
		return
	}
	a.transfer(s.ctx, func(ctx context.Context) func() { // the whole message, attachments too
		b, err := s.s.Fetch(ctx, m.ID)
		return func() {
			if a.sess != s {
				return
			}
			if err != nil {
				if errors.Is(err, mail.ErrNotFound) {
					a.showToast("This draft was sent or deleted meanwhile.")
					return
				}
				a.showToast("Could not open the draft: " + a.failIn(s, err))
				return
			}
			text, _ := mail.BodyText(b.Text, b.HTML)
			a.openDraft(ports.Draft{To: m.To, Subject: m.Subject, Body: text, InReplyTo: b.InReplyTo, Attachments: b.Attachments})
			a.newServerDraft(m.ID)
			a.drafts.dirty = true // the local copy is now this draft
			a.flushDraft()
		}
	})
}
