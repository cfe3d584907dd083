package mail

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// refSearchWords is SearchWords as it was before it wrote the joined form
// directly: FieldsFunc, ToLower and cutUTF8 per word.
func refSearchWords(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return !isWordRune(r) }) {
		w := strings.ToLower(f)
		if len(w) > MaxWordBytes {
			w = cutUTF8(w, MaxWordBytes)
		}
		out = append(out, w)
	}
	return out
}

func refJoinWords(s string) string { return strings.Join(refSearchWords(s), " ") }

// refNewSearchDoc is NewSearchDoc as it was before ParseMessage: each field
// joined, then split into words, then joined again.
func refNewSearchDoc(raw []byte, from string) SearchDoc {
	t := ExtractText(raw, indexTextLimits)
	people := func(ps []Person, extra ...string) string {
		var b []string
		b = append(b, extra...)
		for _, p := range ps {
			b = append(b, p.Name, p.Addr)
		}
		return strings.Join(b, " ")
	}
	var files []string
	for _, f := range t.Files {
		files = append(files, f.Name)
	}
	body := t.Body()
	if len(body) > MaxIndexBodyBytes {
		body = cutUTF8(body, MaxIndexBodyBytes)
	}
	return SearchDoc{
		Subject:    refJoinWords(t.Subject),
		From:       refJoinWords(people(t.From, from)),
		To:         refJoinWords(people(t.To)),
		Body:       refJoinWords(body),
		Files:      refJoinWords(strings.Join(files, " ")),
		Attachment: len(t.Files) > 0,
	}
}

// wordSeeds: ASCII in both cases, Latin with marks (precomposed and
// combining), non-Latin scripts, digits of other scripts, runes whose lower
// case is longer or shorter in UTF-8 (Ⱥ→ⱥ, İ→i), words at and around
// MaxWordBytes (cut inside a rune, cut by an ASCII byte after a rune that
// did not fit), invalid UTF-8, U+FFFD, and nothing at all.
func wordSeeds() []string {
	long := func(unit string, n int) string { return strings.Repeat(unit, n) }
	return []string{
		"", " ", "\r\n\t", "!!!", "a", "A", "x-y_z", "Alice <alice@Example.COM>, \"naïve\"",
		"The Quick BROWN fox, 42 times; e-mail: BOB@x.ORG?",
		"Grüße aus Köln ÄÖÜ ß ẞ", "cafe\u0301 déjà vu", "Москва ПРИВЕТ мир", "東京タワー 日本語テキスト",
		"مرحبا بالعالم", "שלום עולם", "ελληνικά ΕΛΛΗΝΙΚΆ", "हिन्दी भाषा", "٠١٢٣ ४२ 12٣", "Ⱥ ȺȺȺ İstanbul İİİ",
		"emoji 😀 between 🎉words", "tab\there\u00a0nbsp\u2003em", "ﬁ ligature ＦＵＬＬ width",
		long("a", MaxWordBytes-1), long("a", MaxWordBytes), long("a", MaxWordBytes+1), long("A", 200),
		long("é", 31) + "a", long("é", 32), long("é", 33), "a" + long("é", 32) + "bcd",
		long("a", 62) + "日x", long("a", 61) + "日x", long("Ⱥ", 32) + "x", long("İ", 40) + "X",
		long("日", 21) + "a", long("日", 22), "a" + long("\u0301", 40) + "b",
		"bad \xff\xfe utf8\xc3", "a\xc3(b", "\xe6\x97", "U+FFFD \ufffd inside a\ufffdb",
		long("word ", 50), long("x", 10) + " " + long("Y", 70) + " z",
	}
}

func TestSearchWordsSameAsBefore(t *testing.T) {
	for _, s := range wordSeeds() {
		if got, want := SearchWords(s), refSearchWords(s); !reflect.DeepEqual(got, want) {
			t.Errorf("SearchWords(%q)\n = %q\nwas %q", s, got, want)
		}
		if got, want := joinWords(s), refJoinWords(s); got != want {
			t.Errorf("joinWords(%q)\n = %q\nwas %q", s, got, want)
		}
	}
	// Pieces written one after another are the words of the pieces
	// joined by a space.
	var b []byte
	seeds := wordSeeds()
	for _, s := range seeds {
		b = appendWords(b, 0, s)
	}
	if got, want := string(b), refJoinWords(strings.Join(seeds, " ")); got != want {
		t.Errorf("written in pieces\n = %q\nwas %q", got, want)
	}
}

func FuzzSearchWordsSame(f *testing.F) {
	for _, s := range wordSeeds() {
		f.Add(s, "")
	}
	f.Add("a", "b")
	f.Fuzz(func(t *testing.T, s, more string) {
		if got, want := SearchWords(s), refSearchWords(s); !reflect.DeepEqual(got, want) {
			t.Errorf("SearchWords(%q)\n = %q\nwas %q", s, got, want)
		}
		// A field that starts after others: base is where it starts.
		b := appendWords([]byte("before"), 6, s)
		b = appendWords(b, 6, more)
		if got, want := string(b[6:]), refJoinWords(s+" "+more); got != want {
			t.Errorf("words of %q, %q\n = %q\nwas %q", s, more, got, want)
		}
	})
}

