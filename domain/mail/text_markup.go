package mail

import (
	"html"
	"strings"
)

// tag is one start or end tag, with the few attributes HTMLToText uses.
type tag struct {
	name                 string // lower case; "" for a comment or declaration
	closing, selfClosing bool
	href, style, start   string // entity-decoded attribute values
}

func (t tag) attr(name string) string {
	switch name {
	case "href":
		return t.href
	case "style":
		return t.style
	case "start":
		return t.start
	}
	return ""
}

// scanTag reads the markup at the start of s (s[0] is '<'): a tag, a
// comment, or a declaration such as <!DOCTYPE>. It gives rest, what follows
// it; ok is false when it does not end before s does. A "<" that starts no
// markup gives an empty tag with rest == s.
func scanTag(s string) (t tag, rest string, ok bool) {
	switch {
	case strings.HasPrefix(s, "<!--"):
		end := strings.Index(s[4:], "-->")
		if end < 0 {
			return tag{}, "", false
		}
		return tag{}, s[4+end+3:], true
	case len(s) < 2:
		return tag{}, s, true
	case s[1] == '!' || s[1] == '?' || (s[1] == '/' && !(len(s) > 2 && isLetter(s[2]))):
		// A declaration, processing instruction or bogus end tag: skipped
		// to its '>', as HTML's tokenizer does.
		end := strings.IndexByte(s, '>')
		if end < 0 {
			return tag{}, "", false
		}
		return tag{}, s[end+1:], true
	case s[1] == '/':
		t.closing = true
		s = s[2:]
	case isLetter(s[1]):
		s = s[1:]
	default:
		return tag{}, s, true
	}
	n := 0
	for n < len(s) && !isSpace(s[n]) && s[n] != '/' && s[n] != '>' {
		n++
	}
	t.name, s = strings.ToLower(s[:n]), s[n:]
	return scanAttrs(t, s)
}

// scanAttrs reads a tag's attributes up to and including its '>'. A quoted
// value may hold '>'.
func scanAttrs(t tag, s string) (tag, string, bool) {
	for {
		for len(s) > 0 && (isSpace(s[0]) || s[0] == '/') {
			t.selfClosing = s[0] == '/'
			s = s[1:]
		}
		if len(s) == 0 {
			return tag{}, "", false
		}
		if s[0] == '>' {
			return t, s[1:], true
		}
		t.selfClosing = false
		n := 1 // an attribute name may start with '='
		for n < len(s) && !isSpace(s[n]) && s[n] != '/' && s[n] != '>' && s[n] != '=' {
			n++
		}
		name := strings.ToLower(s[:n])
		s = strings.TrimLeft(s[n:], " \t\n\r\f")
		if !strings.HasPrefix(s, "=") {
			continue
		}
		s = strings.TrimLeft(s[1:], " \t\n\r\f")
		var value string
		if len(s) > 0 && (s[0] == '"' || s[0] == '\'') {
			end := strings.IndexByte(s[1:], s[0])
			if end < 0 {
				return tag{}, "", false
			}
			value, s = s[1:1+end], s[1+end+1:]
		} else {
			n = 0
			for n < len(s) && !isSpace(s[n]) && s[n] != '>' {
				n++
			}
			value, s = s[:n], s[n:]
		}
		switch name {
		case "href":
			t.href = html.UnescapeString(value)
		case "style":
			t.style = html.UnescapeString(value)
		case "start":
			t.start = value
		}
	}
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// isSpace reports HTML's ASCII whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// textWriter builds HTMLToText's output. Breaks, spaces and separators are
// kept pending and written only when text follows, so that empty elements
// add nothing and the text never starts or ends with blank lines.
type textWriter struct {
	b         strings.Builder
	breaks    int    // pending line breaks (2: a blank line)
	space     bool   // a space is pending
	sep       string // a pending table cell separator
	lineStart bool   // nothing is written on the current line yet
	quote     int    // open <blockquote> elements
	indent    string // the list indentation of a line
	marker    string // a list item's marker, for its first line
	preStart  bool   // a <pre> has just opened
	inLink    bool
	linkStart int // where the open link's text starts; -1 before any
}

func newTextWriter() textWriter { return textWriter{lineStart: true, linkStart: -1} }

// breakLines asks for n line breaks (at most 2) before the next text.
func (w *textWriter) breakLines(n int) { w.breaks = max(w.breaks, n) }

// lineBreak is <br>: every one counts, up to one blank line.
func (w *textWriter) lineBreak() { w.breaks = min(w.breaks+1, 2) }

// separate asks for sep before the next text if it is on the same line.
func (w *textWriter) separate(sep string) { w.sep = sep }

// open writes what is pending before a run of text.
func (w *textWriter) open() {
	if w.b.Len() == 0 {
		w.breaks = 0
	}
	if w.breaks > 0 {
		w.b.WriteString("\n\n"[:w.breaks])
		w.breaks, w.lineStart = 0, true
	}
	switch {
	case w.lineStart:
		if w.quote > 0 {
			w.b.WriteString(strings.Repeat(">", min(w.quote, maxQuoteDepth)))
			w.b.WriteByte(' ')
		}
		if w.marker != "" {
			w.b.WriteString(w.marker)
		} else {
			w.b.WriteString(w.indent)
		}
		w.marker, w.lineStart = "", false
	case w.sep != "":
		w.b.WriteString(w.sep)
	case w.space:
		w.b.WriteByte(' ')
	}
	w.sep, w.space, w.preStart = "", false, false
	if w.inLink && w.linkStart < 0 {
		w.linkStart = w.b.Len()
	}
}

// words writes character data outside <pre>: each run of whitespace is
// one space. A no-break space counts as one too: mail uses it to pad.
func (w *textWriter) words(s string) {
	s = strings.ReplaceAll(s, "\u00a0", " ")
	start := -1
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			w.open()
			w.b.WriteString(s[start:i])
			start = -1
		}
		w.space = true
	}
	if start >= 0 {
		w.open()
		w.b.WriteString(s[start:])
	}
}

// verbatim writes character data inside <pre>, keeping its spaces and
// line breaks.
func (w *textWriter) verbatim(s string) {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	for i, line := range strings.Split(s, "\n") {
		switch {
		case i == 0:
		case w.preStart:
			w.preStart = false // HTML drops a newline right after <pre>
		default:
			w.lineBreak()
		}
		if line != "" {
			w.open()
			w.b.WriteString(line)
		}
	}
}

func (w *textWriter) startLink() { w.inLink, w.linkStart = true, -1 }

// endLink gives the text written since startLink, whitespace collapsed.
func (w *textWriter) endLink() string {
	start := w.linkStart
	w.inLink, w.linkStart = false, -1
	if start < 0 {
		return ""
	}
	return strings.Join(strings.Fields(w.b.String()[start:]), " ")
}

// finish gives the text with trailing spaces cut from every line.
func (w *textWriter) finish() string {
	s := w.b.String()
	if !strings.Contains(s, " \n") && !strings.Contains(s, "\t\n") && !strings.HasSuffix(s, " ") && !strings.HasSuffix(s, "\t") {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.Join(lines, "\n")
}
