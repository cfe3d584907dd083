package imapserver

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"mailroom/adapters/listener"
)

// conn is the connection go-imap speaks on: the handshaken TLS connection,
// plus what go-imap has no hook for. Before login every read deadline
// go-imap sets is cut to the login deadline; a session that must end (too
// many failed logins, the login deadline, shutdown) gets its last words
// on go-imap's next read, which then sees EOF. go-imap reads only between
// commands (or for IDLE's DONE and a SASL response), so the tagged reply
// to the command in hand has been written by then.
type conn struct {
	lc   *listener.Conn
	tls  net.Conn      // lc.TLS
	done chan struct{} // closed by Close: the core's handler returns

	mu       sync.Mutex
	loginBy  time.Time // zero once logged in
	bye      string    // last words to say at the next read
	said     bool      // BYE written: later writes are dropped
	closing  bool      // shutdown started
	closeErr error
	closed   bool
}

func newConn(lc *listener.Conn, loginTimeout time.Duration) *conn {
	return &conn{
		lc:      lc,
		tls:     lc.TLS,
		done:    make(chan struct{}),
		loginBy: lc.Start.Add(loginTimeout),
	}
}

// loggedIn lifts the login deadline.
func (c *conn) loggedIn() {
	c.mu.Lock()
	c.loginBy = time.Time{}
	c.mu.Unlock()
}

// sayBye arranges for "* BYE text" to end the session at go-imap's next
// read.
func (c *conn) sayBye(text string) {
	c.mu.Lock()
	if c.bye == "" {
		c.bye = text
	}
	c.mu.Unlock()
}

// shutdown is the OnShutdown hook: a read waiting for a command wakes up
// and says BYE; a command in hand finishes first.
func (c *conn) shutdown() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.sayBye("Server shutting down")
	c.lc.Raw.SetReadDeadline(time.Now())
}

func (c *conn) Read(p []byte) (int, error) {
	if c.lastWords() {
		return 0, io.EOF
	}
	n, err := c.tls.Read(p)
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		c.mu.Lock()
		if !c.loginBy.IsZero() && !time.Now().Before(c.loginBy) {
			c.bye = "Login timeout"
		}
		c.mu.Unlock()
		if c.lastWords() {
			return n, io.EOF
		}
	}
	return n, err
}

// lastWords writes a pending BYE and reports whether the session is over.
func (c *conn) lastWords() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.said {
		return true
	}
	if c.bye == "" {
		return false
	}
	c.said = true
	c.tls.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.tls.Write([]byte("* BYE " + c.bye + "\r\n"))
	return true
}

func (c *conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	said := c.said
	c.mu.Unlock()
	if said {
		return len(p), nil // go-imap's reply to a command cut short
	}
	return c.tls.Write(p)
}

// SetReadDeadline keeps go-imap's deadlines, cut to the login deadline
// before login and to now once shutdown has started.
func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	switch {
	case c.closing:
		t = time.Now()
	case !c.loginBy.IsZero() && (t.IsZero() || c.loginBy.Before(t)):
		t = c.loginBy
	}
	c.mu.Unlock()
	return c.tls.SetReadDeadline(t)
}

func (c *conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.tls.SetWriteDeadline(t)
}

func (c *conn) SetWriteDeadline(t time.Time) error { return c.tls.SetWriteDeadline(t) }
func (c *conn) LocalAddr() net.Addr                { return c.tls.LocalAddr() }
func (c *conn) RemoteAddr() net.Addr               { return c.tls.RemoteAddr() }

// Close closes the TLS connection (once) and releases the listener core's
// handler.
func (c *conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		c.closeErr = c.tls.Close()
		close(c.done)
	}
	return c.closeErr
}
