package ui

import (
	"fmt"
	"image"
	"strings"

	"gioui.org/layout"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"mailroom/domain/mail"
	"mailroom/ui/model"
)

// mailboxPage is the folder tabs and the message list; from 600dp wide the
// reader sits beside it.
type mailboxPage struct {
	folder            mail.Folder
	tabs              map[mail.Folder]*widget.Clickable
	lists             map[mail.Folder]*widget.List
	compose, settings widget.Clickable
	retry             widget.Clickable
	// rows holds each row's click state by entry id, so that rows keep it
	// while new mail shifts their positions.
	rows    map[mail.EntryID]*widget.Clickable
	listErr string
	// cursor is the keyboard's row in the current folder (keys.go),
	// highlighted once a key has moved it.
	cursor      int
	cursorShown bool
	// pane is the folder list, used when the session has folders.
	pane folderPane
	// search is the search field and its results (search.go).
	search searchBox
}

func (p *mailboxPage) init() {
	p.tabs = map[mail.Folder]*widget.Clickable{mail.Inbox: {}, mail.Sent: {}}
	p.reset()
}

// reset forgets the folders' scroll positions and rows (a new session).
func (p *mailboxPage) reset() {
	p.folder = mail.Inbox
	p.lists = map[mail.Folder]*widget.List{}
	for _, f := range []mail.Folder{mail.Inbox, mail.Sent} {
		l := &widget.List{}
		l.Axis = layout.Vertical
		p.lists[f] = l
	}
	p.rows = map[mail.EntryID]*widget.Clickable{}
	p.listErr = ""
	p.cursor, p.cursorShown = 0, false
	p.search.reset()
}

// list is folder f's scroll state, made when f is first shown.
func (p *mailboxPage) list(f mail.Folder) *widget.List {
	l := p.lists[f]
	if l == nil {
		l = &widget.List{}
		l.Axis = layout.Vertical
		p.lists[f] = l
	}
	return l
}

// inserted keeps the rows on screen still when new mail lands above them;
// at the very top the new message simply appears.
func (p *mailboxPage) inserted(f mail.Folder, i int) {
	l := p.lists[f]
	if i < 0 || l == nil {
		return
	}
	pos := &l.Position
	if (pos.First > 0 || pos.Offset > 0) && i <= pos.First {
		pos.First++
	}
}

// removed keeps the rows on screen still when a row above them goes.
func (p *mailboxPage) removed(f mail.Folder, i int) {
	if l := p.lists[f]; l != nil && i < l.Position.First {
		l.Position.First--
	}
}

func (p *mailboxPage) update(gtx C, a *App) {
	for f, c := range p.tabs {
		if c.Clicked(gtx) {
			a.selectFolder(f)
		}
	}
	p.pane.updateActions(gtx, a)
	p.search.update(gtx, a)
	if p.compose.Clicked(gtx) {
		a.openCompose(nil, nil)
	}
	if p.settings.Clicked(gtx) {
		a.push(routeSettings)
	}
	if p.retry.Clicked(gtx) && a.sess != nil {
		a.sess.pager(p.folder).Retry()
		a.loadMore(p.folder, 0)
	}
}

