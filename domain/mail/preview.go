package mail

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on the work Preview does, whatever the message: it runs once per
// delivery, on bytes straight from the network.
const (
	// previewScanBytes is how much of a message is looked at to find the
	// text part: text after a megabyte of attachments gives no preview.
	previewScanBytes = 1 << 20
	// previewPartBytes is how much of the chosen part's encoded body is
	// read: 64 KiB of text is far more than PreviewRunes after removing
	// quotes, markup and whitespace.
	previewPartBytes = 64 << 10
	// previewDepth bounds multipart nesting; previewParts the number of
	// parts visited in all.
	previewDepth = 5
	previewParts = 100
)

// Preview gives the start of raw's text body on one line, for message
// lists: the first text/plain part (or, when there is none, the first
// text/html part without its markup), decoded, without quoted lines
// (">") and the signature ("-- "), whitespace collapsed, at most
// PreviewRunes runes ("…" ends a cut preview). It gives "" when the message
// has no text part or it cannot be decoded. Any input is safe: Preview never
// panics and its work is bounded.
func Preview(raw []byte) string {
	if len(raw) > previewScanBytes {
		raw = raw[:previewScanBytes]
	}
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	w := &previewWalk{}
	if text, ok := w.part(m.Header, m.Body, 0); ok {
		return oneLine(text)
	}
	if w.haveHTML {
		return oneLine(stripHTML(w.html))
	}
	return ""
}

// previewWalk searches a MIME tree depth first for the first text/plain
// part, remembering the first text/html part on the way as a fallback.
type previewWalk struct {
	parts    int
	html     string
	haveHTML bool
}

// header is a message's or a part's header (net/mail.Header,
// textproto.MIMEHeader).
type header interface{ Get(key string) string }

// part looks at one entity, and within it every part in turn. ok reports a
// text/plain part found, with its decoded text.
func (w *previewWalk) part(h header, body io.Reader, depth int) (text string, ok bool) {
	w.parts++
	if w.parts > previewParts {
		return "", false
	}
	mediatype, params := "text/plain", map[string]string{} // RFC 2045 §5.2 default
	if ct := h.Get("Content-Type"); ct != "" {
		mt, p, err := mime.ParseMediaType(ct)
		switch {
		case err == nil || (mt != "" && errors.Is(err, mime.ErrInvalidMediaParameter)):
			mediatype, params = mt, p
		default:
			return "", false // unreadable type: not something to show
		}
	}
	if d, _, _ := mime.ParseMediaType(h.Get("Content-Disposition")); d == "attachment" {
		return "", false // an attached .txt is not the message's text
	}
	switch {
	case mediatype == "text/plain":
		return decodeText(body, h.Get("Content-Transfer-Encoding"), params["charset"])
	case mediatype == "text/html":
		if !w.haveHTML {
			if s, ok := decodeText(body, h.Get("Content-Transfer-Encoding"), params["charset"]); ok {
				w.html, w.haveHTML = s, true
			}
		}
		return "", false
	case strings.HasPrefix(mediatype, "multipart/"):
		if depth >= previewDepth || params["boundary"] == "" {
			return "", false
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart, not NextPart: NextPart decodes quoted-printable
			// itself and hides the header, and decodeText does all of them.
			p, err := mr.NextRawPart()
			if err != nil {
				return "", false
			}
			if s, ok := w.part(p.Header, p, depth+1); ok {
				return s, true
			}
			if w.parts > previewParts {
				return "", false
			}
		}
	}
	return "", false
}

// decodeText reads at most previewPartBytes of body and undoes its transfer
// encoding and charset. ok is false when nothing could be decoded.
func decodeText(body io.Reader, cte, charset string) (string, bool) {
	b, err := io.ReadAll(io.LimitReader(body, previewPartBytes))
	if err != nil && len(b) == 0 {
		return "", false
	}
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		b = decodeBase64(b)
	case "quoted-printable":
		// A bad escape ends the decoding; what came before it stands.
		b, _ = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
	}
	if len(b) == 0 {
		return "", false
	}
	s := toUTF8(b, charset)
	return s, s != ""
}

