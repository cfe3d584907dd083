//go:build headless

// Headless render tests: they draw the main screens with gioui.org/gpu/headless
// and check the pixels. Run them with
//
//	EGL_PLATFORM=surfaceless go test -tags 'headless novulkan' -run Render ./ui/
//
// They skip when no GPU context can be made. MAILROOM_RENDER_DIR, when set,
// receives a PNG of every screen.

package ui

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"gioui.org/gpu/headless"
	"gioui.org/op"

	"mailroom/domain/mail"
	"mailroom/ui/model"
)

// render draws the harness's current state and returns the picture.
func (h *harness) render(name string) *image.RGBA {
	h.t.Helper()
	h.settle()
	return h.renderOps(func() *op.Ops {
		h.frame()
		return &h.ops
	}, name)
}

// renderOps draws what draw records through the headless GPU; name, if
// given, is the PNG's name in MAILROOM_RENDER_DIR.
func (h *harness) renderOps(draw func() *op.Ops, name ...string) *image.RGBA {
	h.t.Helper()
	win, err := headless.NewWindow(h.size.X, h.size.Y)
	if err != nil {
		// CI installs Mesa and sets MAILROOM_REQUIRE_HEADLESS=1, so a
		// missing renderer fails there instead of passing silently.
		if os.Getenv("MAILROOM_REQUIRE_HEADLESS") == "1" {
			h.t.Fatalf("no headless GPU and MAILROOM_REQUIRE_HEADLESS=1: %v", err)
		}
		h.t.Skipf("no headless GPU: %v", err)
	}
	defer win.Release()
	if err := win.Frame(draw()); err != nil {
		h.t.Fatal(err)
	}
	img := image.NewRGBA(image.Rectangle{Max: h.size})
	if err := win.Screenshot(img); err != nil {
		h.t.Fatal(err)
	}
	if dir := os.Getenv("MAILROOM_RENDER_DIR"); dir != "" && len(name) > 0 {
		f, err := os.Create(filepath.Join(dir, name[0]+".png"))
		if err == nil {
			png.Encode(f, img)
			f.Close()
		}
	}
	return img
}

// inkIn counts the pixels in r that differ clearly from bg: text, icons, lines.
func inkIn(img *image.RGBA, r image.Rectangle, bg color.NRGBA) int {
	n := 0
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := img.RGBAAt(x, y)
			if diff(c.R, bg.R)+diff(c.G, bg.G)+diff(c.B, bg.B) > 96 {
				n++
			}
		}
	}
	return n
}

func diff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// colours counts distinct colours, a cheap "not blank" measure.
func colours(img *image.RGBA) int {
	seen := map[color.RGBA]bool{}
	for y := 0; y < img.Bounds().Dy(); y += 3 {
		for x := 0; x < img.Bounds().Dx(); x += 3 {
			seen[img.RGBAAt(x, y)] = true
		}
	}
	return len(seen)
}

func TestRenderScreens(t *testing.T) {
	for _, size := range []image.Point{phone(), desktop()} {
		for _, dark := range []bool{false, true} {
			name := map[bool]string{false: "light", true: "dark"}[dark]
			if size.X > 600 {
				name += "-1280"
			} else {
				name += "-400"
			}
			t.Run(name, func(t *testing.T) {
				h := signedIn(t, size, dark)
				bg := h.a.th.Bg
				listArea := image.Rect(0, 120, min(size.X, 400), size.Y)
				readerArea := image.Rect(440, 120, size.X, size.Y)

				img := h.render("inbox-" + name)
				if colours(img) < 8 {
					t.Fatalf("inbox is blank (%d colours)", colours(img))
				}
				if n := inkIn(img, listArea, bg); n < 2000 {
					t.Errorf("message list has %d ink pixels; want text", n)
				}
				if size.X > 600 {
					// Wide, nothing open: only the placeholder line in the reader pane.
					if n := inkIn(img, readerArea, bg); n > 4000 {
						t.Errorf("empty reader pane has %d ink pixels", n)
					}
				}

				h.a.openMessage(h.a.sess.folders[mail.Inbox].Items[0])
				img = h.render("reader-" + name)
				if size.X > 600 {
					if n := inkIn(img, readerArea, bg); n < 1500 {
						t.Errorf("reader pane has %d ink pixels; want the message", n)
					}
					if n := inkIn(img, listArea, bg); n < 2000 {
						t.Errorf("list beside the reader has %d ink pixels", n)
					}
				} else if n := inkIn(img, image.Rect(0, 60, size.X, 300), bg); n < 1500 {
					t.Errorf("reader has %d ink pixels", n)
				}

				h.a.openCompose(nil, nil)
				h.a.compose.to.SetText("bob, mallory")
				h.a.compose.subject.SetText("Lunch?")
				h.a.compose.body.SetText("Shall we meet at noon?")
				h.a.compose.submit(h.a)
				img = h.render("compose-" + name)
				// The unknown recipient is named in red under To.
				if n := countColour(img, h.a.th.Danger); n < 30 {
					t.Errorf("compose shows %d red pixels; want the unknown recipient flagged", n)
				}
			})
		}
	}
}

func TestRenderPhoneHasNoReaderPane(t *testing.T) {
	h := signedIn(t, phone(), false)
	img := h.render("phone-list")
	// One pane: the rows run the full width, so the right edge has text
	// (the dates) in the list area.
	if n := inkIn(img, image.Rect(300, 120, 400, 800), h.a.th.Bg); n < 200 {
		t.Errorf("right edge of the phone list has %d ink pixels", n)
	}
	if wide := h.a.top() == routeReader; wide {
		t.Fatal("reader open")
	}
}

func TestRenderBlockedIsRed(t *testing.T) {
	fc := newFakeClient()
	s := trusted(fc)
	s.Fingerprint = "00" + s.Fingerprint[2:]
	h := newHarness(t, fc, s, phone())
	img := h.render("blocked")
	red := h.a.th.DangerBg
	total := size(img)
	if n := countColour(img, red); n < total/2 {
		t.Errorf("only %d of %d pixels are the warning red", n, total)
	}
}

func TestRenderSetupAndTrust(t *testing.T) {
	fc := newFakeClient()
	h := newHarness(t, fc, model.Settings{}, phone())
	img := h.render("setup")
	if colours(img) < 8 {
		t.Fatal("setup is blank")
	}
	h.a.setup.host.SetText("mail.example.org")
	h.a.setup.submit(h.a)
	img = h.render("trust")
	if n := inkIn(img, image.Rect(0, 60, 400, 500), h.a.th.Bg); n < 3000 {
		t.Errorf("trust page has %d ink pixels", n)
	}
}

func countColour(img *image.RGBA, c color.NRGBA) int {
	n := 0
	for y := 0; y < img.Bounds().Dy(); y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			p := img.RGBAAt(x, y)
			if diff(p.R, c.R)+diff(p.G, c.G)+diff(p.B, c.B) < 24 {
				n++
			}
		}
	}
	return n
}

func size(img *image.RGBA) int { return img.Bounds().Dx() * img.Bounds().Dy() }
