package mail_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"

	"mailroom/domain/mail"
)

// crlf turns "\n" into "\r\n", so that test messages read naturally.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestPreview(t *testing.T) {
	long := strings.Repeat("word ", 100)             // 500 runes
	longCut := strings.Repeat("word ", 31) + "word…" // 159 runes and the ellipsis
	accents := strings.Repeat("é", 200)
	b64 := base64.StdEncoding.EncodeToString([]byte("Grüße aus Köln,\r\nbis bald!\r\n"))
	b64Wrapped := b64[:20] + "\r\n" + b64[20:]

	for _, tc := range []struct {
		name string
		raw  string
		want string
	}{
		{"plain", "Subject: hi\r\n\r\nHello Bob,\r\n\r\nlunch at noon?\r\n", "Hello Bob, lunch at noon?"},
		{"LF only", "Subject: hi\n\nHello\n  there\n", "Hello there"},
		{"no header fields", "\r\nJust a body.\r\n", "Just a body."},
		{"utf-8 default for 8bit", "Subject: x\r\n\r\nCafé ☕\r\n", "Café ☕"},
		{"quoted-printable", crlf("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nCaf=C3=A9 au lait, une soft=\nbreak, a =3D sign\n"),
			"Café au lait, une softbreak, a = sign"},
		{"quoted-printable latin1", crlf("Content-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: Quoted-Printable\n\nCaf=E9\n"), "Café"},
		{"bad quoted-printable escape kept as is", crlf("Content-Transfer-Encoding: quoted-printable\n\nfine =ZZ broken\n"), "fine =ZZ broken"},
		{"base64", crlf("Content-Type: text/plain; charset=\"utf-8\"\nContent-Transfer-Encoding: base64\n\n" + b64Wrapped + "\n"), "Grüße aus Köln, bis bald!"},
		{"base64 with junk and no padding", crlf("Content-Transfer-Encoding: BASE64\n\n" + " SGVsbG8g*d29y\nbGQ\n"), "Hello world"},
		{"latin1", "Content-Type: text/plain; charset=iso-8859-1\r\n\r\nGr\xfc\xdfe, \xe0 bient\xf4t\r\n", "Grüße, à bientôt"},
		{"latin1 alias", "Content-Type: text/plain; charset=latin1\r\n\r\n\xa9 2026\r\n", "© 2026"},
		{"windows-1252", "Content-Type: text/plain; charset=windows-1252\r\n\r\n\x93quoted\x94 \x80 5 \x96 ok\x81\r\n", "“quoted” € 5 – ok"},
		{"unknown charset keeps valid utf-8", "Content-Type: text/plain; charset=koi8-r\r\n\r\nabc \xff\xfe d\xc3\xa9f\r\n", "abc déf"},
		{"invalid utf-8 dropped", "Content-Type: text/plain; charset=utf-8\r\n\r\nok\xc3 \xffyes\r\n", "ok yes"},
		{"multipart/alternative", crlf(`MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

This is a multi-part message in MIME format.
--b1
Content-Type: text/plain; charset=utf-8

Plain version
--b1
Content-Type: text/html; charset=utf-8

<p>HTML version</p>
--b1--
`), "Plain version"},
		{"alternative with html first prefers plain", crlf(`Content-Type: multipart/alternative; boundary=b1

--b1
Content-Type: text/html

<p>HTML version</p>
--b1
Content-Type: text/plain

Plain version
--b1--
`), "Plain version"},
		{"mixed with attachment", crlf(`Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

See the attached r=C3=A9sum=C3=A9.
--inner
Content-Type: text/html; charset=utf-8

<p>See the attached résumé.</p>
--inner--
--outer
Content-Type: application/pdf; name="cv.pdf"
Content-Disposition: attachment; filename="cv.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--outer--
`), "See the attached résumé."},
		{"attached text is not the body", crlf(`Content-Type: multipart/mixed; boundary=x

--x
Content-Type: image/png
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--x
Content-Type: text/plain
Content-Disposition: attachment; filename=notes.txt

attached notes
--x--
`), ""},
		{"html only", crlf(`Content-Type: text/html; charset=utf-8

<html><head><title>Newsletter</title><style>p { color: red }</style></head>
<body><p>Hello&nbsp;<b>bo</b>ld &amp; <i>brave</i>&lt;3</p><div>Second<br>line</div>
<script>alert("x")</script><!-- a comment --><blockquote><p>quoted</p></blockquote>End</body></html>
`), "Hello bold & brave<3 Second line End"},
		{"html fallback in multipart", crlf(`Content-Type: multipart/alternative; boundary=b

--b
Content-Type: text/html; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

<P>Caf=E9</P>
--b--
`), "Café"},
		{"empty text/plain falls back to html", crlf(`Content-Type: multipart/alternative; boundary=b

--b
Content-Type: text/plain


--b
Content-Type: text/html

<p>only here</p>
--b--
`), "only here"},
		{"quoted reply", crlf(`Subject: Re: lunch

Sounds good, see you there.

On Mon, 4 May 2026, Alice wrote:
> Lunch at noon?
>> earlier
  > indented quote
Bob
`), "Sounds good, see you there. Bob"},
		{"signature", crlf("\nThanks!\n-- \nBob Example\nbob@example.test\n"), "Thanks!"},
		{"signature without its space", crlf("\nThanks!\n--\nBob\n"), "Thanks!"},
		{"dashes in text are not a signature", crlf("\nA -- B\n---\nC\n"), "A -- B --- C"},
		{"whitespace and controls collapse", "\r\n\t  a\x00\x07b \u00a0\u2003 c\ufeff \r\n\r\n\r\n", "a b c"},
		{"long text cut", "\r\n" + long, longCut},
		{"exactly PreviewRunes is not cut", "\r\n" + strings.Repeat("x", mail.PreviewRunes), strings.Repeat("x", mail.PreviewRunes)},
		{"multi-byte runes cut on a boundary", "Content-Type: text/plain; charset=utf-8\r\n\r\n" + accents, strings.Repeat("é", mail.PreviewRunes-1) + "…"},
		{"empty body", "Subject: nothing\r\n\r\n", ""},
		{"only a header", "Subject: nothing\r\n", ""},
		{"empty", "", ""},
		{"only quotes", crlf("\n> all\n> quoted\n"), ""},
		{"non-text message", crlf("Content-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"), ""},
		{"multipart without boundary", crlf("Content-Type: multipart/mixed\n\n--x\n\nhidden\n--x--\n"), ""},
		{"multipart without parts", crlf("Content-Type: multipart/mixed; boundary=x\n\nno parts here\n"), ""},
		{"unparseable content type", crlf("Content-Type: ;;;\n\ntext\n"), ""},
		{"bad parameter keeps the type", crlf("Content-Type: text/plain; charset\n\nstill text\n"), "still text"},
		{"garbage header field", "\x00\xff\xfe:::\r\n\r\nbody", "body"},
		{"garbage body", "\r\n\x00\x01\x02\xff\xfe\x80", ""},
		{"body without header block", "just some text\r\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mail.Preview([]byte(tc.raw)); got != tc.want {
				t.Errorf("Preview(%q)\n got %q\nwant %q", tc.raw, got, tc.want)
			}
		})
	}
}

