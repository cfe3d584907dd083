package ui

import (
	"context"
	"errors"
	"fmt"
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

// ErrNoFile is what Config.PickFile returns when the user chose nothing.
var ErrNoFile = errors.New("no file chosen")

// ErrTooLarge is what Config.PickFile returns for a file over the max it
// was given, with the Attachment's Name set (and no Data).
var ErrTooLarge = errors.New("file too large to attach")

// attachHeadroom is the room a message needs besides its files' base64:
// the header, the text and the part headers.
const attachHeadroom = 256 << 10

// MaxAttachBytes bounds a message's attachments taken together when the
// server did not say its limit: AttachLimit of mailroomd's default
// --max-message, 25 MiB.
const MaxAttachBytes = (25<<20 - attachHeadroom) / 4 * 3

// AttachLimit bounds a message's attachments taken together for a server
// that takes messages up to maxMessage bytes (its SIZE, see
// ports.Session.MaxMessageBytes): base64 turns 3 bytes into 4, after
// attachHeadroom. maxMessage 0 (unknown) gives MaxAttachBytes.
func AttachLimit(maxMessage int64) int64 {
	if maxMessage <= 0 {
		return MaxAttachBytes
	}
	return max(0, (maxMessage-attachHeadroom)/4*3)
}

// attachLimit is AttachLimit of the signed-in server.
func (a *App) attachLimit() int64 {
	if a.sess == nil {
		return MaxAttachBytes
	}
	return AttachLimit(a.sess.s.MaxMessageBytes())
}

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
	if m != nil {
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
	c.check(a, rcpts, func(err error) {
		if err != nil {
			c.sending = false
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
			case err != nil:
				c.err = a.failIn(s, err)
			default:
				c.gen++
				if a.top() == routeCompose {
					a.back()
				}
				a.showToast("Message sent")
				a.refreshCounts()
			}
		}
	})
}

func (c *composePage) update(gtx C, a *App) {
	for {
		ev, ok := c.to.Update(gtx)
		if !ok {
			break
		}
		switch ev.(type) {
		case widget.ChangeEvent:
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
		if _, ok := ev.(widget.SubmitEvent); ok {
			a.focus = &c.body
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
	if c.discard.Clicked(gtx) || c.back.Clicked(gtx) {
		a.back()
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

// attachedBytes is the size of the files attached so far.
func (c *composePage) attachedBytes() int64 {
	var n int64
	for _, f := range c.attached {
		n += int64(len(f.Data))
	}
	return n
}

// pick asks Config.PickFile for a file, on a goroutine: the chooser blocks
// until the user is done with it, and has no deadline.
func (c *composePage) pick(a *App) {
	if c.picking || a.cfg.PickFile == nil {
		return
	}
	c.picking, c.attachErr = true, ""
	gen := c.gen
	limit := a.attachLimit()
	a.inflight.Add(1)
	go func() {
		defer a.inflight.Add(-1)
		f, err := a.cfg.PickFile(limit)
		a.post(a.ctx, func() {
			if gen != c.gen {
				return // the draft was sent or discarded meanwhile
			}
			c.picking = false
			c.add(f, err, a.attachLimit())
		})
	}()
}

// add attaches what the picker returned, or says why not: the files taken
// together may carry at most limit bytes.
func (c *composePage) add(f ports.Attachment, err error, limit int64) {
	name := model.SafeFileName(f.Name)
	switch {
	case errors.Is(err, ErrNoFile):
		return
	case errors.Is(err, ErrTooLarge):
		c.attachErr = tooLarge(name, "", limit)
		return
	case err != nil:
		c.attachErr = "Could not attach a file: " + err.Error()
		return
	case int64(len(f.Data)) > limit:
		c.attachErr = tooLarge(name, "", limit)
		return
	case c.attachedBytes()+int64(len(f.Data)) > limit:
		c.attachErr = tooLarge(name, " with the files already attached", limit)
		return
	}
	f.Name = name
	if f.ContentType == "" {
		f.ContentType = model.ContentType(name)
	}
	c.attached = append(c.attached, f)
	c.removes = append(c.removes, widget.Clickable{})
}

func tooLarge(name, with string, limit int64) string {
	return fmt.Sprintf("%s is too large to attach%s: a message carries up to %s of files.",
		name, with, model.HumanSize(limit))
}

// remove drops the i'th attached file.
func (c *composePage) remove(i int) {
	c.attached = append(c.attached[:i:i], c.attached[i+1:]...)
	c.removes = make([]widget.Clickable, len(c.attached)) // fresh: no click carries over to a neighbour
	c.attachErr = ""
}

// Layout draws the compose form.
func (c *composePage) Layout(gtx C, a *App) D {
	c.update(gtx, a)
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

// layoutAttached lists the attached files, each with a remove button.
func (c *composePage) layoutAttached(gtx C, a *App) D {
	th := a.th
	if len(c.attached) == 0 {
		return D{}
	}
	rows := make([]layout.FlexChild, 0, len(c.attached))
	for i, f := range c.attached {
		rows = append(rows, layout.Rigid(func(gtx C) D {
			return layout.Inset{Top: smallSpace}.Layout(gtx, func(gtx C) D {
				return fileRow(gtx, th, f.Name, int64(len(f.Data)), func(gtx C) D {
					return iconButton(gtx, th, &c.removes[i], iconClose, "Remove "+f.Name, th.Muted)
				})
			})
		}))
	}
	return layout.Inset{Top: smallSpace}.Layout(gtx, func(gtx C) D {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx, rows...)
	})
}
