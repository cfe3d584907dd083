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
// Reply order under pipelining. The shim hands go-smtp one line per Read
// call and nothing more. go-smtp reads through a bufio.Reader, which calls
// Read only when it holds no complete line, that is after go-smtp has taken
// the previous line; and go-smtp handles a command, writing and flushing its
// reply, before it reads the next one. So whenever go-smtp calls Read, every
// line handed over so far has been answered. Only then does the shim answer
// the verbs of its own that are next in its buffer, in order, writing to the
// TLS connection, and then hand over the next standard line. A PING or REG
// packed between MAIL and RCPT in one segment is therefore answered after
// MAIL's reply and before RCPT's.
//
// Stepping aside. Some client bytes are not commands:
//   - after a 334 reply, one line answers the SASL challenge (it may well
//     read "PING" in base64); it goes to go-smtp as it is;
//   - after the 354 reply to DATA, message content up to CRLF.CRLF. The shim
//     runs the very state machine of go-smtp's dataReader (data.go) over the
//     bytes it hands over, so it stops exactly where go-smtp's reader stops,
//     and hands over no byte beyond the end marker. A bare LF dot ("\n.\n")
//     ends neither (SMTP smuggling, CVE-2023-51764);
//   - after "BDAT n", exactly n bytes. go-smtp consumes the chunk whenever
//     the command parses (it discards it when it refuses the transaction),
//     so the shim parses BDAT the way go-smtp does.
//
// Goroutines. go-smtp writes replies from the goroutine that reads commands
// (conn.go handleConn); the only other goroutine it runs per connection is
// BDAT's Session.Data, which reads a pipe, not the connection. So Read and
// Write, and all the tracking state below, run on one goroutine. Shutdown
// touches a connection only through wake, under mu.

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"mailroom/domain/account"
)

// ehloLine is inserted before the last line of a successful EHLO reply.
const ehloLine = "250-XMAILROOM PING REG GETUSER\r\n"

// go-smtp ends every accepted DATA or BDAT LAST with "OK: queued". Mailroom
// has no queue: the 250 comes after the message is committed to every
// mailbox, so the shim says so.
const (
	dataOKFrom = "250 2.0.0 OK: queued\r\n"
	dataOKTo   = "250 2.0.0 OK: stored\r\n"
)

// helpReply answers HELP (RFC 5321 §4.1.1.8). RFC 2034 puts the enhanced
// code on every line of a multi-line reply.
const helpReply = "214-2.0.0 Mailroom submission server. Commands:\r\n" +
	"214-2.0.0 EHLO HELO AUTH MAIL RCPT DATA BDAT RSET NOOP VRFY QUIT\r\n" +
	"214-2.0.0 PING\r\n" +
	"214-2.0.0 REG <username> <password>\r\n" +
	"214-2.0.0 GETUSER [<username>] (also GET USER [<username>])\r\n" +
	"214 2.0.0 End of HELP\r\n"

// readBufSize is the shim's read buffer when MaxLineLength is smaller.
const readBufSize = 8 << 10

type shimMode uint8

const (
	modeCommand shimMode = iota // the next line is a command
	modeSASL                    // the next line answers a 334 challenge
	modeData                    // DATA content, until CRLF.CRLF
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
	chunkLeft int64
	ehlo      bool // the last line handed over was EHLO
	protoErrs int
	closing   bool   // a 421 went out: end the session at the next Read
	wbuf      []byte // partial reply line from go-smtp
	out       []byte

	mu        sync.Mutex // orders read deadlines against wake
	closed    atomic.Bool
	closeOnce sync.Once
}

var _ net.Conn = (*shimConn)(nil)

func newShim(srv *Server, tc tlsConn, ip, key string, start time.Time) *shimConn {
	return &shimConn{
		srv:        srv,
		tc:         tc,
		ip:         ip,
		key:        key,
		state:      &connState{},
		sessionEnd: start.Add(srv.cfg.SessionTimeout),
		authEnd:    start.Add(srv.cfg.AuthTimeout),
		maxLine:    srv.cfg.MaxLineLength,
		buf:        make([]byte, max(srv.cfg.MaxLineLength+2, readBufSize)),
	}
}

