package ui

import (
	"context"
	"strings"

	"gioui.org/layout"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"mailroom/domain/mail"
	"mailroom/ports"
	"mailroom/ui/model"
)

// readerPage shows one message: its header, attachments and text.
type readerPage struct {
	shown   bool
	meta    mail.Meta
	body    *ports.Body
	lines   []string
	loading bool
	err     string
	// offline: the fetch found the server unreachable; the watch's
	// reconnect fetches again (refetch).
	offline bool
	// gen drops a fetch that finishes after another message was opened.
	gen int

	list                         widget.List
	back, reply, toggleSeen, del widget.Clickable
	replyAll, forward            widget.Clickable
	move, restore                widget.Clickable
	browser                      widget.Clickable
	saves                        []widget.Clickable
	saveMsg                      string
	saveBad                      bool
}

func (r *readerPage) init() { r.list.Axis = layout.Vertical }

// show opens m and fetches its body.
func (r *readerPage) show(a *App, m mail.Meta) {
	r.shown, r.meta = true, m
	r.list.Position = layout.Position{}
	r.fetch(a)
}

// fetch asks for the body of the open message.
func (r *readerPage) fetch(a *App) {
	m := r.meta
	r.body, r.lines, r.err, r.saveMsg = nil, nil, "", ""
	r.loading, r.offline = true, false
	r.gen++
	s, gen := a.sess, r.gen
	if s == nil {
		return
	}
	a.transfer(s.ctx, func(ctx context.Context) func() {
		b, err := s.s.Fetch(ctx, m.ID)
		return func() {
			if gen != r.gen {
				return
			}
			r.loading = false
			if err != nil {
				r.err = a.failIn(s, err)
				if model.Retryable(err) {
					// Said here only; the banner says the connection is lost.
					r.err, r.offline = "Can't reach the server. This message loads when the connection is back.", true
				}
				return
			}
			// The names are shown and used to save: make them safe once,
			// on a copy (the slice may be shared with the client).
			atts := make([]ports.Attachment, len(b.Attachments))
			for i, f := range b.Attachments {
				f.Name = model.SafeFileName(f.Name)
				atts[i] = f
			}
			b.Attachments = atts
			r.body = &b
			r.lines = model.BodyLines(b)
			r.saves = make([]widget.Clickable, len(b.Attachments))
			if s.previews != nil {
				s.previews[m.ID] = mail.PreviewText(b.Text, b.HTML)
			}
		}
	})
}

// reconnected fetches again a message that could not be fetched offline,
// and marks it seen as opening it would have.
func (r *readerPage) reconnected(a *App) {
	// Only a message opened offline: one the user marked unread on
	// purpose stays unread.
	if !r.shown || !r.offline {
		return
	}
	r.fetch(a)
	if !r.meta.Seen {
		a.setSeen(r.meta, true)
	}
}

func (r *readerPage) close() {
	r.shown = false
	r.body, r.lines = nil, nil
	r.gen++
}

func (r *readerPage) update(gtx C, a *App) {
	if r.back.Clicked(gtx) {
		a.back()
	}
	if r.reply.Clicked(gtx) {
		a.respond(replyOne)
	}
	if r.replyAll.Clicked(gtx) {
		a.respond(replyAll)
	}
	if r.forward.Clicked(gtx) {
		a.respond(forward)
	}
	if r.toggleSeen.Clicked(gtx) && r.meta.Folder != mail.Sent {
		a.setSeen(r.meta, !r.meta.Seen)
	}
	if r.del.Clicked(gtx) {
		a.deleteMessage(r.meta)
	}
	if r.move.Clicked(gtx) {
		a.dialog.openMove(a, r.meta)
	}
	if r.restore.Clicked(gtx) {
		a.moveMessage(r.meta, mail.Inbox)
	}
	if r.browser.Clicked(gtx) {
		r.openHTML(a)
	}
	for i := range r.saves {
		if r.saves[i].Clicked(gtx) && r.body != nil && a.cfg.SaveFile != nil {
			att := r.body.Attachments[i]
			gen := r.gen
			r.saveMsg, r.saveBad = "Saving "+att.Name+"…", false
			a.run(a.ctx, func(context.Context) func() {
				path, err := a.cfg.SaveFile(model.SafeFileName(att.Name), att.Data)
				return func() {
					if gen != r.gen {
						return
					}
					if err != nil {
						r.saveMsg, r.saveBad = "Could not save "+att.Name+": "+err.Error(), true
						return
					}
					r.saveMsg, r.saveBad = "Saved to "+path, false
				}
			})
		}
	}
}

