package inboxwire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
)

// FetchLine is a fetch response written straight from the message's bytes:
// the base64 is made while writing, a few KiB at a time, so a server
// never holds a second, 4/3-size copy of a message it is sending (nor the
// copies json.Marshal would make on the way). Its bytes are exactly
// AppendLine's for Response{Tag: tag, OK: true, Message: &m}, with a nil
// Raw written as "".
type FetchLine struct {
	head []byte // the response up to and including `"raw":"`
	raw  []byte
}

// fetchTail closes the raw string, the message and the response.
const fetchTail = `"}}` + "\n"

// NewFetchLine prepares m's fetch response. It keeps m.Raw (not a copy)
// until the line is written. Its error is json.Marshal's for the tag.
func NewFetchLine(tag json.RawMessage, m Message) (*FetchLine, error) {
	raw := m.Raw
	m.Raw = []byte{}
	b, err := json.Marshal(Response{Tag: tag, OK: true, Message: &m})
	if err != nil {
		return nil, err
	}
	// Raw is Message's last field and Message Response's last non-empty
	// one, so the empty string is at the very end.
	if !bytes.HasSuffix(b, []byte(`"raw":""}}`)) {
		return nil, errors.New("inboxwire: fetch response is not shaped as expected")
	}
	return &FetchLine{head: b[:len(b)-len(`"}}`)], raw: raw}, nil
}

// Len is the line's length in bytes, "\n" included.
func (f *FetchLine) Len() int {
	return len(f.head) + base64.StdEncoding.EncodedLen(len(f.raw)) + len(fetchTail)
}

// RawLen is the length of the message the line holds.
func (f *FetchLine) RawLen() int { return len(f.raw) }

// fetchChunk is how much of the message is encoded per write; a multiple
// of 3, so that only the last chunk has padding.
const fetchChunk = 3 << 10

// WriteTo writes the line to w.
func (f *FetchLine) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(f.head)
	total := int64(n)
	if err != nil {
		return total, err
	}
	out := make([]byte, base64.StdEncoding.EncodedLen(min(len(f.raw), fetchChunk)))
	for raw := f.raw; len(raw) > 0; {
		chunk := raw[:min(len(raw), fetchChunk)]
		raw = raw[len(chunk):]
		enc := out[:base64.StdEncoding.EncodedLen(len(chunk))]
		base64.StdEncoding.Encode(enc, chunk)
		n, err = w.Write(enc)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	n, err = io.WriteString(w, fetchTail)
	return total + int64(n), err
}
