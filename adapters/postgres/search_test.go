package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"go.uber.org/zap/zaptest"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// Messages without a search vector (stored before migration 0004, or
// copied from SQLite) and those with 0004's to_tsvector vector
// (search_version 1, migration 0005) are found by their words once the
// background backfill at Open has indexed them.
func TestSearchBackfill(t *testing.T) {
	ctx := context.Background()
	dbURL := freshSchema(t)
	s := openAt(t, dbURL)
	a := mkAccount(t, s, "ann")
	const n = 2*backfillBatch + 3
	for range n {
		raw := []byte("Subject: old\r\n\r\naardvark body\r\n")
		if _, err := s.Deliver(ctx, mail.NewMessage{Raw: raw, From: "x@localhost", Received: t0},
			[]mail.NewEntry{{Owner: a.ID, Folder: mail.Inbox}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.pool.Exec(ctx, `UPDATE messages SET search = CASE WHEN id % 2 = 0 THEN NULL
    ELSE to_tsvector('simple', 'stale') END, search_version = 1`); err != nil {
		t.Fatal(err)
	}
	q, _ := mail.ParseQuery("aardvark")
	if got, err := s.Search(ctx, a.ID, q, 0, mail.MaxLimit); err != nil || len(got) != 0 {
		t.Fatalf("before the backfill: %d found, %v", len(got), err)
	}

	s2, err := Open(ctx, Config{URL: dbURL, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := s2.Search(ctx, a.ID, q, 0, mail.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == n {
			if stale, _ := mail.ParseQuery(`"stale"`); len(mustSearch(t, s2, a.ID, stale)) != 0 {
				t.Error("a to_tsvector vector still answers after the backfill")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("found %d of %d after the backfill", len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustSearch(t *testing.T, s *Store, owner account.ID, q mail.Query) []mail.Meta {
	t.Helper()
	got, err := s.Search(context.Background(), owner, q, 0, mail.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// tsLiteral writes v in tsvector syntax, as PostgreSQL's output function
// does ('word':1A,2 ..., quotes and backslashes doubled, weight D left
// out), so tests can read a vector and compare it with the server's text.
func tsLiteral(v pgtype.TSVector) string {
	var out []byte
	for i, l := range v.Lexemes {
		if i > 0 {
			out = append(out, ' ')
		}
		out = appendQuoted(out, l.Word)
		for j, p := range l.Positions {
			sep := byte(',')
			if j == 0 {
				sep = ':'
			}
			out = append(out, sep)
			out = appendPos(out, p.Position)
			if p.Weight != 0 && p.Weight != pgtype.TSVectorWeightD {
				out = append(out, byte(p.Weight))
			}
		}
	}
	return string(out)
}

// appendPos appends p (1..tsMaxPos) in decimal.
func appendPos(b []byte, p uint16) []byte {
	var d [5]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + p%10)
		if p /= 10; p == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}

// lexemePositions gives the positions written for word in the tsvector
// literal lit ("3A", "7"), or nil when word is not in it.
func lexemePositions(lit, word string) []string {
	for _, e := range strings.Split(lit, " ") {
		if w, pos, ok := strings.Cut(e, ":"); ok && w == string(appendQuoted(nil, word)) {
			return strings.Split(pos, ",")
		}
	}
	return nil
}

// TestTSVector: the vector tsVector builds (the one sent to PostgreSQL in
// the binary format), written as PostgreSQL writes it (tsLiteral): fields'
// weights and gaps, merged positions, lexeme order, quoting.
func TestTSVector(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  mail.SearchDoc
		want string
	}{
		{"empty", mail.SearchDoc{}, ""},
		{"escaping", mail.SearchDoc{Subject: `it's a\b`}, `'a\\b':2A 'it''s':1A`},
		// Each field after a non-empty one starts two past the last
		// position (a gap of one); an empty field takes none.
		{"fields", mail.SearchDoc{Subject: "a b", From: "c", Body: "a d", Files: "f"},
			`'a':1A,6 'b':2A 'c':4B 'd':7 'f':9`},
		{"weights", mail.SearchDoc{Subject: "s", From: "f", To: "t", Body: "b", Files: "n"},
			`'b':7 'f':3B 'n':9 's':1A 't':5C`},
		{"merged", mail.SearchDoc{Body: "x y x x"}, `'x':1,3,4 'y':2`},
		// In PostgreSQL's order: bytes, then the shorter first.
		{"order", mail.SearchDoc{Body: "abcdez abcde abcdea abc b ab abcdeb"},
			`'ab':6 'abc':4 'abcde':2 'abcdea':3 'abcdeb':7 'abcdez':1 'b':5`},
		{"marks", mail.SearchDoc{Body: "nai\u0308ve 日本語"}, "'nai\u0308ve':1 '日本語':2"},
	} {
		if got := tsLiteral(tsVector(tc.doc)); got != tc.want {
			t.Errorf("%s: tsVector = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestTSVectorCaps(t *testing.T) {
	var words []string
	for i := range tsMaxPos + 10 {
		words = append(words, fmt.Sprint("w", i))
	}
	words = append(words, strings.Repeat("often ", 300))
	lit := tsLiteral(tsVector(mail.SearchDoc{Subject: "often", Body: strings.Join(words, " ")}))
	if got := lexemePositions(lit, "w0"); !slices.Equal(got, []string{"3"}) {
		t.Errorf("w0 at %v, want [3]", got)
	}
	// Past tsMaxPos every word sits at tsMaxPos.
	for _, w := range []string{fmt.Sprint("w", tsMaxPos-3), fmt.Sprint("w", tsMaxPos+5)} {
		if got := lexemePositions(lit, w); !slices.Equal(got, []string{fmt.Sprint(tsMaxPos)}) {
			t.Errorf("%s at %v, want [%d]", w, got, tsMaxPos)
		}
	}
	// "often" is at 1A (the subject) and then once at the cap: one
	// position per place, the first (highest) weight kept.
	if got := lexemePositions(lit, "often"); !slices.Equal(got, []string{"1A", fmt.Sprint(tsMaxPos)}) {
		t.Errorf("often at %v", got)
	}
	// A word said more often than a lexeme keeps positions of.
	lit = tsLiteral(tsVector(mail.SearchDoc{Body: strings.Repeat("often ", 300)}))
	if got := lexemePositions(lit, "often"); len(got) != tsMaxPositions || got[tsMaxPositions-1] != fmt.Sprint(tsMaxPositions) {
		t.Errorf("often: %d positions, last %v; want %d", len(got), got[len(got)-1], tsMaxPositions)
	}
}

// unstorableDoc is a SearchDoc with words PostgreSQL cannot take as
// lexemes (longer than tsMaxWordBytes, or holding a NUL) between ones it
// can, the longest storable word among them. tsVector leaves the former
// out, their positions still taken: 'a':1 'd':3 and the long word at 6.
func unstorableDoc() (doc mail.SearchDoc, longest string) {
	longest = strings.Repeat("x", tsMaxWordBytes)
	return mail.SearchDoc{Body: strings.Join([]string{"a", longest + "y", "d", strings.Repeat("z", 5000), "b\x00c",
		longest, "\x00"}, " ")}, longest
}

func TestTSVectorSkipsUnstorableWords(t *testing.T) {
	doc, longest := unstorableDoc()
	want := "'a':1 'd':3 '" + longest + "':6"
	if got := tsLiteral(tsVector(doc)); got != want {
		t.Errorf("tsVector = %.60q..., want %.60q...", got, want)
	}
}

// TestMaxWordBytesFitsALexeme: the domain's longest search word is one
// PostgreSQL can store; were it longer, tsVector would leave long words out
// of the index rather than cut them.
func TestMaxWordBytesFitsALexeme(t *testing.T) {
	if mail.MaxWordBytes > tsMaxWordBytes {
		t.Errorf("mail.MaxWordBytes = %d, PostgreSQL takes lexemes of up to %d bytes", mail.MaxWordBytes, tsMaxWordBytes)
	}
}

// TestDeliverUnstorableWords: a message whose search doc holds words
// PostgreSQL cannot store is delivered (tsVector leaves them out) and found
// by its other words; sent as they are, such lexemes fail the statement
// with XX000, no one delivery's fault, so a whole batch would fail.
func TestDeliverUnstorableWords(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	a := mkAccount(t, s, "ann")
	doc, longest := unstorableDoc()
	// The limit guarded against: the server refuses the vector as it was.
	raw := pgtype.TSVector{Valid: true, Lexemes: []pgtype.TSVectorLexeme{{Word: strings.Repeat("z", 5000)}}}
	if _, err := s.pool.Exec(ctx, `SELECT $1::tsvector`, raw); err == nil || requestFault(err) {
		t.Errorf("a lexeme of 5,000 bytes: %v; want an error that is no request's fault", err)
	}
	msg := mail.NewMessage{Raw: []byte("Subject: x\r\n\r\nx"), From: "x@localhost", Received: t0, Search: &doc}
	if _, err := s.Deliver(ctx, msg, []mail.NewEntry{{Owner: a.ID, Folder: mail.Inbox}}); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	var n int
	var kept bool
	if err := s.pool.QueryRow(ctx, `SELECT length(search), $1 = ANY (tsvector_to_array(search)) FROM messages`,
		longest).Scan(&n, &kept); err != nil || n != 3 || !kept {
		t.Errorf("stored vector: %d lexemes, the %d-byte word kept %v, %v; want 3, true", n, tsMaxWordBytes, kept, err)
	}
	q, _ := mail.ParseQuery(`"a d"`)
	if got := mustSearch(t, s, a.ID, q); len(got) != 0 {
		t.Errorf(`"a d" found %d: a phrase spans the words left out`, len(got))
	}
	q, _ = mail.ParseQuery("d")
	if got := mustSearch(t, s, a.ID, q); len(got) != 1 {
		t.Errorf("d found %d, want 1", len(got))
	}
}

// distinctWords gives n different words of 8 letters.
func distinctWords(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		for j, k := 0, i; j < 8; j, k = j+1, k/26 {
			b.WriteByte(byte('a' + k%26))
		}
	}
	return b.String()
}

// TestTSVectorInPostgres: the vector tsVector sends holds what
// PostgreSQL's tsvector can: a body of distinct words far past
// mail.MaxIndexBodyBytes still gives a vector under its 1 MiB, of as many
// words as fit; and a single field's vector is the one
// to_tsvector('simple', ...) makes of it, caps included.
func TestTSVectorInPostgres(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	big := distinctWords(200_000) // 1.8 MB of words; as a vector ~3 MB
	var n, bytes int
	if err := s.pool.QueryRow(ctx, `SELECT length(v), pg_column_size(v) FROM (SELECT $1::tsvector AS v) x`,
		tsVector(mail.SearchDoc{Body: big})).Scan(&n, &bytes); err != nil {
		t.Fatalf("a vector of 200,000 words: %v", err)
	}
	if n == 0 || n >= 200_000 || bytes > 1<<20+n*4+16 {
		t.Errorf("a vector of 200,000 words: %d lexemes, %d bytes", n, bytes)
	}
	var words []string
	for i := range tsMaxPos + 100 {
		words = append(words, fmt.Sprint("w", i%20_000))
	}
	for _, body := range []string{"a b a", strings.Repeat("often ", 300) + "x", strings.Join(words, " "),
		"nai\u0308ve 日本語 1e5 abc123 007"} {
		doc := mail.SearchDoc{Body: body}
		// Equal, and written alike: the lexemes went in PostgreSQL's order
		// (its output is in that order; tsLiteral keeps the order sent).
		var same, alike bool
		v := tsVector(doc)
		if err := s.pool.QueryRow(ctx, `SELECT $1::tsvector = to_tsvector('simple', $2), $1::tsvector::text = $3`,
			v, body, tsLiteral(v)).Scan(&same, &alike); err != nil || !same || !alike {
			t.Errorf("body %.40q: tsVector = to_tsvector is %v, written alike %v, %v", body, same, alike, err)
		}
	}
}

// oldSearchVector is how migration 0004's store built the vector, from the
// SearchDoc's fields as $2 (subject) .. $6 (file names): the equivalence
// test compares it with tsVector's vector.
const oldSearchVector = `setweight(to_tsvector('simple', $2), 'A') || setweight(to_tsvector('simple', $3), 'B') || ` +
	`setweight(to_tsvector('simple', $4), 'C') || setweight(to_tsvector('simple', $5 || ' ' || $6), 'D')`

// searchCorpus is messages of many shapes: people in every field, numbers,
// accents, a combining mark, other scripts, HTML, an attachment's name, a
// word said hundreds of times and a body past tsMaxPos words.
func searchCorpus() [][]byte {
	var long strings.Builder
	for i := range tsMaxPos + 500 {
		fmt.Fprintf(&long, "n%d ", i%3000)
	}
	msgs := []string{
		"Subject: Quarterly report\r\nFrom: Alice Smith <alice@example.com>\r\nTo: Bob <bob@example.org>, carol@example.net\r\n" +
			"Cc: Dave Jones <dave@example.com>\r\n\r\nThe quarterly report is attached. Figures: 1e5, 007, abc123 and 3.14.\r\n",
		"Subject: Re: Quarterly report\r\nFrom: Bob <bob@example.org>\r\nTo: Alice Smith <alice@example.com>\r\n\r\n" +
			"Thanks Alice, the report looks fine. Lunch at the café on Friday?\r\n",
		"Subject: Caf\u00e9 cr\u00e8me\r\nFrom: Carol <carol@example.net>\r\nTo: dave@example.com\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\n\r\nUn caf\u00e9 cr\u00e8me, une nai\u0308ve question: \u65e5\u672c\u8a9e \u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac x\u0301y.\r\n",
		"Subject: lunch\r\nFrom: Dave Jones <dave@example.com>\r\nTo: Alice <alice@example.com>\r\nContent-Type: text/html\r\n\r\n" +
			"<p>Lunch <b>on Friday</b> at noon?</p><ul><li>report</li><li>figures</li></ul>\r\n",
		"Subject: budget\r\nFrom: alice@example.com\r\nTo: bob@example.org\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe budget, attached.\r\n" +
			"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"budget-2026.xlsx\"\r\n\r\nxx\r\n--b--\r\n",
		"Subject: often often\r\nFrom: bob@example.org\r\nTo: carol@example.net\r\n\r\n" + strings.Repeat("often said words ", 400) + "\r\n",
		"Subject: long letter\r\nFrom: carol@example.net\r\nTo: alice@example.com\r\n\r\n" + long.String() + "\r\n",
		"Subject: report\r\nFrom: Report Bot <report@example.com>\r\nTo: alice@example.com\r\n\r\nfriday report quarterly\r\n",
	}
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		out[i] = []byte(m)
	}
	return out
}

// corpusQueries gives queries of every kind made of doc's words: a word
// alone (exact and as a prefix), a phrase of two adjacent words of one
// field, a word in its field (from:, to:, subject:), its negation; and,
// apart, phrases of the last word of one field and the first of the next.
func corpusQueries(doc mail.SearchDoc) (same, across []string) {
	fields := []struct {
		key   string
		words []string
	}{{"subject:", mail.SearchWords(doc.Subject)}, {"from:", mail.SearchWords(doc.From)},
		{"to:", mail.SearchWords(doc.To)}, {"", mail.SearchWords(doc.Body)}, {"", mail.SearchWords(doc.Files)}}
	var prev string
	for _, f := range fields {
		w := f.words
		if len(w) == 0 {
			continue
		}
		for _, i := range []int{0, len(w) / 2, len(w) - 1} {
			same = append(same, `"`+w[i]+`"`, runes(w[i], 3), "-"+w[i], f.key+w[i])
			if i+1 < len(w) {
				same = append(same, `"`+w[i]+" "+w[i+1]+`"`, f.key+`"`+w[i]+" "+w[i+1]+`"`, w[i]+" "+runes(w[i+1], 1))
			}
		}
		if prev != "" {
			across = append(across, `"`+prev+" "+w[0]+`"`)
		}
		prev = w[len(w)-1]
	}
	return same, across
}

// runes gives the first n runes of w.
func runes(w string, n int) string {
	r := []rune(w)
	return string(r[:min(n, len(r))])
}

// TestSearchVectorEquivalence: over a corpus, every kind of query finds
// the same messages with tsVector's vector (sent in the binary format) and
// tsQuery's query (a literal) as with 0004's to_tsvector and to_tsquery.
// The one difference is documented: a phrase
// of the last word of one field and the first of the next matched the old
// vector (|| put them next to each other) and does not match the new one.
// (Another, not in this corpus: near tsMaxPos the gaps between fields move
// words onto the capped position a few words sooner.)
func TestSearchVectorEquivalence(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.pool.Exec(ctx, `CREATE TABLE eq (id int PRIMARY KEY, old tsvector, new tsvector)`); err != nil {
		t.Fatal(err)
	}
	var docs []mail.SearchDoc
	for i, raw := range searchCorpus() {
		d := mail.NewSearchDoc(raw, "envelope@example.com")
		docs = append(docs, d)
		if _, err := s.pool.Exec(ctx, `INSERT INTO eq VALUES ($1, `+oldSearchVector+`, $7::tsvector)`,
			i, d.Subject, d.From, d.To, d.Body, d.Files, tsVector(d)); err != nil {
			t.Fatal(err)
		}
	}
	find := func(query, cond string) []int {
		t.Helper()
		q, err := mail.ParseQuery(query)
		if err != nil {
			t.Fatalf("%q: %v", query, err)
		}
		rows, _ := s.pool.Query(ctx, `SELECT id FROM eq WHERE `+cond+` ORDER BY id`, tsQuery(q))
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			t.Fatalf("%q: %v", query, err)
		}
		return ids
	}
	// Where the old vector finds more, the phrase must span two fields.
	spans := func(i int, query string) bool {
		_, across := corpusQueries(docs[i])
		q, _ := mail.ParseQuery(query)
		for _, a := range across {
			for _, term := range q.Terms {
				if `"`+strings.Join(term.Words, " ")+`"` == a {
					return true
				}
			}
		}
		return false
	}
	checked := 0
	for i, d := range docs {
		same, across := corpusQueries(d)
		for _, q := range same {
			old, lit := find(q, `old @@ to_tsquery('simple', $1)`), find(q, `new @@ $1::tsquery`)
			for _, j := range old {
				if !slices.Contains(lit, j) && !spans(j, q) {
					t.Errorf("doc %d, query %q: to_tsvector finds %v, tsVector's %v", i, q, old, lit)
				}
			}
			for _, j := range lit {
				if !slices.Contains(old, j) {
					t.Errorf("doc %d, query %q: to_tsvector finds %v, tsVector's %v", i, q, old, lit)
				}
			}
			if !strings.HasPrefix(q, "-") && !slices.Contains(lit, i) {
				t.Errorf("doc %d, query %q: not found (%v)", i, q, lit)
			}
			checked++
		}
		for _, q := range across {
			old, lit := find(q, `old @@ to_tsquery('simple', $1)`), find(q, `new @@ $1::tsquery`)
			if slices.Contains(lit, i) || !slices.Contains(old, i) {
				t.Errorf("doc %d, phrase across fields %q: to_tsvector finds %v, tsVector's %v", i, q, old, lit)
			}
		}
	}
	t.Logf("%d queries found the same messages", checked)
}

// textBody is n bytes of prose-like text: words of a 3,000-word vocabulary,
// common ones more often, in lines of about 70 bytes.
func textBody(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 3000)
	for i := range vocab {
		w := make([]byte, 2+r.IntN(9))
		for j := range w {
			w[j] = byte('a' + r.IntN(26))
		}
		vocab[i] = string(w)
	}
	var b []byte
	line := 0
	for len(b) < n {
		w := vocab[int(float64(len(vocab))*r.Float64()*r.Float64()*r.Float64())]
		b = append(b, w...)
		if line += len(w) + 1; line > 70 {
			b, line = append(b, "\r\n"...), 0
		} else {
			b = append(b, ' ')
		}
	}
	return b
}

// BenchmarkTSVector is the Go side of indexing a 10 KB letter: its
// SearchDoc made into the tsvector sent in the binary format.
func BenchmarkTSVector(b *testing.B) {
	raw := append([]byte("Subject: benchmark of a letter\r\nFrom: Alice <alice@example.com>\r\nTo: bob@example.org\r\n\r\n"),
		textBody(10<<10)...)
	doc := mail.NewSearchDoc(raw, "alice@example.com")
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		tsVector(doc)
	}
}

// BenchmarkDeliverText is BenchmarkDeliver with a 10 KB letter of varied
// words (BenchmarkDeliver's body is one word said 160 times), so that the
// search index's share of PostgreSQL's CPU is that of real mail.
func BenchmarkDeliverText(b *testing.B) {
	raw := append([]byte("Subject: benchmark of a letter\r\nFrom: Alice <alice@example.com>\r\nTo: bob@example.org\r\n\r\n"),
		textBody(10<<10)...)
	doc := mail.NewSearchDoc(raw, "alice@example.com")
	benchDeliver(b, 4, mail.NewMessage{Raw: raw, From: "alice@localhost", Subject: "benchmark of a letter",
		Preview: mail.Preview(raw), Received: t0, Search: &doc})
}
