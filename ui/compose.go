package ui

import (
	"context"
	"errors"
	"image"
	"strings"

	"gioui.org/layout"
	"gioui.org/widget"

	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
	"mailroom/ui/model"
)

// rcptState is what Lookup said about a recipient.
type rcptState int

const (
	rcptChecking rcptState = iota + 1
	rcptOK
	rcptUnknown
)

// composePage writes and sends a message. Every recipient is looked up
// before sending, and the unknown ones are named under the To field.
type composePage struct {
	to, subject, body widget.Editor
	send, discard     widget.Clickable
	sendTop, back     widget.Clickable
	attach            widget.Clickable
	attached          []ports.Attachment
	removes           []widget.Clickable // one per attached file
	picking           bool
	attachErr         string
	list              widget.List
	inReplyTo         string
	known             map[string]rcptState // by lower-case recipient
	toErr, err        string
	toErrFor          string // the To text toErr is about
	sending           bool
	toFocused         bool
	gen               int // a newer draft drops older results
}

func (c *composePage) init() {
	c.to.SingleLine, c.to.Submit = true, true
	c.subject.SingleLine, c.subject.Submit = true, true
	c.list.Axis = layout.Vertical
	c.known = map[string]rcptState{}
}

// cancelChecks drops lookups and sends in flight from the page's view.
func (c *composePage) cancelChecks() {
	c.gen++
	c.sending = false
	c.picking = false
}

// openCompose starts a new draft, or a reply to m with body b.
func (a *App) openCompose(m *mail.Meta, b *ports.Body) {
	c := &a.compose
	c.cancelChecks()
	c.known = map[string]rcptState{}
	c.toErr, c.err, c.inReplyTo, c.attachErr = "", "", "", ""
	c.attached, c.removes = nil, nil
	c.to.SetText("")
	c.subject.SetText("")
	c.body.SetText("")
	a.focus = &c.to
	a.drafts.dirty = false
	a.newServerDraft(0)
	if m == nil {
		a.restoreDraft()
	}
	if m != nil && m.ID != 0 {
		to := []string{m.From}
		if m.Folder == mail.Sent {
			to = m.To
		}
		c.to.SetText(strings.Join(to, ", "))
		c.subject.SetText(model.ReplySubject(m.Subject))
		if b != nil {
			c.inReplyTo = b.MessageID
			body, _ := mail.BodyText(b.Text, b.HTML)
			c.body.SetText(model.QuoteBody("On "+model.FullDate(m.Date)+", "+m.From+" wrote:", body))
		}
		c.body.SetCaret(0, 0)
		a.focus = &c.body
	}
	a.push(routeCompose)
}

// openDraft opens compose on d (an Outbox message to edit, a discarded
// draft brought back).
func (a *App) openDraft(d ports.Draft) {
	a.openCompose(&mail.Meta{}, nil)
	a.compose.fill(d)
	a.focus = &a.compose.to
}

// unknown lists the recipients Lookup did not find.
func (c *composePage) unknown(rcpts []string) []string {
	var out []string
	for _, r := range rcpts {
		if c.known[strings.ToLower(r)] == rcptUnknown {
			out = append(out, r)
		}
	}
	return out
}

// check looks up the recipients not known yet, then calls then (if not
// nil) on the frame loop with the first error that was not "no such user".
func (c *composePage) check(a *App, rcpts []string, then func(err error)) {
	s := a.sess
	if s == nil {
		return
	}
	var todo []string
	for _, r := range rcpts {
		k := strings.ToLower(r)
		if st := c.known[k]; st == 0 || (then != nil && st == rcptChecking) {
			c.known[k] = rcptChecking
			todo = append(todo, r)
		}
	}
	gen := c.gen
	a.run(s.ctx, func(ctx context.Context) func() {
		got := map[string]rcptState{}
		var firstErr error
		for _, r := range todo {
			_, err := s.s.Lookup(ctx, r)
			switch {
			case err == nil:
				got[strings.ToLower(r)] = rcptOK
			case errors.Is(err, account.ErrNoSuchUser), errors.Is(err, mail.ErrNoSuchRecipient), errors.Is(err, account.ErrBadUsername):
				got[strings.ToLower(r)] = rcptUnknown
			default:
				if firstErr == nil {
					firstErr = err
				}
			}
		}
		return func() {
			if gen != c.gen || a.sess != s {
				return // another draft, or the session ended
			}
			for k, v := range got {
				c.known[k] = v
			}
			for _, r := range todo {
				if k := strings.ToLower(r); c.known[k] == rcptChecking {
					delete(c.known, k) // not answered: ask again next time
				}
			}
			c.showUnknown(rcpts)
			if then != nil {
				then(firstErr)
			}
		}
	})
}

