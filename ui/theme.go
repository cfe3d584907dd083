package ui

import (
	"image"
	"image/color"

	"gioui.org/font"
	"gioui.org/font/gofont"
	"gioui.org/io/event"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/text"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"
	"gioui.org/x/component"
	"golang.org/x/exp/shiny/materialdesign/icons"
	"mailroom/ui/model"
)

// Sizes shared by every page.
const (
	touch      = unit.Dp(48)  // the smallest touch target
	barHeight  = unit.Dp(56)  // top bar
	rowHeight  = unit.Dp(76)  // message row
	wideAt     = unit.Dp(600) // from this width the list sits beside the reader
	listPane   = unit.Dp(400) // list width in the wide layout
	pageMaxW   = unit.Dp(720) // forms and settings are centred up to this width
	readerMaxW = unit.Dp(760) // the reader's text column
	monoFace   = font.Typeface("Go Mono")
	gutter     = unit.Dp(16)
	smallSpace = unit.Dp(8)
)

// Theme is the material theme plus the few colours Mailroom adds.
type Theme struct {
	*material.Theme
	Dark     bool
	Surface  color.NRGBA // bars and panes above Bg
	Muted    color.NRGBA // secondary text
	Divider  color.NRGBA
	Selected color.NRGBA // the open message's row
	Accent   color.NRGBA // unread marks
	Danger   color.NRGBA // error text
	DangerBg color.NRGBA // the fingerprint warning
	Warn     color.NRGBA // the reconnecting banner
	OK       color.NRGBA
	// Focus is the keyboard focus ring, 3:1 or more against Bg and Surface.
	Focus color.NRGBA
	// SnackAction is an action's colour on a snackbar, which is drawn in
	// the inverse colours (Fg on Bg).
	SnackAction color.NRGBA

	// tips holds each icon button's tooltip state (long-lived, like the
	// buttons themselves).
	tips map[*widget.Clickable]*component.TipArea
}

// newShaper gives a shaper with the Go fonts first, so that Latin, Greek
// and Cyrillic look the same on every machine, and the system's fonts
// behind them for every other script and for emoji (Gio's shaper scans the
// usual font folders on Linux and /system/fonts on Android, and falls back
// to them rune by rune).
func newShaper() *text.Shaper {
	return text.NewShaper(text.WithCollection(gofont.Collection()))
}

// textFaces is the typeface list of all text: the Go fonts first (not Go
// Mono, which the shaper may otherwise pick for bold), then a font per
// script by its Noto name, as Debian's fonts-noto-* and Android's
// /system/fonts call them, then colour emoji (before the symbol fonts,
// which draw some emoji in outline) and the system's sans-serif.
// The scripts are named because Gio's font map falls back by family, not
// by script: without the names Devanagari or Thai would find no font.
const textFaces = "Go, Noto Sans, Noto Sans Arabic, Noto Sans Hebrew, Noto Sans Devanagari, Noto Sans Bengali, " +
	"Noto Sans Gurmukhi, Noto Sans Gujarati, Noto Sans Tamil, Noto Sans Telugu, Noto Sans Kannada, " +
	"Noto Sans Malayalam, Noto Sans Sinhala, Noto Sans Thai, Noto Sans Lao, Noto Sans Khmer, Noto Sans Myanmar, " +
	"Noto Sans Georgian, Noto Sans Armenian, Noto Sans Ethiopic, Noto Sans CJK SC, Noto Sans CJK JP, " +
	"Noto Sans CJK KR, emoji, Noto Sans Symbols, Noto Sans Symbols 2, sans-serif"

// NewTheme builds the light or dark theme on shaper.
func NewTheme(shaper *text.Shaper, dark bool) *Theme {
	m := material.NewTheme()
	m.Shaper = shaper
	m.FingerSize = touch
	m.Face = textFaces
	m.TextSize = 16
	t := &Theme{Theme: m, Dark: dark, tips: map[*widget.Clickable]*component.TipArea{}}
	if dark {
		m.Palette = material.Palette{Bg: rgb(0x121417), Fg: rgb(0xe6e8eb), ContrastBg: rgb(0x8ab4f8), ContrastFg: rgb(0x0b1a33)}
		t.Surface = rgb(0x1e2126)
		t.Muted = rgb(0x9aa0a6)
		t.Divider = rgb(0x2f333a)
		t.Selected = rgb(0x263449)
		t.Accent = rgb(0x8ab4f8)
		t.Danger = rgb(0xf28b82)
		t.DangerBg = rgb(0x8c1d18)
		t.Warn = rgb(0x5c4a12)
		t.OK = rgb(0x81c995)
		t.SnackAction = rgb(0x1a56c4)
		t.Focus = rgb(0x8ab4f8)
	} else {
		m.Palette = material.Palette{Bg: rgb(0xffffff), Fg: rgb(0x1f1f1f), ContrastBg: rgb(0x1a56c4), ContrastFg: rgb(0xffffff)}
		t.Surface = rgb(0xf2f4f7)
		t.Muted = rgb(0x5f6368)
		t.Divider = rgb(0xdadce0)
		t.Selected = rgb(0xdce8fc)
		t.Accent = rgb(0x1a56c4)
		t.Danger = rgb(0xb3261e)
		t.DangerBg = rgb(0xb3261e)
		t.Warn = rgb(0xfef0c3)
		t.OK = rgb(0x137333)
		t.SnackAction = rgb(0x8ab4f8)
		t.Focus = rgb(0x1a56c4)
	}
	return t
}

