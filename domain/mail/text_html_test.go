package mail_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"mailroom/domain/mail"
)

func TestHTMLToText(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain text", "just text", "just text"},
		{"paragraphs", "<p>one</p><p>two</p>", "one\n\ntwo"},
		{"paragraph without end tags", "<p>one<p>two", "one\n\ntwo"},
		{"br", "a<br>b<br/>c<BR >d", "a\nb\nc\nd"},
		{"two br make a blank line", "a<br><br>b<br><br><br><br>c", "a\n\nb\n\nc"},
		{"br closing a block adds nothing", "<div>a<br></div><div>b</div>", "a\nb"},
		{"divs", "<div>a</div><div><div>b</div></div>c", "a\nb\nc"},
		{"headings", "<h1>Title</h1>text", "Title\n\ntext"},
		{"inline elements join", "<b>bo</b>ld <i>and</i><span> brave</span>", "bold and brave"},
		{"whitespace collapses", "  a \n\t b  \r\n  c  ", "a b c"},
		{"nbsp is a space", "a&nbsp;b&nbsp;&nbsp;c", "a b c"},
		{"empty nbsp paragraph adds nothing", "<p>a</p><p>&nbsp;</p><p>b</p>", "a\n\nb"},
		{"entities", "&lt;tag&gt; &amp; &quot;q&quot; &#39;s&#39; &eacute;&#233;&#xE9; &euro;", `<tag> & "q" 's' ééé €`},
		{"unknown entity kept", "&bogus; &amp", "&bogus; &"},
		{"lone < is text", "a < b and c<3", "a < b and c<3"},
		{"script dropped", "a<script>if (x<y) document.write('<p>no</p>')</script>b", "ab"},
		{"script end tag any case", "a<SCRIPT type=x>bad</sCrIpT >b", "ab"},
		{"style dropped", "<style>p { color: red }</style>shown", "shown"},
		{"head dropped", "<html><head><title>T</title><meta charset=utf-8></head><body>body</body></html>", "body"},
		{"head without end tag ends at body", "<head><title>T</title><body>body", "body"},
		{"comments dropped", "a<!-- <p>hidden</p> -->b<!---->c", "abc"},
		{"doctype dropped", "<!DOCTYPE html><?xml version=1?>text", "text"},
		{"display none dropped", `<div style="DISPLAY: none">preheader<div>x</div></div><div style="display:block">shown</div>`, "shown"},
		{"display none on a void element", `<img style="display:none">text`, "text"},
		{"quoted > in attribute", `<a title="a>b" href="https://x.test/">link</a>`, "link (https://x.test/)"},
		{"bullets", "<ul><li>one</li><li>two</li></ul>", "• one\n• two"},
		{"bullets without end tags", "<ul><li>one<li>two</ul>after", "• one\n• two\n\nafter"},
		{"list is a paragraph", "before<ul><li>item</li></ul>after", "before\n\n• item\n\nafter"},
		{"ordered list", "<ol><li>first</li><li>second</li></ol>", "1. first\n2. second"},
		{"ordered list start", `<ol start="7"><li>a</li><li>b</li></ol>`, "7. a\n8. b"},
		{"nested lists", "<ul><li>a<ul><li>a1</li><li>a2</li></ul></li><li>b<ol><li>b1</li></ol></li></ul>",
			"• a\n  • a1\n  • a2\n• b\n  1. b1"},
		{"item with two lines", "<ul><li>a<br>more</li></ul>", "• a\n  more"},
		{"table cells and rows", "<table><tr><th>Name</th><th>Qty</th></tr><tr><td>apple</td><td>3</td></tr></table>",
			"Name | Qty\napple | 3"},
		{"empty cells add no separator", "<table><tr><td></td><td>x</td><td> </td><td>y</td></tr></table>", "x | y"},
		{"cells holding blocks are lines", "<table><tr><td><div>logo</div></td><td><p>text</p></td></tr></table>", "logo\n\ntext"},
		{"nested table", "<table><tr><td>a</td><td><table><tr><td>b</td><td>c</td></tr></table></td></tr><tr><td>d</td></tr></table>",
			"a\nb | c\nd"},
		{"link", `<a href="https://example.test/x?a=1&amp;b=2">the docs</a>.`, "the docs (https://example.test/x?a=1&b=2)."},
		{"link text is the url", `<a href="https://example.test/">https://example.test</a>`, "https://example.test"},
		{"link text is the url without scheme", `<a href="http://www.example.test/">example.test</a>`, "example.test"},
		{"mailto", `write to <a href="mailto:bob@example.test">Bob</a>`, "write to Bob (bob@example.test)"},
		{"mailto text is the address", `<a href="mailto:bob@example.test">bob@example.test</a>`, "bob@example.test"},
		{"image link left out", `<a href="https://t.test/c"><img src="x.png"></a>text`, "text"},
		{"anchor and script links not shown", `<a href="#top">top</a> <a href="javascript:x()">js</a> <a href="/rel">rel</a>`, "top js rel"},
		{"link in a list item", `<ul><li><a href="https://x.test">https://x.test</a></li></ul>`, "• https://x.test"},
		{"unclosed link closes at the next", `<a href="https://a.test">a <a href="https://b.test">b`, "a (https://a.test) b"},
		{"blockquote", "<p>Reply</p><blockquote><p>old</p><blockquote>older</blockquote></blockquote>end",
			"Reply\n\n> old\n\n>> older\n\nend"},
		{"pre keeps spaces", "<p>x</p><pre>\n  a  b\n\n c</pre>after", "x\n\n  a  b\n\n c\n\nafter"},
		{"unfinished tag dropped", "text<a href=\"x", "text"},
		{"unfinished comment dropped", "text<!-- never", "text"},
		{"unclosed script drops the rest", "a<script>b", "a"},
		{"the UI's old case, now with bullets", `<html><head><title>T</title><style>p{color:red}</style></head><body>
<p>Hello&nbsp;<b>Bob</b> &amp; co,</p><script>alert(1)</script>
<div>line two<br>line   three</div><!-- hidden --><ul><li>one</li><li>two</li></ul></body></html>`,
			"Hello Bob & co,\n\nline two\nline three\n\n• one\n• two"},
		{"utf-8", "<p>Grüße, 東京, مرحبا 👋</p>", "Grüße, 東京, مرحبا 👋"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mail.HTMLToText(tc.in); got != tc.want {
				t.Errorf("HTMLToText(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestHTMLToTextBounded feeds hostile HTML: output stays linear in the
// input, however deep the nesting.
func TestHTMLToTextBounded(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
	}{
		{"deep lists", strings.Repeat("<ul><li>x", 10000)},
		{"deep quotes", strings.Repeat("<blockquote>x<br>", 10000)},
		{"deep tables", strings.Repeat("<table><tr><td>x</td><td>", 10000)},
		{"many links", strings.Repeat(`<a href="https://example.test/a/long/path">y</a>`, 10000)},
		{"huge text", strings.Repeat("word ", 1<<20)},
		{"many tags", strings.Repeat("<b>", 1<<20)},
		{"unclosed quote", `<a href="` + strings.Repeat("x", 1<<20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := mail.HTMLToText(tc.in)
			if len(out) > 4*len(tc.in) {
				t.Errorf("%d bytes in, %d out", len(tc.in), len(out))
			}
			for _, line := range strings.Split(out, "\n") {
				if lead := len(line) - len(strings.TrimLeft(line, " >")); lead > 30 {
					t.Fatalf("a line starts with %d bytes of indentation", lead)
				}
			}
		})
	}
}

func TestBodyText(t *testing.T) {
	for _, tc := range []struct {
		name, text, html, want string
		fromHTML               bool
	}{
		{"text wins", "Hi\r\nthere", "<p>ignored</p>", "Hi\nthere", false},
		{"blank text falls back to html", " \r\n", "<p>Hi <i>there</i></p><p>second</p>", "Hi there\n\nsecond", true},
		{"html only", "", "<ul><li>a</li></ul>", "• a", true},
		{"nothing", "", " ", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, fromHTML := mail.BodyText(tc.text, tc.html)
			if got != tc.want || fromHTML != tc.fromHTML {
				t.Errorf("BodyText = %q, %v; want %q, %v", got, fromHTML, tc.want, tc.fromHTML)
			}
		})
	}
}

func TestPreviewText(t *testing.T) {
	for _, tc := range []struct {
		name, text, html, want string
	}{
		{"text", "Hello Bob,\r\n\r\n> quoted\r\nSee   you at\tnoon.\r\n", "<p>ignored</p>", "Hello Bob, See you at noon."},
		{"html", "", "<p>Hi</p><ul><li>one</li><li>two</li></ul>", "Hi • one • two"},
		{"html quote and its intro dropped", "", "<p>Sure.</p><div>On Monday, Alice wrote:<blockquote>Lunch?</blockquote></div>", "Sure."},
		{"html link targets left out", "", `<p>See <a href="https://x.test/">this</a></p>`, "See this"},
		{"signature", "Thanks!\n-- \nBob\n", "", "Thanks!"},
		{"empty", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mail.PreviewText(tc.text, tc.html); got != tc.want {
				t.Errorf("PreviewText = %q, want %q", got, tc.want)
			}
		})
	}
	long := strings.Repeat("é", 500)
	if got := mail.PreviewText(long, ""); utf8.RuneCountInString(got) != mail.PreviewRunes || !strings.HasSuffix(got, "…") {
		t.Errorf("long PreviewText = %q", got)
	}
	// The store's preview and the client's agree on the same message.
	raw := crlf("Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/html\n\n<p>Hi <b>all</b></p><ol><li>x</li></ol>\n--b--\n")
	if a, b := mail.Preview([]byte(raw)), mail.PreviewText("", "<p>Hi <b>all</b></p><ol><li>x</li></ol>\n"); a != b || a != "Hi all 1. x" {
		t.Errorf("Preview = %q, PreviewText = %q, want both %q", a, b, "Hi all 1. x")
	}
}

func FuzzHTMLToText(f *testing.F) {
	for _, s := range []string{
		"",
		"<p>a</p><p>b</p>",
		"<ul><li>a<ol start=3><li>b</ol></ul>",
		"<table><tr><td>a<td>b<tr><td>c</table>",
		`<a href="https://x.test">x</a><a href='mailto:a@b'>a@b</a><a href=javascript:1>j`,
		"<blockquote><pre>\n a\n</pre></blockquote>",
		"<script>x</script><style>y</style><head>z</head>",
		`<div style="display:none"><div>h</div></div>s`,
		"a < b <!-- c --> <!x> </ > <a",
		"&amp;&nbsp;&#0;&#x110000;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := mail.HTMLToText(in)
		if utf8.ValidString(in) && !utf8.ValidString(out) {
			t.Errorf("HTMLToText(%q) = %q: not UTF-8", in, out)
		}
		if strings.HasPrefix(out, "\n") || strings.HasSuffix(out, "\n") {
			t.Errorf("HTMLToText(%q) = %q: starts or ends with a break", in, out)
		}
		if strings.Contains(out, " \n") || strings.HasSuffix(out, " ") {
			t.Errorf("HTMLToText(%q) = %q: a line ends with a space", in, out)
		}
		if strings.Contains(out, "\n\n\n") {
			t.Errorf("HTMLToText(%q) = %q: more than one blank line", in, out)
		}
		if len(out) > 4*len(in)+64 {
			t.Errorf("HTMLToText: %d bytes in, %d out", len(in), len(out))
		}
	})
}
