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

// keepBytes is the largest line buffer a LineReader keeps between lines. A
// bigger one (a 1 MiB request, a fetch response) is dropped when the next
// line is read, so that a connection that once sent or received a big line
// does not hold its buffer while it idles.
const keepBytes = 64 << 10

// LineReader reads "\n"-terminated lines of at most max bytes.
type LineReader struct {
	br      *bufio.Reader
	max     int
	buf     []byte
	started bool   // bytes of the next line have arrived
	onStart func() // told when they do
	// grow, when set, is asked before the line's buffer grows past soft
	// bytes (see OnGrow).
	grow func(capacity int) error
	soft int
	// refused is what was read of a line that grow refused, -1 when it
	// has ended too (or there is none); see SkipLine.
	refused int
}

// NewLineReader bounds lines to max bytes (MaxLine if max <= 0), reading
// through a 64 KiB buffer.
func NewLineReader(r io.Reader, max int) *LineReader {
	return NewLineReaderSize(r, max, 64<<10)
}

// NewLineReaderSize is NewLineReader with a read buffer of size bytes
// (bufio's minimum, 16, when smaller). A server holding many idle
// connections wants a small one: a line longer than the buffer is
// assembled in a separate buffer that is dropped after use (see keepBytes).
func NewLineReaderSize(r io.Reader, max, size int) *LineReader {
	l := &LineReader{refused: -1}
	l.SetMax(max)
	l.br = bufio.NewReaderSize(startReader{l: l, r: r}, size)
	return l
}

// SetMax changes the bound for the lines read from now on (MaxLine if
// max <= 0): a server allows short lines before login and longer ones
// after.
func (l *LineReader) SetMax(max int) {
	if max <= 0 {
		max = MaxLine
	}
	l.max = max
}

// OnLineStart registers f to be called, from inside ReadLine, when the
// first bytes of a line arrive (or are found buffered): a server starts the
// line's read deadline there, so that a client may be silent as long as it
// likes between lines but must finish a line it has begun.
func (l *LineReader) OnLineStart(f func()) { l.onStart = f }

// OnGrow registers f to be asked, from inside ReadLine, before a line's
// buffer grows to a capacity of more than soft bytes, with that capacity
// (the whole buffer, not the growth): a server takes it from a
// server-wide memory budget there. When f returns an error, ReadLine
// returns it without growing, with the rest of the line unread: call
// SkipLine, or give the stream up.
//
// A buffer past soft grows by doubling along the halvings of max+1, so
// that a line of the largest size is reached from a buffer of half of it
// (the step's old and new buffers are then 1.5 times max, not 2 times).
func (l *LineReader) OnGrow(soft int, f func(capacity int) error) {
	l.soft, l.grow = soft, f
}

// Detach makes the next line use a buffer of its own, leaving the last
// line's bytes (or a slice of them, such as an append's raw decoded in
// place) to whoever still holds them, and the buffer to the GC when they
// are done.
func (l *LineReader) Detach() { l.buf = nil }

// SkipLine reads and drops the rest of a line that the OnGrow function
// refused, holding none of it, and reports ErrTooLarge if the line passes
// max on the way. The next ReadLine starts a new line. A read error is
// returned as it came.
func (l *LineReader) SkipLine() error {
	l.buf = nil
	for l.refused >= 0 {
		frag, err := l.br.ReadSlice('\n')
		l.refused += len(frag)
		if l.refused > l.max+1 {
			l.refused = -1
			return ErrTooLarge
		}
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			l.refused = -1
			return err
		}
	}
	l.refused = -1
	l.started = false
	return nil
}

func (l *LineReader) start() {
	if !l.started {
		l.started = true
		if l.onStart != nil {
			l.onStart()
		}
	}
}

// startReader tells its LineReader when bytes arrive.
type startReader struct {
	l *LineReader
	r io.Reader
}

func (s startReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.l.start()
	}
	return n, err
}

