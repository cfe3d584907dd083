package ui

import (
	"image/color"
	"math"
	"strings"
	"testing"

	"gioui.org/io/input"
	"gioui.org/io/key"

	"mailroom/ui/model"
)

// labels lists the semantic labels of the last frame.
func (h *harness) labels() string {
	var out []string
	var walk func(ns []input.SemanticNode)
	walk = func(ns []input.SemanticNode) {
		for _, n := range ns {
			if n.Desc.Label != "" {
				out = append(out, n.Desc.Label)
			}
			walk(n.Children)
		}
	}
	walk(h.r.AppendSemantics(nil)[:1])
	return strings.Join(out, "|")
}

// TestTrustShowsLoginFocused: the frame that handles Trust already draws
// the login form, and what the user types next lands in the username
// (issue 14, defect 6).
func TestTrustShowsLoginFocused(t *testing.T) {
	fc := newFakeClient()
	h := newHarness(t, fc, model.Settings{}, phone())
	h.typeInto(&h.a.setup.host, "mail.example.org")
	h.press()
	if h.a.setup.probed == nil {
		t.Fatal("not probed")
	}
	h.focus(&h.a.setup.trust)
	h.r.Queue(key.Event{Name: key.NameReturn, State: key.Press}, key.Event{Name: key.NameReturn, State: key.Release})
	h.frame() // one frame: the one that sees the press
	if got := h.labels(); strings.Contains(got, "Trust this server?") || !strings.Contains(got, "Sign in") {
		t.Fatalf("frame after Trust shows %q; want the login form only", got)
	}
	h.r.Queue(key.EditEvent{Text: "alice"})
	h.frame()
	if got := h.a.login.user.Text(); got != "alice" {
		t.Fatalf("typed text went to %q, want the username field", got)
	}
}

// TestFirstFieldFocused: each screen with a form focuses its first field.
func TestFirstFieldFocused(t *testing.T) {
	fc := newFakeClient()
	h := newHarness(t, fc, model.Settings{}, phone())
	if !h.r.Source().Focused(&h.a.setup.host) {
		t.Error("setup: host not focused")
	}
	h2 := signedIn(t, phone(), false)
	h2.key("N", key.ModShortcut)
	if !h2.r.Source().Focused(&h2.a.compose.to) {
		t.Error("compose: To not focused")
	}
	h2.a.logout()
	h2.settle()
	if !h2.r.Source().Focused(&h2.a.login.pass) {
		t.Error("login with a remembered name: password not focused")
	}
}

// TestHintsReadAsHints: a placeholder must not look like a value.
func TestHintsReadAsHints(t *testing.T) {
	fc := newFakeClient()
	h := newHarness(t, fc, trusted(fc), phone())
	h.a.login.user.SetText("")
	h.settle()
	for _, want := range []string{"e.g. alice"} {
		if !strings.Contains(h.labels(), want) {
			t.Errorf("login hints %q; want %q", h.labels(), want)
		}
	}
}

// TestFocusRingContrast: the focus ring stands 3:1 against the page and
// the bars in both themes (WCAG 1.4.11).
func TestFocusRingContrast(t *testing.T) {
	for _, dark := range []bool{false, true} {
		th := NewTheme(newShaper(), dark)
		for name, bg := range map[string]color.NRGBA{"Bg": th.Bg, "Surface": th.Surface} {
			if c := contrast(th.Focus, bg); c < 3 {
				t.Errorf("dark=%v: focus ring on %s has contrast %.2f, want 3", dark, name, c)
			}
		}
	}
}

func contrast(a, b color.NRGBA) float64 {
	l1, l2 := luminance(a), luminance(b)
	if l1 < l2 {
		l1, l2 = l2, l1
	}
	return (l1 + 0.05) / (l2 + 0.05)
}

func luminance(c color.NRGBA) float64 {
	ch := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(c.R) + 0.7152*ch(c.G) + 0.0722*ch(c.B)
}
