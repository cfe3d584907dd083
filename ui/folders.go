package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"strings"

	"gioui.org/layout"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"mailroom/domain/mail"
	"mailroom/ui/model"
)

// folderPaneW is the folder column's width beside the list.
const folderPaneW = unit.Dp(200)

// folderPane is the folder list: a column beside the message list from
// 600dp, a drawer opened from the app bar's menu button on phones. It is
// shown only when the session offers folders (ports.FolderSession).
type folderPane struct {
	rows   map[mail.Folder]*widget.Clickable
	create widget.Clickable
	// menu opens the drawer; scrim (the dimmed page beside it) closes it.
	menu, scrim widget.Clickable
	drawer      bool
	list        widget.List
	// The current folder's actions, in the header above its list.
	rename, remove, empty widget.Clickable
}

// refreshFolders asks for the folder list and every folder's counts in
// one call.
func (a *App) refreshFolders(s *session) {
	a.run(s.ctx, func(ctx context.Context) func() {
		infos, err := s.fs.Folders(ctx)
		return func() {
			if err == nil {
				s.infos = infos
				for _, f := range infos {
					s.setCount(f.Name, f.Total, f.Unseen)
				}
			}
			a.counted(s, err)
		}
	})
}

// selectFolder lists f in place of the current folder.
func (a *App) selectFolder(f mail.Folder) {
	p := &a.mailbox
	p.pane.drawer = false
	if a.sess == nil {
		return
	}
	if p.folder == f {
		p.list(f).Position = layout.Position{} // a second tap goes to the top
	}
	if a.reader.shown && a.reader.meta.Folder != f {
		if a.top() == routeReader {
			a.back()
		}
		a.reader.close()
	}
	p.folder, p.cursor, p.cursorShown = f, 0, false
	a.loadMore(f, 0)
}

func (fp *folderPane) update(gtx C, a *App) {
	for f, c := range fp.rows {
		if c.Clicked(gtx) {
			a.selectFolder(f)
		}
	}
}

// updateActions handles the buttons outside the pane (the app bar's menu,
// the folder header's actions) and New folder. It runs first in the
// mailbox's frame: a Clickable laid out before its Clicked loses its click.
func (fp *folderPane) updateActions(gtx C, a *App) {
	if fp.menu.Clicked(gtx) {
		fp.drawer = !fp.drawer
	}
	if fp.create.Clicked(gtx) {
		fp.drawer = false
		a.dialog.open(a, dlgCreate, "")
	}
	f := a.mailbox.folder
	if fp.rename.Clicked(gtx) && f.Special() == mail.SpecialNone {
		a.dialog.open(a, dlgRename, f)
	}
	if fp.remove.Clicked(gtx) && f.Special() == mail.SpecialNone {
		a.dialog.open(a, dlgDeleteFolder, f)
	}
	if fp.empty.Clicked(gtx) && f == mail.Trash {
		a.dialog.open(a, dlgEmpty, f)
	}
}

// Layout draws the folder list, filling the width it is given.
func (fp *folderPane) Layout(gtx C, a *App) D {
	fp.update(gtx, a)
	th := a.th
	s := a.sess
	if fp.rows == nil {
		fp.rows = map[mail.Folder]*widget.Clickable{}
		fp.list.Axis = layout.Vertical
	}
	infos := s.infos
	if len(infos) == 0 { // before the first count: the special ones
		for _, f := range mail.SpecialFolders() {
			infos = append(infos, mail.FolderInfo{Name: f, Special: f.Special()})
		}
	}
	return background(gtx, th.Surface, func(gtx C) D {
		gtx.Constraints.Min = gtx.Constraints.Max
		return material.List(th.Theme, &fp.list).Layout(gtx, len(infos)+1, func(gtx C, i int) D {
			gtx.Constraints.Min.X = gtx.Constraints.Max.X
			if i == len(infos) {
				return layout.Inset{Top: smallSpace, Left: smallSpace}.Layout(gtx, func(gtx C) D {
					return iconTextButton(gtx, th, &fp.create, iconNewDir, "New folder")
				})
			}
			return fp.layoutRow(gtx, a, infos[i])
		})
	})
}

func (fp *folderPane) layoutRow(gtx C, a *App, f mail.FolderInfo) D {
	th := a.th
	c := fp.rows[f.Name]
	if c == nil {
		c = new(widget.Clickable)
		fp.rows[f.Name] = c
	}
	selected := a.mailbox.folder == f.Name
	depth := strings.Count(string(f.Name), mail.FolderDelimiter)
	unseen := a.sess.unseen[f.Name]
	return material.Clickable(gtx, c, func(gtx C) D {
		bg := th.Surface
		col := th.Fg
		if selected {
			bg, col = th.Selected, th.Accent
		}
		return background(gtx, bg, func(gtx C) D {
			gtx.Constraints.Min.X = gtx.Constraints.Max.X
			gtx.Constraints.Min.Y = gtx.Dp(touch)
			in := layout.Inset{Left: gutter + unit.Dp(16*depth), Right: gutter}
			return in.Layout(gtx, func(gtx C) D { return fp.layoutRowContent(gtx, th, f, col, selected, unseen) })
		})
	})
}