// Layout draws the mailbox, and the reader beside it or instead of it.
func (p *mailboxPage) Layout(gtx C, a *App) D {
	p.update(gtx, a)
	th := a.th
	if a.sess == nil {
		return D{}
	}
	if !wide(gtx) {
		if a.top() == routeReader {
			return a.reader.Layout(gtx, a, true)
		}
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Rigid(func(gtx C) D { return p.bar(gtx, a) }),
			layout.Flexed(1, func(gtx C) D { return p.layoutFolder(gtx, a) }),
		)
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D { return p.bar(gtx, a) }),
		layout.Flexed(1, func(gtx C) D {
			return layout.Flex{}.Layout(gtx,
				layout.Rigid(func(gtx C) D {
					if a.sess.fs == nil {
						return D{}
					}
					w := min(gtx.Dp(folderPaneW), gtx.Constraints.Max.X/4)
					gtx.Constraints.Min.X, gtx.Constraints.Max.X = w, w
					return p.pane.Layout(gtx, a)
				}),
				layout.Rigid(func(gtx C) D {
					if a.sess.fs == nil {
						return D{}
					}
					return divider(gtx, th.Divider, true)
				}),
				layout.Rigid(func(gtx C) D {
					w := min(gtx.Dp(listPane), gtx.Constraints.Max.X*45/100)
					gtx.Constraints.Min.X, gtx.Constraints.Max.X = w, w
					return p.layoutFolder(gtx, a)
				}),
				layout.Rigid(func(gtx C) D { return divider(gtx, th.Divider, true) }),
				layout.Flexed(1, func(gtx C) D {
					if a.top() == routeReader && a.reader.shown {
						return a.reader.Layout(gtx, a, false)
					}
					return layout.Center.Layout(gtx, label(th, 16, th.Muted, "Select a message to read it").Layout)
				}),
			)
		}),
	)
}

func (p *mailboxPage) bar(gtx C, a *App) D {
	th := a.th
	var lead layout.Widget
	if a.sess.fs != nil && !wide(gtx) {
		lead = func(gtx C) D { return iconButton(gtx, th, &p.pane.menu, iconMenu, "Folders", th.Fg) }
	}
	return barLead(gtx, th, th.Surface, lead, "Mailroom",
		func(gtx C) D {
			if !wide(gtx) && gtx.Constraints.Max.X < gtx.Dp(360) {
				return D{}
			}
			return layout.Inset{Right: smallSpace}.Layout(gtx, oneLine(label(th, 14, th.Muted, a.address())).Layout)
		},
		func(gtx C) D {
			if wide(gtx) || a.sess.ss == nil {
				return D{}
			}
			return iconButton(gtx, th, &p.search.open, iconSearch, "Search (/)", th.Fg)
		},
		func(gtx C) D { return iconButton(gtx, th, &p.compose, iconCompose, "Compose", th.Fg) },
		func(gtx C) D { return iconButton(gtx, th, &p.settings, iconSettings, "Settings", th.Fg) },
	)
}

// layoutFolder is the tabs, the reconnecting banner and the list.
func (p *mailboxPage) layoutFolder(gtx C, a *App) D {
	th := a.th
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			if a.sess.ss == nil {
				return D{}
			}
			return p.search.layoutField(gtx, a)
		}),
		layout.Rigid(func(gtx C) D {
			if a.sess.fs != nil {
				return p.pane.layoutHeader(gtx, a)
			}
			return p.layoutTabs(gtx, a)
		}),
		layout.Rigid(func(gtx C) D { return divider(gtx, th.Divider, false) }),
		layout.Rigid(func(gtx C) D { return p.layoutBanner(gtx, a) }),
		layout.Rigid(a.layoutOutbox),
		layout.Flexed(1, func(gtx C) D { return p.layoutList(gtx, a) }),
	)
}

func (p *mailboxPage) layoutTabs(gtx C, a *App) D {
	th := a.th
	tab := func(f mail.Folder) layout.FlexChild {
		return layout.Flexed(1, func(gtx C) D {
			return material.Clickable(gtx, p.tabs[f], func(gtx C) D {
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				gtx.Constraints.Min.Y = gtx.Dp(touch)
				gtx.Constraints.Max.Y = gtx.Dp(touch)
				selected := p.folder == f
				col := th.Muted
				if selected {
					col = th.Accent
				}
				txt := tabLabel(f, a.sess.unseen[f])
				return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
					layout.Flexed(1, func(gtx C) D {
						return layout.Center.Layout(gtx, bold(label(th, 15, col, txt)).Layout)
					}),
					layout.Rigid(func(gtx C) D {
						gtx.Constraints.Max.Y = gtx.Dp(3)
						gtx.Constraints.Min.Y = gtx.Constraints.Max.Y
						if !selected {
							return D{Size: gtx.Constraints.Max}
						}
						return fill(gtx, th.Accent)
					}),
				)
			})
		})
	}
	return layout.Flex{}.Layout(gtx, tab(mail.Inbox), tab(mail.Sent))
}

