package inboxwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"mailroom/domain/mail"
)

func TestReadLine(t *testing.T) {
	in := "a\nbb\r\n\n" + strings.Repeat("x", 10) + "\n" + strings.Repeat("y", 11) + "\nlast"
	lr := NewLineReader(strings.NewReader(in), 10)
	for _, want := range []string{"a", "bb", "", strings.Repeat("x", 10)} {
		got, err := lr.ReadLine()
		if err != nil || string(got) != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
	if _, err := lr.ReadLine(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("11 bytes: %v, want ErrTooLarge", err)
	}
	lr = NewLineReader(strings.NewReader("last"), 10)
	if _, err := lr.ReadLine(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("unterminated: %v", err)
	}
	lr = NewLineReader(strings.NewReader(""), 10)
	if _, err := lr.ReadLine(); err != io.EOF {
		t.Fatalf("empty: %v", err)
	}
}

func TestReadLineHugeStopsEarly(t *testing.T) {
	// A line far over the bound fails without being read whole.
	r := &countingReader{r: io.MultiReader(strings.NewReader(strings.Repeat("x", 8<<20)), strings.NewReader("\n"))}
	lr := NewLineReader(r, MaxLine)
	if _, err := lr.ReadLine(); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
	if r.n > MaxLine+128<<10 {
		t.Errorf("read %d bytes of an 8 MiB line", r.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestDecodeRequest(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   bool
		tag  string
		op   string
	}{
		{`{"op":"ping"}`, true, "", "ping"},
		{` {"tag":1,"op":"ping"} `, true, "1", "ping"},
		{`{"tag":"a b","op":"list","folder":"inbox","before":5,"limit":10}`, true, `"a b"`, "list"},
		{`{"tag":null,"op":"quit"}`, true, "null", "quit"},
		{`{"tag":true,"op":"quit"}`, true, "true", "quit"},
		{`{"tag":1}`, false, "1", ""},
		{`{"tag":1,"op":"ping","x":1}`, false, "1", ""},
		{`{"tag":1,"op":"ping"}}`, false, "1", ""},
		{`{"tag":1,"op":"ping"}{}`, false, "1", ""},
		{`{"tag":[1],"op":"ping"}`, false, "", ""},
		{`{"tag":{},"op":"ping"}`, false, "", ""},
		{`{"tag":1,"op":"fetch","id":"7"}`, false, "1", ""},
		{`{"tag":1,"op":"fetch","id":1e3}`, false, "1", ""},
		{`[]`, false, "", ""},
		{`nope`, false, "", ""},
		{``, false, "", ""},
		{`{"tag":1,"op":`, false, "", ""},
	} {
		req, err := DecodeRequest([]byte(tc.line))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.line, err)
		}
		if err != nil && !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: %v does not wrap ErrBadRequest", tc.line, err)
		}
		if string(req.Tag) != tc.tag {
			t.Errorf("%s: tag %s, want %s", tc.line, req.Tag, tc.tag)
		}
		if tc.ok && req.Op != tc.op {
			t.Errorf("%s: op %q", tc.line, req.Op)
		}
	}
	req, _ := DecodeRequest([]byte(`{"op":"seen","id":3,"seen":false}`))
	if req.ID == nil || *req.ID != 3 || req.Seen == nil || *req.Seen {
		t.Errorf("seen fields: %+v", req)
	}
}

func TestFolderRequestFields(t *testing.T) {
	req, err := DecodeRequest([]byte(`{"op":"flags","id":3,"add":["flagged"],"remove":["seen","deleted"]}`))
	if err != nil || req.Op != OpFlags || len(req.Add) != 1 || len(req.Remove) != 2 {
		t.Errorf("flags request: %+v, %v", req, err)
	}
	req, err = DecodeRequest([]byte(`{"op":"rename_folder","folder":"a","to":"b"}`))
	if err != nil || req.To == nil || *req.To != "b" {
		t.Errorf("rename request: %+v, %v", req, err)
	}
	if _, err := DecodeRequest([]byte(`{"op":"flags","id":3,"add":"seen"}`)); !errors.Is(err, ErrBadRequest) {
		t.Errorf("add as a string = %v, want ErrBadRequest", err)
	}
	if f := FlagsOf([]string{"seen", "$Junk", "draft"}); f != mail.FlagSeen|mail.FlagDraft {
		t.Errorf("FlagsOf = %v", f)
	}
	m, err := MetaFrom(mail.Meta{Flags: mail.FlagAnswered | mail.FlagSeen, Seen: true}).ToDomain()
	if err != nil || m.Flags != mail.FlagAnswered|mail.FlagSeen || !m.Seen {
		t.Errorf("round trip: %+v, %v", m, err)
	}
}