func rgb(c uint32) color.NRGBA {
	return color.NRGBA{R: uint8(c >> 16), G: uint8(c >> 8), B: uint8(c), A: 0xff}
}

type (
	C = layout.Context
	D = layout.Dimensions
)

// Icons, parsed once.
var (
	iconCompose  = mustIcon(icons.ContentCreate)
	iconSettings = mustIcon(icons.ActionSettings)
	iconBack     = mustIcon(icons.NavigationArrowBack)
	iconReply    = mustIcon(icons.ContentReply)
	iconReplyAll = mustIcon(icons.ContentReplyAll)
	iconForward  = mustIcon(icons.ContentForward)
	iconDelete   = mustIcon(icons.ActionDelete)
	iconUnread   = mustIcon(icons.ContentMarkUnread)
	iconRead     = mustIcon(icons.ContentDrafts)
	iconSave     = mustIcon(icons.FileFileDownload)
	iconAttach   = mustIcon(icons.EditorAttachFile)
	iconWarning  = mustIcon(icons.AlertWarning)
	iconSend     = mustIcon(icons.ContentSend)
	iconClose    = mustIcon(icons.NavigationClose)
	iconMenu     = mustIcon(icons.NavigationMenu)
	iconInbox    = mustIcon(icons.ContentInbox)
	iconDrafts   = mustIcon(icons.ContentDrafts)
	iconFolder   = mustIcon(icons.FileFolder)
	iconMove     = mustIcon(icons.FileFolderOpen)
	iconNewDir   = mustIcon(icons.FileCreateNewFolder)
	iconRestore  = mustIcon(icons.ActionRestore)
	iconEmpty    = mustIcon(icons.ActionDeleteForever)
	iconRename   = mustIcon(icons.EditorModeEdit)
)

func mustIcon(data []byte) *widget.Icon {
	ic, err := widget.NewIcon(data)
	if err != nil {
		panic(err) // the icon data is compiled in
	}
	return ic
}

// fill paints the whole of the current constraints' maximum.
func fill(gtx C, c color.NRGBA) D {
	defer clip.Rect{Max: gtx.Constraints.Max}.Push(gtx.Ops).Pop()
	paint.Fill(gtx.Ops, c)
	return D{Size: gtx.Constraints.Max}
}

// background lays out w over a rectangle of colour c.
func background(gtx C, c color.NRGBA, w layout.Widget) D {
	return layout.Background{}.Layout(gtx, func(gtx C) D {
		defer clip.Rect{Max: gtx.Constraints.Min}.Push(gtx.Ops).Pop()
		paint.Fill(gtx.Ops, c)
		return D{Size: gtx.Constraints.Min}
	}, w)
}

// divider is a 1dp line across the available width (or height).
func divider(gtx C, c color.NRGBA, vertical bool) D {
	sz := image.Pt(gtx.Constraints.Max.X, gtx.Dp(1))
	if vertical {
		sz = image.Pt(gtx.Dp(1), gtx.Constraints.Max.Y)
	}
	defer clip.Rect{Max: sz}.Push(gtx.Ops).Pop()
	paint.Fill(gtx.Ops, c)
	return D{Size: sz}
}

// label is a themed label of size sp in colour c.
func label(th *Theme, size unit.Sp, c color.NRGBA, txt string) material.LabelStyle {
	l := material.Label(th.Theme, size, txt)
	l.Color = c
	return l
}

func bold(l material.LabelStyle) material.LabelStyle {
	l.Font.Weight = font.Bold
	return l
}

func oneLine(l material.LabelStyle) material.LabelStyle {
	l.MaxLines = 1
	return l
}

// button is a filled button at least touch-sized.
func button(gtx C, th *Theme, c *widget.Clickable, txt string) D {
	gtx.Constraints.Min.Y = gtx.Dp(touch)
	gtx.Constraints.Min.X = min(gtx.Dp(88), gtx.Constraints.Max.X)
	b := material.Button(th.Theme, c, txt)
	b.CornerRadius = 6
	return focusRing(gtx, th, c, b.Layout(gtx))
}

