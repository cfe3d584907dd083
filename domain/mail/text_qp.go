package mail

import "bytes"

// This file mirrors the decoding of mime/quotedprintable.Reader (Go 1.26)
// read to the end, on a body already in memory: the reader goes through a
// bufio.Reader and io.ReadAll a byte at a time, and that was a fifth of
// the CPU of reading a quoted-printable letter for the index. Every quirk is
// kept, the lenient ones included; TestDecodeQPSameAsLibrary and
// FuzzDecodeQPSame hold it to the library's answer, so they fail when a Go
// release changes the reader.

// qpLineMax is bufio's default buffer size: the library reads a line
// through a bufio.Reader, and a longer line ends the decoding after its
// first qpLineMax bytes (bufio.ErrBufferFull).
const qpLineMax = 4096

// decodeQP is io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b))):
// what decodes before the first error.
func decodeQP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		// One line, as bufio.Reader.ReadSlice('\n') gives it; last: it is
		// the last line read (an error came with it), eof: that error is
		// io.EOF.
		var line []byte
		last, eof := false, false
		if i := bytes.IndexByte(b[:min(len(b), qpLineMax)], '\n'); i >= 0 {
			line, b = b[:i+1], b[i+1:]
		} else {
			n := min(len(b), qpLineMax)
			line, b, last, eof = b[:n], nil, true, n < qpLineMax
		}
		nl := ""
		switch {
		case bytes.HasSuffix(line, []byte("\r\n")):
			nl = "\r\n"
		case bytes.HasSuffix(line, []byte("\n")):
			nl = "\n"
		}
		content := bytes.TrimRight(line, "\n\r \t")
		if bytes.HasSuffix(content, []byte("=")) { // a soft line break
			after := bytes.TrimLeft(line[len(content):], " \t")
			content, nl = content[:len(content)-1], ""
			if !bytes.HasPrefix(after, []byte("\n")) && !bytes.HasPrefix(after, []byte("\r\n")) &&
				!(len(after) == 0 && len(content) > 0 && eof) {
				last = true // "invalid bytes after ="
			}
		}
		var ok bool
		if out, ok = appendQPLine(out, content); !ok {
			return out
		}
		out = append(out, nl...)
		if last {
			return out
		}
	}
	return out
}

// appendQPLine decodes one line's content, without its line break: ok is
// false where the library stops with an error.
func appendQPLine(out, line []byte) (_ []byte, ok bool) {
	for len(line) > 0 {
		c := line[0]
		switch {
		case c == '=':
			if len(line) >= 3 && isHex(line[1]) && isHex(line[2]) {
				c = unhex(line[1])<<4 | unhex(line[2])
				line = line[2:]
			} else if len(line) < 2 || line[1] == '\r' || line[1] == '\n' {
				return out, false
			} // else a literal "=" (Go issue 13219)
		case c == '\t' || c == '\r' || c == '\n' || c >= 0x80:
		case c < ' ' || c > '~':
			return out, false // "invalid unescaped byte"
		}
		out = append(out, c)
		line = line[1:]
	}
	return out, true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' || 'a' <= c && c <= 'f'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