// Read gives go-smtp its next input: one command line, one SASL line, or
// message content. It answers Mailroom's verbs on the way.
func (c *shimConn) Read(p []byte) (int, error) {
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
			return c.handOver(p, line), nil
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
func (c *shimConn) readLine() ([]byte, error) {
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
		if err := c.fill(c.lineDeadline()); err != nil {
			return nil, err
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
	for {
		c.mu.Lock()
		if c.mode == modeCommand && c.srv.shuttingDown.Load() && !c.state.inTx.Load() {
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

func (c *shimConn) lineDeadline() time.Time {
	d := time.Now().Add(c.srv.cfg.ReadTimeout)
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

func (c *shimConn) dataDeadline() time.Time {
	d := c.lineDeadline()
	if c.dataEnd.Before(d) {
		return c.dataEnd
	}
	return d
}

// The states of go-smtp v0.25.1's dataReader (data.go), mirrored exactly.
const (
	dsBeginLine = iota
	dsDot
	dsDotCR
	dsCR
	dsData
	dsEOF
)

// dataStep is go-smtp's dataReader transition function: only
// CRLF "." CRLF reaches dsEOF.
func dataStep(state int, b byte) int {
	switch state {
	case dsBeginLine:
		switch b {
		case '.':
			return dsDot
		case '\r':
			return dsCR
		}
	case dsDot:
		if b == '\r' {
			return dsDotCR
		}
	case dsDotCR:
		if b == '\n' {
			return dsEOF
		}
	case dsCR:
		if b == '\n' {
			return dsBeginLine
		}
	case dsData:
		if b == '\r' {
			return dsCR
		}
	}
	return dsData
}

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

// command answers line when it is one of Mailroom's verbs or not a command
// go-smtp knows, and reports whether it did. Otherwise it notes what the
// line means for the bytes that follow, and go-smtp gets it.
func (c *shimConn) command(line []byte) bool {
	text := string(trimEOL(line))
	// RFC 5321 §2.3.8: CR only in CRLF. go-smtp would echo a bare CR (say
	// in the EHLO name) into its reply; NUL has no place in a command.
	if strings.ContainsAny(text, "\r\x00") {
		c.protocolError(replyBadChars)
		return true
	}
	verb, args, _ := strings.Cut(text, " ")
	switch strings.ToUpper(verb) {
	case "PING":
		c.writeReply(replyPong)
		return true
	case "REG":
		c.register(args)
		return true
	case "GETUSER":
		c.getUser(args)
		return true
	case "GET":
		if w, rest, _ := strings.Cut(strings.TrimLeft(args, " "), " "); strings.EqualFold(w, "USER") {
			c.getUser(rest)
			return true
		}
	case "HELP":
		c.writeRaw([]byte(helpReply))
		return true
	}
	v, ok := goSMTPVerb(text)
	if !ok {
		// Answered here, so go-smtp's own error count (a hard-coded 3)
		// never sees it; MaxProtocolErrors applies instead.
		c.protocolError(replyUnknownCommand)
		return true
	}
	switch v {
	case "EHLO":
		c.ehlo = true
	case "BDAT":
		if size, ok := bdatSize(text); ok && size > 0 {
			c.mode = modeChunk
			c.chunkLeft = size
			c.dataEnd = time.Now().Add(c.srv.cfg.DataTimeout)
		}
	}
	return false
}

// goSMTPVerbs are the verbs go-smtp's (*Conn).handle knows (HELP is ours).
var goSMTPVerbs = map[string]bool{
	"HELO": true, "EHLO": true, "LHLO": true, "MAIL": true, "RCPT": true,
	"DATA": true, "BDAT": true, "RSET": true, "NOOP": true, "QUIT": true,
	"VRFY": true, "AUTH": true, "STARTTLS": true, "SEND": true, "SOML": true,
	"SAML": true, "EXPN": true, "TURN": true,
}

// goSMTPVerb mirrors go-smtp's parseCmd (parse.go): it reports the verb
// go-smtp would dispatch for line, and false when go-smtp would call it a
// syntax error or an unknown command.
func goSMTPVerb(line string) (string, bool) {
	if strings.HasPrefix(strings.ToUpper(line), "STARTTLS") {
		return "STARTTLS", true
	}
	var v string
	switch {
	case len(line) < 4 || len(line) == 5:
		return "", false
	case len(line) == 4:
		v = line
	case line[4] != ' ':
		return "", false
	default:
		v = line[:4]
	}
	v = strings.ToUpper(v)
	return v, goSMTPVerbs[v]
}

// bdatSize mirrors go-smtp's handleBdat argument checks: ok means go-smtp
// will read exactly size bytes of chunk after the command line.
func bdatSize(line string) (size int64, ok bool) {
	if len(line) < 5 {
		return 0, false
	}
	args := strings.Fields(strings.TrimSpace(line[5:]))
	if len(args) == 0 || len(args) > 2 {
		return 0, false
	}
	if len(args) == 2 && !strings.EqualFold(args[1], "LAST") {
		return 0, false
	}
	n, err := strconv.ParseUint(args[0], 10, 32)
	if err != nil {
		return 0, false
	}
	return int64(n), true
}

// bareRcpt rewrites "RCPT TO:<name>" (a bare local name, which go-smtp's
// path parser refuses as a syntax error) to "RCPT TO:<name@domain>", so that
// a bare name reaches Mailboxes.ResolveRecipient like a full address. ok is
// false, and line is untouched, for anything else.
func bareRcpt(line []byte, domain string) (out []byte, ok bool) {
	const verb = "RCPT TO:"
	if len(line) < len(verb) || !strings.EqualFold(string(line[:len(verb)]), verb) {
		return line, false
	}
	rest := string(trimEOL(line[len(verb):]))
	path := strings.TrimLeft(rest, " ")
	lead := rest[:len(rest)-len(path)]
	params := ""
	if i := strings.IndexByte(path, ' '); i >= 0 {
		path, params = path[:i], path[i:]
	}
	bracketed := strings.HasPrefix(path, "<") && strings.HasSuffix(path, ">") && len(path) >= 2
	name := path
	if bracketed {
		name = path[1 : len(path)-1]
	}
	if name == "" || strings.ContainsAny(name, "@<>\"\\:,;()[] \t") {
		return line, false
	}
	return []byte(verb + lead + "<" + name + "@" + domain + ">" + params + "\r\n"), true
}

// clampSize rewrites a MAIL FROM SIZE= value of more digits than go-smtp
// parses (it takes 32 bits and calls a larger number a syntax error) to
// the largest it does, so that an oversized declaration gets go-smtp's
// 552 5.3.4 like any other (RFC 1870 §6.1).
func clampSize(line []byte) (out []byte, ok bool) {
	const verb = "MAIL FROM:"
	if len(line) < len(verb) || !strings.EqualFold(string(line[:len(verb)]), verb) {
		return line, false
	}
	fields := strings.Split(string(trimEOL(line)), " ")
	for i, f := range fields {
		k, v, found := strings.Cut(f, "=")
		if !found || !strings.EqualFold(k, "SIZE") || v == "" || strings.Trim(v, "0123456789") != "" {
			continue
		}
		if _, err := strconv.ParseUint(v, 10, 32); err != nil {
			fields[i] = k + "=" + strconv.FormatUint(math.MaxUint32, 10)
			ok = true
		}
	}
	if !ok {
		return line, false
	}
	return []byte(strings.Join(fields, " ") + "\r\n"), true
}

// register answers REG <username> <password>. The password is everything
// after the one space that follows the username, verbatim, so passphrases
// with spaces can be registered (the policy allows them, and AUTH carries
// them fine).
func (c *shimConn) register(args string) {
	name, password, ok := strings.Cut(strings.TrimLeft(args, " "), " ")
	if !ok || name == "" || password == "" {
		c.protocolError(replyRegUsage)
		return
	}
	log := c.srv.log.With(zap.String("remote", c.ip))
	if c.srv.cfg.RegistrationClosed {
		c.writeReply(replyRegClosed)
		return
	}
	// Every attempt spends budget (a taken name too): REG must not become
	// a free oracle for which names exist.
	if !c.srv.regLimit.Allow(c.key) {
		log.Info("register throttled")
		c.writeReply(replyThrottled)
		return
	}
	acc, err := c.srv.accounts.Register(c.srv.ctx, name, password)
	if err != nil {
		r, known := replyFor(err)
		if known {
			log.Info("register refused", zap.String("reply", r.String()))
		} else {
			log.Error("register", zap.Error(err))
		}
		c.writeReply(r)
		return
	}
	addr := c.srv.accounts.AddressOf(acc).String()
	log.Info("registered", zap.String("address", addr), zap.Int64("id", int64(acc.ID)))
	c.writeReply(reply{codeOK, enhAddrOther, "Account " + addr + " created"})
}

// getUser answers GETUSER [<username>] and GET USER [<username>].
func (c *shimConn) getUser(args string) {
	acc := c.state.account()
	if acc == nil {
		c.writeReply(replyAuthRequired)
		return
	}
	f := strings.Fields(args)
	switch len(f) {
	case 0:
	case 1:
		a, err := c.srv.accounts.Lookup(c.srv.ctx, f[0])
		if err != nil {
			r, known := replyFor(err)
			if !known {
				c.srv.log.Error("getuser", zap.String("remote", c.ip), zap.Error(err))
			}
			c.writeReply(r)
			return
		}
		acc = &a
	default:
		c.protocolError(replyGetUserUsage)
		return
	}
	addr := c.srv.accounts.AddressOf(*acc).String()
	c.writeReply(reply{codeOK, enhDestValid, fmt.Sprintf("%d %s", acc.ID, addr)})
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

func (c *shimConn) writeReply(r reply) {
	if r.Code == codeClosing {
		c.closing = true
	}
	c.writeRaw([]byte(r.String() + "\r\n"))
}

func (c *shimConn) writeRaw(b []byte) {
	c.tc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
	if _, err := c.tc.Write(b); err != nil {
		c.closing = true
	}
}

// Write passes go-smtp's replies to the client, line by line, and tracks
// them: EHLO gets the XMAILROOM line, 334 and 354 announce non-command
// input, 421 ends the session, 5.5.x-class codes count as protocol errors.
func (c *shimConn) Write(p []byte) (int, error) {
	c.wbuf = append(c.wbuf, p...)
	out := c.out[:0]
	start := 0
	for {
		i := bytes.IndexByte(c.wbuf[start:], '\n')
		if i < 0 {
			break
		}
		out = c.track(out, c.wbuf[start:start+i+1])
		start += i + 1
	}
	c.wbuf = append(c.wbuf[:0], c.wbuf[start:]...)
	c.out = out[:0]
	if len(out) > 0 {
		if _, err := c.tc.Write(out); err != nil {
			// go-smtp ignores write errors; its bufio.Writer keeps this one.
			// Nothing more can be said to the client: end at the next Read.
			c.closing = true
			return 0, err
		}
	}
	return len(p), nil
}

func (c *shimConn) track(out, line []byte) []byte {
	code, final := replyCode(line)
	if c.ehlo {
		if code == codeOK {
			if len(line) > 4 && string(line[4:]) == c.srv.ehloSizeFrom {
				line = append(line[:4:4], c.srv.ehloSizeTo...)
			}
			if final {
				out = append(out, ehloLine...)
			}
		}
		if final || code != codeOK {
			c.ehlo = false
		}
	}
	if string(line) == dataOKFrom {
		line = append(line[:0:0], dataOKTo...)
	}
	out = append(out, line...)
	if !final {
		return out
	}
	switch {
	case code == 334: // RFC 4954 §4: server challenge
		c.mode = modeSASL
	case code == 354: // RFC 5321 §4.2.2: start mail input
		c.mode = modeData
		c.dataState = dsBeginLine
		c.dataEnd = time.Now().Add(c.srv.cfg.DataTimeout)
	case code == codeClosing:
		c.closing = true
	case code >= 500 && code <= 504:
		c.countProtocolError(&out)
	}
	return out
}

// replyCode parses a reply line's code and whether it is the last line of
// its reply ("250 " rather than "250-").
func replyCode(line []byte) (code int, final bool) {
	if len(line) < 3 {
		return 0, false
	}
	for _, b := range line[:3] {
		if b < '0' || b > '9' {
			return 0, false
		}
		code = code*10 + int(b-'0')
	}
	return code, len(line) == 3 || line[3] != '-'
}

func trimEOL(b []byte) []byte { return bytes.TrimRight(b, "\r\n") }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Close closes the TLS connection once and releases its slot.
func (c *shimConn) Close() error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		err = c.tc.Close()
		c.srv.release(c, c.key)
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
