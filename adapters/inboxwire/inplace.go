package inboxwire

// Decoding an append's raw into the request line's own bytes (see
// DecodeRequestInPlace).

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
)

// base64Chunk is how much base64 decodeBase64InPlace decodes at a time:
// a multiple of 4, so that every chunk but the last is whole quanta.
const base64Chunk = 4 << 10

// plainRaw reports whether v, a value of the first pass over obj, is a
// JSON string without escapes lying in obj itself, and gives its offset
// there. Only such a string's bytes are its contents, which is what lets
// them be decoded where they lie.
func plainRaw(obj []byte, v valueRef) (off int, ok bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' || bytes.IndexByte(v, '\\') >= 0 {
		return 0, false
	}
	// A value read by json.Unmarshal is a slice of obj, which keeps obj's
	// capacity past it; the pointer check rules out any other (a
	// Decoder's copy).
	off = cap(obj) - cap(v)
	if off < 0 || off+len(v) > len(obj) || &obj[off] != &v[0] {
		return 0, false
	}
	return off, true
}

// decodeRawInPlace decodes obj, whose raw is the plain string of n bytes
// at off, into req: the other fields through encoding/json from a copy of
// obj with raw's contents left out (a few bytes for an append), raw from
// base64 into obj's own bytes. The first error in obj's order is
// returned, as json.Unmarshal of all of obj would.
func decodeRawInPlace(obj []byte, off, n int, req *Request) error {
	rest := make([]byte, 0, len(obj)-n+2)
	rest = append(rest, obj[:off+1]...)
	rest = append(rest, obj[off+n-1:]...)
	jerr := json.Unmarshal(rest, req)
	var te *json.UnmarshalTypeError
	if jerr != nil && !(errors.As(jerr, &te) && te.Offset > int64(off)) {
		return jerr // met before raw
	}
	b := obj[off+1 : off+n-1]
	m, err := decodeBase64InPlace(b, base64Chunk)
	if err != nil {
		return err
	}
	if jerr != nil {
		return jerr
	}
	req.Raw = b[:m]
	return nil
}

// decodeBase64InPlace decodes the standard base64 in b into b's first
// bytes and gives their number, with base64.StdEncoding.Decode's errors
// at the same offsets. It decodes a chunk at a time through a small
// buffer: a chunk's 3/4 lands before the chunk's end, so no byte is
// overwritten before it is read, whatever the decoder's own order.
func decodeBase64InPlace(b []byte, chunk int) (int, error) {
	tmp := make([]byte, chunk/4*3)
	n := 0
	for i := 0; i < len(b); i += chunk {
		src := b[i:min(i+chunk, len(b))]
		m, err := base64.StdEncoding.Decode(tmp, src)
		var bad base64.CorruptInputError
		if errors.As(err, &bad) {
			return 0, base64.CorruptInputError(int64(i) + int64(bad))
		}
		if err != nil {
			return 0, err
		}
		// Padding ends the data: Decode of the whole would find the next
		// chunk's first byte to be trailing garbage.
		if m < len(src)/4*3 && i+len(src) < len(b) {
			return 0, base64.CorruptInputError(i + len(src))
		}
		n += copy(b[n:], tmp[:m])
	}
	return n, nil
}