func TestResponseShapes(t *testing.T) {
	zero := 0
	for _, tc := range []struct {
		v    any
		want string
	}{
		{Response{OK: true}, `{"ok":true}`},
		{Response{Tag: json.RawMessage(`"t"`), OK: true, Messages: []Meta{}}, `{"tag":"t","ok":true,"messages":[]}`},
		{Response{OK: true, Total: &zero, Unseen: &zero}, `{"ok":true,"total":0,"unseen":0}`},
		{Response{Error: &Error{Code: CodeNotFound, Message: "m"}}, `{"ok":false,"error":{"code":"not_found","message":"m"}}`},
		{Event{Event: EventResync}, `{"event":"resync"}`},
		{Message{Raw: []byte("hi")}, `{"id":0,"folder":"","from":"","to":null,"subject":"","preview":"","date":"","size":0,"seen":false,"flags":null,"raw":"aGk="}`},
		{Response{OK: true, Folders: []Folder{{Name: "inbox", Special: "inbox", Total: 2, Unseen: 1}, {Name: "Work/2025"}}},
			`{"ok":true,"folders":[{"name":"inbox","special":"inbox","total":2,"unseen":1},{"name":"Work/2025","total":0,"unseen":0}]}`},
		{Response{OK: true, ID: new(int64(7))}, `{"ok":true,"id":7}`},
		{Response{OK: true, Flags: []string{}}, `{"ok":true,"flags":[]}`},
		{MetaFrom(mail.Meta{Seen: true, Flags: mail.FlagFlagged}),
			`{"id":0,"folder":"","from":"","to":[],"subject":"","preview":"","date":"0001-01-01T00:00:00Z","size":0,"seen":true,"flags":["seen","flagged"]}`},
		{MetaFrom(mail.Meta{}), `{"id":0,"folder":"","from":"","to":[],"subject":"","preview":"","date":"0001-01-01T00:00:00Z","size":0,"seen":false,"flags":[]}`},
	} {
		b, err := AppendLine(nil, tc.v)
		if err != nil || string(b) != tc.want+"\n" {
			t.Errorf("got %s, %v; want %s", b, err, tc.want)
		}
	}
}

