package ui

import (
	"strings"

	"gioui.org/io/event"
	"gioui.org/io/key"
	"gioui.org/layout"
	"gioui.org/widget"

	"mailroom/domain/mail"
	"mailroom/ports"
	"mailroom/ui/model"
)

// Keyboard: Escape and Android's back go back; Ctrl/Cmd+N composes,
// Ctrl/Cmd+Z undoes a delete, Ctrl/Cmd+Enter sends. In the mailbox and
// reader (pages without text fields, so letters are free): arrows or j/k
// move, Enter opens, c composes, r replies, a replies to all, f forwards,
// m moves to a folder, Delete deletes, Home/End/PgUp/PgDn move through the list.

// handleKeys routes the keys above. Back is only claimed when there is a
// page to go back to, so that on Android the system closes the app from
// the first page.
func (a *App) handleKeys(gtx C) {
	filters := []event.Filter{key.Filter{Name: key.NameEscape}}
	if len(a.stack) > 1 || a.mailbox.pane.drawer || a.dialog.kind != dlgNone {
		filters = append(filters, key.Filter{Name: key.NameBack})
	}
	if a.sess != nil {
		filters = append(filters, key.Filter{Name: "N", Required: key.ModShortcut})
		if a.sess.pending != nil {
			filters = append(filters, key.Filter{Name: "Z", Required: key.ModShortcut})
		}
		switch {
		case a.dialog.kind != dlgNone:
			// The dialog's field takes the letters; Escape closes it.
		case a.top() == routeCompose:
			filters = append(filters, key.Filter{Name: key.NameReturn, Required: key.ModShortcut})
		case gtx.Focused(&a.mailbox.search.ed):
			// The search field takes the letters; Escape clears it.
		case a.top() == routeMailbox || a.top() == routeReader:
			if a.sess.ss != nil {
				filters = append(filters, searchKeys[0], searchKeys[1])
			}
			for _, n := range []key.Name{"J", "K", "C", "R", "A", "F", "M", key.NameUpArrow, key.NameDownArrow,
				key.NameDeleteForward, key.NameHome, key.NameEnd, key.NamePageUp, key.NamePageDown} {
				filters = append(filters, key.Filter{Name: n, Optional: key.ModShift})
			}
			// Enter opens the cursor's row only while the keys drive the
			// list: otherwise it belongs to the focused button.
			if a.mailbox.cursorShown && !a.reader.shown {
				filters = append(filters, key.Filter{Name: key.NameReturn}, key.Filter{Name: key.NameEnter})
			}
		}
	}
	for {
		ev, ok := gtx.Event(filters...)
		if !ok {
			break
		}
		if e, ok := ev.(key.Event); ok && e.State == key.Press {
			a.onKey(e)
		}
	}
}

func (a *App) onKey(e key.Event) {
	switch e.Name {
	case key.NameEscape, key.NameBack:
		switch {
		case a.dialog.kind != dlgNone:
			a.dialog.close()
		case a.mailbox.pane.drawer:
			a.mailbox.pane.drawer = false
		case a.top() == routeMailbox && (a.mailbox.search.active() || a.mailbox.search.shown):
			a.clearSearch()
		default:
			a.back()
		}
	case "M":
		a.openMove()
	case "/":
		a.focusSearch()
	case "N":
		if e.Modifiers.Contain(key.ModShortcut) {
			a.openCompose(nil, nil)
		}
	case "Z":
		a.undoDelete()
	case key.NameReturn, key.NameEnter:
		if a.top() == routeCompose {
			a.compose.submit(a)
		} else {
			a.openCursor()
		}
	case "J", key.NameDownArrow:
		a.moveCursor(1)
	case "K", key.NameUpArrow:
		a.moveCursor(-1)
	case key.NamePageDown:
		a.moveCursor(a.mailbox.pageRows())
	case key.NamePageUp:
		a.moveCursor(-a.mailbox.pageRows())
	case key.NameHome:
		a.moveCursor(-1 << 30)
	case key.NameEnd:
		a.moveCursor(1 << 30)
	case "C":
		a.openCompose(nil, nil)
	case "R", "A", "F":
		if e.Name == "F" && e.Modifiers.Contain(key.ModShortcut) {
			a.focusSearch()
			return
		}
		a.respond(map[key.Name]respondKind{"R": replyOne, "A": replyAll, "F": forward}[e.Name])
	case key.NameDeleteForward:
		if a.reader.shown {
			a.deleteMessage(a.reader.meta)
		} else if m, ok := a.cursorMeta(); ok {
			a.deleteMessage(m)
		}
	}
}

