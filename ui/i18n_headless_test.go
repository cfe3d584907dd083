//go:build headless

package ui

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gioui.org/font"
	"gioui.org/font/gofont"
	"gioui.org/io/system"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/text"
	"gioui.org/unit"
	"golang.org/x/image/math/fixed"
)

// mixedScripts is a message in the scripts the Go fonts lack, one
// paragraph each, plus emoji.
var mixedScripts = []string{
	"مرحبا بكم في الاجتماع يوم الثلاثاء", // Arabic
	"下周二的会议改到三点，请准时参加。",                  // Chinese
	"来週の会議は午後三時からです。よろしくお願いします。",         // Japanese (kana and kanji)
	"שלום, הפגישה נדחתה ליום שלישי",      // Hebrew
	"नमस्ते, बैठक मंगलवार को होगी",       // Hindi (Devanagari)
	"Party 🎉 at 8 👍 see you 😀",           // emoji between Latin
}

// notoFonts are the Debian font files the test needs (fonts-noto-core,
// fonts-noto-cjk, fonts-noto-color-emoji), as globs under /usr/share/fonts.
var notoFonts = []string{
	"truetype/noto/NotoSansArabic-Regular.ttf",
	"truetype/noto/NotoSansHebrew-Regular.ttf",
	"truetype/noto/NotoSansDevanagari-Regular.ttf",
	"opentype/noto/NotoSansCJK-Regular.ttc",
	"truetype/noto/NotoColorEmoji.ttf",
}

// requireFonts skips when the system lacks the fonts, or fails when CI
// says they are installed (MAILROOM_REQUIRE_HEADLESS=1).
func requireFonts(t *testing.T) {
	t.Helper()
	var missing []string
	for _, f := range notoFonts {
		if _, err := os.Stat(filepath.Join("/usr/share/fonts", f)); err != nil {
			missing = append(missing, f)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "fonts missing (install fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji): " + strings.Join(missing, ", ")
	if os.Getenv("MAILROOM_REQUIRE_HEADLESS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// glyphFace splits a glyph id as Gio packs it: face index in the top 16
// bits, size in the next 16, the font's glyph id in the low 32.
func glyphFace(id text.GlyphID) (face int, gid uint32) {
	return int(uint64(id) >> 48), uint32(id)
}

// TestEveryScriptHasGlyphs shapes each paragraph with the app's shaper and
// fails on any .notdef glyph (glyph id 0, the empty box). Latin must come
// from the Go fonts, every other script from a system font.
func TestEveryScriptHasGlyphs(t *testing.T) {
	requireFonts(t)
	sh := newShaper()
	goFaces := len(gofont.Collection())
	for _, para := range mixedScripts {
		sh.LayoutString(text.Parameters{
			Font:     font.Font{Typeface: textFaces},
			PxPerEm:  fixed.I(16),
			MaxWidth: 4000,
			Locale:   system.Locale{Direction: direction(para)},
		}, para)
		n, boxes, system := 0, 0, 0
		for {
			g, ok := sh.NextGlyph()
			if !ok {
				break
			}
			if g.Flags&text.FlagParagraphBreak != 0 {
				continue
			}
			n++
			face, gid := glyphFace(g.ID)
			if gid == 0 {
				boxes++
			}
			if face >= goFaces {
				system++
			}
		}
		if n == 0 || boxes > 0 {
			t.Errorf("%q: %d of %d glyphs are the missing-glyph box", para, boxes, n)
		}
		if system == 0 {
			t.Errorf("%q: no glyph came from a system font", para)
		}
	}
	// Latin stays in the Go fonts.
	sh.LayoutString(text.Parameters{Font: font.Font{Typeface: textFaces}, PxPerEm: fixed.I(16), MaxWidth: 4000}, "Hello, world")
	for {
		g, ok := sh.NextGlyph()
		if !ok {
			break
		}
		if face, _ := glyphFace(g.ID); face >= goFaces && g.Flags&text.FlagParagraphBreak == 0 {
			t.Fatalf("Latin glyph from face %d, not the Go fonts", face)
		}
	}
}

func TestDirection(t *testing.T) {
	for _, c := range []struct {
		in   string
		want system.TextDirection
	}{
		{"", system.LTR},
		{"Hello", system.LTR},
		{"12, مرحبا", system.RTL},
		{"«שלום» world", system.RTL},
		{"hi مرحبا", system.LTR},
		{"😀 下周", system.LTR},
		{"> مرحبا", system.RTL},
	} {
		if got := direction(c.in); got != c.want {
			t.Errorf("direction(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// paintWidget draws w on a white w×h frame through the headless GPU.
func paintWidget(t *testing.T, sz image.Point, w layout.Widget) *image.RGBA {
	t.Helper()
	h := &harness{t: t, size: sz}
	return h.renderOps(func() *op.Ops {
		ops := new(op.Ops)
		gtx := layout.Context{Ops: ops, Metric: unit.Metric{PxPerDp: 1, PxPerSp: 1}, Constraints: layout.Exact(sz)}
		fill(gtx, color.NRGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff})
		w(gtx)
		return ops
	})
}

// TestRenderRightToLeftAndColourEmoji draws an Arabic paragraph, which
// must start at the right edge, and emoji, which must be in colour.
func TestRenderRightToLeftAndColourEmoji(t *testing.T) {
	requireFonts(t)
	th := NewTheme(newShaper(), false)
	white := color.NRGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
	sz := image.Pt(600, 40)
	img := paintWidget(t, sz, directed(label(th, 16, th.Fg, mixedScripts[0])))
	left, right := inkIn(img, image.Rect(0, 0, 200, 40), white), inkIn(img, image.Rect(400, 0, 600, 40), white)
	if right < 50 || left > 0 {
		t.Errorf("Arabic: %d ink pixels on the left third, %d on the right; want it right-aligned", left, right)
	}
	img = paintWidget(t, sz, label(th, 24, th.Fg, "🎉👍😀").Layout)
	if n := saturated(img); n < 100 {
		t.Errorf("emoji drew %d coloured pixels; want colour glyphs", n)
	}
}

// saturated counts clearly coloured (not grey) pixels.
func saturated(img *image.RGBA) int {
	n := 0
	for y := 0; y < img.Bounds().Dy(); y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			c := img.RGBAAt(x, y)
			hi, lo := max(c.R, c.G, c.B), min(c.R, c.G, c.B)
			if hi-lo > 80 {
				n++
			}
		}
	}
	return n
}

// TestRenderReaderI18n opens a message mixing every script in the reader.
func TestRenderReaderI18n(t *testing.T) {
	requireFonts(t)
	h := signedIn(t, desktop(), false)
	m := h.fc.deliver("bob", "alice", "会议 · اجتماع · 🎉 Meeting", strings.Join(mixedScripts, "\n\n"), testNow)
	h.a.refreshCounts()
	h.a.openMessage(m)
	img := h.render("reader-i18n-1280")
	if n := inkIn(img, image.Rect(440, 120, 1280, 800), h.a.th.Bg); n < 3000 {
		t.Errorf("reader pane has %d ink pixels; want the message", n)
	}
	if n := saturated(img); n < 100 {
		t.Errorf("%d coloured pixels; want colour emoji", n)
	}
}