func TestPreviewBounded(t *testing.T) {
	nest := func(depth int, leaf string) string {
		s := leaf
		for i := depth; i > 0; i-- {
			b := strings.Repeat("b", i)
			s = "Content-Type: multipart/mixed; boundary=" + b + "\r\n\r\n--" + b + "\r\n" + s + "\r\n--" + b + "--\r\n"
		}
		return s
	}
	leaf := "Content-Type: text/plain\r\n\r\ndeep"
	// The top-level message is depth 0, so five multiparts reach the leaf
	// at depth 5 and six do not.
	if got := mail.Preview([]byte(nest(5, leaf))); got != "deep" {
		t.Errorf("5 levels: Preview = %q, want deep", got)
	}
	if got := mail.Preview([]byte(nest(6, leaf))); got != "" {
		t.Errorf("6 levels: Preview = %q, want nothing", got)
	}

	// Text after the first MiB of a message is not looked for.
	var sb strings.Builder
	sb.WriteString("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: application/octet-stream\r\n\r\n")
	sb.WriteString(strings.Repeat("0123456789abcdef\r\n", (1<<20)/18))
	sb.WriteString("\r\n--x\r\nContent-Type: text/plain\r\n\r\nlate text\r\n--x--\r\n")
	if got := mail.Preview([]byte(sb.String())); got != "" {
		t.Errorf("text after 1 MiB: Preview = %q, want nothing", got)
	}

	// A huge text part is read only in part: its first words still come.
	huge := "\r\nfirst words " + strings.Repeat("x", 10<<20)
	if got := mail.Preview([]byte(huge)); !strings.HasPrefix(got, "first words x") || utf8.RuneCountInString(got) != mail.PreviewRunes {
		t.Errorf("huge body: Preview = %q", got)
	}

	// Many empty parts: the walk stops after its budget of parts.
	sb.Reset()
	sb.WriteString("Content-Type: multipart/mixed; boundary=x\r\n\r\n")
	for range 200 {
		sb.WriteString("--x\r\nContent-Type: image/gif\r\n\r\n\r\n")
	}
	sb.WriteString("--x\r\nContent-Type: text/plain\r\n\r\ntoo late\r\n--x--\r\n")
	if got := mail.Preview([]byte(sb.String())); got != "" {
		t.Errorf("text after 200 parts: Preview = %q, want nothing", got)
	}

	// 10,000 parts cost no more than 100.
	sb.Reset()
	sb.WriteString("Content-Type: multipart/mixed; boundary=x\r\n\r\n")
	for range 10000 {
		sb.WriteString("--x\r\nContent-Type: text/plain\r\n\r\n \r\n")
	}
	if got := mail.Preview([]byte(sb.String() + "--x--\r\n")); got != "" {
		t.Errorf("10,000 blank parts: Preview = %q, want nothing", got)
	}

	// A huge HTML part, deeply nested, is read only in part.
	deep := "Content-Type: text/html\r\n\r\n<p>first</p>" + strings.Repeat("<ul><li><div><table><tr><td>x", 1<<16)
	if got := mail.Preview([]byte(deep)); !strings.HasPrefix(got, "first • x") || utf8.RuneCountInString(got) > mail.PreviewRunes {
		t.Errorf("deep HTML: Preview = %q", got)
	}
}