// ReadLine gives the next line without its "\n" (and a trailing "\r").
// The slice is valid until the next call. A line over the bound gives
// ErrTooLarge after reading no more than max plus the read buffer's size
// of it; the stream is then unusable.
func (l *LineReader) ReadLine() ([]byte, error) {
	if cap(l.buf) > keepBytes {
		l.buf = nil
	}
	l.buf = l.buf[:0]
	if l.br.Buffered() > 0 {
		l.start()
	}
	for {
		frag, err := l.br.ReadSlice('\n')
		if len(l.buf)+len(frag) > l.max+1 {
			return nil, ErrTooLarge
		}
		if need := len(l.buf) + len(frag); need > cap(l.buf) {
			if gerr := l.growTo(need); gerr != nil {
				l.refused = -1 // the line ended with this fragment
				if err != nil {
					l.refused = need
				}
				return nil, gerr
			}
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
	l.started = false
	line := bytes.TrimSuffix(l.buf[:len(l.buf)-1], []byte("\r"))
	if len(line) > l.max {
		return nil, ErrTooLarge
	}
	return line, nil
}

// growTo gives the buffer room for need bytes: the smallest of max+1's
// halvings that holds them, asking the OnGrow function first when that is
// more than soft. Its old bytes are copied once per doubling, where
// append's growth (1.25 times for large slices) would copy a 33 MiB line
// about five times over.
func (l *LineReader) growTo(need int) error {
	capacity := l.max + 1
	for capacity/2 >= need {
		capacity /= 2
	}
	if l.grow != nil && capacity > l.soft {
		if err := l.grow(capacity); err != nil {
			return err
		}
	}
	grown := make([]byte, len(l.buf), capacity)
	copy(grown, l.buf)
	l.buf = grown
	return nil
}

// requestKeys are Request's JSON keys. They match exactly: encoding/json
// alone would also take "OP" or "tAg" for them.
var requestKeys = map[string]bool{
	"tag": true, "op": true, "user": true, "password": true, "folder": true,
	"before": true, "limit": true, "id": true, "seen": true,
	"to": true, "add": true, "remove": true, "query": true,
	"raw": true, "flags": true,
}

// DecodeRequest parses one request line. Errors wrap ErrBadRequest and say
// what was wrong. The tag is returned even when the rest is bad, so the
// error response can echo it. Keys are case-sensitive: a key that is not
// exactly one of Request's (say "OP") is an unknown field.
func DecodeRequest(line []byte) (Request, error) {
	return decodeRequest(line, false)
}

// DecodeRequestInPlace is DecodeRequest for a line its caller gives up: a
// raw (append's message) is decoded from base64 into the line's own bytes,
// and req.Raw is a slice of line, so the line's buffer is the message's
// only copy (a 25 MiB append would otherwise hold 33 MiB of line and 25
// MiB of message). Only a raw that is a JSON string without escapes is
// decoded so; any other raw is decoded as DecodeRequest does. The results
// and errors are DecodeRequest's.
func DecodeRequestInPlace(line []byte) (Request, error) {
	return decodeRequest(line, true)
}

func decodeRequest(line []byte, inPlace bool) (Request, error) {
	var req Request
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return req, fmt.Errorf("%w: not a JSON object", ErrBadRequest)
	}
	// First the object's keys, exactly as sent (duplicates: the last
	// wins, as for the struct below).
	fields, end, err := requestFields(trimmed)
	if tag, ok := fields["tag"]; ok {
		if !validTag(tag) {
			return req, fmt.Errorf("%w: tag must be a string, number, boolean or null", ErrBadRequest)
		}
		req.Tag = bytes.Clone(tag)
	}
	if err != nil {
		return req, err
	}
	if unknown, ok := unknownKey(fields); ok {
		return req, fmt.Errorf("%w: json: unknown field %q", ErrBadRequest, unknown)
	}
	// Every key is now exactly a field's, so the case-insensitive match of
	// encoding/json can only pick that field.
	tag := req.Tag
	if off, ok := plainRaw(trimmed[:end], fields["raw"]); inPlace && ok {
		err = decodeRawInPlace(trimmed[:end], off, len(fields["raw"]), &req)
	} else {
		err = json.Unmarshal(trimmed[:end], &req)
	}
	if err != nil {
		req = Request{Tag: tag}
		return req, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	req.Tag = tag
	if req.Op == "" {
		return req, fmt.Errorf("%w: missing op", ErrBadRequest)
	}
	return req, nil
}

// valueRef is a value of the first pass over a request: the bytes of the
// line it was read from, not a copy, so that an append's megabytes of
// base64 are not copied once more only to check the keys.
type valueRef []byte

func (v *valueRef) UnmarshalJSON(b []byte) error {
	*v = b
	return nil
}

// requestFields reads the object's keys and where it ends. Its values point
// into line. The usual line is one valid object: json.Unmarshal reads it in
// place. Any other goes through a Decoder, for its error texts and to tell
// trailing data from a bad object.
func requestFields(line []byte) (fields map[string]valueRef, end int, err error) {
	if json.Unmarshal(line, &fields) == nil {
		return fields, len(line), nil
	}
	fields = nil
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&fields); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	// dec.More would miss a stray "}" or "]" after the object, so look at
	// the rest of the line directly.
	end = int(dec.InputOffset())
	if len(bytes.TrimSpace(line[end:])) > 0 {
		return fields, end, fmt.Errorf("%w: trailing data after the object", ErrBadRequest)
	}
	return fields, end, nil
}

// unknownKey gives the first key, in byte order, that is not Request's
// (byte order, so that the error names the same key every time).
func unknownKey(fields map[string]valueRef) (key string, found bool) {
	for k := range fields {
		if !requestKeys[k] && (!found || k < key) {
			key, found = k, true
		}
	}
	return key, found
}

// validTag accepts an absent tag or a JSON scalar.
func validTag(t []byte) bool {
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