// decodeBase64 ignores every character outside the base64 alphabet, as RFC
// 2045 §6.8 asks, and decodes up to the padding, so that a body cut at
// previewPartBytes still decodes.
func decodeBase64(b []byte) []byte {
	clean := make([]byte, 0, len(b))
scan:
	for _, c := range b {
		switch {
		case c == '=':
			break scan
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/':
			clean = append(clean, c)
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1] // six bits are not a byte
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, _ := base64.RawStdEncoding.Decode(out, clean) // cannot fail on this alphabet
	return out[:n]
}

// cp1252 maps windows-1252's 0x80–0x9F; 0 marks the five unassigned bytes.
var cp1252 = [32]rune{
	'€', 0, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0, 'Ž', 0,
	0, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0, 'ž', 'Ÿ',
}

// toUTF8 converts b from charset. Latin-1 and windows-1252 are converted by
// hand; every other charset (UTF-8 and US-ASCII included) keeps only the
// valid UTF-8 in b, which is right for UTF-8 and ASCII and spares a table
// per charset for the rest.
func toUTF8(b []byte, charset string) string {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "cp819", "ibm819":
		var sb strings.Builder
		sb.Grow(len(b))
		for _, c := range b {
			sb.WriteRune(rune(c))
		}
		return sb.String()
	case "windows-1252", "cp1252", "x-cp1252":
		var sb strings.Builder
		sb.Grow(len(b))
		for _, c := range b {
			switch {
			case c < 0x80 || c >= 0xA0:
				sb.WriteRune(rune(c))
			case cp1252[c-0x80] != 0:
				sb.WriteRune(cp1252[c-0x80])
			}
		}
		return sb.String()
	}
	return strings.ToValidUTF8(string(b), "")
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

// inlineTags are HTML elements that do not break a line: removing them
// joins their text to its neighbours ("<b>bo</b>ld" is "bold").
var inlineTags = map[string]bool{
	"a": true, "abbr": true, "b": true, "big": true, "cite": true, "code": true, "em": true,
	"font": true, "i": true, "kbd": true, "mark": true, "q": true, "s": true, "small": true,
	"span": true, "strike": true, "strong": true, "sub": true, "sup": true, "tt": true, "u": true,
	"wbr": true,
}

// skipTags are HTML elements whose content is not text to preview.
// blockquote is HTML's quoted reply.
var skipTags = map[string]bool{
	"head": true, "title": true, "script": true, "style": true, "blockquote": true, "template": true,
}

// stripHTML gives the text of an HTML document with one line per block,
// entities decoded. It is a tag scanner, not an HTML parser: good enough
// for a preview line, and linear in its input.
func stripHTML(s string) string {
	var sb strings.Builder
	skip := "" // the element whose content is being skipped
	depth := 0 // nesting of skip inside itself (blockquote in blockquote)
	for len(s) > 0 {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			if skip == "" {
				sb.WriteString(html.UnescapeString(s))
			}
			break
		}
		if skip == "" {
			sb.WriteString(html.UnescapeString(s[:lt]))
		}
		s = s[lt:]
		if strings.HasPrefix(s, "<!--") {
			end := strings.Index(s[4:], "-->")
			if end < 0 {
				break
			}
			s = s[4+end+3:]
			continue
		}
		gt := strings.IndexByte(s, '>')
		if gt < 0 {
			break
		}
		name, closing := tagName(s[1:gt])
		s = s[gt+1:]
		switch {
		case skip != "":
			if name == skip {
				if closing {
					depth--
				} else {
					depth++
				}
				if depth == 0 {
					skip = ""
				}
			}
			continue
		case skipTags[name] && !closing:
			skip, depth = name, 1
			continue
		}
		if !inlineTags[name] {
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

// tagName gives the lower-cased element name of a tag's inside ("/P class=x"
// is "p", closing).
func tagName(inside string) (name string, closing bool) {
	if strings.HasPrefix(inside, "/") {
		closing, inside = true, inside[1:]
	}
	end := strings.IndexFunc(inside, func(r rune) bool { return r == ' ' || r == '/' || r == '\t' || r == '\n' || r == '\r' })
	if end >= 0 {
		inside = inside[:end]
	}
	return strings.ToLower(inside), closing
}
