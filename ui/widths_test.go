package ui

import (
	"fmt"
	"image"
	"testing"

	"gioui.org/io/input"
	"gioui.org/io/semantic"

	"mailroom/domain/mail"
	"mailroom/ui/model"
)

// contentBounds is where the page under the top bar is drawn: the union of
// its fields, buttons and switches, and the top-left corners of its labels
// (a label's semantic area runs on to its constraints). The router knows
// every node's bounds, so this needs no GPU.
func (h *harness) contentBounds() image.Rectangle {
	h.t.Helper()
	h.settle()
	var r image.Rectangle
	var walk func(ns []input.SemanticNode)
	walk = func(ns []input.SemanticNode) {
		for _, n := range ns {
			b := n.Desc.Bounds
			switch {
			case b.Min.Y < int(barHeight) || b.Empty() || b.Dx() >= h.size.X:
			case n.Desc.Class != semantic.Unknown:
				r = r.Union(b)
			case n.Desc.Label != "":
				r = r.Union(image.Rectangle{Min: b.Min, Max: b.Min.Add(image.Pt(1, 1))})
			}
			walk(n.Children)
		}
	}
	walk(h.r.AppendSemantics(nil)[:1])
	return r
}

// widths are the window widths every screen is checked at: a small
// phone, the two-pane threshold, a laptop, full HD and 1440p.
var widths = []int{360, 600, 1280, 1920, 2560}

// TestFormsHoldAtEveryWidth checks that each form is as wide as the
// window allows up to pageMaxW, and centred.
func TestFormsHoldAtEveryWidth(t *testing.T) {
	screens := []struct {
		name string
		open func(t *testing.T, size image.Point) *harness
	}{
		{"setup", func(t *testing.T, size image.Point) *harness {
			return newHarness(t, newFakeClient(), model.Settings{}, size)
		}},
		{"trust", func(t *testing.T, size image.Point) *harness {
			h := newHarness(t, newFakeClient(), model.Settings{}, size)
			h.a.setup.host.SetText("mail.example.org")
			h.a.setup.submit(h.a)
			return h
		}},
		{"login", func(t *testing.T, size image.Point) *harness {
			fc := newFakeClient()
			return newHarness(t, fc, trusted(fc), size)
		}},
		{"compose", func(t *testing.T, size image.Point) *harness {
			h := signedIn(t, size, false)
			h.a.openCompose(nil, nil)
			return h
		}},
		{"settings", func(t *testing.T, size image.Point) *harness {
			h := signedIn(t, size, false)
			h.a.push(routeSettings)
			return h
		}},
	}
	for _, sc := range screens {
		for _, w := range widths {
			t.Run(fmt.Sprintf("%s-%d", sc.name, w), func(t *testing.T) {
				size := image.Pt(w, 900)
				h := sc.open(t, size)
				got := h.contentBounds()
				// The form's box: pageMaxW at most, less the gutters.
				want := min(w, int(pageMaxW)) - 2*int(gutter)
				if got.Dx() < want-30 || got.Dx() > want+2 {
					t.Errorf("form is %d px wide (%v); want about %d", got.Dx(), got, want)
				}
				// Centred: the left margin equals the right one (text may
				// end short of the right edge, so the left edge decides).
				wantLeft := (w-min(w, int(pageMaxW)))/2 + int(gutter)
				if d := got.Min.X - wantLeft; d < -2 || d > 14 {
					t.Errorf("form starts at x=%d; want %d (centred)", got.Min.X, wantLeft)
				}
			})
		}
	}
}

// rowsSpan is the union of the message rows' click areas.
func (h *harness) rowsSpan() image.Rectangle {
	h.settle()
	var r image.Rectangle
	var walk func(ns []input.SemanticNode)
	walk = func(ns []input.SemanticNode) {
		for _, n := range ns {
			b := n.Desc.Bounds
			if n.Desc.Class == semantic.Button && b.Dy() >= int(rowHeight) {
				r = r.Union(b)
			}
			walk(n.Children)
		}
	}
	walk(h.r.AppendSemantics(nil)[:1])
	return r
}

// TestMailboxAtEveryWidth: one pane up to wideAt, then the list at
// listPane (or 45%) beside the reader.
func TestMailboxAtEveryWidth(t *testing.T) {
	for _, w := range widths {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			h := signedIn(t, image.Pt(w, 900), false)
			want := w
			if w >= int(wideAt) {
				want = min(int(listPane), w*45/100)
			}
			// The list's scrollbar takes up to 12 px at the right.
			if got := h.rowsSpan(); got.Min.X != 0 || got.Max.X < want-12 || got.Max.X > want {
				t.Errorf("rows span %v; want x from 0 to about %d", got, want)
			}
			h.a.openMessage(h.a.sess.folders[mail.Inbox].Items[0])
			// The reader's actions sit at the window's right edge.
			h.settle()
			y := 28 // the reader's own bar on a phone
			if w >= int(wideAt) {
				y += int(barHeight) // its toolbar under the app bar
			}
			if !h.buttonAt(image.Pt(w-24, y)) {
				t.Errorf("no reader action at the right edge")
			}
		})
	}
}

// buttonAt reports whether a button's bounds hold pt. (The top node
// there may be the button's tooltip area, a sibling laid over it.)
func (h *harness) buttonAt(pt image.Point) bool {
	found := false
	var walk func(ns []input.SemanticNode)
	walk = func(ns []input.SemanticNode) {
		for _, n := range ns {
			if n.Desc.Class == semantic.Button && pt.In(n.Desc.Bounds) {
				found = true
			}
			walk(n.Children)
		}
	}
	walk(h.r.AppendSemantics(nil)[:1])
	return found
}
