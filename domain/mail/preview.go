package mail

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// previewLimits bound the work Preview does, whatever the message: it runs
// once per delivery, on bytes straight from the network.
var previewLimits = TextLimits{
	// Text after a megabyte of attachments gives no preview.
	ScanBytes: 1 << 20,
	// 64 KiB of text is far more than PreviewRunes after removing quotes,
	// markup and whitespace.
	PartBytes: 64 << 10,
	Depth:     5,
	Parts:     100,
}

// Preview gives the start of raw's text body on one line, for message
// lists: PreviewText of its first text/plain part and its first text/html
// part (see ExtractText). It gives "" when the message has no text part or
// it cannot be decoded. Any input is safe: Preview never panics and its
// work is bounded.
func Preview(raw []byte) string {
	w := &textWalk{lim: previewLimits, firstText: true, previewPrefix: previewPrefix}
	w.message(raw)
	if w.previewDone {
		return w.preview
	}
	return PreviewText(w.out.Plain, w.out.HTML)
}

// PreviewText is the one preview rule, for the store (through Preview) and
// for a client that holds a decoded body: BodyText on one line, without
// quoted lines (">", and <blockquote> in HTML), the line introducing them
// ("… wrote:"), the signature ("-- ") and link targets, whitespace
// collapsed, at most
// PreviewRunes runes ("…" ends a cut preview). A list shows as many of
// them as fit its width.
func PreviewText(text, html string) string {
	if strings.TrimSpace(text) != "" {
		// bodyText's "\r\n" to "\n" is left out: oneLine drops a line's
		// trailing "\r" itself, and any other one is whitespace to it.
		p, _ := oneLine(text, false)
		return p
	}
	// Link targets are left out: a list line has no room for URLs.
	body, _ := bodyText(text, html, false)
	p, _ := oneLine(body, false)
	return p
}

// BodyText is the text a reader shows for a message whose text/plain part
// is text and text/html part is html (either may be ""): text when it has
// anything but whitespace, else HTMLToText(html). Line endings become "\n".
// fromHTML reports the second case: that text's lines are the HTML's blocks,
// not a sender's hard wrapping.
func BodyText(text, html string) (body string, fromHTML bool) {
	return bodyText(text, html, true)
}

func bodyText(text, html string, links bool) (body string, fromHTML bool) {
	if strings.TrimSpace(text) != "" {
		return strings.ReplaceAll(text, "\r\n", "\n"), false
	}
	if strings.TrimSpace(html) == "" {
		return "", false
	}
	return htmlToText(html, links), true
}

// oneLine drops quoted lines, the line introducing them ("… wrote:") and the
// signature, then collapses whitespace and cuts at PreviewRunes runes. The
// kept lines stream into the collapser, which stops one rune past
// PreviewRunes: nothing after that is looked at, and nothing but the
// result is allocated.
//
// With partial, text is the start of a longer text, cut anywhere: its last
// line (after the last "\n") may be cut short, so it is never used, and
// ok reports whether the preview was complete without it, i.e. is the
// preview of every text that starts with this one.
func oneLine(text string, partial bool) (preview string, ok bool) {
	c := collapser{out: make([]byte, 0, 2*PreviewRunes)}
	rest := text
	for !c.full() {
		line, after, more := strings.Cut(rest, "\n")
		if partial && !more {
			return "", false // the cut line: its end is unknown
		}
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "--" && strings.HasPrefix(line, "--") {
			break // "-- " (RFC 3676 §4.3), often sent without its space
		}
		if !isQuoted(trimmed) {
			intro := false
			if strings.HasSuffix(trimmed, "wrote:") {
				quoted, known := nextIsQuoted(after, partial && more)
				if !known {
					return "", false
				}
				intro = quoted
			}
			if !intro {
				c.write(line)
				c.write(" ")
			}
		}
		if !more {
			break
		}
		rest = after
	}
	return c.result(), true
}

// collapser collapses every run of whitespace and control characters to
// one space, stopping one rune past PreviewRunes: enough to know to cut.
type collapser struct {
	out   []byte
	runes int
	space bool
}

func (c *collapser) full() bool { return c.runes > PreviewRunes }

func (c *collapser) write(s string) {
	for _, r := range s {
		if c.full() {
			return
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '\uFEFF' || r == utf8.RuneError {
			c.space = c.runes > 0
			continue
		}
		if c.space {
			c.out = append(c.out, ' ')
			c.runes++
			c.space = false
		}
		c.out = utf8.AppendRune(c.out, r)
		c.runes++
	}
}

func (c *collapser) result() string {
	if !c.full() {
		return string(c.out)
	}
	// The ellipsis counts: a cut preview is PreviewRunes runes at most.
	cut, n := 0, 0
	for n < PreviewRunes-1 {
		_, size := utf8.DecodeRune(c.out[cut:])
		cut += size
		n++
	}
	return strings.TrimRight(string(c.out[:cut]), " ") + "…"
}

func isQuoted(trimmed string) bool { return strings.HasPrefix(trimmed, ">") }

// nextIsQuoted reports whether the next non-blank line of text is quoted.
// With partial, text's last line may be cut short: known is false when
// the answer depends on it (it is blank so far).
func nextIsQuoted(text string, partial bool) (quoted, known bool) {
	for {
		line, after, more := strings.Cut(text, "\n")
		if t := strings.TrimSpace(line); t != "" {
			return isQuoted(t), true
		}
		if !more {
			return false, !partial
		}
		text = after
	}
}