// Layout draws the reader; narrow adds the back button.
func (r *readerPage) Layout(gtx C, a *App, narrow bool) D {
	r.update(gtx, a)
	th := a.th
	var back *widget.Clickable
	title := ""
	if narrow {
		back = &r.back
		title = folderTitle(r.meta.Folder)
	}
	seenIcon, seenDesc := iconUnread, "Mark unread"
	if !r.meta.Seen {
		seenIcon, seenDesc = iconRead, "Mark read"
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			bg := th.Surface
			if !narrow {
				bg = th.Bg // a toolbar inside the reader pane, under the app bar
			}
			return bar(gtx, th, bg, back, title,
				func(gtx C) D {
					if r.body == nil {
						gtx = gtx.Disabled()
					}
					return iconButton(gtx, th, &r.reply, iconReply, "Reply (r)", th.Fg)
				},
				func(gtx C) D {
					if r.body == nil || len(replyAllTo(r.meta, a.address())) < 2 {
						return D{} // nobody to add to a plain reply
					}
					return iconButton(gtx, th, &r.replyAll, iconReplyAll, "Reply all (a)", th.Fg)
				},
				func(gtx C) D {
					if r.body == nil {
						gtx = gtx.Disabled()
					}
					return iconButton(gtx, th, &r.forward, iconForward, "Forward (f)", th.Fg)
				},
				func(gtx C) D { return r.layoutOpenHTML(gtx, a) },
				func(gtx C) D {
					if r.meta.Folder == mail.Sent {
						return D{} // read or unread means nothing for what one sent
					}
					return iconButton(gtx, th, &r.toggleSeen, seenIcon, seenDesc, th.Fg)
				},
				func(gtx C) D {
					if a.sess == nil || a.sess.fs == nil {
						return D{}
					}
					if r.meta.Folder == mail.Trash {
						return iconButton(gtx, th, &r.restore, iconRestore, "Restore to Inbox", th.Fg)
					}
					return iconButton(gtx, th, &r.move, iconMove, "Move to folder (m)", th.Fg)
				},
				func(gtx C) D {
					desc := "Delete (Del)"
					if r.meta.Folder == mail.Trash {
						desc = "Delete for good (Del)"
					}
					return iconButton(gtx, th, &r.del, iconDelete, desc, th.Fg)
				},
			)
		}),
		layout.Rigid(func(gtx C) D {
			if narrow {
				return D{}
			}
			return divider(gtx, th.Divider, false)
		}),
		layout.Flexed(1, func(gtx C) D { return r.layoutContent(gtx, a) }),
	)
}

func (r *readerPage) layoutContent(gtx C, a *App) D {
	th := a.th
	nAtt := 0
	if r.body != nil {
		nAtt = len(r.body.Attachments)
	}
	// Items: header, status line, attachments, save message, then the
	// body's lines.
	n := 3 + nAtt + len(r.lines)
	return a.wheelList(gtx, &r.list, func(gtx C) D {
		return material.List(th.Theme, &r.list).Layout(gtx, n, func(gtx C, i int) D { return r.item(gtx, a, i, nAtt) })
	})
}

