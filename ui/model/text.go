package model

import (
	"fmt"
	"html"
	"mime"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"mailroom/ports"
)

// BodyText is what the reader shows: the text part, or else the HTML part
// stripped to text.
func BodyText(b ports.Body) string {
	if strings.TrimSpace(b.Text) != "" {
		return strings.ReplaceAll(b.Text, "\r\n", "\n")
	}
	if b.HTML != "" {
		return HTMLToText(b.HTML)
	}
	return ""
}

// Preview is one line of a body for the message list: whitespace collapsed,
// quoted lines skipped, at most max runes.
func Preview(b ports.Body, max int) string {
	var words []string
	n := 0
	for _, line := range strings.Split(BodyText(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), ">") {
			continue
		}
		for _, w := range strings.Fields(line) {
			words = append(words, w)
			n += utf8.RuneCountInString(w) + 1
			if n > max {
				break
			}
		}
		if n > max {
			break
		}
	}
	s := strings.Join(words, " ")
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = strings.TrimRightFunc(string(r[:max-1]), unicode.IsSpace) + "…"
	}
	return s
}

// blockTags end a line when they open; the true ones when they close too.
var blockTags = map[string]bool{
	"br": false, "li": false, "tr": false, "hr": false,
	"p": true, "div": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true,
	"h6": true, "blockquote": true, "pre": true, "table": true, "ul": true, "ol": true,
}

// HTMLToText strips an HTML body to readable text: tags go, block elements
// become line breaks, script and style contents are dropped, entities are
// decoded and runs of blank lines shrink to one.
func HTMLToText(s string) string {
	var b strings.Builder
	skip := "" // the element whose content is being dropped
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			if skip == "" {
				b.WriteString(s)
			}
			break
		}
		if skip == "" {
			b.WriteString(s[:i])
		}
		s = s[i:]
		if strings.HasPrefix(s, "<!--") {
			j := strings.Index(s, "-->")
			if j < 0 {
				break
			}
			s = s[j+3:]
			continue
		}
		j := strings.IndexByte(s, '>')
		if j < 0 {
			break
		}
		tag := s[1:j]
		s = s[j+1:]
		closing := strings.HasPrefix(tag, "/")
		name := strings.ToLower(strings.TrimLeft(tag, "/"))
		if k := strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == '/' }); k >= 0 {
			name = name[:k]
		}
		switch {
		case skip != "":
			if closing && name == skip {
				skip = ""
			}
		case !closing && (name == "script" || name == "style" || name == "head" || name == "title"):
			skip = name
		default:
			if onClose, ok := blockTags[name]; ok && (!closing || onClose) {
				b.WriteString("\n")
			}
		}
	}
	text := html.UnescapeString(b.String())
	var out []string
	blank := true
	for _, l := range strings.Split(text, "\n") {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" {
			if !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		out = append(out, l)
		blank = false
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// HumanSize formats a byte count: "512 B", "2.3 KB", "4.0 MB".
func HumanSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KB", float64(n)/1024)
	case n < 1024*1024*1024:
		return fmt.Sprintf("%.1f MB", float64(n)/(1024*1024))
	}
	return fmt.Sprintf("%.1f GB", float64(n)/(1024*1024*1024))
}

// NormalizeFingerprint lower-cases a hex fingerprint and drops colons and spaces.
func NormalizeFingerprint(fp string) string {
	return strings.Map(func(r rune) rune {
		if r == ':' || unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, fp)
}

// FormatFingerprint shows a fingerprint as upper-case byte pairs joined by
// colons, 8 bytes to a line, the way people compare them by eye.
func FormatFingerprint(fp string) string {
	h := strings.ToUpper(NormalizeFingerprint(fp))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			if i%16 == 0 {
				b.WriteString("\n")
			} else {
				b.WriteString(":")
			}
		}
		b.WriteString(h[i:min(i+2, len(h))])
	}
	return b.String()
}

// MaxFileNameBytes bounds SafeFileName's result. File systems take 255
// bytes (NAME_MAX on Linux and Android); the rest leaves room for the
// " (2)" a saver adds when the name is taken.
const MaxFileNameBytes = 200

// maxExtBytes is the longest extension (dot included) kept whole when a
// name is cut; a longer one is cut with the rest.
const maxExtBytes = 16

// SafeFileName makes an attachment name safe to save and to show: no
// directories, no control or format characters (U+202E would show
// "\u202etxt.exe" as "exe.txt"), at most MaxFileNameBytes, never empty or
// hidden.
func SafeFileName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = filepath.Base("/" + name)
	if name == "/" || name == "." || name == ".." {
		return "attachment"
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '/' || r == ':' {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	if len(name) > MaxFileNameBytes {
		ext := filepath.Ext(name)
		if len(ext) > maxExtBytes {
			ext = ""
		}
		stem := name[:len(name)-len(ext)]
		n := MaxFileNameBytes - len(ext)
		for n > 0 && !utf8.RuneStart(stem[n]) {
			n--
		}
		name = strings.TrimRightFunc(stem[:n], unicode.IsSpace) + ext
	}
	if name == "" {
		return "attachment"
	}
	return name
}

// Initial is the avatar letter for an address.
func Initial(addr string) string {
	for _, r := range addr {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return strings.ToUpper(string(r))
		}
	}
	return "?"
}

// Reflow turns a plain-text body into the lines the reader shows. Lines a
// sender's client hard-wrapped at 72 or so columns are joined back into
// paragraphs, so that narrow screens do not break them a second time.
// Blank lines, quoted lines ("> ") and list items keep their own lines.
func Reflow(text string) []string {
	var out []string
	joinable := false // the last line out may take the next one
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		t := strings.TrimRight(l, " \t")
		switch {
		case t == "":
			out = append(out, "")
			joinable = false
			continue
		case joinable && !strings.HasPrefix(t, ">") && !listItem(t):
			out[len(out)-1] += " " + strings.TrimLeft(t, " ")
		default:
			out = append(out, t)
		}
		// A long line (or a format=flowed soft break, which ends in a
		// space) continues on the next one.
		joinable = !strings.HasPrefix(t, ">") && (utf8.RuneCountInString(t) >= 50 || strings.HasSuffix(l, " "))
	}
	return out
}

// listItem reports whether a line starts a list item: "- ", "* ", "1. ".
func listItem(l string) bool {
	l = strings.TrimLeft(l, " ")
	if strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "* ") || strings.HasPrefix(l, "• ") {
		return true
	}
	i := 0
	for i < len(l) && l[i] >= '0' && l[i] <= '9' {
		i++
	}
	return i > 0 && i < len(l) && (l[i] == '.' || l[i] == ')')
}

// ContentType is the MIME type for a file name from its extension, or
// application/octet-stream.
func ContentType(name string) string {
	if t := mime.TypeByExtension(strings.ToLower(filepath.Ext(name))); t != "" {
		return t
	}
	return "application/octet-stream"
}
