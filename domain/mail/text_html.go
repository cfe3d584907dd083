package mail

import (
	"html"
	"strconv"
	"strings"
)

// Bounds on what nesting HTMLToText shows. Deeper nesting is read but not
// indented further: without a cap, 10,000 nested lists would put 20,000
// spaces before every line and the output would grow with the square of the
// input.
const (
	maxListIndent = 8
	maxQuoteDepth = 8
)

// HTMLToText turns an HTML body into the text a reader shows: one line per
// block and a blank line between paragraphs; list items as "• item" (or
// "1. item" in an <ol>), indented two spaces per nested list; table cells
// apart with " | " and one row per line; a link as "text (target)" unless
// its text is the target; <blockquote> as "> " lines; <pre> as it is.
// <head>, <script>, <style>, <template> and elements styled display:none
// are dropped, entities are decoded and runs of whitespace collapse to one
// space. It is a tag scanner, not an HTML parser: lenient with broken
// markup, linear in its input, and it never panics.
func HTMLToText(s string) string { return htmlToText(s, true) }

// htmlToText is HTMLToText, without link targets when links is false.
func htmlToText(s string, links bool) string {
	c := htmlConv{w: newTextWriter(), links: links}
	c.run(s)
	return c.w.finish()
}

// htmlConv holds the state of one HTMLToText run.
type htmlConv struct {
	w      textWriter
	lists  []listLevel // open <ul>/<ol>, innermost last
	tables []bool      // per open <table>: its current row has text
	pre    int         // open <pre> elements
	href   string      // the target of the open <a>, if any
	links  bool        // show link targets
}

type listLevel struct {
	ordered bool
	next    int // the number of the next <li> in an <ol>
}

func (c *htmlConv) run(s string) {
	for len(s) > 0 {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			c.text(s)
			return
		}
		c.text(s[:lt])
		s = s[lt:]
		t, rest, ok := scanTag(s)
		if !ok {
			// An unfinished tag or comment at the end is dropped, as a
			// browser does.
			return
		}
		if t.name == "" {
			if rest == s { // "<" that starts no tag is text ("a < b")
				c.text("<")
				rest = s[1:]
			}
			s = rest
			continue
		}
		s = rest
		if !t.closing {
			if end, ok := dropped(t); ok {
				s = skipElement(s, t.name, end)
				continue
			}
		}
		c.tag(t)
	}
}

// text writes a run of character data.
func (c *htmlConv) text(s string) {
	if s == "" {
		return
	}
	s = html.UnescapeString(s)
	n := c.w.b.Len()
	if c.pre > 0 {
		c.w.verbatim(s)
	} else {
		c.w.words(s)
	}
	if len(c.tables) > 0 && c.w.b.Len() > n {
		c.tables[len(c.tables)-1] = true
	}
}

// tag applies the effect of one start or end tag on the output.
func (c *htmlConv) tag(t tag) {
	switch t.name {
	case "br":
		c.w.lineBreak()
	case "p", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "pre", "dl", "figure", "address", "fieldset":
		c.w.breakLines(2)
		if t.name == "pre" {
			c.pre = max(0, c.pre+step(t.closing))
			c.w.preStart = !t.closing
		}
	case "blockquote":
		c.w.breakLines(2)
		c.w.quote = max(0, c.w.quote+step(t.closing))
	case "ul", "ol":
		c.list(t)
	case "li":
		c.item(t)
	case "table":
		c.w.breakLines(1)
		if t.closing {
			if len(c.tables) > 0 {
				c.tables = c.tables[:len(c.tables)-1]
			}
		} else {
			c.tables = append(c.tables, false)
		}
	case "tr":
		c.w.breakLines(1)
		if len(c.tables) > 0 {
			c.tables[len(c.tables)-1] = false
		}
	case "td", "th":
		// A cell after one with text is set apart; the separator is
		// written only if text follows on the same line, so empty
		// layout cells and cells that hold blocks add nothing.
		if !t.closing && len(c.tables) > 0 && c.tables[len(c.tables)-1] {
			c.w.separate(" | ")
		}
	case "a":
		if c.links {
			c.anchor(t)
		}
	case "div", "section", "article", "header", "footer", "nav", "main", "aside", "center",
		"dt", "dd", "form", "details", "summary", "caption", "thead", "tbody", "tfoot", "figcaption":
		c.w.breakLines(1)
	}
}

func step(closing bool) int {
	if closing {
		return -1
	}
	return 1
}