// item is the reader's item i: header, status line, attachments, save
// message, then the body's lines.
func (r *readerPage) item(gtx C, a *App, i, nAtt int) D {
	th := a.th
	m := r.meta
	inset := layout.Inset{Left: gutter, Right: gutter}
	// Long lines are hard to read: the text column stops at readerMaxW.
	gtx.Constraints.Max.X = min(gtx.Constraints.Max.X, gtx.Dp(readerMaxW))
	gtx.Constraints.Min.X = gtx.Constraints.Max.X
	switch {
	case i == 0:
		return layout.Inset{Top: gutter, Left: gutter, Right: gutter, Bottom: smallSpace}.Layout(gtx, func(gtx C) D {
			return r.layoutHeader(gtx, a, m)
		})
	case i == 1:
		return inset.Layout(gtx, func(gtx C) D {
			var parts []layout.FlexChild
			if r.loading {
				parts = append(parts, layout.Rigid(label(th, 14, th.Muted, "Loading…").Layout))
			}
			if r.err != "" {
				parts = append(parts, layout.Rigid(label(th, 15, th.Danger, r.err).Layout))
			}
			parts = append(parts, layout.Rigid(func(gtx C) D {
				return layout.Inset{Top: smallSpace, Bottom: smallSpace}.Layout(gtx, func(gtx C) D {
					return divider(gtx, th.Divider, false)
				})
			}))
			return layout.Flex{Axis: layout.Vertical}.Layout(gtx, parts...)
		})
	case i < 2+nAtt:
		return inset.Layout(gtx, func(gtx C) D { return r.layoutAttachment(gtx, a, i-2) })
	case i == 2+nAtt:
		// Under the files, so that saving one does not move them under
		// the pointer.
		if r.saveMsg == "" {
			return D{}
		}
		c := th.OK
		if r.saveBad {
			c = th.Danger
		}
		return layout.Inset{Left: gutter, Right: gutter, Bottom: smallSpace}.Layout(gtx, label(th, 14, c, r.saveMsg).Layout)
	}
	line := r.lines[i-3-nAtt]
	if strings.TrimSpace(line) == "" {
		return layout.Spacer{Height: 12}.Layout(gtx)
	}
	col := th.Fg
	if strings.HasPrefix(line, ">") {
		col = th.Muted
	}
	return inset.Layout(gtx, directed(label(th, 16, col, line)))
}

func (r *readerPage) layoutHeader(gtx C, a *App, m mail.Meta) D {
	th := a.th
	subject := m.Subject
	if subject == "" {
		subject = "(no subject)"
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(directed(bold(label(th, 22, th.Fg, subject)))),
		layout.Rigid(layout.Spacer{Height: 12}.Layout),
		layout.Rigid(func(gtx C) D {
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Rigid(func(gtx C) D { return avatar(gtx, th, m.From) }),
				layout.Rigid(layout.Spacer{Width: 12}.Layout),
				layout.Flexed(1, func(gtx C) D {
					return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
						layout.Rigid(bold(label(th, 16, th.Fg, m.From)).Layout),
						layout.Rigid(label(th, 14, th.Muted, "to "+strings.Join(m.To, ", ")).Layout),
						layout.Rigid(label(th, 14, th.Muted, model.FullDate(m.Date)).Layout),
					)
				}),
			)
		}),
	)
}

func (r *readerPage) layoutAttachment(gtx C, a *App, i int) D {
	th := a.th
	att := r.body.Attachments[i]
	return layout.Inset{Bottom: smallSpace}.Layout(gtx, func(gtx C) D {
		return fileRow(gtx, th, att.Name, int64(len(att.Data)), func(gtx C) D {
			if a.cfg.SaveFile == nil {
				return D{}
			}
			return iconButton(gtx, th, &r.saves[i], iconSave, "Save "+att.Name, th.ContrastBg)
		})
	})
}

// openMessage shows m in the reader and marks it seen.
func (a *App) openMessage(m mail.Meta) {
	if m.Folder == mail.Drafts && a.serverDraftsOn() {
		a.editDraft(m) // a draft opens in compose
		return
	}
	a.reader.show(a, m)
	if a.top() != routeReader {
		a.push(routeReader)
	}
	if !m.Seen {
		a.setSeen(m, true)
	}
}