// pageRows is how many rows a PgUp/PgDn moves: those on screen, less one.
func (p *mailboxPage) pageRows() int {
	if l := p.shownList(); l != nil && l.Position.Count > 1 {
		return l.Position.Count - 1
	}
	return 5
}

// shownList is the scroll state of the rows the keys move through: the
// search results while a search is on, else the folder's list.
func (p *mailboxPage) shownList() *widget.List {
	if p.search.active() {
		return &p.search.list
	}
	return p.lists[p.folder]
}

// rows are the rows the keys move through (see shownList).
func (a *App) rows() []mail.Meta {
	if a.sess == nil {
		return nil
	}
	if a.canSearch() && a.mailbox.search.active() {
		return a.mailbox.search.results
	}
	return a.sess.pager(a.mailbox.folder).Items
}

// cursorMeta is the row under the keyboard cursor.
func (a *App) cursorMeta() (mail.Meta, bool) {
	items := a.rows()
	i := a.mailbox.cursor
	if i < 0 || i >= len(items) {
		return mail.Meta{}, false
	}
	return items[i], true
}

// moveCursor moves the keyboard cursor by n rows, keeps it on screen and,
// while a message is open, opens the one it lands on.
func (a *App) moveCursor(n int) {
	if a.sess == nil {
		return
	}
	p := &a.mailbox
	items := a.rows()
	if len(items) == 0 {
		return
	}
	if a.reader.shown {
		for i := range items {
			if items[i].ID == a.reader.meta.ID {
				p.cursor = i
				break
			}
		}
	}
	if !p.cursorShown {
		n = 0 // the first key shows the cursor where it is
	}
	p.cursorShown = true
	p.cursor = min(max(p.cursor+n, 0), len(items)-1)
	if l := p.shownList(); l != nil {
		pos := &l.Position
		if p.cursor < pos.First || p.cursor >= pos.First+max(pos.Count-1, 1) {
			l.Position = layout.Position{First: max(0, p.cursor-max(pos.Count/2, 1)), BeforeEnd: true}
		}
	}
	if p.search.active() {
		a.moreResults(p.cursor)
	} else {
		a.loadMore(p.folder, p.cursor)
	}
	if a.reader.shown {
		a.openMessage(items[p.cursor])
	}
}

// openCursor opens the row under the keyboard cursor.
func (a *App) openCursor() {
	if m, ok := a.cursorMeta(); ok && !(a.reader.shown && a.reader.meta.ID == m.ID) {
		a.openMessage(m)
	}
}

type respondKind int

const (
	replyOne respondKind = iota
	replyAll
	forward
)

// respond opens compose on the open message: a reply, a reply to all or
// a forward. It does nothing until the message's body is in.
func (a *App) respond(k respondKind) {
	r := &a.reader
	if !r.shown || r.body == nil {
		return
	}
	m, b := r.meta, *r.body
	switch k {
	case replyOne:
		a.openCompose(&m, &b)
	case replyAll:
		a.openCompose(&m, &b)
		a.compose.to.SetText(strings.Join(replyAllTo(m, a.address()), ", "))
	case forward:
		a.openForward(m, b)
	}
}

// replyAllTo is the sender and every recipient but oneself, once each.
func replyAllTo(m mail.Meta, self string) []string {
	seen := map[string]bool{strings.ToLower(self): true}
	var out []string
	for _, r := range append([]string{m.From}, m.To...) {
		if k := strings.ToLower(r); !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		out = append(out, m.To...) // a message to oneself
	}
	return out
}

// openForward opens compose with m's text and files under a forward
// header, and the To field empty.
func (a *App) openForward(m mail.Meta, b ports.Body) {
	body, _ := mail.BodyText(b.Text, b.HTML)
	subject := strings.TrimSpace(m.Subject)
	if !strings.HasPrefix(strings.ToLower(subject), "fwd:") {
		subject = "Fwd: " + subject
	}
	text := "\n\n---------- Forwarded message ----------\nFrom: " + m.From + "\nDate: " + model.FullDate(m.Date) +
		"\nSubject: " + m.Subject + "\nTo: " + strings.Join(m.To, ", ") + "\n\n" + body
	a.openDraft(ports.Draft{Subject: subject, Body: text, Attachments: b.Attachments})
	a.compose.body.SetCaret(0, 0)
}