// showUnknown sets the To field's message from what is known.
func (c *composePage) showUnknown(rcpts []string) {
	c.toErrFor = c.to.Text()
	if u := c.unknown(rcpts); len(u) > 0 {
		c.toErr = "Not a user on this server: " + strings.Join(u, ", ")
	} else {
		c.toErr = ""
	}
}

func (c *composePage) submit(a *App) {
	if c.sending || a.sess == nil {
		return
	}
	rcpts := model.ParseRecipients(c.to.Text())
	c.err = ""
	c.toErrFor = c.to.Text()
	if len(rcpts) == 0 {
		c.toErr = "Add at least one recipient."
		a.focus = &c.to
		return
	}
	if len(rcpts) > mail.MaxRecipients {
		c.toErr = model.ErrorText(mail.ErrTooManyRecipients)
		return
	}
	c.sending = true
	s := a.sess
	if !s.connected {
		c.queue(a) // offline: nothing can be checked; the Outbox sends it later
		return
	}
	c.check(a, rcpts, func(err error) {
		if err != nil {
			c.sending = false
			if model.Retryable(err) {
				c.queue(a)
				return
			}
			c.err = a.failIn(s, err)
			return
		}
		if len(c.unknown(rcpts)) > 0 {
			c.sending = false
			a.focus = &c.to
			return
		}
		c.doSend(a, s, rcpts)
	})
}

// doSend sends the draft in session s, the one its recipients were
// checked in; if that has ended, nothing is sent.
func (c *composePage) doSend(a *App, s *session, rcpts []string) {
	if s == nil || a.sess != s {
		c.sending = false
		return
	}
	d := ports.Draft{To: rcpts, Subject: trimmed(&c.subject), Body: c.body.Text(), InReplyTo: c.inReplyTo,
		Attachments: append([]ports.Attachment(nil), c.attached...)}
	gen := c.gen
	a.transfer(s.ctx, func(ctx context.Context) func() {
		err := s.s.Send(ctx, d)
		return func() {
			if gen != c.gen || a.sess != s {
				return
			}
			c.sending = false
			var se *ports.SendError
			switch {
			case errors.As(err, &se):
				for _, f := range se.Failed {
					if errors.Is(f.Err, mail.ErrNoSuchRecipient) || errors.Is(f.Err, account.ErrNoSuchUser) {
						c.known[strings.ToLower(f.Recipient)] = rcptUnknown
					}
				}
				c.showUnknown(rcpts)
				if c.toErr == "" && len(se.Failed) > 0 {
					c.err = model.ErrorText(se.Failed[0].Err)
				}
			case model.Retryable(err):
				c.queue(a)
			case err != nil:
				c.err = a.failIn(s, err)
			default:
				c.done(a)
				a.showToast("Message sent")
				a.refreshCounts()
			}
		}
	})
}

// queue puts the draft in the Outbox and closes compose.
func (c *composePage) queue(a *App) {
	d := c.snapshot()
	d.Subject = strings.TrimSpace(d.Subject)
	a.enqueue(d)
	c.done(a)
}

// done closes compose after its message went out or into the Outbox.
func (c *composePage) done(a *App) {
	c.gen++
	c.sending = false
	c.fill(ports.Draft{})
	a.clearDraft()
	a.dropServerDraft()
	if a.top() == routeCompose {
		a.back()
	}
}

