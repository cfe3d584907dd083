package model

import (
	"fmt"
	"mime"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"mailroom/domain/mail"
	"mailroom/ports"
)

// BodyLines is what the reader shows of b, one entry per line: the text
// domain/mail's BodyText chooses, with a plain-text body's hard-wrapped
// lines joined back (Reflow). An HTML body's lines are its blocks, whole
// already, so they stay as they are.
func BodyLines(b ports.Body) []string {
	text, fromHTML := mail.BodyText(b.Text, b.HTML)
	if fromHTML {
		return strings.Split(text, "\n")
	}
	return Reflow(text)
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
