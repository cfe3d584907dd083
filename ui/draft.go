package ui

import (
	"context"
	"strings"
	"sync"
	"time"

	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/widget"

	"mailroom/ports"
	"mailroom/ui/model"
)

// draftDelay is how long typing must pause before the draft is written.
const draftDelay = 800 * time.Millisecond

// drafts saves the message being composed as it is typed
// (model.DraftFile), so that leaving compose, a crash or Android killing
// the app in the background loses at most the last moment of typing.
// Writes run off the frame loop, in order: a write older than the last
// one written is dropped.
type drafts struct {
	mu      sync.Mutex
	written int // seq of the last write done (under mu)
	seq     int // seq of the last write asked for (frame loop)

	dirty  bool
	saveAt time.Time
	delay  time.Duration

	// discarded is the draft Discard dropped, while its Undo is offered.
	discarded      *ports.Draft
	discardedUntil time.Time
	undo           widget.Clickable

	// server is the copy in the server's Drafts folder (serverdraft.go).
	server serverDrafts
}

// snapshot is the draft as typed, recipients as written.
func (c *composePage) snapshot() ports.Draft {
	return ports.Draft{To: model.ParseRecipients(c.to.Text()), Subject: c.subject.Text(), Body: c.body.Text(),
		InReplyTo: c.inReplyTo, Attachments: append([]ports.Attachment(nil), c.attached...)}
}

// empty reports whether nothing was typed or attached.
func (c *composePage) empty() bool {
	return trimmed(&c.to) == "" && trimmed(&c.subject) == "" && trimmed(&c.body) == "" && len(c.attached) == 0
}

// fill puts d in the compose form.
func (c *composePage) fill(d ports.Draft) {
	c.to.SetText(strings.Join(d.To, ", "))
	c.subject.SetText(d.Subject)
	c.body.SetText(d.Body)
	c.inReplyTo = d.InReplyTo
	c.attached = append([]ports.Attachment(nil), d.Attachments...)
	c.removes = make([]widget.Clickable, len(c.attached))
}

// changed marks the draft for a save once typing pauses.
func (a *App) changed(gtx C) {
	d := &a.drafts
	d.dirty = true
	d.saveAt = gtx.Now.Add(d.delay)
	gtx.Execute(op.InvalidateCmd{At: d.saveAt})
	if a.serverDraftsOn() {
		a.serverChanged(gtx.Now)
		gtx.Execute(op.InvalidateCmd{At: d.server.dueAt})
	}
}

// saveDueDraft writes the draft if typing has paused long enough.
func (a *App) saveDueDraft(gtx C) {
	if d := &a.drafts; d.dirty && !gtx.Now.Before(d.saveAt) {
		a.flushDraft()
	}
	a.pushDueDraft(gtx.Now)
}

// flushDraft writes the compose draft now if it changed.
func (a *App) flushDraft() {
	if !a.drafts.dirty {
		return
	}
	a.drafts.dirty = false
	sd := model.SavedDraft{Account: a.address(), Draft: a.compose.snapshot(), Saved: a.cfg.Now()}
	if c := a.drafts.server.cur; c != nil {
		sd.ServerID = c.id
	}
	a.writeDraft(sd)
}

// clearDraft removes the saved draft (sent, queued or discarded).
func (a *App) clearDraft() {
	a.drafts.dirty = false
	a.writeDraft(model.SavedDraft{})
}

// writeDraft writes sd (an empty one removes the file) on a goroutine.
func (a *App) writeDraft(sd model.SavedDraft) {
	d := &a.drafts
	d.seq++
	seq := d.seq
	a.flushing.Add(1) // Close waits for it: the app may exit right after
	a.runWithin(a.ctx, a.cfg.Timeout, func(context.Context) func() {
		defer a.flushing.Done()
		d.mu.Lock()
		defer d.mu.Unlock()
		if seq < d.written {
			return nil // a newer draft is already on disk
		}
		d.written = seq
		if err := model.SaveDraft(a.cfg.DataDir, sd); err != nil {
			return func() { a.showToast("Could not save the draft: " + err.Error()) }
		}
		return nil
	})
}

// restoreDraft fills a new compose form with the saved draft of the
// signed-in account, if there is one.
func (a *App) restoreDraft() bool {
	sd, ok, err := model.LoadDraft(a.cfg.DataDir)
	if err != nil || !ok || sd.Account != a.address() {
		return false
	}
	a.compose.fill(sd.Draft)
	a.newServerDraft(sd.ServerID)
	a.drafts.server.dirty = true // it may have changed offline: stored again on the first frame
	a.showToast("Draft restored")
	return true
}

// leaveCompose is Escape, back and the back arrow in compose: typed text
// is kept as the draft, and the user is told where it is.
func (a *App) leaveCompose() {
	if a.compose.empty() {
		a.clearDraft()
		return
	}
	a.drafts.dirty = true
	a.flushDraft()
	a.pushDraft()
	a.showToast("Draft saved. Compose opens it again.")
}

// discardDraft is the Discard button: the form is emptied and the draft
// removed, with Undo offered for a while.
func (a *App) discardDraft() {
	c := &a.compose
	if !c.empty() {
		d := c.snapshot()
		a.drafts.discarded, a.drafts.discardedUntil = &d, time.Time{}
	}
	c.fill(ports.Draft{})
	a.clearDraft()
	a.dropServerDraft()
	if a.top() == routeCompose {
		a.back()
	}
}

// layoutDiscarded is the "Draft discarded · Undo" bar.
func (a *App) layoutDiscarded(gtx C) D {
	d := &a.drafts
	if d.undo.Clicked(gtx) && d.discarded != nil {
		draft := *d.discarded
		d.discarded = nil
		a.openDraft(draft)
		a.drafts.dirty = true
		a.flushDraft()
		a.drafts.server.dirty = true
	}
	if d.discarded == nil {
		return D{}
	}
	if d.discardedUntil.IsZero() {
		d.discardedUntil = gtx.Now.Add(undoFor)
	}
	if !gtx.Now.IsZero() && !gtx.Now.Before(d.discardedUntil) {
		d.discarded = nil
		return D{}
	}
	gtx.Execute(op.InvalidateCmd{At: d.discardedUntil})
	th := a.th
	return toastBox(gtx, th, &d.discarded, func(gtx C) D {
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Flexed(1, func(gtx C) D {
				return layout.Inset{Left: 16, Right: smallSpace}.Layout(gtx, label(th, 15, th.Bg, "Draft discarded").Layout)
			}),
			layout.Rigid(func(gtx C) D {
				return layout.Inset{Right: 4}.Layout(gtx, func(gtx C) D {
					return flatButton(gtx, th, &d.undo, "Undo", th.SnackAction)
				})
			}),
		)
	})
}