// flatButton is a text button (secondary action) at least touch-sized.
func flatButton(gtx C, th *Theme, c *widget.Clickable, txt string, col color.NRGBA) D {
	gtx.Constraints.Min.Y = gtx.Dp(touch)
	b := material.Button(th.Theme, c, txt)
	b.Background = color.NRGBA{}
	b.Color = col
	b.CornerRadius = 6
	return focusRing(gtx, th, c, b.Layout(gtx))
}

// dangerButton is a filled red button.
func dangerButton(gtx C, th *Theme, c *widget.Clickable, txt string) D {
	gtx.Constraints.Min.Y = gtx.Dp(touch)
	b := material.Button(th.Theme, c, txt)
	b.Background = th.DangerBg
	b.Color = rgb(0xffffff)
	b.CornerRadius = 6
	return focusRing(gtx, th, c, b.Layout(gtx))
}

// iconButton is a 48dp icon button on a transparent background.
func iconButton(gtx C, th *Theme, c *widget.Clickable, ic *widget.Icon, desc string, col color.NRGBA) D {
	b := material.IconButton(th.Theme, c, ic, desc)
	b.Background = color.NRGBA{}
	b.Color = col
	b.Size = 24
	b.Inset = layout.UniformInset(12)
	tip := th.tips[c]
	if tip == nil {
		tip = new(component.TipArea)
		th.tips[c] = tip
	}
	// An icon alone may not say enough: hovering (or a long press on a
	// phone) names the action and its key.
	return tip.Layout(gtx, component.PlatformTooltip(th.Theme, desc), func(gtx C) D {
		return focusRing(gtx, th, c, b.Layout(gtx))
	})
}

// focusRing draws the keyboard focus ring around a laid out widget when
// tag has the focus: 2dp in Focus, just outside the widget, so that it
// contrasts with the page whatever the widget's own colour.
func focusRing(gtx C, th *Theme, tag event.Tag, d D) D {
	if !gtx.Focused(tag) {
		return d
	}
	gap, w := gtx.Dp(1), gtx.Dp(2)
	r := image.Rectangle{Min: image.Pt(-gap, -gap), Max: d.Size.Add(image.Pt(gap, gap))}
	path := clip.UniformRRect(r, gtx.Dp(8)).Path(gtx.Ops)
	paint.FillShape(gtx.Ops, th.Focus, clip.Stroke{Path: path, Width: float32(w)}.Op())
	return d
}

// field is a labelled single- or multi-line text input with an optional
// message under it (red when bad).
func field(gtx C, th *Theme, title string, ed *widget.Editor, hint, msg string, bad bool) D {
	return fieldMin(gtx, th, title, ed, hint, msg, bad, 0)
}

// fieldMin is field with a minimum editor height (for multi-line text).
func fieldMin(gtx C, th *Theme, title string, ed *widget.Editor, hint, msg string, bad bool, minH unit.Dp) D {
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(label(th, 13, th.Muted, title).Layout),
		layout.Rigid(layout.Spacer{Height: 4}.Layout),
		layout.Rigid(func(gtx C) D {
			// The focused field's border is the focus ring: 2dp in Focus
			// (in Danger when the field is wrong).
			border, width := th.Divider, unit.Dp(1)
			if gtx.Focused(ed) {
				border, width = th.Focus, 2
			}
			if bad {
				border = th.Danger
			}
			return widget.Border{Color: border, Width: width, CornerRadius: 6}.Layout(gtx, func(gtx C) D {
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				return layout.Inset{Top: 12, Bottom: 12, Left: 12, Right: 12}.Layout(gtx, func(gtx C) D {
					gtx.Constraints.Min.Y = max(gtx.Sp(20), gtx.Dp(minH))
					// Typed Arabic or Hebrew starts at the right, as it
					// does in the reader.
					gtx.Locale.Direction = direction(ed.Text())
					e := material.Editor(th.Theme, ed, hint)
					e.HintColor = th.Muted
					return e.Layout(gtx)
				})
			})
		}),
		layout.Rigid(func(gtx C) D {
			if msg == "" {
				return D{}
			}
			c := th.Muted
			if bad {
				c = th.Danger
			}
			return layout.Inset{Top: 4}.Layout(gtx, label(th, 13, c, msg).Layout)
		}),
	)
}

