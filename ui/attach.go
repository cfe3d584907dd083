package ui

import (
	"errors"
	"fmt"

	"gioui.org/layout"
	"gioui.org/widget"

	"mailroom/ports"
	"mailroom/ui/model"
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

// fileRow is an attached file: a bordered row at least touch high with the
// clip icon, the name and size, and an action button (save, remove).
func fileRow(gtx C, th *Theme, name string, size int64, action layout.Widget) D {
	return widget.Border{Color: th.Divider, Width: 1, CornerRadius: 6}.Layout(gtx, func(gtx C) D {
		gtx.Constraints.Min.Y = gtx.Dp(touch)
		return layout.Inset{Left: 12, Right: 4}.Layout(gtx, func(gtx C) D {
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Rigid(func(gtx C) D {
					gtx.Constraints.Min.X = gtx.Dp(20)
					return iconAttach.Layout(gtx, th.Muted)
				}),
				layout.Rigid(layout.Spacer{Width: smallSpace}.Layout),
				layout.Flexed(1, middle(func(gtx C) D {
					return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
						layout.Rigid(oneLine(label(th, 15, th.Fg, name)).Layout),
						layout.Rigid(label(th, 13, th.Muted, model.HumanSize(size)).Layout),
					)
				})),
				layout.Rigid(action),
			)
		})
	})
}
