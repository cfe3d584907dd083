package inboxwire

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecodeBase64InPlace holds the chunked in-place decoder to
// base64.StdEncoding.Decode: the same bytes, the same error at the same
// offset, for chunks of 4, 8 and the real size.
func FuzzDecodeBase64InPlace(f *testing.F) {
	for _, s := range []string{"", "QQ==", "QQ==QUFB", "QUFBQUFB", "QUE=QUFB", "QUFB!", "QUFBQ", "QQ=", "QUFBQUE=", "Q===",
		"QUFBQUFBQQ==QUFB", strings.Repeat("QUFB", 2000) + "QQ=="} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if bytes.ContainsAny(src, "\r\n") {
			return // never in a JSON string without escapes
		}
		want := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
		wn, werr := base64.StdEncoding.Decode(want, src)
		for _, chunk := range []int{4, 8, 12, base64Chunk} {
			b := bytes.Clone(src)
			n, err := decodeBase64InPlace(b, chunk)
			if fmt.Sprint(err) != fmt.Sprint(werr) {
				t.Fatalf("chunk %d, %q: error %v, want %v", chunk, src, err, werr)
			}
			if err == nil && !bytes.Equal(b[:n], want[:wn]) {
				t.Fatalf("chunk %d, %q: %q, want %q", chunk, src, b[:n], want[:wn])
			}
		}
	})
}

// FuzzDecodeRequestInPlace holds DecodeRequestInPlace to DecodeRequest:
// the same request and the same error text for every line.
func FuzzDecodeRequestInPlace(f *testing.F) {
	big := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("draft "), 3000))
	for _, s := range []string{
		`{"tag":2,"op":"append","folder":"drafts","raw":"aGk=","flags":["draft","seen"]}`,
		`{"op":"append","folder":"drafts","raw":"aGk","tag":"x"}`,
		`{"op":"append","folder":"drafts","raw":"` + big + `"}`,
		`{"op":"append","raw":"not base64!","limit":"x"}`,
		`{"op":"append","limit":"x","raw":"not base64!"}`,
		`{"op":"append","raw":"aGk=","limit":"x"}`,
		`{"op":"append","raw":"aGk=","limit":1e999}`,
		`{"op":"append","raw":42,"raw":"aGk="}`,
		`{"op":"append","raw":"!!","raw":"aGk="}`,
		`{"op":"append","raw":"aGk=","raw":"!!"}`,
		`{"op":"append","raw":"aG\/k="}`,
		`{"op":"append","raw":""}`,
		`{"op":"append","raw":null}`,
		`{"op":"append","raw":"aGk=", "tag":[1]}`,
		`{"op":"append","raw":"aGk="} x`,
		"{\"op\":\"append\",\"raw\":\"aG\xffk=\"}",
		`{"raw":"aGk="}`,
		`{"op":"ping"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		want, werr := DecodeRequest(line)
		got, err := DecodeRequestInPlace(bytes.Clone(line))
		if fmt.Sprint(err) != fmt.Sprint(werr) {
			t.Fatalf("%q: error %v, want %v", line, err, werr)
		}
		if !reflect.DeepEqual(normRaw(got), normRaw(want)) {
			t.Fatalf("%q: %+v, want %+v", line, got, want)
		}
	})
}

// normRaw makes an empty raw nil-or-not alike: "" decodes to an empty
// slice either way, and only its length matters.
func normRaw(r Request) Request {
	if r.Raw != nil && len(r.Raw) == 0 {
		r.Raw = []byte{}
	}
	return r
}

// TestDecodeRequestInPlaceAliasesTheLine: the raw is the line's own bytes.
func TestDecodeRequestInPlaceAliasesTheLine(t *testing.T) {
	msg := bytes.Repeat([]byte("body "), 5000)
	line := []byte(`{"tag":1,"op":"append","folder":"drafts","raw":"` + base64.StdEncoding.EncodeToString(msg) + `"}`)
	req, err := DecodeRequestInPlace(line)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(req.Raw, msg) {
		t.Fatalf("raw is %d bytes, not the message", len(req.Raw))
	}
	if off := bytes.Index(line, []byte(`"raw":"`)) + len(`"raw":"`); &line[off] != &req.Raw[0] {
		t.Error("raw is a copy, not the line's bytes")
	}
}

// TestLineReaderGrowBudget: lines up to soft never ask; a longer one asks
// for each capacity before it is allocated, up to one of max+1's halvings;
// a refusal leaves the rest of the line to SkipLine, and the next line
// reads as usual.
func TestLineReaderGrowBudget(t *testing.T) {
	const max, soft = 64 << 10, 4 << 10
	long := strings.Repeat("a", 40<<10)
	in := strings.NewReader("short\n" + long + "\n" + long + "\nafter\n" + strings.Repeat("b", max+100) + "\n")
	lr := NewLineReaderSize(in, max, 16)
	var asked []int
	refuse := false
	lr.OnGrow(soft, func(capacity int) error {
		asked = append(asked, capacity)
		if refuse {
			return errNoRoom
		}
		return nil
	})
	if line, err := lr.ReadLine(); err != nil || string(line) != "short" || len(asked) != 0 {
		t.Fatalf("short line: %q, %v, asked %v", line, err, asked)
	}
	if line, err := lr.ReadLine(); err != nil || string(line) != long {
		t.Fatalf("long line: %d bytes, %v", len(line), err)
	}
	// 40 KiB: 4 KiB is not asked for (soft), then doubling to max+1.
	if want := []int{(max + 1) / 8, (max + 1) / 4, (max + 1) / 2, max + 1}; fmt.Sprint(asked) != fmt.Sprint(want) {
		t.Errorf("asked for %v, want %v", asked, want)
	}
	refuse = true
	if _, err := lr.ReadLine(); !errors.Is(err, errNoRoom) {
		t.Fatalf("refused line: %v", err)
	}
	if err := lr.SkipLine(); err != nil {
		t.Fatal(err)
	}
	if line, err := lr.ReadLine(); err != nil || string(line) != "after" {
		t.Fatalf("after the skipped line: %q, %v", line, err)
	}
	// A refused line that passes max on the way is too large.
	if _, err := lr.ReadLine(); !errors.Is(err, errNoRoom) {
		t.Fatalf("second refused line: %v", err)
	}
	if err := lr.SkipLine(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("skipping a line over max: %v", err)
	}
	// A refusal at the fragment that ends the line leaves nothing to skip.
	lr = NewLineReaderSize(strings.NewReader(long+"\nnext\n"), max, 64<<10)
	lr.OnGrow(soft, func(int) error { return errNoRoom })
	if _, err := lr.ReadLine(); !errors.Is(err, errNoRoom) {
		t.Fatalf("refused whole line: %v", err)
	}
	if err := lr.SkipLine(); err != nil {
		t.Fatal(err)
	}
	if line, err := lr.ReadLine(); err != nil || string(line) != "next" {
		t.Fatalf("after a whole refused line: %q, %v", line, err)
	}
	if _, err := lr.ReadLine(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

var errNoRoom = errors.New("no room")
