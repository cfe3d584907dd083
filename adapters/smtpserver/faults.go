package smtpserver

// Faults: what happens when the server's own code panics while serving a
// connection (the listener core takes over that connection alone), and the
// hook through which tests inject such faults.

import "errors"

// guard is deferred, directly, by every method go-smtp calls that runs our
// code: a panic there ends this connection alone, through the listener
// core (stack logged, 421 said, socket closed), and becomes errp, so that
// go-smtp's goroutine unwinds normally instead of taking the process down.
func (c *shimConn) guard(errp *error) {
	v := recover()
	if v == nil {
		return
	}
	if c.peer.panicked == nil {
		panic(v)
	}
	// The core closes the socket: the session's next read fails.
	c.peer.panicked(v)
	*errp = errPanicked
}

// errPanicked is what a method that panicked returns to go-smtp.
var errPanicked = errors.New("smtpserver: panic serving the connection")

// lastWords is the listener core's OnPanic: the client is told 421
// before the core closes the socket. It writes to the TLS connection
// directly (tls.Conn serialises writers), touching no shim state, since
// the panic may have been on BDAT's goroutine.
func (c *shimConn) lastWords() {
	c.tc.Write([]byte(replyPanicked.String() + "\r\n"))
}

// eventContent is the hook's event when a message's content begins.
const eventContent = "message content"

// event calls Config.hook, the tests' fault injection.
func (c *shimConn) event(e string) {
	if c.srv.cfg.hook != nil {
		c.srv.cfg.hook(e)
	}
}
