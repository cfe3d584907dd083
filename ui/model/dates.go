package model

import (
	"fmt"
	"time"
)

// RelDate formats t relative to now the way a mail list does: "now", "5m",
// "3h" (earlier today), "Yesterday", "Mar 3" (this year) or "Mar 3, 2024".
// A t in the future (clock skew) is "now".
func RelDate(now, t time.Time) string {
	t = t.In(now.Location())
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	}
	y1, m1, d1 := now.Date()
	y2, m2, d2 := t.Date()
	if y1 == y2 && m1 == m2 && d1 == d2 {
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	yy, ym, yd := now.AddDate(0, 0, -1).Date()
	if yy == y2 && ym == m2 && yd == d2 {
		return "Yesterday"
	}
	if y1 == y2 {
		return t.Format("Jan 2")
	}
	return t.Format("Jan 2, 2006")
}

// FullDate is the reader's date line, e.g. "Tue, Mar 3, 2026 at 14:05".
func FullDate(t time.Time) string {
	return t.Local().Format("Mon, Jan 2, 2006 at 15:04")
}
