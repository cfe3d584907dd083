package inboxwire

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrTooLarge is returned by ReadLine for a line over the bound.
var ErrTooLarge = errors.New("inboxwire: line too large")

// ErrBadRequest wraps every decoding failure of a well-framed line.
var ErrBadRequest = errors.New("inboxwire: bad request")

// LineReader reads "\n"-terminated lines of at most max bytes.
type LineReader struct {
	br  *bufio.Reader
	max int
	buf []byte
}

// NewLineReader bounds lines to max bytes (MaxLine if max <= 0).
func NewLineReader(r io.Reader, max int) *LineReader {
	if max <= 0 {
		max = MaxLine
	}
	return &LineReader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// ReadLine gives the next line without its "\n" (and a trailing "\r").
// The slice is valid until the next call. A line over the bound gives
// ErrTooLarge after reading no more than max+bufsize bytes of it; the
// stream is then unusable.
func (l *LineReader) ReadLine() ([]byte, error) {
	l.buf = l.buf[:0]
	for {
		frag, err := l.br.ReadSlice('\n')
		if len(l.buf)+len(frag) > l.max+1 {
			return nil, ErrTooLarge
		}
		l.buf = append(l.buf, frag...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF && len(l.buf) > 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line := bytes.TrimSuffix(l.buf[:len(l.buf)-1], []byte("\r"))
	if len(line) > l.max {
		return nil, ErrTooLarge
	}
	return line, nil
}

// DecodeRequest parses one request line. Errors wrap ErrBadRequest and say
// what was wrong. The tag is returned even when the rest is bad, so the
// error response can echo it.
func DecodeRequest(line []byte) (Request, error) {
	var req Request
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return req, fmt.Errorf("%w: not a JSON object", ErrBadRequest)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tagOnly struct {
			Tag json.RawMessage `json:"tag"`
		}
		if json.Unmarshal(trimmed, &tagOnly) == nil && validTag(tagOnly.Tag) {
			req.Tag = tagOnly.Tag
		} else {
			req.Tag = nil
		}
		return req, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	// dec.More would miss a stray "}" or "]" after the object, so look at
	// the rest of the line directly.
	if len(bytes.TrimSpace(trimmed[dec.InputOffset():])) > 0 {
		return req, fmt.Errorf("%w: trailing data after the object", ErrBadRequest)
	}
	if !validTag(req.Tag) {
		req.Tag = nil
		return req, fmt.Errorf("%w: tag must be a string, number, boolean or null", ErrBadRequest)
	}
	if req.Op == "" {
		return req, fmt.Errorf("%w: missing op", ErrBadRequest)
	}
	return req, nil
}

// validTag accepts an absent tag or a JSON scalar.
func validTag(t json.RawMessage) bool {
	if len(t) == 0 {
		return true
	}
	switch t[0] {
	case '{', '[':
		return false
	}
	return true
}

// AppendLine appends v as one JSON line to dst.
func AppendLine(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	dst = append(dst, b...)
	return append(dst, '\n'), nil
}
