//go:build headless

package ui

import (
	"image"
	"image/color"
	"testing"
)

// inkMiddle is the vertical middle of the ink in r (see inkIn), or -1.
func inkMiddle(img *image.RGBA, r image.Rectangle, bg color.NRGBA) float64 {
	top, bottom := -1, -1
	for y := r.Min.Y; y < r.Max.Y; y++ {
		if inkIn(img, image.Rect(r.Min.X, y, r.Max.X, y+1), bg) > 0 {
			if top < 0 {
				top = y
			}
			bottom = y
		}
	}
	if top < 0 {
		return -1
	}
	return float64(top+bottom) / 2
}

// TestRenderFolderRowsCentred: a folder's name is level with its icon in
// the middle of its 48dp row (the name sat at the row's top, above its
// icon, in folders-400.png).
func TestRenderFolderRowsCentred(t *testing.T) {
	h, _ := withFolders(t, desktop())
	img := h.render("folders-column")
	bg := h.a.th.Surface
	// Under the 56dp app bar: Inbox, Sent, Drafts, Trash, 48dp each.
	for i, name := range []string{"Sent", "Drafts", "Trash"} {
		top := 56 + 48*(i+1)
		icon := inkMiddle(img, image.Rect(16, top, 38, top+48), bg)
		text := inkMiddle(img, image.Rect(54, top, 150, top+48), bg)
		if icon < 0 || text < 0 {
			t.Fatalf("%s row: no ink (icon %v, name %v)", name, icon, text)
		}
		if d := icon - text; d > 3 || d < -3 {
			t.Errorf("%s row: icon middle at %.1f, name at %.1f", name, icon, text)
		}
		if mid := float64(top) + 24; icon-mid > 3 || mid-icon > 3 {
			t.Errorf("%s row: icon middle at %.1f, row middle %.1f", name, icon, mid)
		}
	}
}
