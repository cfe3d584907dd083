package ui

import (
	"unicode"

	"gioui.org/io/system"
	"gioui.org/layout"
	"gioui.org/widget/material"
)

// rtlScripts are the scripts written right to left that mail is likely to
// carry. Their letters are the strong right-to-left characters of Unicode's
// bidi algorithm (classes R and AL).
var rtlScripts = []*unicode.RangeTable{
	unicode.Arabic, unicode.Hebrew, unicode.Syriac, unicode.Thaana, unicode.Nko,
	unicode.Samaritan, unicode.Mandaic, unicode.Adlam, unicode.Hanifi_Rohingya,
}

// direction is a paragraph's base direction by rule P2 of the bidi
// algorithm: its first strong character decides. Digits, punctuation,
// spaces and emoji are not strong; a paragraph with no strong character is
// left to right. Gio's shaper orders the runs inside the line; it needs
// only the base direction from us.
func direction(s string) system.TextDirection {
	for _, r := range s {
		switch {
		case r < 0x80:
			if 'a' <= r|0x20 && r|0x20 <= 'z' {
				return system.LTR
			}
		case unicode.In(r, rtlScripts...):
			if unicode.IsLetter(r) {
				return system.RTL
			}
		case unicode.IsLetter(r):
			return system.LTR
		}
	}
	return system.LTR
}

// directed lays l out in its paragraph's direction: a right-to-left
// paragraph (Arabic, Hebrew) starts at the right edge, and its runs are
// ordered from the right.
func directed(l material.LabelStyle) layout.Widget {
	return func(gtx C) D {
		if direction(l.Text) == system.RTL {
			gtx.Locale.Direction = system.RTL
			gtx.Constraints.Min.X = gtx.Constraints.Max.X // room to align to
		}
		return l.Layout(gtx)
	}
}
