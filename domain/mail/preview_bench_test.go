package mail

import (
	"strings"
	"testing"
)

// loadMessage is what app/mailroom-load sends: a few headers and 10 KB of
// 72-column plain text.
func loadMessage(size int) []byte {
	var b strings.Builder
	b.WriteString("From: load <load@localhost>\r\nTo: load <load@localhost>\r\nSubject: mailroom-load\r\n" +
		"Message-ID: <mailroom-load@localhost>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
	const line = "The quick brown fox jumps over the lazy dog; mailroom-load filler text.\r\n"
	for b.Len()+len(line) <= size {
		b.WriteString(line)
	}
	return []byte(b.String())
}

func BenchmarkPreview(b *testing.B) {
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"plain10KB", loadMessage(10 << 10)},
		{"plain1KB", loadMessage(1 << 10)},
		{"qp10KB", []byte("Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
			strings.Repeat("Gr=C3=BC=C3=9Fe aus K=C3=B6ln, a line of quoted-printable text here.=\r\n\r\n", 140))},
		{"html10KB", []byte("Subject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>" +
			strings.Repeat("<p>Some <b>html</b> text in a paragraph, with a <a href=\"https://example.com/\">link</a>.</p>\r\n", 110) + "</body></html>")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.raw)))
			for b.Loop() {
				Preview(tc.raw)
			}
		})
	}
}

// BenchmarkParseHeader is the other read of a delivered message's header.
func BenchmarkParseHeader(b *testing.B) {
	raw := loadMessage(10 << 10)
	b.ReportAllocs()
	for b.Loop() {
		ParseHeader(raw)
	}
}