// layoutRowContent is a folder row's icon, name and unread count.
func (fp *folderPane) layoutRowContent(gtx C, th *Theme, f mail.FolderInfo, col color.NRGBA, selected bool, unseen int) D {
	return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
		layout.Rigid(middle(func(gtx C) D {
			gtx.Constraints.Min.X = gtx.Dp(22)
			return folderIcon(f.Name).Layout(gtx, col)
		})),
		layout.Rigid(layout.Spacer{Width: 16}.Layout),
		layout.Flexed(1, middle(func(gtx C) D {
			l := oneLine(label(th, 15, col, folderName(f.Name)))
			if selected || unseen > 0 && f.Name != mail.Sent {
				l = bold(l)
			}
			return l.Layout(gtx)
		})),
		layout.Rigid(middle(func(gtx C) D {
			// Sent counts nothing the sender would act on (tabLabel).
			if unseen == 0 || f.Name == mail.Sent {
				return D{}
			}
			return bold(label(th, 14, col, fmt.Sprint(unseen))).Layout(gtx)
		})),
	)
}

// layoutHeader is the current folder's name over its list, with its
// actions: Rename and Delete for a user folder, Empty for Trash.
func (fp *folderPane) layoutHeader(gtx C, a *App) D {
	th := a.th
	f := a.mailbox.folder
	var actions []layout.Widget
	switch {
	case f == mail.Trash && len(a.sess.pager(f).Items) > 0:
		actions = append(actions, func(gtx C) D { return iconButton(gtx, th, &fp.empty, iconEmpty, "Empty Trash", th.Danger) })
	case f.Special() == mail.SpecialNone:
		actions = append(actions,
			func(gtx C) D { return iconButton(gtx, th, &fp.rename, iconRename, "Rename folder", th.Fg) },
			func(gtx C) D { return iconButton(gtx, th, &fp.remove, iconDelete, "Delete folder", th.Fg) })
	}
	if a.mailbox.search.active() {
		// Search looks in every folder, not only the one chosen.
		return bar(gtx, th, th.Bg, nil, "Results in all folders")
	}
	return bar(gtx, th, th.Bg, nil, folderTitle(f), actions...)
}

// layoutDrawer draws the phone's drawer over the page while it is open.
func (fp *folderPane) layoutDrawer(gtx C, a *App) D {
	if fp.scrim.Clicked(gtx) {
		fp.drawer = false
	}
	if !fp.drawer || a.sess == nil || a.sess.fs == nil || wide(gtx) {
		return D{}
	}
	return layout.Stack{}.Layout(gtx,
		layout.Expanded(func(gtx C) D {
			return fp.scrim.Layout(gtx, func(gtx C) D { return fill(gtx, scrim) })
		}),
		layout.Stacked(func(gtx C) D {
			w := min(gtx.Dp(300), gtx.Constraints.Max.X*85/100)
			gtx.Constraints.Min = image.Pt(w, gtx.Constraints.Max.Y)
			gtx.Constraints.Max = gtx.Constraints.Min
			// A title over the list, where the app bar was: the first
			// folder does not start at the screen's edge.
			return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
				layout.Rigid(func(gtx C) D { return bar(gtx, a.th, a.th.Surface, nil, "Folders") }),
				layout.Flexed(1, func(gtx C) D { return fp.Layout(gtx, a) }),
			)
		}),
	)
}

// folderIcon is the icon beside a folder's name.
func folderIcon(f mail.Folder) *widget.Icon {
	switch f {
	case mail.Inbox:
		return iconInbox
	case mail.Sent:
		return iconSend
	case mail.Drafts:
		return iconDrafts
	case mail.Trash:
		return iconDelete
	}
	return iconFolder
}

// folderName is a folder's last level, or the special folder's title.
func folderName(f mail.Folder) string {
	if f.Special() != mail.SpecialNone {
		return folderTitle(f)
	}
	s := string(f)
	return s[strings.LastIndex(s, mail.FolderDelimiter)+1:]
}

// folderTitle is a folder's name for titles and tabs.
func folderTitle(f mail.Folder) string {
	switch f {
	case mail.Inbox:
		return "Inbox"
	case mail.Sent:
		return "Sent"
	case mail.Drafts:
		return "Drafts"
	case mail.Trash:
		return "Trash"
	}
	return strings.ReplaceAll(string(f), mail.FolderDelimiter, " / ")
}

// folderErr puts a folder refusal in words.
func folderErr(a *App, err error) string {
	switch {
	case errors.Is(err, mail.ErrFolderExists):
		return "A folder of that name exists."
	case errors.Is(err, mail.ErrSpecialFolder):
		return "Inbox, Sent, Drafts and Trash can't be renamed or deleted."
	case errors.Is(err, mail.ErrBadFolder):
		return "A folder name can't be empty, start or end with “/”, or contain “*” or “%”."
	case errors.Is(err, mail.ErrNotFound):
		return "That folder no longer exists."
	}
	if a.sess != nil {
		return a.failIn(a.sess, err)
	}
	return model.ErrorText(err)
}

// iconTextButton is a 48dp high flat button with an icon before its text.
func iconTextButton(gtx C, th *Theme, c *widget.Clickable, ic *widget.Icon, txt string) D {
	return focusRing(gtx, th, c, material.Clickable(gtx, c, func(gtx C) D {
		gtx.Constraints.Min.Y = gtx.Dp(touch)
		return layout.Inset{Left: smallSpace, Right: gutter}.Layout(gtx, func(gtx C) D {
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Rigid(middle(func(gtx C) D { return ic.Layout(gtx, th.ContrastBg) })),
				layout.Rigid(layout.Spacer{Width: 12}.Layout),
				layout.Rigid(middle(bold(label(th, 15, th.ContrastBg, txt)).Layout)),
			)
		})
	}))
}
