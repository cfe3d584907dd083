package mail

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// refPreview is Preview as it was before it streamed (the whole body
// decoded, split into lines, joined, then collapsed): FuzzPreviewSame holds
// the two to the same answer.
func refPreview(raw []byte) string {
	w := &textWalk{lim: previewLimits, firstText: true}
	w.message(raw)
	body, _ := bodyText(w.out.Plain, w.out.HTML, false)
	return refOneLine(body)
}

func refOneLine(text string) string {
	lines := strings.Split(text, "\n")
	var sb strings.Builder
	for i, line := range lines {
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "--" && strings.HasPrefix(line, "--") {
			break
		}
		if isQuoted(trimmed) {
			continue
		}
		if strings.HasSuffix(trimmed, "wrote:") && refNextIsQuoted(lines[i+1:]) {
			continue
		}
		sb.WriteString(line)
		sb.WriteByte(' ')
	}
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
		return strings.TrimRight(string(out[:PreviewRunes-1]), " ") + "…"
	}
	return string(out)
}

func refNextIsQuoted(lines []string) bool {
	for _, l := range lines {
		if t := strings.TrimSpace(l); t != "" {
			return isQuoted(t)
		}
	}
	return false
}

// sameSeeds are bodies whose preview depends on where the first bytes
// end: quotes, "wrote:" lines and signatures around the prefix's edge.
func sameSeeds() []string {
	filler := strings.Repeat("The quick brown fox jumps over the lazy dog.\r\n", 120)
	quote := strings.Repeat("> quoted text of the message before, again and again\r\n", 100)
	var seeds []string
	for _, cut := range []int{previewPrefix - 200, previewPrefix - 3, previewPrefix - 1, previewPrefix, previewPrefix + 2} {
		pad := strings.Repeat("a", cut%61) + "\r\n"
		seeds = append(seeds,
			"Subject: x\r\n\r\n"+quote[:cut]+"\r\nreply\r\n"+filler,
			"Subject: x\r\n\r\n"+strings.Repeat("\r\n", cut)+"On Monday, Bob wrote:\r\n\r\n> x\r\n"+filler,
			"Subject: x\r\n\r\n"+pad+strings.Repeat(" \r\n", cut/3)+"Bob wrote:\r\n"+strings.Repeat(" ", 200)+"\r\n> q\r\n"+filler,
			"Subject: x\r\n\r\n"+strings.Repeat("-", cut)+"\r\n--\r\nsig "+filler,
			"Content-Transfer-Encoding: quoted-printable\r\n\r\n"+strings.Repeat("=C3=A9=\r\n", cut/8)+"=C3=A9\r\n"+filler,
			"Content-Type: text/plain; charset=utf-8\r\n\r\n"+strings.Repeat("é", cut/2)+"\r\n"+filler,
		)
	}
	return seeds
}

func TestPreviewSameAsBefore(t *testing.T) {
	for i, s := range sameSeeds() {
		if got, want := Preview([]byte(s)), refPreview([]byte(s)); got != want {
			t.Errorf("seed %d: Preview = %q, before %q", i, got, want)
		}
	}
}

func FuzzPreviewSame(f *testing.F) {
	for _, s := range sameSeeds() {
		f.Add([]byte(s))
	}
	f.Add([]byte("Subject: x\r\n\r\nshort\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if got, want := Preview(raw), refPreview(raw); got != want {
			t.Errorf("Preview = %q, before %q", got, want)
		}
	})
}
