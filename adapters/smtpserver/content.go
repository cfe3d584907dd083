package smtpserver

// Reading DATA content in blocks.
//
// go-smtp's dataReader takes message content a byte at a time (a
// bufio.ReadByte and a switch per byte), and the shim used to run the same
// state machine a byte at a time in front of it to know where the content
// ends. Instead, the session's Data reads the content from the shim itself
// (contentReader), decoded by decodeData, which copies each run of bytes
// in the middle of a line with one memmove; go-smtp's reader is then handed
// an empty message (".\r\n", modeDataEnd), so it ends exactly where the
// content ended. decodeData is go-smtp's dataReader, mirrored exactly
// (gosmtp_mirror.go): dots unstuffed, only CRLF "." CRLF ends the content.

import (
	"bytes"
	"io"
	"time"
)

// claimContent reports whether DATA's content is next on the connection,
// and if so takes it: the caller (the session's Data, on go-smtp's reading
// goroutine) must read it with contentReader and then call finishContent.
func (c *shimConn) claimContent() bool { return c.contentReady.CompareAndSwap(true, false) }

// contentReader reads the DATA content, dot-unstuffed, up to the end
// marker (then io.EOF).
type contentReader struct{ c *shimConn }

func (r contentReader) Read(p []byte) (int, error) { return r.c.readContent(p) }

func (c *shimConn) readContent(p []byte) (int, error) {
	if c.contentErr != nil {
		return 0, c.contentErr
	}
	if c.mode != modeData {
		return 0, io.EOF
	}
	for len(p) > 0 {
		if c.r == c.w {
			c.r, c.w = 0, 0
			if err := c.fill(c.dataDeadline()); err != nil {
				c.contentErr = err
				return 0, err
			}
		}
		// Decoding only drops bytes, so the output of len(p) bytes of
		// input fits p.
		in := c.buf[c.r:min(c.w, c.r+len(p))]
		state, used, out := decodeData(c.dataState, in, p[:0])
		c.dataState = state
		c.r += used
		if state == dsEOF {
			c.mode = modeDataEnd
		}
		if len(out) > 0 {
			return len(out), nil
		}
		if state == dsEOF {
			return 0, io.EOF
		}
		// Everything was elided (a dot or CR at a line's start): read on.
	}
	return 0, nil
}

// finishContent ends a content the session took: what it left unread (a
// message over the limit, or over the in-flight budget) is read and
// discarded up to the end marker, so that the next command starts where
// it should. After a failed read the session cannot be resynchronised:
// it ends.
func (c *shimConn) finishContent() {
	if c.contentErr != nil {
		c.closing = true
		return
	}
	if c.mode != modeData {
		return
	}
	scratch := make([]byte, len(c.buf))
	for {
		if _, err := c.readContent(scratch); err != nil {
			if err != io.EOF {
				c.closing = true
			}
			return
		}
	}
}

// countBareLF counts the LFs in b that no CR precedes (b's first byte has
// none before it).
func countBareLF(b []byte) int {
	n := 0
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return n
		}
		i += j
		if i == 0 || b[i-1] != '\r' {
			n++
		}
		i++
	}
}

// expandBareLF gives b with each of the k bare LFs in b[from:] (k from
// countBareLF) turned into CRLF, in b's own array when its capacity
// allows. It works backwards, a run at a time, so that in place nothing
// is overwritten before it is read.
func expandBareLF(b []byte, from, k int) []byte {
	n := len(b)
	var out []byte
	if cap(b) >= n+k {
		out = b[:n+k]
	} else {
		out = make([]byte, n+k)
		copy(out, b[:from])
	}
	w, end := n+k, n
	for end > from {
		i := bytes.LastIndexByte(b[from:end], '\n')
		if i < 0 {
			break
		}
		i += from
		w -= end - (i + 1)
		copy(out[w:], b[i+1:end])
		w--
		out[w] = '\n'
		if i == from || b[i-1] != '\r' {
			w--
			out[w] = '\r'
		}
		end = i
	}
	// What is left, b[from:end], has no bare LF: it keeps its place.
	copy(out[from:end], b[from:end])
	return out
}

// dataDeadline bounds each read of message content: ReadTimeout, and the
// whole DATA or BDAT chunk's DataTimeout.
func (c *shimConn) dataDeadline() time.Time {
	d := c.lineDeadline(time.Now())
	if c.dataEnd.Before(d) {
		return c.dataEnd
	}
	return d
}

// readData hands go-smtp DATA content as it came, stepping the mirrored
// state machine a byte at a time so as to stop at the end marker. It is
// the fallback for content the session did not take (claimContent), which
// keeps the two readers in step should that ever happen.
func (c *shimConn) readData(p []byte) (int, error) {
	if c.r == c.w {
		c.r, c.w = 0, 0
		if err := c.fill(c.dataDeadline()); err != nil {
			return 0, err
		}
	}
	avail := c.buf[c.r:c.w]
	if len(avail) > len(p) {
		avail = avail[:len(p)]
	}
	n := 0
	for n < len(avail) {
		c.dataState = dataStep(c.dataState, avail[n])
		n++
		if c.dataState == dsEOF {
			c.mode = modeCommand
			break
		}
	}
	copy(p, avail[:n])
	c.r += n
	return n, nil
}

// readChunk hands go-smtp a BDAT chunk, chunkLeft bytes, in blocks.
func (c *shimConn) readChunk(p []byte) (int, error) {
	if c.r == c.w {
		c.r, c.w = 0, 0
		if err := c.fill(c.dataDeadline()); err != nil {
			return 0, err
		}
	}
	n := min(int64(len(p)), int64(c.w-c.r), c.chunkLeft)
	copy(p, c.buf[c.r:c.r+int(n)])
	c.r += int(n)
	c.chunkLeft -= n
	if c.chunkLeft == 0 {
		c.mode = modeCommand
	}
	return int(n), nil
}