func TestDeliverComputesPreview(t *testing.T) {
	h := newHarness(t, 0)
	raw := "From: alice@localhost\r\nTo: bob@localhost\r\nSubject: hi\r\n\r\nSee you\r\nat noon.\r\n"
	metas, err := deliver(context.Background(), h.svc, h.alice, []string{"bob"}, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := h.store.msgs[0].Preview; got != "See you at noon." {
		t.Errorf("NewMessage.Preview = %q, want %q", got, "See you at noon.")
	}
	for i, m := range metas {
		if m.Preview != "See you at noon." {
			t.Errorf("meta %d: Preview = %q", i, m.Preview)
		}
	}
}

func FuzzPreview(f *testing.F) {
	for _, s := range []string{
		"",
		"\r\n",
		simpleMsg,
		"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 =\r\nx=ZZ\r\n",
		"Content-Transfer-Encoding: base64\r\n\r\nSGVsbG8g*d29y\r\nbGQ=\r\n",
		"Content-Type: text/plain; charset=windows-1252\r\n\r\n\x93q\x94\x81\r\n",
		"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>x<!-- y</p>\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b--\r\n",
		"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\nloop\r\n--a--\r\n",
		"Content-Type: text/html\r\n\r\n<blockquote><blockquote>x</blockquote>y</blockquote>z<br",
		"\r\nhi\r\n> quoted\r\n-- \r\nsig\r\n",
		"\x00\xff\xfe:::\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := mail.Preview(raw)
		if !utf8.ValidString(p) {
			t.Errorf("Preview = %q: not UTF-8", p)
		}
		if n := utf8.RuneCountInString(p); n > mail.PreviewRunes {
			t.Errorf("Preview has %d runes, over %d", n, mail.PreviewRunes)
		}
		if strings.ContainsAny(p, "\r\n\t") || p != strings.TrimSpace(p) || strings.Contains(p, "  ") {
			t.Errorf("Preview = %q: not one collapsed line", p)
		}
	})
}
