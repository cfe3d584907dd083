package ui

import (
	"context"
	"errors"
	"fmt"
	"image/color"

	"gioui.org/layout"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"mailroom/domain/mail"
	"mailroom/ui/model"
)

// scrim dims the page under a dialog or the drawer.
var scrim = color.NRGBA{A: 0x66}

// dialogKind says what the folder dialog asks.
type dialogKind int

const (
	dlgNone dialogKind = iota
	dlgCreate
	dlgRename
	dlgDeleteFolder
	dlgEmpty
	dlgMove
)

// folderDialog is the small modal for folder work: a name to type (create,
// rename), a question (delete a folder, empty Trash) or a folder to pick
// (move). One is open at a time.
type folderDialog struct {
	kind   dialogKind
	target mail.Folder // the folder renamed, deleted or emptied
	msg    mail.Meta   // the message moved
	name   widget.Editor
	ok     widget.Clickable
	cancel widget.Clickable
	scrim  widget.Clickable
	picks  map[mail.Folder]*widget.Clickable
	list   widget.List
	err    string
	busy   bool
}

func (d *folderDialog) open(a *App, k dialogKind, target mail.Folder) {
	if a.sess == nil || a.sess.fs == nil {
		return
	}
	*d = folderDialog{kind: k, target: target, picks: d.picks}
	d.name.SingleLine, d.name.Submit = true, true
	d.list.Axis = layout.Vertical
	if k == dlgRename {
		d.name.SetText(string(target))
	}
	if k == dlgCreate || k == dlgRename {
		a.focus = &d.name
	} else {
		a.focus = &d.cancel
	}
}

// openMove asks where to move m.
func (d *folderDialog) openMove(a *App, m mail.Meta) {
	d.open(a, dlgMove, "")
	d.msg = m
}

func (d *folderDialog) close() { d.kind, d.busy = dlgNone, false }

func (d *folderDialog) update(gtx C, a *App) {
	if d.cancel.Clicked(gtx) || d.scrim.Clicked(gtx) {
		d.close()
	}
	submitted := false
	for {
		ev, ok := d.name.Update(gtx)
		if !ok {
			break
		}
		if _, ok := ev.(widget.SubmitEvent); ok {
			submitted = true
		}
	}
	if (d.ok.Clicked(gtx) || submitted) && !d.busy {
		d.submit(a)
	}
	for f, c := range d.picks {
		if c.Clicked(gtx) && d.kind == dlgMove {
			d.close()
			a.moveMessage(d.msg, f)
		}
	}
}

// submit does what the dialog asked, keeping it open with the reason if
// the server refuses.
func (d *folderDialog) submit(a *App) {
	s := a.sess
	if s == nil || s.fs == nil {
		d.close()
		return
	}
	var name mail.Folder
	if d.kind == dlgCreate || d.kind == dlgRename {
		n, err := mail.ParseFolder(trimmed(&d.name))
		if err != nil {
			d.err = folderErr(a, err)
			return
		}
		name = n
	}
	kind, target := d.kind, d.target
	d.busy, d.err = true, ""
	a.run(s.ctx, func(ctx context.Context) func() {
		var err error
		switch kind {
		case dlgCreate:
			err = s.fs.CreateFolder(ctx, name)
		case dlgRename:
			err = s.fs.RenameFolder(ctx, target, name)
		case dlgDeleteFolder:
			err = s.fs.DeleteFolder(ctx, target)
		case dlgEmpty:
			err = emptyFolder(ctx, s, target)
		}
		return func() {
			if a.sess != s {
				return
			}
			d.busy = false
			if err != nil {
				d.err = folderErr(a, err)
				a.refreshCounts()
				return
			}
			d.close()
			a.folderChanged(kind, target, name)
		}
	})
}

// emptyFolder deletes every entry of f for good, a page at a time.
func emptyFolder(ctx context.Context, s *session, f mail.Folder) error {
	for {
		page, err := s.s.List(ctx, f, 0, 100)
		if err != nil || len(page) == 0 {
			return err
		}
		for _, m := range page {
			if err := s.s.Delete(ctx, m.ID); err != nil && !errors.Is(err, mail.ErrNotFound) {
				return err
			}
		}
	}
}

// folderChanged shows the result of a folder change made on the server:
// the lists of folders that went or were renamed are dropped, and the
// new or renamed folder is shown.
func (a *App) folderChanged(kind dialogKind, from, to mail.Folder) {
	s := a.sess
	drop := func(f mail.Folder) {
		for g := range s.folders {
			if g.Within(f) && g != mail.Inbox && g != mail.Sent {
				delete(s.folders, g)
				delete(a.mailbox.lists, g)
			}
		}
		if f == mail.Trash || f == mail.Inbox || f == mail.Sent {
			s.folders[f] = &model.Pager{}
		}
	}
	switch kind {
	case dlgCreate:
		a.selectFolder(to)
	case dlgRename:
		drop(from)
		a.selectFolder(to)
	case dlgDeleteFolder:
		drop(from)
		a.selectFolder(mail.Inbox)
	case dlgEmpty:
		drop(from)
		a.selectFolder(from)
	}
	a.refreshCounts()
}