func (p *mailboxPage) layoutBanner(gtx C, a *App) D {
	th := a.th
	s := a.sess
	if s.connected {
		return D{}
	}
	txt := "Reconnecting…"
	if s.retryIn > 0 {
		txt = fmt.Sprintf("Connection lost. Reconnecting in %ds…", int(s.retryIn.Seconds()+0.5))
	}
	fg := th.Fg
	return background(gtx, th.Warn, func(gtx C) D {
		gtx.Constraints.Min.X = gtx.Constraints.Max.X
		return layout.Inset{Top: 8, Bottom: 8, Left: gutter, Right: gutter}.Layout(gtx, label(th, 14, fg, txt).Layout)
	})
}

func (p *mailboxPage) layoutList(gtx C, a *App) D {
	th := a.th
	s := a.sess
	if s.ss != nil && p.search.active() {
		return p.search.layoutResults(gtx, a)
	}
	pager := s.pager(p.folder)
	if !pager.Loaded {
		a.loadMore(p.folder, 0)
		if pager.Err != nil {
			return p.layoutError(gtx, a)
		}
		return layout.Center.Layout(gtx, label(th, 16, th.Muted, "Loading…").Layout)
	}
	if len(pager.Items) == 0 {
		msg := "No messages yet"
		switch p.folder {
		case mail.Sent:
			msg = "Nothing sent yet"
		case mail.Trash:
			msg = "Trash is empty"
		case mail.Drafts:
			msg = "No drafts"
		}
		return layout.Center.Layout(gtx, label(th, 16, th.Muted, msg).Layout)
	}
	list := p.list(p.folder)
	n := len(pager.Items)
	extra := 0
	if !pager.Done {
		extra = 1 // a "loading" or error row at the end
	}
	dims := a.wheelList(gtx, list, func(gtx C) D {
		return material.List(th.Theme, list).Layout(gtx, n+extra, func(gtx C, i int) D { return p.listRow(gtx, a, pager, i) })
	})
	a.loadMore(p.folder, list.Position.First+list.Position.Count-1)
	return dims
}

// listRow is row i of the folder's list, or the last row's "loading".
func (p *mailboxPage) listRow(gtx C, a *App, pager *model.Pager, i int) D {
	th := a.th
	if n := len(pager.Items); i >= n {
		if pager.Err != nil {
			return p.layoutError(gtx, a)
		}
		gtx.Constraints.Min.X = gtx.Constraints.Max.X
		return layout.UniformInset(gutter).Layout(gtx, func(gtx C) D {
			return layout.Center.Layout(gtx, label(th, 14, th.Muted, "Loading older messages…").Layout)
		})
	}
	return p.layoutRow(gtx, a, pager.Items[i])
}

func (p *mailboxPage) layoutError(gtx C, a *App) D {
	th := a.th
	return layout.UniformInset(gutter).Layout(gtx, func(gtx C) D {
		return layout.Flex{Axis: layout.Vertical, Alignment: layout.Middle}.Layout(gtx,
			layout.Rigid(label(th, 15, th.Danger, p.listErr).Layout),
			layout.Rigid(func(gtx C) D { return flatButton(gtx, th, &p.retry, "Try again", th.ContrastBg) }),
		)
	})
}