// centred limits w to maxW and centres that column in the width it has.
// The column is offset, not inset: an inset would take its left margin out
// of the already limited width, leaving the form narrower the wider the
// window (issue 14: 90 px at 1920). The dimensions are the whole width, so
// that a list around it scrolls from anywhere.
func centred(gtx C, maxW unit.Dp, w layout.Widget) D {
	full := gtx.Constraints.Max.X
	m := gtx.Dp(maxW)
	if full <= m {
		return w(gtx)
	}
	off := (full - m) / 2
	gtx.Constraints.Max.X = m
	gtx.Constraints.Min.X = min(gtx.Constraints.Min.X, m)
	t := op.Offset(image.Pt(off, 0)).Push(gtx.Ops)
	d := w(gtx)
	t.Pop()
	d.Size.X = max(d.Size.X+off, min(full, gtx.Constraints.Min.X+2*off))
	return d
}

// topBar is the bar at the top of a page: an optional back button, a title
// and action buttons on the right.
func topBar(gtx C, th *Theme, back *widget.Clickable, title string, actions ...layout.Widget) D {
	return bar(gtx, th, th.Surface, back, title, actions...)
}

// bar is topBar on a background of choice.
func bar(gtx C, th *Theme, bg color.NRGBA, back *widget.Clickable, title string, actions ...layout.Widget) D {
	var lead layout.Widget
	if back != nil {
		lead = func(gtx C) D { return iconButton(gtx, th, back, iconBack, "Back", th.Fg) }
	}
	return barLead(gtx, th, bg, lead, title, actions...)
}

// barLead is bar with any leading button (the phone's folder menu), or
// none when lead is nil.
func barLead(gtx C, th *Theme, bg color.NRGBA, lead layout.Widget, title string, actions ...layout.Widget) D {
	return background(gtx, bg, func(gtx C) D {
		gtx.Constraints.Min.X = gtx.Constraints.Max.X
		gtx.Constraints.Min.Y = gtx.Dp(barHeight)
		// Children get no minimum height, so that Middle centres them in the bar.
		free := func(w layout.Widget) layout.Widget {
			return func(gtx C) D {
				gtx.Constraints.Min.Y = 0
				return w(gtx)
			}
		}
		children := []layout.FlexChild{}
		if lead != nil {
			children = append(children, layout.Rigid(free(lead)))
		} else {
			children = append(children, layout.Rigid(layout.Spacer{Width: gutter}.Layout))
		}
		children = append(children, layout.Flexed(1, free(func(gtx C) D {
			return oneLine(bold(label(th, 20, th.Fg, title))).Layout(gtx)
		})))
		for _, a := range actions {
			children = append(children, layout.Rigid(free(a)))
		}
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx, children...)
	})
}

// outlineButton is a transparent button with a border in col.
func outlineButton(gtx C, th *Theme, c *widget.Clickable, txt string, col color.NRGBA) D {
	return widget.Border{Color: col, Width: 1, CornerRadius: 6}.Layout(gtx, func(gtx C) D {
		return flatButton(gtx, th, c, txt, col)
	})
}

// avatar is a coloured circle with the sender's initial.
func avatar(gtx C, th *Theme, addr string) D {
	sz := gtx.Dp(40)
	bg := avatarColor(addr, th.Dark)
	r := image.Rectangle{Max: image.Pt(sz, sz)}
	paint.FillShape(gtx.Ops, bg, clip.Ellipse(r).Op(gtx.Ops))
	gtx.Constraints = layout.Exact(r.Max)
	l := bold(label(th, 18, rgb(0xffffff), model.Initial(addr)))
	l.Alignment = text.Middle
	layout.Center.Layout(gtx, l.Layout)
	return D{Size: r.Max}
}

var avatarColors = []uint32{0x1a73e8, 0xd93025, 0x188038, 0xe37400, 0x9334e6, 0x007b83, 0xc5221f, 0x5f6368}

func avatarColor(s string, dark bool) color.NRGBA {
	var h uint32
	for _, r := range s {
		h = h*31 + uint32(r)
	}
	c := rgb(avatarColors[h%uint32(len(avatarColors))])
	if dark {
		c.A = 0xd0
	}
	return c
}

// middle lays w out without the minimum height its row passes on: a
// Flex gives each child the row's minimum (48dp for a touch target), and a
// label or column of labels laid out that tall puts its text at the top,
// while the Flex's Middle alignment centres the children it can see the
// size of. With it, text sits level with the row's icon and buttons.
func middle(w layout.Widget) layout.Widget {
	return func(gtx C) D {
		gtx.Constraints.Min.Y = 0
		return w(gtx)
	}
}

// formList is the scrolling list around a centred form. Its scrollbar
// floats over the margin instead of taking width from the content, so that
// the form is centred in the window, not in the window less the bar.
func formList(th *Theme, l *widget.List) material.ListStyle {
	s := material.List(th.Theme, l)
	s.AnchorStrategy = material.Overlay
	return s
}