func (c *htmlConv) list(t tag) {
	c.w.breakLines(1)
	if t.closing {
		if len(c.lists) > 0 {
			c.lists = c.lists[:len(c.lists)-1]
		}
	} else {
		n := 1
		if v, err := strconv.Atoi(strings.TrimSpace(t.attr("start"))); err == nil && v >= 0 && v < 1e9 {
			n = v
		}
		c.lists = append(c.lists, listLevel{ordered: t.name == "ol", next: n})
	}
	if len(c.lists) == 0 || (len(c.lists) == 1 && !t.closing) {
		c.w.breakLines(2) // a top-level list is a paragraph
	}
	c.w.indent = strings.Repeat("  ", min(len(c.lists), maxListIndent))
}

func (c *htmlConv) item(t tag) {
	c.w.breakLines(1)
	if t.closing {
		return
	}
	marker := "• "
	depth := 1
	if n := len(c.lists); n > 0 {
		depth = n
		if l := &c.lists[n-1]; l.ordered {
			marker = strconv.Itoa(l.next) + ". "
			l.next++
		}
	}
	c.w.marker = strings.Repeat("  ", min(depth, maxListIndent)-1) + marker
}

// anchor shows a link's target after its text when the text does not
// already say it.
func (c *htmlConv) anchor(t tag) {
	if c.href != "" {
		// </a>, or an <a> that implicitly closes the one open.
		href, text := c.href, c.w.endLink()
		c.href = ""
		// A link without text (an image) is left out: a bare tracking
		// URL tells a reader nothing.
		if text != "" && !sameTarget(text, href) {
			// The space after the link's text stays pending for
			// the text after the target.
			space := c.w.space
			c.w.words(" (" + strings.TrimPrefix(href, "mailto:") + ")")
			c.w.space = space
		}
	}
	if t.closing {
		return
	}
	if c.href = cleanHref(t.attr("href")); c.href != "" {
		c.w.startLink()
	}
}

// cleanHref gives an absolute link worth showing, or "". Anchors inside the
// message, relative links (no base in a mail) and script or data URLs are
// not.
func cleanHref(href string) string {
	href = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return -1 // a URL parser drops them too
		}
		return r
	}, strings.TrimSpace(href))
	scheme, _, ok := strings.Cut(href, ":")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "http", "https", "mailto", "tel", "ftp":
		return href
	}
	return ""
}

// sameTarget reports whether a link's text already shows its target,
// ignoring the scheme, "www." and a trailing slash.
func sameTarget(text, href string) bool {
	norm := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		for _, p := range []string{"mailto:", "tel:", "https://", "http://", "ftp://", "www."} {
			s = strings.TrimPrefix(s, p)
		}
		return strings.TrimSuffix(s, "/")
	}
	return norm(text) == norm(href)
}

// dropped reports whether an element's content is not text to show, and if
// so how to find its end: raw text elements end at their end tag whatever
// lies between (end true); the others count nested tags of their name.
func dropped(t tag) (rawText bool, ok bool) {
	switch t.name {
	case "script", "style", "title", "textarea", "xmp":
		return true, true
	case "head", "template", "noembed", "object", "svg":
		return false, true
	}
	if t.selfClosing || voidElements[t.name] {
		return false, false
	}
	style := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, strings.ToLower(t.attr("style")))
	return false, strings.Contains(style, "display:none")
}

// voidElements have no end tag, so they cannot hold hidden content.
var voidElements = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
	"input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true,
}

// skipElement gives s after the end of an element named name whose start
// tag was just read. A raw text element ends at the first "</name"; any
// other at the end tag matching its start, counting nested elements of the
// same name. <body> ends a <head> whose end tag is missing. An element
// that never ends takes the rest of s with it.
func skipElement(s, name string, rawText bool) string {
	depth := 1
	for {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			return ""
		}
		s = s[lt:]
		if rawText {
			if len(s) >= 2+len(name) && s[1] == '/' && strings.EqualFold(s[2:2+len(name)], name) {
				if _, rest, ok := scanTag(s); ok {
					return rest
				}
				return ""
			}
			s = s[1:]
			continue
		}
		t, rest, ok := scanTag(s)
		if !ok {
			return ""
		}
		if rest == s {
			rest = s[1:]
		}
		s = rest
		switch {
		case name == "head" && t.name == "body" && !t.closing:
			return s
		case t.name != name || t.selfClosing:
		case t.closing:
			depth--
		default:
			depth++
		}
		if depth == 0 {
			return s
		}
	}
}
