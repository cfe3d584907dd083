package ui

import (
	"gioui.org/io/event"
	"gioui.org/io/pointer"
	"gioui.org/layout"
	"gioui.org/op/clip"
	"gioui.org/unit"
	"gioui.org/widget"
)

const (
	// wheelLines is how many text lines one mouse-wheel notch scrolls,
	// as in most desktop programs.
	wheelLines = 3
	// wheelLine is one line of the reader's 16sp text with its leading.
	wheelLine = unit.Sp(21)
)

// wheelList lays out w, the list l, so that a mouse-wheel notch scrolls it
// by wheelLines lines. Gio's list scrolls by the distance the platform
// reports, and its X11 backend reports 20 px per notch (10 on the button's
// press and 10 on its release): about a line, so a page took a dozen
// notches. When Config.WheelNotch says what a notch
// reports, a pass-through area over the list takes every wheel event
// before the list's own gesture (scroll goes to the topmost area first and
// this one accepts all of it) and moves the list's position itself; the
// list clamps the position at both ends as for its own scrolling.
func (a *App) wheelList(gtx C, l *widget.List, w layout.Widget) D {
	notch := a.cfg.WheelNotch
	if notch <= 0 {
		return w(gtx)
	}
	tag := &l.Position
	var dist float32
	for {
		ev, ok := gtx.Event(pointer.Filter{Target: tag, Kinds: pointer.Scroll,
			ScrollY: pointer.ScrollRange{Min: -1 << 24, Max: 1 << 24}})
		if !ok {
			break
		}
		if e, ok := ev.(pointer.Event); ok && e.Kind == pointer.Scroll {
			dist += e.Scroll.Y / notch * wheelLines * float32(gtx.Sp(wheelLine))
		}
	}
	l.Position.Offset += int(dist)
	dims := w(gtx)
	area := clip.Rect{Max: dims.Size}.Push(gtx.Ops)
	pass := pointer.PassOp{}.Push(gtx.Ops)
	event.Op(gtx.Ops, tag)
	pass.Pop()
	area.Pop()
	return dims
}