func (p *mailboxPage) layoutRow(gtx C, a *App, m mail.Meta) D {
	th := a.th
	click := p.rows[m.ID]
	if click == nil {
		click = new(widget.Clickable)
		p.rows[m.ID] = click
	}
	if click.Clicked(gtx) {
		a.openMessage(m)
	}
	selected := a.top() == routeReader && a.reader.shown && a.reader.meta.ID == m.ID
	rows := a.rows()
	cursor := !a.reader.shown && p.cursorShown && p.cursor < len(rows) && rows[p.cursor].ID == m.ID
	who := m.From
	if m.Folder == mail.Sent {
		who = "To: " + strings.Join(m.To, ", ")
	}
	subject := m.Subject
	if subject == "" {
		subject = "(no subject)"
	}
	preview := p.previewLine(a, m)
	unseen := showUnread(m)
	return material.Clickable(gtx, click, func(gtx C) D {
		bg := th.Bg
		if selected || cursor {
			bg = th.Selected
		}
		return background(gtx, bg, func(gtx C) D {
			gtx.Constraints.Min.X = gtx.Constraints.Max.X
			return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
				layout.Rigid(func(gtx C) D {
					gtx.Constraints.Min.Y = gtx.Dp(rowHeight)
					return layout.Inset{Top: 10, Bottom: 10, Left: 12, Right: gutter}.Layout(gtx, func(gtx C) D {
						return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
							layout.Rigid(func(gtx C) D {
								// The unread mark: a bar in the accent colour.
								w := gtx.Dp(4)
								gtx.Constraints = layout.Exact(image.Pt(w, gtx.Dp(40)))
								if unseen {
									return fill(gtx, th.Accent)
								}
								return D{Size: gtx.Constraints.Min}
							}),
							layout.Rigid(layout.Spacer{Width: 8}.Layout),
							layout.Rigid(func(gtx C) D {
								addr := m.From
								if m.Folder == mail.Sent && len(m.To) > 0 {
									addr = m.To[0]
								}
								return avatar(gtx, th, addr)
							}),
							layout.Rigid(layout.Spacer{Width: 12}.Layout),
							layout.Flexed(1, func(gtx C) D {
								return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
									layout.Rigid(func(gtx C) D {
										return layout.Flex{Alignment: layout.Baseline}.Layout(gtx,
											layout.Flexed(1, func(gtx C) D {
												l := oneLine(label(th, 16, th.Fg, who))
												if unseen {
													l = bold(l)
												}
												return directed(l)(gtx)
											}),
											layout.Rigid(layout.Spacer{Width: smallSpace}.Layout),
											layout.Rigid(func(gtx C) D {
												col := th.Muted
												l := label(th, 13, col, model.RelDate(a.cfg.Now(), m.Date))
												if unseen {
													l.Color = th.Accent
													l = bold(l)
												}
												return l.Layout(gtx)
											}),
										)
									}),
									layout.Rigid(func(gtx C) D {
										l := oneLine(label(th, 15, th.Fg, subject))
										if unseen {
											l = bold(l)
										}
										return p.search.highlighted(l, th)(gtx)
									}),
									layout.Rigid(p.search.highlighted(oneLine(label(th, 14, th.Muted, preview)), th)),
								)
							}),
						)
					})
				}),
				layout.Rigid(func(gtx C) D {
					return layout.Inset{Left: unit.Dp(76)}.Layout(gtx, func(gtx C) D { return divider(gtx, th.Divider, false) })
				}),
			)
		})
	})
}

// tabLabel is a folder tab's text. The inbox shows its unread count. Sent
// shows none: the server stores sent copies seen, and copies stored before
// it did are still unseen, a count that would mean nothing to the sender.
func tabLabel(f mail.Folder, unseen int) string {
	if f == mail.Inbox && unseen > 0 {
		return fmt.Sprintf("%s  %d", folderTitle(f), unseen)
	}
	return folderTitle(f)
}

// showUnread reports whether m's row is drawn unread (bold, with the accent
// bar). Never in Sent, for the same reason as tabLabel.
func showUnread(m mail.Meta) bool { return !m.Seen && m.Folder != mail.Sent }

// previewLine is the body preview, or what is known without the body.
func (p *mailboxPage) previewLine(a *App, m mail.Meta) string {
	if s, ok := a.preview(m); ok {
		if s == "" {
			return "(no text) · " + model.HumanSize(m.Size)
		}
		return s
	}
	if m.Size > maxPreviewBytes {
		return "Large message · " + model.HumanSize(m.Size)
	}
	return model.HumanSize(m.Size)
}
