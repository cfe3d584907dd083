package smtpserver

// What the shim changes in the traffic between the client and go-smtp.
// Going in, a bare local name in RCPT TO gets the domain (clampSize, in
// gosmtp_mirror.go, also rewrites MAIL FROM's SIZE). Coming out, go-smtp's
// replies are passed through line by line and tracked: the EHLO reply gets
// the exact SIZE and the XMAILROOM line, "OK: queued" becomes "OK: stored",
// and the codes tell the shim what the client's next bytes are.

import (
	"bytes"
	"strings"
	"time"

	"mailroom/adapters/smtpreply"
)

// go-smtp ends every accepted DATA or BDAT LAST with "OK: queued".
// Mailroom has no queue: the 250 comes after the message is committed to
// every mailbox, so the shim says so.
var dataOKTo = smtpreply.DataOK.String() + "\r\n"

// dataOKPrefix is how the shim knows that reply when it goes out.
var dataOKPrefix = []byte(smtpreply.DataOK.String())

// codeBye is the reply to QUIT (RFC 5321 §4.2.2: closing the channel).
const codeBye = 221

// bareRcpt rewrites "RCPT TO:<name>" (a bare local name, which go-smtp's
// path parser refuses as a syntax error) to "RCPT TO:<name@domain>", so that
// a bare name reaches the envelope (mail.Envelope.Add) like a full address. ok is
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
		if err := c.send(out, holdable(out)); err != nil {
			// go-smtp ignores write errors; its bufio.Writer keeps this one.
			// Nothing more can be said to the client: end at the next Read.
			return 0, err
		}
	}
	return len(p), nil
}

// holdable reports whether out, one or more complete reply lines, may wait
// in the held output while the client's pipelined commands are read. All
// may but three: the 250 after DATA, which goes out the moment the commit
// has happened, and 221 and 421, after which the connection ends.
func holdable(out []byte) bool {
	last := out[:len(out)-1]
	if i := bytes.LastIndexByte(last, '\n'); i >= 0 {
		last = last[i+1:]
	}
	code, _ := replyCode(last)
	return code != codeBye && code != smtpreply.CodeClosing && !bytes.HasPrefix(last, dataOKPrefix)
}

func (c *shimConn) writeReply(r reply) {
	if r.Code == codeClosing {
		c.closing = true
	}
	c.writeRaw([]byte(r.String() + "\r\n"))
}

// writeRaw sends one of the shim's own replies, after what is held.
func (c *shimConn) writeRaw(b []byte) {
	c.send(b, holdable(b))
}

// send writes b, one or more complete reply lines, after the held output.
// With hold, and client bytes already waiting in buf (pipelined commands),
// b is held too: the replies to a pipelined MAIL, RCPTs and DATA then leave
// in one TLS record and one write, not one each (RFC 2920 §3.1 asks a
// server to batch them so). Held output goes out before the shim waits for
// the client (fill), so a client never waits for a reply that is held.
func (c *shimConn) send(b []byte, hold bool) error {
	if hold && c.r < c.w {
		c.held = append(c.held, b...)
		return nil
	}
	if len(c.held) > 0 {
		c.held = append(c.held, b...)
		b = c.held
	}
	return c.writeOut(b)
}

// flushHeld writes the held output, if any.
func (c *shimConn) flushHeld() error {
	if len(c.held) == 0 {
		return nil
	}
	return c.writeOut(c.held)
}

func (c *shimConn) writeOut(b []byte) error {
	c.held = c.held[:0]
	c.tc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
	if _, err := c.tc.Write(b); err != nil {
		c.closing = true
		return err
	}
	return nil
}

// track appends line, rewritten where it must be, to out, and notes what
// the reply means for the client's next bytes.
func (c *shimConn) track(out, line []byte) []byte {
	code, final := replyCode(line)
	if c.ehlo {
		if code == smtpreply.CodeOK {
			if len(line) > 4 && string(line[4:]) == c.srv.ehloSizeFrom {
				line = append(line[:4:4], c.srv.ehloSizeTo...)
			}
			if final {
				out = append(out, c.srv.xmailroom...)
			}
		}
		if final || code != smtpreply.CodeOK {
			c.ehlo = false
		}
	}
	if c.saslReplace != nil && final {
		// go-smtp's answer to the "*" the shim handed it for a bad SASL
		// line (saslLine).
		line = append(line[:0:0], c.saslReplace.String()+"\r\n"...)
		c.saslReplace = nil
	}
	if string(line) == goSMTPDataOK {
		line = append(line[:0:0], dataOKTo...)
	}
	out = append(out, line...)
	if !final {
		return out
	}
	switch {
	case code == smtpreply.CodeChallenge:
		c.mode = modeSASL
	case code == smtpreply.CodeStartInput:
		c.mode = modeData
		c.dataState = dsBeginLine
		c.dataEnd = time.Now().Add(c.srv.cfg.DataTimeout)
		c.contentErr = nil
		c.contentReady.Store(true)
	case code == smtpreply.CodeClosing:
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
