package mail

import (
	"encoding/base64"
	"fmt"
	"mime/quotedprintable"
	"strings"
	"testing"
)

// ingestProse is ordinary letter text: mixed case, punctuation, numbers,
// a few accented names, as a body the index and preview read.
var ingestProse = []string{
	"Hi Anna,", "Thanks for the notes from Tuesday's meeting with the Zürich team.",
	"I went through the Q3 figures again: revenue is up 12.5% on last year, but costs rose faster than we planned.",
	"Could you check whether the invoice #4471 from Müller & Söhne GmbH was paid before the 30th?",
	"The shipment to Lyon left on 14 October; tracking says it should arrive by Friday.",
	"We still need a decision on the new office lease — the landlord wants an answer this week.",
	"Please also send me the draft agenda for the workshop, so I can book rooms for 25 people.",
	"Best regards, and say hello to François and the others.",
}

// ingestMessages gives two 10 KB messages as a mail program sends them:
// alt is multipart/mixed with a multipart/alternative (quoted-printable
// text/plain and text/html) and a small base64 PDF attachment; plain is a
// text/plain letter.
func ingestMessages() (alt, plain string) {
	head := "From: Bob Example <bob@example.com>\r\nTo: Anna Smith <anna@example.org>, \"Ops, Team\" <ops@example.org>\r\n" +
		"Cc: carol@example.net\r\nSubject: =?UTF-8?Q?Re:_Q3_figures_and_the_Z=C3=BCrich_meeting?=\r\n" +
		"Date: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <20261201100000.4471@example.com>\r\nMIME-Version: 1.0\r\n"
	var text, html strings.Builder
	for i := 0; text.Len() < 3200; i++ {
		s := ingestProse[i%len(ingestProse)]
		text.WriteString(s + "\r\n")
		html.WriteString("<p style=\"margin:0 0 8px 0\">" + strings.ReplaceAll(s, "&", "&amp;") + "</p>\r\n")
		if i%4 == 3 {
			text.WriteString("\r\n")
		}
	}
	qp := func(s string) string {
		var b strings.Builder
		w := quotedprintable.NewWriter(&b)
		fmt.Fprint(w, s)
		w.Close()
		return b.String()
	}
	pdf := make([]byte, 1500)
	for i := range pdf {
		pdf[i] = byte(i * 7)
	}
	b64 := base64.StdEncoding.EncodeToString(pdf)
	var att strings.Builder
	for len(b64) > 76 {
		att.WriteString(b64[:76] + "\r\n")
		b64 = b64[76:]
	}
	att.WriteString(b64 + "\r\n")
	alt = head + "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n" +
		"--outer\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n" +
		"--inner\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		qp(text.String()) + "\r\n" +
		"--inner\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		qp("<html><body style=\"font-family:sans-serif\">\r\n"+html.String()+"</body></html>") + "\r\n--inner--\r\n" +
		"--outer\r\nContent-Type: application/pdf; name=\"figures-q3.pdf\"\r\n" +
		"Content-Disposition: attachment; filename=\"figures-q3.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		att.String() + "--outer--\r\n"
	var body strings.Builder
	for i := 0; body.Len() < 10<<10-len(head)-200; i++ {
		body.WriteString(ingestProse[i%len(ingestProse)] + "\r\n")
	}
	plain = head + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body.String()
	return alt, plain
}

// BenchmarkIngest is the parsing one delivery does, whatever its
// recipients (load1KB is app/mailroom-load's 1 KB message): separate is ParseHeader, Preview and NewSearchDoc each
// reading the message (as before ParseMessage), oneWalk is ParseMessage.
func BenchmarkIngest(b *testing.B) {
	alt, plain := ingestMessages()
	msgs := []struct{ name, raw string }{{"plain10KB", plain}, {"alt10KB", alt}, {"load1KB", string(loadMessage(1 << 10))}}
	for _, msg := range msgs {
		raw := []byte(msg.raw)
		b.Run(msg.name+"/separate", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				ParseHeader(raw)
				Preview(raw)
				NewSearchDoc(raw, "bob@example.com")
			}
		})
		b.Run(msg.name+"/oneWalk", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				p := ParseMessage(raw)
				p.SearchDoc("bob@example.com")
			}
		})
	}
}

// BenchmarkSearchWords is the index's tokeniser on a 10 KB body.
func BenchmarkSearchWords(b *testing.B) {
	_, plain := ingestMessages()
	b.ReportAllocs()
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		joinWords(plain)
	}
}
