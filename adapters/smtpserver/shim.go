package smtpserver

// The verb shim.
//
// go-smtp dispatches commands from a fixed switch and has no hook for a new
// verb or EHLO line (the maintainer declined one, go-smtp PR #303), so
// shimConn sits between the *tls.Conn and go-smtp as the net.Conn go-smtp
// reads and writes. Coming in, it splits the client's bytes into lines
// (bounded by MaxLineLength, read through one fixed buffer), answers
// Mailroom's verbs itself and hands every other line to go-smtp unchanged.
// Going out, it passes go-smtp's replies through, inserting the XMAILROOM
// line into the EHLO reply, and watches them to know what the next client
// bytes are.
//
// The shim's files, one concern each: shim.go (this file) is the
// connection: reading lines under deadlines, writing replies, closing.
// content.go reads message content (DATA in blocks for the session, BDAT
// chunks for go-smtp). faults.go turns a panic into the end of one
// connection. verbs.go is Mailroom's own verbs, one table entry each.
// rewrite.go is what the shim changes in go-smtp's traffic, its replies
// above all. gosmtp_mirror.go holds what is copied from go-smtp's
// internals, and only that, pinned to the go-smtp version it mirrors.
//
// Reply order under pipelining. The shim hands go-smtp one line per Read
// call and nothing more. go-smtp reads through a bufio.Reader, which calls
// Read only when it holds no complete line, that is after go-smtp has taken
// the previous line; and go-smtp handles a command, writing and flushing its
// reply, before it reads the next one. So whenever go-smtp calls Read, every
// line handed over so far has been answered. Only then does the shim answer
// the verbs of its own that are next in its buffer, in order, writing to the
// TLS connection, and then hand over the next standard line. A PING or REG
// packed between MAIL and RCPT in one segment is therefore answered after
// MAIL's reply and before RCPT's. Every reply, go-smtp's and the shim's,
// goes out through send, which may hold a 250 back while more pipelined
// commands are already buffered, so that one write carries the replies to
// MAIL, the RCPTs and DATA; held replies keep their order and leave before
// the shim next waits for the client (holdable says which may wait).
//
// Stepping aside. Some client bytes are not commands:
//   - after a 334 reply, one line answers the SASL challenge (it may well
//     read "PING" in base64); it goes to go-smtp as it is;
//   - after the 354 reply to DATA, message content up to CRLF.CRLF. The
//     session reads it from the shim itself, in blocks (content.go), decoded
//     by a copy of go-smtp's dataReader state machine, and go-smtp is then
//     handed an empty message, so it stops exactly where the content ends
//     and sees no byte of it. A bare LF dot ("\n.\n") ends nothing (SMTP
//     smuggling, CVE-2023-51764);
//   - after "BDAT n", exactly n bytes. go-smtp consumes the chunk whenever
//     the command parses (it discards it when it refuses the transaction),
//     so the shim parses BDAT the way go-smtp does.
//
// Goroutines. go-smtp writes replies from the goroutine that reads commands
// (conn.go handleConn); the only other goroutine it runs per connection is
// BDAT's Session.Data, which reads a pipe, not the connection (DATA's runs
// on the reading goroutine). So Read and Write, and all the tracking state
// below, run on one goroutine. Shutdown touches a connection only through
// wake, under mu, and a panic only through lastWords.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"mailroom/domain/account"
)

// readBufSize is the shim's read buffer when MaxLineLength is smaller.
const readBufSize = 8 << 10

type shimMode uint8

const (
	modeCommand shimMode = iota // the next line is a command
	modeSASL                    // the next line answers a 334 challenge
	modeData                    // DATA content, until CRLF.CRLF
	modeDataEnd                 // the session took the content: go-smtp gets an empty message
	modeChunk                   // BDAT chunk, chunkLeft bytes
)

// tlsConn is the connection under the shim: a *tls.Conn (a fake in the
// fuzz test).
type tlsConn interface {
	net.Conn
	ConnectionState() tls.ConnectionState
}

// connState is what the shim and the go-smtp session share.
type connState struct {
	acct atomic.Pointer[account.Account] // set on successful AUTH
	inTx atomic.Bool                     // between MAIL and the end of the transaction
	// authFailures counts failed AUTH attempts (go-smtp's goroutine only).
	authFailures int
}

func (s *connState) account() *account.Account { return s.acct.Load() }

