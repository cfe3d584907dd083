package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gioui.org/layout"
	"gioui.org/widget"

	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
	"mailroom/ui/model"
)

// outbox holds the messages that could not be sent when the user pressed
// Send (the server was unreachable). They are kept on disk
// (model.OutboxFile), sent when the watch reconnects and, while it stays
// down, retried with backoff. Nothing here claims a retry that is not
// scheduled.
type outbox struct {
	items   []model.OutboxItem
	buttons map[string]*outboxButtons
	stop    func() bool // the retry timer, if one is set
	seq     int
}

type outboxButtons struct{ cancel, edit widget.Clickable }

// loadOutbox reads the outbox at start.
func (a *App) loadOutbox() {
	items, err := model.LoadOutbox(a.cfg.DataDir)
	if err != nil {
		a.showToast("Could not read the Outbox: " + err.Error())
	}
	a.outbox.items = items
	a.outbox.buttons = map[string]*outboxButtons{}
}

func (a *App) saveOutbox() {
	if err := model.SaveOutbox(a.cfg.DataDir, a.outbox.items); err != nil {
		a.showToast("Could not save the Outbox: " + err.Error())
	}
}

// queued lists the signed-in account's outbox.
func (a *App) queued() []*model.OutboxItem {
	var out []*model.OutboxItem
	for i := range a.outbox.items {
		if it := &a.outbox.items[i]; it.Account == a.address() && a.address() != "" {
			out = append(out, it)
		}
	}
	return out
}

// enqueue keeps d for the signed-in account and says so.
func (a *App) enqueue(d ports.Draft) {
	a.outbox.seq++
	now := a.cfg.Now()
	id := fmt.Sprintf("%d-%d", now.UnixNano(), a.outbox.seq)
	a.outbox.items = append(a.outbox.items, model.OutboxItem{
		ID: id, Account: a.address(), Draft: d, State: model.Queued, Queued: now,
	})
	a.saveOutbox()
	a.showToast("Server unreachable. Your message is in the Outbox and is sent when the server is back.")
	a.scheduleOutbox(a.retryBase)
}

// scheduleOutbox sets the retry timer to fire after d, replacing one set
// before. The reconnect of the watch flushes the outbox too.
func (a *App) scheduleOutbox(d time.Duration) {
	if a.outbox.stop != nil {
		a.outbox.stop()
	}
	ctx := a.ctx
	t := time.AfterFunc(d, func() { a.post(ctx, a.flushOutbox) })
	a.outbox.stop = t.Stop
}

// flushOutbox sends every queued message of the signed-in account now.
func (a *App) flushOutbox() {
	s := a.sess
	if s == nil {
		return
	}
	for _, it := range a.queued() {
		if it.State == model.Queued {
			a.sendQueued(s, it.ID)
		}
	}
}

// find is the outbox item id, or nil once it is gone.
func (a *App) find(id string) *model.OutboxItem {
	for i := range a.outbox.items {
		if a.outbox.items[i].ID == id {
			return &a.outbox.items[i]
		}
	}
	return nil
}

func (a *App) sendQueued(s *session, id string) {
	it := a.find(id)
	it.State = model.Sending
	d := it.Draft
	a.transfer(s.ctx, func(ctx context.Context) func() {
		err := s.s.Send(ctx, d)
		return func() { a.sentQueued(s, id, err) }
	})
}

// sentQueued records the result of sending outbox item id.
func (a *App) sentQueued(s *session, id string, err error) {
	it := a.find(id)
	if it == nil {
		return // cancelled meanwhile; it may have gone out all the same
	}
	it.Tries++
	switch {
	case err == nil:
		a.dropQueued(id)
		a.showToast("Message from the Outbox sent")
		if a.sess == s {
			a.refreshCounts()
		}
		return
	case model.Retryable(err):
		it.State = model.Queued
		wait := model.RetryAfter(it.Tries) * a.retryBase / firstRetry
		it.Next = a.cfg.Now().Add(wait)
		a.scheduleOutbox(wait)
	default:
		it.State, it.Reason = model.NotSent, notSentReason(err)
		if a.sess == s {
			a.failIn(s, err)
		}
	}
	a.saveOutbox()
}