// Layout draws the open dialog over the page, on a scrim.
func (d *folderDialog) Layout(gtx C, a *App) D {
	d.update(gtx, a)
	if d.kind == dlgNone || a.sess == nil {
		return D{}
	}
	th := a.th
	return layout.Stack{}.Layout(gtx,
		layout.Expanded(func(gtx C) D {
			// The scrim takes the clicks meant for the page under it.
			return d.scrim.Layout(gtx, func(gtx C) D { return fill(gtx, scrim) })
		}),
		layout.Stacked(func(gtx C) D {
			gtx.Constraints.Min = gtx.Constraints.Max
			return layout.Center.Layout(gtx, func(gtx C) D {
				gtx.Constraints.Max.X = min(gtx.Constraints.Max.X-gtx.Dp(32), gtx.Dp(400))
				gtx.Constraints.Max.Y = gtx.Constraints.Max.Y * 8 / 10
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				return background(gtx, th.Bg, func(gtx C) D {
					return layout.UniformInset(gutter).Layout(gtx, func(gtx C) D { return d.layoutBody(gtx, a) })
				})
			})
		}),
	)
}

func (d *folderDialog) layoutBody(gtx C, a *App) D {
	th := a.th
	title, question, okText := "", "", ""
	switch d.kind {
	case dlgCreate:
		title, okText = "New folder", "Create"
	case dlgRename:
		title, okText = "Rename “"+folderTitle(d.target)+"”", "Rename"
	case dlgDeleteFolder:
		title, okText = "Delete “"+folderTitle(d.target)+"”?", "Delete"
		question = fmt.Sprintf("Its %d messages are deleted with it. Folders inside it stay.", a.sess.total[d.target])
	case dlgEmpty:
		title, okText = "Empty Trash?", "Empty"
		question = fmt.Sprintf("The %d messages in Trash are deleted for good.", a.sess.total[mail.Trash])
	case dlgMove:
		title = "Move to folder"
	}
	children := []layout.FlexChild{
		layout.Rigid(bold(label(th, 20, th.Fg, title)).Layout),
		layout.Rigid(layout.Spacer{Height: 12}.Layout),
	}
	switch d.kind {
	case dlgCreate, dlgRename:
		children = append(children, layout.Rigid(func(gtx C) D {
			return field(gtx, th, "Name", &d.name, "e.g. Projects/2026 (“/” makes a subfolder)", d.err, d.err != "")
		}))
	case dlgMove:
		children = append(children, layout.Flexed(1, func(gtx C) D { return d.layoutPicks(gtx, a) }))
	default:
		children = append(children, layout.Rigid(label(th, 15, th.Fg, question).Layout))
		if d.err != "" {
			children = append(children, layout.Rigid(label(th, 15, th.Danger, d.err).Layout))
		}
	}
	children = append(children, layout.Rigid(layout.Spacer{Height: 12}.Layout),
		layout.Rigid(func(gtx C) D {
			return layout.Flex{Spacing: layout.SpaceStart}.Layout(gtx,
				layout.Rigid(func(gtx C) D { return flatButton(gtx, th, &d.cancel, "Cancel", th.ContrastBg) }),
				layout.Rigid(func(gtx C) D {
					if okText == "" {
						return D{}
					}
					if d.busy {
						gtx = gtx.Disabled()
					}
					if d.kind == dlgDeleteFolder || d.kind == dlgEmpty {
						return dangerButton(gtx, th, &d.ok, okText)
					}
					return button(gtx, th, &d.ok, okText)
				}),
			)
		}))
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx, children...)
}

// layoutPicks lists the folders a message can move to.
func (d *folderDialog) layoutPicks(gtx C, a *App) D {
	th := a.th
	var to []mail.Folder
	for _, f := range a.sess.infos {
		if f.Name != d.msg.Folder {
			to = append(to, f.Name)
		}
	}
	if d.picks == nil {
		d.picks = map[mail.Folder]*widget.Clickable{}
	}
	return material.List(th.Theme, &d.list).Layout(gtx, len(to), func(gtx C, i int) D {
		f := to[i]
		c := d.picks[f]
		if c == nil {
			c = new(widget.Clickable)
			d.picks[f] = c
		}
		return iconTextButton(gtx, th, c, folderIcon(f), folderTitle(f))
	})
}