func TestMetaRoundTrip(t *testing.T) {
	d := time.Date(2026, 3, 1, 12, 30, 0, 0, time.FixedZone("x", 3600))
	m := mail.Meta{ID: 4, Folder: mail.Sent, From: "a@x", To: []string{"b@x"}, Subject: "s", Preview: "Hi Bob…", Date: d, Size: 9, Seen: true}
	w := MetaFrom(m)
	if w.Preview != "Hi Bob…" {
		t.Errorf("preview %q", w.Preview)
	}
	if w.Date != "2026-03-01T12:30:00+01:00" {
		t.Errorf("date %s", w.Date)
	}
	back, err := w.ToDomain()
	if err != nil || !back.Date.Equal(d) || back.ID != 4 || back.Folder != mail.Sent || !back.Seen || back.Preview != m.Preview {
		t.Errorf("round trip %+v %v", back, err)
	}
	if MetaFrom(mail.Meta{}).To == nil {
		t.Error("nil To must be written as []")
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"op":"ping"}`,
		`{"tag":1,"op":"login","user":"bob","password":"secret pass"}`,
		`{"tag":"x","op":"list","folder":"inbox","before":10,"limit":50}`,
		`{"tag":null,"op":"fetch","id":1}`,
		`{"tag":true,"op":"seen","id":1,"seen":true}`,
		`{"op":"delete","id":-1}`,
		`{"op":"count","folder":"sent"}`,
		`{"op":"watch"} `,
		`{"tag":[1],"op":"ping"}`,
		`{"tag":1,"op":"ping"}}`,
		`{"tag":1e999,"op":"ping"}`,
		`{"tag":"\ud800","op":"ping"}`,
		`{"op":"ping","op":"quit"}`,
		`{"OP":"ping"}`,
		`{"tag":2,"op":"append","folder":"drafts","raw":"aGk=","flags":["draft","seen"]}`,
		`{"op":"append","folder":"drafts","raw":"aGk","tag":"x"}`,
		"{\"op\":\"ping\xff\"}",
		`{`, `[]`, `null`, ``, ` `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := DecodeRequest(line)
		if err != nil && !errors.Is(err, ErrBadRequest) {
			t.Fatalf("%v does not wrap ErrBadRequest", err)
		}
		if err == nil && req.Op == "" {
			t.Fatal("accepted without an op")
		}
		if !validTag(req.Tag) {
			t.Fatalf("invalid tag %s returned", req.Tag)
		}
		// Whatever came back, the server must be able to echo the tag.
		out, merr := AppendLine(nil, Response{Tag: req.Tag, Error: &Error{Code: CodeBadRequest, Message: "x"}})
		if merr != nil {
			t.Fatalf("cannot echo tag %q: %v", req.Tag, merr)
		}
		if bytes.Count(out, []byte("\n")) != 1 {
			t.Fatalf("response is not one line: %q", out)
		}
		if err == nil {
			// An accepted request survives a round trip.
			b, merr := json.Marshal(req)
			if merr != nil {
				t.Fatal(merr)
			}
			again, err2 := DecodeRequest(b)
			if err2 != nil || again.Op != req.Op {
				t.Fatalf("round trip of %s: %v", b, err2)
			}
		}
	})
}

func TestDecodeRequestKeysAreExact(t *testing.T) {
	for _, tc := range []struct {
		line string
		tag  string // echoed tag, "" for none
	}{
		{`{"OP":"ping"}`, ""},
		{`{"op":"ping","Op":"quit"}`, ""},
		{`{"TAG":{"a":"b"},"op":"ping"}`, ""},
		{`{"TAG":1,"op":"ping"}`, ""},
		{`{"tag":2,"op":"fetch","ID":1}`, "2"},
		{`{"tAg":[]}0`, ""}, // the fuzzer's crasher: it echoed an array tag
		{`{"tag":3,"op":"ping","":1}`, "3"},
	} {
		req, err := DecodeRequest([]byte(tc.line))
		if !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: err %v, want bad request", tc.line, err)
		}
		if string(req.Tag) != tc.tag {
			t.Errorf("%s: tag %s, want %q", tc.line, req.Tag, tc.tag)
		}
	}
	_, err := DecodeRequest([]byte(`{"tag":1,"op":"ping","Zz":1,"Aa":2}`))
	if err == nil || !strings.Contains(err.Error(), `unknown field "Aa"`) {
		t.Errorf("unknown keys: %v, want the first in byte order named", err)
	}
}

func TestFetchLineIsAppendLine(t *testing.T) {
	meta := Meta{ID: 4, Folder: "inbox", From: "a@x", To: []string{"b@x"}, Subject: "s \"q\" <é>", Preview: "p", Date: "2026-03-01T12:30:00Z", Size: 9}
	bin := make([]byte, 3*fetchChunk+2)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	for _, tc := range []struct {
		tag json.RawMessage
		raw []byte
	}{
		{nil, []byte("hi")},
		{json.RawMessage(`"t"`), nil},
		{json.RawMessage(`17`), []byte{}},
		{json.RawMessage(`null`), bin[:fetchChunk]},
		{json.RawMessage(`true`), bin},
		{nil, bin[:fetchChunk+1]},
	} {
		want, err := AppendLine(nil, Response{Tag: tc.tag, OK: true, Message: &Message{Meta: meta, Raw: orEmpty(tc.raw)}})
		if err != nil {
			t.Fatal(err)
		}
		f, err := NewFetchLine(tc.tag, Message{Meta: meta, Raw: tc.raw})
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		n, err := f.WriteTo(&got)
		if err != nil || int(n) != got.Len() || f.Len() != got.Len() || f.RawLen() != len(tc.raw) {
			t.Errorf("WriteTo %d, %v; Len %d; wrote %d", n, err, f.Len(), got.Len())
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("tag %s, %d raw bytes:\n got %.300s\nwant %.300s", tc.tag, len(tc.raw), got.Bytes(), want)
		}
	}
}

func orEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func TestLineReaderSetMaxAndRelease(t *testing.T) {
	big := strings.Repeat("b", 200<<10)
	in := strings.Repeat("s", 100) + "\n" + big + "\nsmall\n" + strings.Repeat("x", 300) + "\n"
	lr := NewLineReaderSize(strings.NewReader(in), 8<<10, 64)
	if line, err := lr.ReadLine(); err != nil || len(line) != 100 {
		t.Fatalf("short line: %d, %v", len(line), err)
	}
	lr.SetMax(1 << 20)
	if line, err := lr.ReadLine(); err != nil || string(line) != big {
		t.Fatalf("big line: %d, %v", len(line), err)
	}
	if cap(lr.buf) <= keepBytes {
		t.Fatalf("the test needs a big buffer, has %d", cap(lr.buf))
	}
	if line, err := lr.ReadLine(); err != nil || string(line) != "small" {
		t.Fatalf("after the big line: %q, %v", line, err)
	}
	if cap(lr.buf) > keepBytes {
		t.Errorf("a %d-byte buffer kept after a small line", cap(lr.buf))
	}
	lr.SetMax(200)
	if _, err := lr.ReadLine(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("300 bytes over a max of 200: %v", err)
	}
}

func TestLineReaderOnLineStart(t *testing.T) {
	// Lines arrive in pieces: "ab" "c\nd" "\n" "\n" then EOF.
	r := &piecesReader{pieces: []string{"ab", "c\nd", "\n", "\n"}}
	lr := NewLineReaderSize(r, 100, 16)
	var starts []int // r.reads at each start
	lr.OnLineStart(func() { starts = append(starts, r.reads) })
	for _, want := range []string{"abc", "d", ""} {
		if line, err := lr.ReadLine(); err != nil || string(line) != want {
			t.Fatalf("got %q, %v; want %q", line, err, want)
		}
	}
	// "abc" starts at the first read; "d" was buffered with it (no read
	// of its own); "" starts at the fourth read.
	if fmt.Sprint(starts) != "[1 2 4]" {
		t.Errorf("starts at reads %v, want [1 2 4]", starts)
	}
	if _, err := lr.ReadLine(); err != io.EOF {
		t.Errorf("end: %v", err)
	}
}

type piecesReader struct {
	pieces []string
	reads  int
}

func (p *piecesReader) Read(b []byte) (int, error) {
	if len(p.pieces) == 0 {
		return 0, io.EOF
	}
	p.reads++
	n := copy(b, p.pieces[0])
	p.pieces = p.pieces[1:]
	return n, nil
}
