package mail_test

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"mailroom/domain/mail"
)

const richMsg = `From: =?UTF-8?Q?Ren=C3=A9e?= <renee@example.test>
To: bob@example.test, "Carol, C." <carol@example.test>
Cc: =?ISO-8859-1?Q?J=FCrgen?= <j@example.test>
Subject: =?UTF-8?B?R3LDvMOfZQ==?= and more
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

See the attached r=C3=A9sum=C3=A9.
--inner
Content-Type: text/html; charset=windows-1252
Content-Transfer-Encoding: base64

PHA+U2VlIHRoZSBhdHRhY2hlZCCTculzdW3plC48L3A+
--inner--
--outer
Content-Type: application/pdf; name="ignored.pdf"
Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--outer
Content-Type: image/png; name="=?UTF-8?Q?=E5=86=99=E7=9C=9F.png?="
Content-Disposition: inline
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--outer
Content-Type: text/plain
Content-Disposition: attachment; filename="notes.txt"

attached notes
--outer
Content-Type: text/plain

a list footer
--outer--
`

func TestExtractText(t *testing.T) {
	got := mail.ExtractText([]byte(crlf(richMsg)), mail.TextLimits{})
	want := mail.Text{
		Subject: "Grüße and more",
		From:    []mail.Person{{Name: "Renée", Addr: "renee@example.test"}},
		To: []mail.Person{
			{Addr: "bob@example.test"},
			{Name: "Carol, C.", Addr: "carol@example.test"},
			{Name: "Jürgen", Addr: "j@example.test"},
		},
		Plain: "See the attached résumé.",
		HTML:  "<p>See the attached “résumé”.</p>",
		Files: []mail.File{
			{Name: "résumé.pdf", Type: "application/pdf"},
			{Name: "写真.png", Type: "image/png"},
			{Name: "notes.txt", Type: "text/plain"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ExtractText =\n%+v\nwant\n%+v", got, want)
	}
	if b := got.Body(); b != "See the attached résumé." {
		t.Errorf("Body = %q", b)
	}
}

func TestExtractTextEdges(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      mail.Text
	}{
		{"empty", "", mail.Text{}},
		{"not a message", "no header block", mail.Text{}},
		{"no content type is plain text", crlf("Subject: x\n\n<p>not html: no type</p>\n"), mail.Text{Subject: "x", Plain: "<p>not html: no type</p>\r\n"}},
		{"broken address kept as words", crlf("From: Bob <bob@, alice@example.test\nTo: <<<\n\n"),
			mail.Text{From: []mail.Person{{Name: "Bob <bob@"}, {Addr: "alice@example.test"}}, To: []mail.Person{{Name: "<<<"}}}},
		{"bad encoded subject kept", crlf("Subject: =?x-unknown?Q?caf=E9?= ok\n\n"), mail.Text{Subject: "caf ok"}},
		{"unnamed attachment", crlf("Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: application/zip\n\nPK\n--x--\n"),
			mail.Text{Files: []mail.File{{Type: "application/zip"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mail.ExtractText([]byte(tc.raw), mail.TextLimits{}); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ExtractText(%q) =\n%+v\nwant\n%+v", tc.raw, got, tc.want)
			}
		})
	}
}

func TestExtractTextBounded(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("Content-Type: multipart/mixed; boundary=x\r\n\r\n")
	for range 10000 {
		sb.WriteString("--x\r\nContent-Type: image/gif\r\nContent-Disposition: attachment; filename=a.gif\r\n\r\n\r\n")
	}
	sb.WriteString("--x--\r\n")
	got := mail.ExtractText([]byte(sb.String()), mail.TextLimits{Parts: 50})
	if len(got.Files) != 49 { // the message itself is the first entity
		t.Errorf("10,000 parts with a budget of 50: %d files", len(got.Files))
	}

	huge := "\r\n" + strings.Repeat("x", 3<<20)
	if got := mail.ExtractText([]byte(huge), mail.TextLimits{}); len(got.Plain) != 1<<20 {
		t.Errorf("3 MiB body: %d bytes of text, want 1 MiB", len(got.Plain))
	}
	if got := mail.ExtractText([]byte(huge), mail.TextLimits{ScanBytes: 100, PartBytes: 1 << 30}); len(got.Plain) != 98 {
		t.Errorf("ScanBytes 100: %d bytes of text, want 98", len(got.Plain))
	}
}

func FuzzExtractText(f *testing.F) {
	f.Add([]byte(crlf(richMsg)))
	f.Add([]byte(simpleMsg))
	f.Add([]byte("From: a <b@, =?utf-8?q?=ff?=\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Disposition: attachment; filename*0*=utf-8''%e2; filename*1=x\r\n\r\n--a--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got := mail.ExtractText(raw, mail.TextLimits{Parts: 50, PartBytes: 4096})
		strs := []string{got.Subject, got.Plain, got.HTML, got.Body()}
		for _, p := range append(got.From, got.To...) {
			strs = append(strs, p.Name, p.Addr)
		}
		for _, f := range got.Files {
			strs = append(strs, f.Name, f.Type)
		}
		for _, s := range strs {
			if !utf8.ValidString(s) {
				t.Errorf("%q: not UTF-8", s)
			}
		}
		if len(got.Files) > 50 {
			t.Errorf("%d files with a budget of 50 parts", len(got.Files))
		}
	})
}
