package ui

import (
	"time"

	"gioui.org/io/event"
	"gioui.org/io/pointer"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/widget"
)

// layoutBottom is the toast over the undo snackbar, at the bottom centre.
func (a *App) layoutBottom(gtx C) D {
	return layout.S.Layout(gtx, func(gtx C) D {
		return layout.Inset{Left: gutter, Right: gutter, Bottom: smallSpace}.Layout(gtx, func(gtx C) D {
			// layout.S keeps the minimum width (the whole window): drop it,
			// or the boxes stretch and land on the right.
			gtx.Constraints.Max.X = min(gtx.Constraints.Max.X, gtx.Dp(480))
			gtx.Constraints.Min.X = 0
			return layout.Flex{Axis: layout.Vertical, Alignment: layout.Middle}.Layout(gtx,
				layout.Rigid(a.layoutToast),
				layout.Rigid(a.layoutDiscarded),
				layout.Rigid(func(gtx C) D { return a.snack.Layout(gtx, a) }),
			)
		})
	})
}

func (a *App) layoutToast(gtx C) D {
	if a.toast == "" {
		return D{}
	}
	if a.toastUntil.IsZero() {
		a.toastUntil = gtx.Now.Add(4 * time.Second)
	}
	if !gtx.Now.IsZero() && !gtx.Now.Before(a.toastUntil) {
		a.toast = ""
		return D{}
	}
	gtx.Execute(op.InvalidateCmd{At: a.toastUntil})
	return toastBox(gtx, a.th, &a.toast, func(gtx C) D {
		return layout.Inset{Top: 14, Bottom: 14, Left: 16, Right: 16}.Layout(gtx,
			label(a.th, 15, a.th.Bg, a.toast).Layout)
	})
}

// toastBox draws w on a rounded box in the inverse colours, with room
// under it for the next one. The box takes the pointer events on it (tag
// is their target), so that a tap on it never reaches the row underneath.
func toastBox(gtx C, th *Theme, tag event.Tag, w layout.Widget) D {
	for {
		if _, ok := gtx.Event(pointer.Filter{Target: tag, Kinds: pointer.Press | pointer.Release | pointer.Scroll,
			ScrollX: pointer.ScrollRange{Min: -1e6, Max: 1e6}, ScrollY: pointer.ScrollRange{Min: -1e6, Max: 1e6}}); !ok {
			break
		}
	}
	return layout.Inset{Bottom: smallSpace}.Layout(gtx, func(gtx C) D {
		bg := th.Fg
		return widget.Border{Color: bg, CornerRadius: 8}.Layout(gtx, func(gtx C) D {
			return layout.Background{}.Layout(gtx, func(gtx C) D {
				defer clip.Rect{Max: gtx.Constraints.Min}.Push(gtx.Ops).Pop()
				paint.Fill(gtx.Ops, bg)
				event.Op(gtx.Ops, tag)
				return D{Size: gtx.Constraints.Min}
			}, func(gtx C) D {
				gtx.Constraints.Min.Y = gtx.Dp(touch)
				return layout.W.Layout(gtx, func(gtx C) D {
					gtx.Constraints.Min.Y = 0 // W keeps it; the content is centred instead
					return w(gtx)
				})
			})
		})
	})
}
