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
	w := &textWalk{lim: previewLimits, firstText: true}
	w.message(raw)
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
	// Link targets are left out: a list line has no room for URLs.
	body, _ := bodyText(text, html, false)
	return oneLine(body)
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
// signature, then collapses whitespace and cuts at PreviewRunes runes.
func oneLine(text string) string {
	lines := strings.Split(text, "\n")
	var sb strings.Builder
	for i, line := range lines {
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "--" && strings.HasPrefix(line, "--") {
			break // "-- " (RFC 3676 §4.3), often sent without its space
		}
		if isQuoted(trimmed) {
			continue
		}
		if strings.HasSuffix(trimmed, "wrote:") && nextIsQuoted(lines[i+1:]) {
			continue
		}
		sb.WriteString(line)
		sb.WriteByte(' ')
	}
	// Collapse every run of whitespace and control characters to one
	// space, stopping one rune past PreviewRunes: enough to know to cut.
	out := make([]rune, 0, PreviewRunes+1)
	space := false
	for _, r := range sb.String() {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '\uFEFF' || r == utf8.RuneError {
			space = len(out) > 0
			continue
		}
		if space {
			out = append(out, ' ')
			space = false
		}
		out = append(out, r)
		if len(out) > PreviewRunes {
			break
		}
	}
	if len(out) > PreviewRunes {
		// The ellipsis counts: a cut preview is PreviewRunes runes at most.
		return strings.TrimRight(string(out[:PreviewRunes-1]), " ") + "…"
	}
	return string(out)
}

func isQuoted(trimmed string) bool { return strings.HasPrefix(trimmed, ">") }

// nextIsQuoted reports whether the next non-blank line is quoted.
func nextIsQuoted(lines []string) bool {
	for _, l := range lines {
		if t := strings.TrimSpace(l); t != "" {
			return isQuoted(t)
		}
	}
	return false
}