// ingestSeeds are messages at every edge where ParseMessage's one walk
// could part from ParseHeader, Preview and NewSearchDoc: the limits of
// each, the order of text parts, header blocks that end oddly.
func ingestSeeds() []string {
	alt, _ := ingestMessages()
	seeds := []string{
		"", "\r\n", "\n\n", "Subject: only a header\r\n", "Subject: unterminated", "\r\nSubject: in the body\r\n",
		"just some text\r\nand more\r\n", "Subject: hi\r\nthis is not a field\r\n\r\nbody", "\x00\xff\xfe:::\r\n\r\n",
		"Subject: real\n\nline\r\n\r\nSubject: fake\r\n", " folded: first\r\n\r\nx",
		"Subject: =?windows-1252?q?=93Caf=E9=94?=\r\nFrom: =?koi8-r?b?8NLJ18XU?= <p@x.org>\r\n" +
			"To: =?iso-8859-1?q?J=FCrgen?= <J@X.org>, bad@, \"Q, R\" <q@x.org>\r\nCc: friends: a@x.org;\r\n" +
			"Message-ID: <id@x>\r\n\r\nbody\r\n",
		"Subject: bad \xff utf8\r\nFrom: \xfe <a@b>\r\n\r\nbody \xff text\r\n",
		"To: undisclosed-recipients:;\r\nCc: (comment) C@x.org, d@x.org (Dee)\r\nFrom: \"Quoted \\\" Name\" <Q@X.org>\r\n\r\nx",
		"From: =?utf-8?q?Ren=C3=A9e?= <R@x.org>\r\nTo: plain <P@x.org>, =?utf-8?b?w6k=?= <e@x.org>\r\nCc: not an address\r\n\r\nx",
		"Message-ID: <" + strings.Repeat("m", MaxMessageIDBytes) + "@x>\r\n\r\nlong id\r\n",
		"To: " + strings.Repeat("a@x.org, ", maxPeople+20) + "z@x.org\r\n\r\nmany people\r\n",
		"X-Pad: " + strings.Repeat("p", MaxHeaderBytes) + "\r\nSubject: late\r\n\r\nbody\r\n",
		"Subject: big\r\n\r\n" + strings.Repeat("a line of body text\r\n", (previewLimits.ScanBytes/20)+10),
		"Content-Type: text/html\r\n\r\n<p>only <b>HTML</b> with a <a href=\"https://x.org/\">link</a></p>",
		"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 =\r\nx=ZZ\r\n",
		"Content-Transfer-Encoding: base64\r\n\r\nSGVsbG8g*d29y\r\nbGQ=\r\n",
		"Content-Type: text/plain; charset=windows-1252\r\n\r\n\x93q\x94\x81\r\n",
		"\r\nhi\r\n> quoted\r\n-- \r\nsig\r\n",
		"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\nloop\r\n--a--\r\n",
		"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Disposition: attachment; filename*0*=utf-8''%e2; filename*1=x\r\n\r\n--a--\r\n",
		alt,
	}
	seeds = append(seeds, sameSeeds()...)
	mp := func(parts ...string) string {
		var b strings.Builder
		b.WriteString("Subject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
		for _, p := range parts {
			b.WriteString("--b\r\n" + p + "\r\n")
		}
		b.WriteString("--b--\r\n")
		return b.String()
	}
	plain := func(body string) string { return "Content-Type: text/plain\r\n\r\n" + body }
	html := func(body string) string { return "Content-Type: text/html\r\n\r\n" + body }
	file := "Content-Type: image/gif\r\nContent-Disposition: attachment; filename=a.gif\r\n\r\nGIF"
	blank64 := strings.Repeat(" ", previewLimits.PartBytes+10)
	seeds = append(seeds,
		mp(html("<p>html first</p>"), plain("plain second")),
		mp(plain(" \r\n"), html("<p>html after blank plain</p>"), plain("late plain")),
		// Text past Preview's PartBytes: the index reads it, Preview does not.
		mp(plain(blank64+"text after 64K"), plain("second plain")),
		mp(html(blank64+"<p>html after 64K</p>"), html("<p>second html</p>")),
		mp(plain(strings.Repeat("long plain line ", 6000))),
		mp(file, "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"+
			strings.Repeat("R3LDvMOfZSBhdXMgS8O2bG4K", 4000)),
		mp(file, file, plain("after two files")),
		mp(plain(strings.Repeat("word ", MaxIndexBodyBytes/4))),
	)
	// Nesting: Preview reads to depth previewLimits.Depth, the index deeper.
	for _, depth := range []int{previewLimits.Depth - 1, previewLimits.Depth, previewLimits.Depth + 1, indexTextLimits.withDefaults().Depth + 1} {
		inner := "Content-Type: text/plain\r\n\r\ndeep text"
		for d := depth; d > 0; d-- {
			inner = fmt.Sprintf("Content-Type: multipart/mixed; boundary=d%d\r\n\r\n--d%d\r\n%s\r\n--d%d--\r\n", d, d, inner, d)
		}
		seeds = append(seeds, inner, mp(html("<p>shallow html</p>"), inner))
	}
	seeds = append(seeds, deepPartsMessage())
	// Part counts: Preview stops after previewLimits.Parts entities, the
	// index after 1000.
	for _, n := range []int{previewLimits.Parts - 3, previewLimits.Parts - 1, previewLimits.Parts, previewLimits.Parts + 5, 1005} {
		parts := make([]string, 0, n+2)
		parts = append(parts, html("<p>early html</p>"))
		for range n {
			parts = append(parts, file)
		}
		seeds = append(seeds, mp(append(parts, plain("late text"))...))
	}
	return seeds
}

// deepPartsMessage has more parts than the index reads, deeper than
// Preview looks, and then its text: the index stops at its part limit,
// Preview's walk goes on to the text.
func deepPartsMessage() string {
	file := "Content-Type: image/gif\r\nContent-Disposition: attachment; filename=a.gif\r\n\r\nGIF"
	deep := "Content-Type: multipart/mixed; boundary=d6\r\n\r\n--d6\r\n" +
		strings.Repeat(file+"\r\n--d6\r\n", 1100) + file + "\r\n--d6--\r\n"
	for d := 5; d > 0; d-- {
		deep = fmt.Sprintf("Content-Type: multipart/mixed; boundary=d%d\r\n\r\n--d%d\r\n%s\r\n--d%d\r\n", d, d, deep, d)
		if d == 1 {
			deep += "Content-Type: text/plain\r\n\r\ntext after the deep parts\r\n--d1"
		}
		deep += "--\r\n"
	}
	return "Subject: deep\r\n" + deep
}

func TestParseMessagePreviewPastIndexLimit(t *testing.T) {
	raw := []byte(deepPartsMessage())
	p := checkParsedSame(t, raw, "")
	if want := "text after the deep parts"; p.Preview != want {
		t.Errorf("Preview = %q, want %q", p.Preview, want)
	}
	if doc := p.SearchDoc(""); doc.Body != "" || !doc.Attachment {
		t.Errorf("the index read past its part limit: %+.100v", doc)
	}
}

// checkParsedSame fails when ParseMessage(raw) differs from what
// ParseHeader, Preview and NewSearchDoc (before and now) give.
func checkParsedSame(t *testing.T, raw []byte, from string) Parsed {
	t.Helper()
	p := ParseMessage(raw)
	if want := ParseHeader(raw); !reflect.DeepEqual(p.Header, want) {
		t.Errorf("%.60q: Header\n = %#v\nwant %#v", raw, p.Header, want)
	}
	if want := Preview(raw); p.Preview != want {
		t.Errorf("%.60q: Preview\n = %q\nwant %q", raw, p.Preview, want)
	}
	doc := p.SearchDoc(from)
	if want := NewSearchDoc(raw, from); doc != want {
		t.Errorf("%.60q: SearchDoc\n = %+.200v\nwant %+.200v", raw, doc, want)
	}
	if want := refNewSearchDoc(raw, from); doc != want {
		t.Errorf("%.60q: SearchDoc\n = %+.200v\nwas  %+.200v", raw, doc, want)
	}
	return p
}

func TestParseMessageSameAsSeparate(t *testing.T) {
	previews := 0
	for _, s := range ingestSeeds() {
		if p := checkParsedSame(t, []byte(s), "Sender@Example.com"); p.Preview != "" {
			previews++
		}
		checkParsedSame(t, []byte(strings.ReplaceAll(s, "\r\n", "\n")), "")
	}
	if previews < 40 {
		t.Errorf("only %d seeds have a preview: the corpus tests little", previews)
	}
}

func FuzzParseMessageSame(f *testing.F) {
	for _, s := range ingestSeeds() {
		if len(s) < 4096 {
			f.Add([]byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkParsedSame(t, raw, "a@b.c")
	})
}

func TestNewMessageSearchDoc(t *testing.T) {
	raw := []byte("Subject: Hello World\r\n\r\nBody text\r\n")
	m := NewMessage{Raw: raw, From: "alice@localhost"}
	if got, want := m.SearchDoc(), NewSearchDoc(raw, "alice@localhost"); got != want {
		t.Errorf("not computed: SearchDoc = %+v, want %+v", got, want)
	}
	given := SearchDoc{Subject: "given"}
	m.Search = &given
	if got := m.SearchDoc(); got != given {
		t.Errorf("computed: SearchDoc = %+v, want the one given", got)
	}
}