func (c *composePage) update(gtx C, a *App) {
	for {
		ev, ok := c.to.Update(gtx)
		if !ok {
			break
		}
		switch ev.(type) {
		case widget.ChangeEvent:
			a.changed(gtx)
			if c.to.Text() != c.toErrFor {
				c.toErr = ""
			}
		case widget.SubmitEvent:
			a.focus = &c.subject
		}
	}
	for {
		ev, ok := c.subject.Update(gtx)
		if !ok {
			break
		}
		switch ev.(type) {
		case widget.SubmitEvent:
			a.focus = &c.body
		case widget.ChangeEvent:
			a.changed(gtx)
		}
	}
	for {
		ev, ok := c.body.Update(gtx)
		if !ok {
			break
		}
		if _, ok := ev.(widget.ChangeEvent); ok {
			a.changed(gtx)
		}
	}
	// Leaving the To field checks its recipients.
	focused := gtx.Focused(&c.to)
	if c.toFocused && !focused {
		if r := model.ParseRecipients(c.to.Text()); len(r) > 0 {
			c.check(a, r, nil)
		}
	}
	c.toFocused = focused
	if c.send.Clicked(gtx) || c.sendTop.Clicked(gtx) {
		c.submit(a)
	}
	if c.back.Clicked(gtx) {
		a.back() // keeps the draft (leaveCompose)
	}
	if c.discard.Clicked(gtx) {
		a.discardDraft()
	}
	if c.attach.Clicked(gtx) {
		c.pick(a)
	}
	for i := range c.removes {
		if c.removes[i].Clicked(gtx) {
			c.remove(i)
			break // the slices moved under the loop
		}
	}
}

// Layout draws the compose form.
func (c *composePage) Layout(gtx C, a *App) D {
	c.update(gtx, a)
	a.saveDueDraft(gtx)
	th := a.th
	title := "New message"
	if c.inReplyTo != "" || strings.HasPrefix(c.subject.Text(), "Re:") {
		title = "Reply"
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			return topBar(gtx, th, &c.back, title, func(gtx C) D {
				if c.sending {
					gtx = gtx.Disabled()
				}
				return iconButton(gtx, th, &c.sendTop, iconSend, "Send", th.ContrastBg)
			})
		}),
		layout.Flexed(1, func(gtx C) D {
			return formList(th, &c.list).Layout(gtx, 1, func(gtx C, _ int) D {
				return centred(gtx, pageMaxW, func(gtx C) D {
					return layout.UniformInset(gutter).Layout(gtx, func(gtx C) D { return c.layoutForm(gtx, a) })
				})
			})
		}),
	)
}

func (c *composePage) layoutForm(gtx C, a *App) D {
	th := a.th
	toMsg, toBad := c.toErr, c.toErr != ""
	if !toBad {
		toMsg = "Separate several recipients with commas."
		for _, st := range c.known {
			if st == rcptChecking {
				toMsg = "Checking recipients…"
			}
		}
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			return field(gtx, th, "To", &c.to, "e.g. bob, carol@"+domainOf(a.address()), toMsg, toBad)
		}),
		layout.Rigid(layout.Spacer{Height: gutter}.Layout),
		layout.Rigid(func(gtx C) D { return field(gtx, th, "Subject", &c.subject, "", "", false) }),
		layout.Rigid(layout.Spacer{Height: gutter}.Layout),
		layout.Rigid(func(gtx C) D { return fieldMin(gtx, th, "Message", &c.body, "", "", false, 200) }),
		layout.Rigid(func(gtx C) D { return c.layoutAttached(gtx, a) }),
		layout.Rigid(func(gtx C) D {
			if c.attachErr == "" {
				return D{}
			}
			return layout.Inset{Top: smallSpace}.Layout(gtx, label(th, 14, th.Danger, c.attachErr).Layout)
		}),
		layout.Rigid(func(gtx C) D {
			if c.err == "" {
				return D{}
			}
			return layout.Inset{Top: gutter}.Layout(gtx, label(th, 15, th.Danger, c.err).Layout)
		}),
		layout.Rigid(layout.Spacer{Height: gutter}.Layout),
		layout.Rigid(func(gtx C) D {
			return layout.Flex{}.Layout(gtx,
				layout.Rigid(func(gtx C) D {
					if a.cfg.PickFile == nil {
						return D{}
					}
					txt := "Attach"
					if c.picking {
						txt = "Choosing…"
						gtx = gtx.Disabled()
					}
					return outlineButton(gtx, th, &c.attach, txt, th.ContrastBg)
				}),
				layout.Flexed(1, func(gtx C) D { return D{Size: image.Pt(gtx.Constraints.Min.X, 0)} }),
				layout.Rigid(func(gtx C) D { return flatButton(gtx, th, &c.discard, "Discard", th.ContrastBg) }),
				layout.Rigid(layout.Spacer{Width: smallSpace}.Layout),
				layout.Rigid(func(gtx C) D {
					txt := "Send"
					if c.sending {
						txt = "Sending…"
						gtx = gtx.Disabled()
					}
					return button(gtx, th, &c.send, txt)
				}),
			)
		}),
	)
}

// domainOf is the part of addr after the @, or "example.org".
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "example.org"
}