// shimConn is the net.Conn go-smtp sees.
type shimConn struct {
	srv        *Server
	tc         tlsConn
	peer       peer
	ip         string
	key        string // throttle.ClientKey(ip): what per-IP limits count
	state      *connState
	sessionEnd time.Time
	authEnd    time.Time // AuthTimeout: the session must have logged in by then
	maxLine    int

	// Read-side and reply-tracking state: go-smtp's goroutine only.
	buf       []byte // client bytes not yet consumed are buf[r:w]
	r, w      int
	pending   []byte // rest of a line longer than go-smtp's Read buffer
	mode      shimMode
	dataState int
	dataEnd   time.Time // deadline of the current DATA or BDAT chunk
	lastFill  time.Time // when the last client bytes arrived
	chunkLeft int64
	ehlo      bool // the last line handed over was EHLO
	// saslReplace, when set, is the reply that replaces go-smtp's answer
	// to a SASL line the shim turned into "*" (a cancel).
	saslReplace *reply
	protoErrs   int
	closing     bool   // a 421 went out: end the session at the next Read
	wbuf        []byte // partial reply line from go-smtp
	out         []byte
	held        []byte // replies held while pipelined commands are read (send)

	// contentReady is set when DATA's content is next (the 354 went out)
	// and taken by the session's Data, which then reads the content from
	// the shim (content.go). Atomic: BDAT's Data runs on a goroutine of
	// go-smtp's, and must find it unset.
	contentReady atomic.Bool
	contentErr   error // a read of the content failed: the session ends

	mu        sync.Mutex // orders read deadlines against wake
	closed    atomic.Bool
	closeOnce sync.Once
	done      chan struct{} // closed by Close
}

var _ net.Conn = (*shimConn)(nil)

func newShim(srv *Server, tc tlsConn, p peer) *shimConn {
	return &shimConn{
		srv:        srv,
		tc:         tc,
		peer:       p,
		ip:         p.ip,
		key:        p.key,
		state:      &connState{},
		sessionEnd: p.start.Add(srv.cfg.SessionTimeout),
		authEnd:    p.start.Add(srv.cfg.AuthTimeout),
		maxLine:    srv.cfg.MaxLineLength,
		buf:        make([]byte, max(srv.cfg.MaxLineLength+2, readBufSize)),
		done:       make(chan struct{}),
	}
}

// ctx is the connection's context, for every domain call.
func (c *shimConn) ctx() context.Context { return c.peer.ctx }

// Read gives go-smtp its next input: one command line, one SASL line, or
// message content. It answers Mailroom's verbs on the way.
func (c *shimConn) Read(p []byte) (n int, err error) {
	defer c.guard(&err)
	defer func() {
		if err != nil {
			c.flushHeld() // the session ends: what is held must not be lost
		}
	}()
	if len(p) == 0 {
		return 0, nil
	}
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	for {
		if c.closing || c.closed.Load() {
			return 0, io.EOF
		}
		switch c.mode {
		case modeData:
			return c.readData(p)
		case modeDataEnd:
			// The session read the content (content.go); go-smtp reads an
			// empty message, which ends at once.
			c.mode = modeCommand
			return c.handOver(p, []byte(".\r\n")), nil
		case modeChunk:
			return c.readChunk(p)
		}
		if c.authExpired() {
			return 0, c.authTimeout()
		}
		line, err := c.readLine()
		if err != nil {
			if isTimeout(err) && c.authExpired() {
				return 0, c.authTimeout()
			}
			return 0, err
		}
		if c.mode == modeSASL {
			c.mode = modeCommand
			return c.handOver(p, c.saslLine(line)), nil
		}
		if c.command(line) {
			continue
		}
		if r, ok := bareRcpt(line, c.srv.accounts.Domain()); ok {
			line = r
		} else if r, ok := clampSize(line); ok {
			line = r
		}
		return c.handOver(p, line), nil
	}
}

func (c *shimConn) handOver(p, line []byte) int {
	n := copy(p, line)
	if n < len(line) {
		c.pending = append([]byte(nil), line[n:]...)
	}
	return n
}

// readLine gives the next line, LF included, from buf. The slice is valid
// until the next read.
//
// ReadTimeout bounds the idle wait for the line's first byte, then again
// the time from that byte to the line's end: the deadline is fixed when
// the first byte arrives, and trickling more bytes does not move it.
func (c *shimConn) readLine() ([]byte, error) {
	deadline := c.lineDeadline(time.Now())
	if c.r < c.w {
		// Bytes of this line came in with an earlier read.
		deadline = c.lineDeadline(c.lastFill)
	}
	started := c.r < c.w
	for {
		if i := bytes.IndexByte(c.buf[c.r:c.w], '\n'); i >= 0 {
			line := c.buf[c.r : c.r+i+1]
			c.r += i + 1
			if len(trimEOL(line)) > c.maxLine {
				return nil, c.lineTooLong()
			}
			return line, nil
		}
		// No LF yet: past the limit (plus a CR) the line is refused
		// without reading any more of it.
		if c.w-c.r > c.maxLine+1 {
			return nil, c.lineTooLong()
		}
		if c.r > 0 {
			c.w = copy(c.buf, c.buf[c.r:c.w])
			c.r = 0
		}
		if err := c.fill(deadline); err != nil {
			return nil, err
		}
		if !started {
			started = true
			deadline = c.lineDeadline(c.lastFill)
		}
	}
}