// notSentReason says why the server refused a message for good.
func notSentReason(err error) string {
	var se *ports.SendError
	if errors.As(err, &se) && len(se.Failed) > 0 {
		var unknown []string
		for _, f := range se.Failed {
			if errors.Is(f.Err, mail.ErrNoSuchRecipient) || errors.Is(f.Err, account.ErrNoSuchUser) {
				unknown = append(unknown, f.Recipient)
			}
		}
		if len(unknown) == len(se.Failed) {
			return "Unknown recipient: " + strings.Join(unknown, ", ")
		}
		return model.ErrorText(se.Failed[0].Err)
	}
	return model.ErrorText(err)
}

func (a *App) dropQueued(id string) {
	for i := range a.outbox.items {
		if a.outbox.items[i].ID == id {
			a.outbox.items = append(a.outbox.items[:i], a.outbox.items[i+1:]...)
			delete(a.outbox.buttons, id)
			break
		}
	}
	a.saveOutbox()
}

// outboxState is the words for an item's state.
func outboxState(it *model.OutboxItem) string {
	switch it.State {
	case model.Sending:
		return "Sending…"
	case model.NotSent:
		return "Not sent: " + it.Reason
	}
	if it.Tries == 0 {
		return "Waiting for the server"
	}
	return fmt.Sprintf("Waiting for the server (tried %d×)", it.Tries)
}

// layoutOutbox is the Outbox section above the message list: one row per
// queued message with its state, Edit and Cancel.
func (a *App) layoutOutbox(gtx C) D {
	items := a.queued()
	if len(items) == 0 {
		return D{}
	}
	th := a.th
	rows := []layout.FlexChild{layout.Rigid(func(gtx C) D {
		return layout.Inset{Top: smallSpace, Left: gutter, Right: gutter}.Layout(gtx,
			bold(label(th, 14, th.Accent, fmt.Sprintf("Outbox · %d", len(items)))).Layout)
	})}
	for _, it := range items {
		b := a.outbox.buttons[it.ID]
		if b == nil {
			b = &outboxButtons{}
			a.outbox.buttons[it.ID] = b
		}
		switch {
		case b.cancel.Clicked(gtx):
			a.dropQueued(it.ID)
			a.showToast("Removed from the Outbox; it was not sent")
			return a.layoutOutbox(gtx) // the items moved
		case b.edit.Clicked(gtx):
			d := it.Draft
			a.dropQueued(it.ID)
			a.openDraft(d)
			return a.layoutOutbox(gtx)
		}
		rows = append(rows, layout.Rigid(func(gtx C) D { return a.layoutQueued(gtx, it, b) }))
	}
	rows = append(rows, layout.Rigid(func(gtx C) D { return divider(gtx, th.Divider, false) }))
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx, rows...)
}

func (a *App) layoutQueued(gtx C, it *model.OutboxItem, b *outboxButtons) D {
	th := a.th
	col := th.Muted
	if it.State == model.NotSent {
		col = th.Danger
	}
	return layout.Inset{Left: gutter, Right: 4}.Layout(gtx, func(gtx C) D {
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Flexed(1, func(gtx C) D {
				return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
					layout.Rigid(oneLine(label(th, 15, th.Fg, "To: "+strings.Join(it.Draft.To, ", "))).Layout),
					layout.Rigid(directed(oneLine(label(th, 14, th.Fg, subjectOrNone(it.Draft.Subject))))),
					layout.Rigid(label(th, 13, col, outboxState(it)).Layout),
				)
			}),
			layout.Rigid(func(gtx C) D {
				if it.State == model.Sending {
					gtx = gtx.Disabled()
				}
				return flatButton(gtx, th, &b.edit, "Edit", th.ContrastBg)
			}),
			layout.Rigid(func(gtx C) D {
				if it.State == model.Sending {
					gtx = gtx.Disabled()
				}
				return flatButton(gtx, th, &b.cancel, "Cancel", th.ContrastBg)
			}),
		)
	})
}

func subjectOrNone(s string) string {
	if s == "" {
		return "(no subject)"
	}
	return s
}
