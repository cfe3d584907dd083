package listener

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Conn is one handshaken connection, as its Handler sees it.
type Conn struct {
	// TLS is the handshaken connection the protocol speaks on.
	TLS *tls.Conn
	// Raw is the TCP connection under TLS: for keepalive settings, for
	// deadlines set from another goroutine, and for a close without
	// close_notify.
	Raw net.Conn
	// IP is the client's address as text, for logs and Received headers.
	IP string
	// Key is throttle.ClientKey(IP): what per-client caps and budgets
	// count (an IPv6 client by its /64).
	Key string
	// Start is when the connection was accepted, before the handshake.
	Start time.Time

	srv    *Server
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	woken   bool     // Shutdown has called wakes
	wakes   []func() // OnShutdown funcs
	onPanic func()
}

// Context is the connection's context: cancelled when its handler returns,
// or when Shutdown gives up waiting. Domain calls made for the connection
// take it.
func (c *Conn) Context() context.Context { return c.ctx }

// ShutdownStarted is closed when Shutdown starts. A handler finishes the
// request in hand and closes.
func (c *Conn) ShutdownStarted() <-chan struct{} { return c.srv.closing }

// ShuttingDown reports whether Shutdown has started. A handler that sets
// its own read deadline checks it after setting one, since the deadline
// may have overwritten the wake-up of an OnShutdown func.
func (c *Conn) ShuttingDown() bool { return c.srv.ShuttingDown() }

// OnShutdown registers f to run once when Shutdown starts, from Shutdown's
// goroutine (at once, from the caller's, if it has started): typically a
// read deadline in the past, so that a handler blocked waiting for the
// client looks at ShuttingDown. f must not block.
func (c *Conn) OnShutdown(f func()) {
	c.mu.Lock()
	if !c.woken && !c.srv.ShuttingDown() {
		c.wakes = append(c.wakes, f)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	f()
}

func (c *Conn) wake() {
	c.mu.Lock()
	c.woken = true
	wakes := c.wakes
	c.wakes = nil
	c.mu.Unlock()
	for _, f := range wakes {
		f()
	}
}

// OnPanic registers f, replacing an earlier one, to say the server's last
// words (SMTP's 421, inbox's internal error) when the handler, or a
// goroutine that defers Recover, panics. It runs after the stack is logged
// and before the socket is closed, under a write deadline of a few
// seconds; a panic inside it is logged and ignored. Note that the
// handler's own deferred calls have run by then: a handler that wants last
// words must not close the connection in a defer.
func (c *Conn) OnPanic(f func()) {
	c.mu.Lock()
	c.onPanic = f
	c.mu.Unlock()
}

// Recover turns a panic into the end of this connection alone: the stack
// goes to the log, the OnPanic words are said and the socket is closed,
// so the handler's reads and writes fail and it returns. The handler is
// already covered; a goroutine it starts for the connection (a writer, a
// pump) defers Recover first thing.
func (c *Conn) Recover() {
	if v := recover(); v != nil {
		c.Panicked(v)
	}
}

// Panicked is Recover for a goroutine that recovers by itself, because
// the panic must become an error that it returns rather than unwind it (a
// library's goroutine that calls back into the server, as go-smtp's does):
// it logs v with the stack, says the OnPanic words and closes the socket.
func (c *Conn) Panicked(v any) {
	c.srv.panicked(c, v)
	c.cancel()
	c.Raw.Close()
}

// serveConn runs the handshake, then the handler, on the goroutine admit
// started for nc.
func (s *Server) serveConn(nc net.Conn, ip, key string) {
	defer s.wg.Done()
	start := time.Now()
	// The deadline goes on before the handshake: a client that connects
	// and sends nothing, or trickles its hello, must not hold a slot
	// (go-smtp issue #161).
	nc.SetDeadline(start.Add(s.cfg.HandshakeTimeout))
	tc, err := s.handshake(nc)
	if err == nil {
		err = nc.SetDeadline(time.Time{})
	}
	s.mu.Lock()
	delete(s.handshaking, nc)
	if err != nil || s.shutdown {
		s.releaseLocked(key)
		s.mu.Unlock()
		if err != nil {
			s.logHandshake(ip, err)
		}
		nc.Close()
		return
	}
	ctx, cancel := context.WithCancel(s.base)
	c := &Conn{TLS: tc, Raw: nc, IP: ip, Key: key, Start: start, srv: s, ctx: ctx, cancel: cancel}
	s.live[c] = struct{}{}
	s.mu.Unlock()

	if ce := s.log.Check(zap.DebugLevel, "connection"); ce != nil {
		st := tc.ConnectionState()
		ce.Write(zap.String("remote", ip), zap.String("tls", tls.VersionName(st.Version)),
			zap.String("cipher", tls.CipherSuiteName(st.CipherSuite)), zap.Bool("resumed", st.DidResume),
			zap.Duration("handshake", time.Since(start)))
	}
	defer s.finish(c)
	s.handler(c)
}

// finish ends a connection whose handler has returned or panicked. It is
// deferred directly, so that its recover() sees the handler's panic.
func (s *Server) finish(c *Conn) {
	if v := recover(); v != nil {
		s.panicked(c, v)
	}
	c.cancel()
	c.Raw.Close()
	if ce := s.log.Check(zap.DebugLevel, "connection closed"); ce != nil {
		ce.Write(zap.String("remote", c.IP), zap.Duration("duration", time.Since(c.Start)))
	}
	s.mu.Lock()
	delete(s.live, c)
	s.releaseLocked(c.Key)
	s.mu.Unlock()
}

// panicked logs a connection's panic and says its last words.
func (s *Server) panicked(c *Conn, v any) {
	s.log.Error("panic serving connection", zap.String("remote", c.IP),
		zap.Any("panic", v), zap.Stack("stack"))
	c.mu.Lock()
	f := c.onPanic
	c.onPanic = nil // said once, even if a second goroutine panics
	c.mu.Unlock()
	if f == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic in last words", zap.String("remote", c.IP), zap.Any("panic", v))
		}
	}()
	c.Raw.SetWriteDeadline(time.Now().Add(lastWordsTimeout))
	f()
}

// reject gives a client over a cap its busy reply. It is implicit TLS, so
// the reply needs a handshake first; admit bounds these goroutines.
func (s *Server) reject(nc net.Conn, over Limit) {
	defer func() {
		nc.Close()
		s.mu.Lock()
		s.rejecting--
		delete(s.handshaking, nc)
		s.mu.Unlock()
		s.wg.Done()
	}()
	nc.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	tc, err := s.handshake(nc)
	if err != nil {
		return
	}
	if _, err := tc.Write(s.busy[over]); err != nil {
		return
	}
	tc.CloseWrite() // close_notify
	if tcp, ok := nc.(*net.TCPConn); ok {
		tcp.CloseWrite() // FIN
	}
	nc.SetReadDeadline(time.Now().Add(rejectLinger))
	io.CopyN(io.Discard, nc, rejectLingerBytes)
}