// lineTooLong answers a line over MaxLineLength and ends the session: the
// rest of the line cannot be trusted to be a command (RFC 5321 §4.5.3.1.4
// allows 500; go-smtp closes too).
func (c *shimConn) lineTooLong() error {
	c.srv.log.Info("line too long", zap.String("remote", c.ip), zap.Int("limit", c.maxLine))
	c.writeReply(replyLineTooLong)
	c.closing = true
	return io.EOF
}

// fill reads more client bytes into buf[w:] under deadline. In command mode
// during Shutdown, an idle session (no transaction under way) is told 421
// instead.
func (c *shimConn) fill(deadline time.Time) error {
	if err := c.flushHeld(); err != nil {
		return err
	}
	for {
		c.mu.Lock()
		if c.mode == modeCommand && c.peer.shuttingDown() && !c.state.inTx.Load() {
			c.mu.Unlock()
			c.writeReply(replyShuttingDown)
			c.closing = true
			return io.EOF
		}
		c.tc.SetReadDeadline(deadline)
		c.mu.Unlock()

		n, err := c.tc.Read(c.buf[c.w:])
		c.w += n
		if n > 0 {
			c.lastFill = time.Now()
			return nil
		}
		if c.closed.Load() {
			return io.EOF
		}
		if err == nil {
			continue
		}
		if isTimeout(err) && time.Now().Before(deadline) {
			continue // woken by Shutdown: look again
		}
		return err
	}
}

// wake interrupts a blocked read so that fill looks at the shutdown flag.
func (c *shimConn) wake() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tc.SetReadDeadline(time.Unix(1, 0))
}

// lineDeadline is ReadTimeout from since, within the session's bounds.
func (c *shimConn) lineDeadline(since time.Time) time.Time {
	d := since.Add(c.srv.cfg.ReadTimeout)
	if c.sessionEnd.Before(d) {
		d = c.sessionEnd
	}
	if c.state.account() == nil && c.authEnd.Before(d) {
		d = c.authEnd
	}
	return d
}

// authExpired reports whether the session has outlived AuthTimeout
// without logging in.
func (c *shimConn) authExpired() bool {
	return c.state.account() == nil && !time.Now().Before(c.authEnd)
}

// authTimeout ends a session that did not log in within AuthTimeout.
func (c *shimConn) authTimeout() error {
	c.srv.log.Info("auth timeout", zap.String("remote", c.ip))
	c.writeReply(replyAuthTimeout)
	c.closing = true
	return io.EOF
}

// protocolError answers a syntax or sequence error and counts it.
func (c *shimConn) protocolError(r reply) {
	c.writeReply(r)
	c.countProtocolError(nil)
}

// countProtocolError counts one error; past MaxProtocolErrors it queues
// (into out, when given) or writes 421 and marks the session closing.
func (c *shimConn) countProtocolError(out *[]byte) {
	c.protoErrs++
	if c.protoErrs < c.srv.cfg.MaxProtocolErrors || c.closing {
		return
	}
	c.srv.log.Info("too many protocol errors", zap.String("remote", c.ip))
	line := replyTooManyErrors.String() + "\r\n"
	if out != nil {
		*out = append(*out, line...)
	} else {
		c.writeRaw([]byte(line))
	}
	c.closing = true
}

func trimEOL(b []byte) []byte { return bytes.TrimRight(b, "\r\n") }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Close closes the TLS connection once; the listener core's handler,
// waiting on done, then returns and the core releases the slot.
func (c *shimConn) Close() error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		err = c.tc.Close()
		close(c.done)
	})
	return err
}

func (c *shimConn) LocalAddr() net.Addr  { return c.tc.LocalAddr() }
func (c *shimConn) RemoteAddr() net.Addr { return c.tc.RemoteAddr() }

// SetDeadline and SetReadDeadline are no-ops: the shim sets every read
// deadline itself (per line, per message, per session). Write deadlines
// pass through.
func (c *shimConn) SetDeadline(t time.Time) error      { return c.tc.SetWriteDeadline(t) }
func (c *shimConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *shimConn) SetWriteDeadline(t time.Time) error { return c.tc.SetWriteDeadline(t) }
