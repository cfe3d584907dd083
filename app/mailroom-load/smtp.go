package main

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// errProtocol marks a reply this tool cannot read (not "DDD text").
var errProtocol = errors.New("unreadable SMTP reply")

// replyError is a reply with an unexpected code. Its code is what the
// report counts errors by.
type replyError struct {
	code int
	text string
}

func (e *replyError) Error() string { return fmt.Sprintf("%d %s", e.code, e.text) }

// errorKey names an error for the report: the reply code, or "io" for a
// network failure (a closed connection, a timeout, a refused dial).
func errorKey(err error) string {
	var re *replyError
	if errors.As(err, &re) {
		return strconv.Itoa(re.code)
	}
	if errors.Is(err, errProtocol) {
		return "protocol"
	}
	return "io"
}

// smtpConn is a deliberately small SMTP client: implicit TLS, EHLO, AUTH
// PLAIN, REG and a pipelined transaction. It is hand-written rather than
// go-smtp's so that every reply code is seen (and counted), the envelope is
// pipelined the way the repository's benchmark does it, and a message is
// counted only when its own 250 after the final dot has been read.
type smtpConn struct {
	conn      net.Conn
	r         *bufio.Reader
	w         *bufio.Writer
	timeout   time.Duration
	pipelined bool
}

// tlsClient trusts any certificate: the tool only ever dials loopback (see
// checkLoopback), where the daemon's self-signed certificate is the norm.
// With resume, connections share a session cache, as Thunderbird's and
// msmtp's TLS stacks do, so a server that issues tickets is measured with
// the resumed handshakes real clients would make.
func tlsClient(resume bool) *tls.Config {
	cfg := &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}
	if resume {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(256)
	}
	return cfg
}

// dial connects over implicit TLS, reads the greeting and says EHLO.
func dial(addr string, tlsConf *tls.Config, timeout time.Duration) (*smtpConn, error) {
	d := &net.Dialer{Timeout: timeout}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	conn := tls.Client(raw, tlsConf)
	c := &smtpConn{conn: conn, r: bufio.NewReaderSize(conn, 4096), w: bufio.NewWriterSize(conn, 64<<10), timeout: timeout}
	conn.SetDeadline(time.Now().Add(timeout))
	if err := conn.Handshake(); err != nil {
		raw.Close()
		return nil, err
	}
	if _, err := c.expect(220); err != nil {
		c.close()
		return nil, err
	}
	text, err := c.cmd(250, "EHLO mailroom-load")
	if err != nil {
		c.close()
		return nil, err
	}
	c.pipelined = strings.Contains(text, "PIPELINING")
	return c, nil
}

func (c *smtpConn) close() { c.conn.Close() }

// resumed reports whether the TLS handshake resumed a session from a ticket
// rather than running a full key exchange.
func (c *smtpConn) resumed() bool {
	tc, ok := c.conn.(*tls.Conn)
	return ok && tc.ConnectionState().DidResume
}

// readReply reads one (possibly multi-line) reply.
func (c *smtpConn) readReply() (int, string, error) {
	var text strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return 0, "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 3 {
			return 0, "", fmt.Errorf("%w: %q", errProtocol, line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			return 0, "", fmt.Errorf("%w: %q", errProtocol, line)
		}
		if len(line) > 4 {
			text.WriteString(line[4:])
			text.WriteByte('\n')
		}
		if len(line) == 3 || line[3] == ' ' {
			return code, strings.TrimSuffix(text.String(), "\n"), nil
		}
	}
}

// expect reads a reply and turns any code but want into a *replyError.
func (c *smtpConn) expect(want int) (string, error) {
	c.conn.SetReadDeadline(time.Now().Add(c.timeout))
	code, text, err := c.readReply()
	if err != nil {
		return "", err
	}
	if code != want {
		return text, &replyError{code: code, text: text}
	}
	return text, nil
}

// cmd sends one command line and expects want.
func (c *smtpConn) cmd(want int, format string, args ...any) (string, error) {
	c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
	fmt.Fprintf(c.w, format+"\r\n", args...)
	if err := c.w.Flush(); err != nil {
		return "", err
	}
	return c.expect(want)
}

// auth logs in with AUTH PLAIN (initial response).
func (c *smtpConn) auth(user, pass string) error {
	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	_, err := c.cmd(235, "AUTH PLAIN %s", ir)
	return err
}

// register sends REG. A refusal (the name is taken, registration is
// closed) is returned as a *replyError for the caller to judge.
func (c *smtpConn) register(user, pass string) error {
	_, err := c.cmd(250, "REG %s %s", user, pass)
	return err
}

// send runs one transaction: MAIL, RCPT for each of rcpts and DATA
// (pipelined when the server offers it), then body, which must already be
// dot-stuffed and end in CRLF.CRLF. It returns nil only after the 250 that
// follows the final dot. After a refused RCPT it resets the transaction.
func (c *smtpConn) send(from string, rcpts []string, body []byte) error {
	c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
	fmt.Fprintf(c.w, "MAIL FROM:<%s>\r\n", from)
	if !c.pipelined {
		if _, err := c.flushExpect(250); err != nil {
			return err
		}
	}
	var firstErr error
	for _, r := range rcpts {
		fmt.Fprintf(c.w, "RCPT TO:<%s>\r\n", r)
		if !c.pipelined {
			if _, err := c.flushExpect(250); err != nil && firstErr == nil {
				firstErr = err
			}
		}
	}
	c.w.WriteString("DATA\r\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	if c.pipelined {
		for range 1 + len(rcpts) {
			if _, err := c.expect(250); err != nil && firstErr == nil {
				firstErr = err
			}
		}
	}
	_, dataErr := c.expect(354)
	if firstErr == nil && dataErr == nil {
		c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
		if _, err := c.w.Write(body); err != nil {
			return err
		}
		if err := c.w.Flush(); err != nil {
			return err
		}
		_, err := c.expect(250)
		return err
	}
	// A pipelined DATA after a refusal gets 503 or 554; if it got 354
	// anyway, end an empty message rather than leave the server waiting.
	if dataErr == nil {
		c.cmd(250, ".")
	}
	c.cmd(250, "RSET")
	if firstErr != nil {
		return firstErr
	}
	return dataErr
}

// flushExpect flushes what is buffered and reads one reply.
func (c *smtpConn) flushExpect(want int) (string, error) {
	if err := c.w.Flush(); err != nil {
		return "", err
	}
	return c.expect(want)
}

// quit says QUIT without waiting long for the answer.
func (c *smtpConn) quit() {
	c.conn.SetDeadline(time.Now().Add(time.Second))
	c.cmd(221, "QUIT")
	c.close()
}
