package model

import "strings"

// ParseRecipients splits a To field on commas and semicolons. It trims
// spaces and angle brackets, accepts "Name <addr>", drops empty items and
// repeats (case-insensitively), and keeps the order typed.
func ParseRecipients(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		f = strings.TrimSpace(f)
		if i := strings.LastIndexByte(f, '<'); i >= 0 {
			if j := strings.IndexByte(f[i:], '>'); j > 0 {
				f = f[i+1 : i+j]
			}
		}
		f = strings.TrimSpace(strings.Trim(f, "<>"))
		if f == "" {
			continue
		}
		k := strings.ToLower(f)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, f)
	}
	return out
}

// ReplySubject prefixes "Re: " unless the subject already has a reply
// prefix (any case, with or without a space, "Re[2]:" too).
func ReplySubject(s string) string {
	t := strings.TrimSpace(s)
	if len(t) >= 3 && strings.EqualFold(t[:2], "re") {
		rest := t[2:]
		if strings.HasPrefix(rest, "[") {
			if i := strings.IndexByte(rest, ']'); i > 0 {
				rest = rest[i+1:]
			}
		}
		if strings.HasPrefix(rest, ":") {
			return t
		}
	}
	if t == "" {
		return "Re:"
	}
	return "Re: " + t
}

// QuoteBody quotes text for a reply, under an attribution line.
func QuoteBody(attribution, text string) string {
	var b strings.Builder
	b.WriteString("\n\n")
	b.WriteString(attribution)
	b.WriteString("\n")
	for _, l := range strings.Split(strings.TrimRight(text, "\r\n"), "\n") {
		l = strings.TrimRight(l, "\r")
		if l == "" || strings.HasPrefix(l, ">") {
			b.WriteString(">" + l + "\n")
		} else {
			b.WriteString("> " + l + "\n")
		}
	}
	return b.String()
}
