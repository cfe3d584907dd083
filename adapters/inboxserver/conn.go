package inboxserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"mailroom/adapters/inboxwire"
	"mailroom/adapters/listener"
	"mailroom/domain/account"
)

// conn is one client connection. Its reader goroutine (serve, run by the
// listener core) owns the session state; its writer goroutine (writeLoop)
// owns the socket's write side; anyone may abort it.
type conn struct {
	s   *Server
	lc  *listener.Conn
	nc  net.Conn
	tc  *tls.Conn
	ip  string
	key string // throttle.ClientKey(ip): what per-IP limits count
	log *zap.Logger

	// out carries lines to the writer. The zero item asks the writer to
	// flush and stop. Responses wait for room; events never do. Room is
	// counted in lines (out's capacity) and in bytes (queued, against
	// Config.SendQueueBytes): the reader takes no next request while the
	// bytes are over its pause, and drained tells it when the writer has
	// written some.
	out        chan outItem
	queued     atomic.Int64 // bytes in out and not yet written
	peakQueued atomic.Int64 // the most queued ever
	// inflight is what this connection holds of the server's
	// MaxInflightBytes (reserved, or queued and not yet written); what is
	// left when the connection ends goes back then.
	inflight   atomic.Int64
	drained    chan struct{}
	writerDone chan struct{}
	done       chan struct{} // closed by abort
	abortOnce  sync.Once
	ctx        context.Context // ends with abort, and when Shutdown cuts
	cancel     context.CancelFunc

	// Session state, reader goroutine only.
	loginBy time.Time       // log in by then or be closed
	inHand  json.RawMessage // the tag of the request being handled
	// fetchHeld is what the fetch being answered holds of
	// MaxInflightBytes, handed to its queue item by send.
	fetchHeld int64
	midLine   bool // a request line has started and not ended
	// lineHeld is what the line being read or handled holds of
	// MaxInflightBytes (linebudget.go).
	lineHeld int64
	acc      account.Account
	authed   bool
	fails    int
	watching bool
	requests int
}

func newConn(s *Server, lc *listener.Conn) *conn {
	ctx, cancel := context.WithCancel(lc.Context())
	return &conn{
		s: s, lc: lc, nc: lc.Raw, tc: lc.TLS, ip: lc.IP, key: lc.Key,
		log:        s.log.With(zap.String("ip", lc.IP)),
		out:        make(chan outItem, s.cfg.SendQueue),
		drained:    make(chan struct{}, 1),
		writerDone: make(chan struct{}),
		done:       make(chan struct{}),
		ctx:        ctx, cancel: cancel,
	}
}

// abort tears the connection down at once: no close_notify, no flush. It
// never blocks, so the fan-out can call it.
func (c *conn) abort() {
	c.abortOnce.Do(func() {
		close(c.done)
		c.cancel()
		c.nc.Close()
	})
}

// serve runs the session on a handshaken connection (the listener core did
// the handshake under its deadline, and closes the socket when serve
// returns).
func (c *conn) serve() {
	c.loginBy = c.lc.Start.Add(c.s.cfg.LoginTimeout)
	// Not c.abort in a defer: on a panic the deferred calls run before the
	// core's recover, and the last words need the connection open. The
	// core cancels the context when serve ends, however it ends.
	context.AfterFunc(c.lc.Context(), c.abort)
	defer c.unwatch() // also on a panic
	if tcp, ok := c.nc.(*net.TCPConn); ok {
		tcp.SetKeepAlive(true)
		tcp.SetKeepAlivePeriod(tcpKeepAlive)
	}
	// Shutdown interrupts a reader between requests: the request in hand
	// is answered, then the read fails and the session ends. readLoop
	// checks ShuttingDown after setting its own deadline, so none is
	// missed.
	c.lc.OnShutdown(func() { c.nc.SetReadDeadline(time.Now()) })
	c.lc.OnPanic(c.lastWords)
	go c.writeLoop()
	// What the connection still holds of the response budget (items never
	// written) goes back once the reader has ended (here) and the writer
	// too (it gives back what it writes, and ends on abort, which follows
	// however serve ends).
	defer func() {
		go func() {
			<-c.writerDone
			c.s.inflight.Release(c.inflight.Swap(0))
		}()
	}()

	reason := c.readLoop()
	c.unwatch() // at once: the fan-out must stop pushing to a closed conn
	c.abort()
	c.log.Info("connection closed", zap.String("end", reason),
		zap.Int("requests", c.requests), zap.Int64("peak_queued_bytes", c.peakQueued.Load()),
		zap.Duration("duration", time.Since(c.lc.Start)))
}

// unwatch takes a watching connection out of the fan-out; it may be
// called twice.
func (c *conn) unwatch() {
	if c.watching {
		c.s.hub.remove(c, int64(c.acc.ID))
		c.watching = false
	}
}

// lastWords answers the request in hand with internal after a panic (the
// core has logged the stack), through the writer so that no line is cut
// in two, and waits a little for it to go out.
func (c *conn) lastWords() {
	e, _ := wireError(errPanicked)
	b, err := inboxwire.AppendLine(nil, inboxwire.Response{Tag: c.inHand, Error: &e})
	if err != nil {
		return
	}
	c.enqueue(len(b))
	for _, it := range []outItem{{line: b}, {}} { // zero: flush and stop
		select {
		case c.out <- it:
		default:
			return // the queue is full: the client is not reading anyway
		}
	}
	t := time.NewTimer(lastWordsWait)
	defer t.Stop()
	select {
	case <-c.writerDone:
	case <-c.done:
	case <-t.C:
	}
}

// readLoop runs requests until the session ends and says why it ended.
func (c *conn) readLoop() string {
	lr := inboxwire.NewLineReaderSize(c.tc, c.s.cfg.MaxLineBeforeLogin, readBufSize)
	lr.OnLineStart(c.lineStarted)
	lr.OnGrow(c.s.cfg.MaxLine, c.reserveLine)
	defer c.releaseLine(lr) // also on a panic
	for {
		// Backpressure: a client that asks faster than it reads waits
		// here, unread requests pile up in its own socket, and the queue
		// stays near its byte budget rather than one response per
		// request.
		if !c.waitForRoom() {
			return "dropped"
		}
		c.tc.SetReadDeadline(c.waitDeadline())
		// Checked after the deadline is set: Shutdown marks itself
		// started, then sets a deadline in the past, so one of the two
		// stops this read.
		if c.lc.ShuttingDown() {
			c.close()
			return "shutdown"
		}
		line, err := lr.ReadLine()
		if errors.Is(err, errLineBudget) {
			return c.refuseLine(lr)
		}
		if err != nil {
			return c.readFailed(err)
		}
		c.midLine = false
		if len(bytes.TrimSpace(line)) == 0 {
			continue // blank lines are ignored (handy by hand)
		}
		c.requests++
		resp, act := c.handle(line)
		if act == actWatch {
			// Subscribed before the ok is queued: a client that makes a
			// change once it has the ok must get its event (a flag change
			// or a removal has no catch-up listing). An event of a change
			// committed meanwhile may come just before the ok.
			c.watching = true
			c.s.hub.add(c, int64(c.acc.ID))
		}
		sent := c.send(resp)
		c.inHand = nil // it may be as long as the line
		c.releaseLine(lr)
		if !sent {
			return "dropped"
		}
		if c.authed {
			lr.SetMax(c.s.lineMax)
		}
		switch act {
		case actQuit:
			c.close()
			return "quit"
		case actGiveUp:
			c.close()
			return "too many failed logins"
		}
	}
}

// waitDeadline is the read deadline for the wait between requests. A
// watcher waits for events, not requests, so it has none: TCP keepalive
// and the write deadline find dead peers. Before login, the login deadline
// holds whatever is sent.
func (c *conn) waitDeadline() time.Time {
	deadline := time.Now().Add(c.s.cfg.IdleTimeout)
	switch {
	case c.watching:
		return time.Time{}
	case !c.authed && c.loginBy.Before(deadline):
		return c.loginBy
	}
	return deadline
}

// lineStarted runs, inside ReadLine, when a request line's first bytes
// arrive: from then on the line has ReadTimeout to end, however long the
// client may idle between lines (a watcher forever).
func (c *conn) lineStarted() {
	c.midLine = true
	deadline := time.Now().Add(c.s.cfg.ReadTimeout)
	if !c.authed && c.loginBy.Before(deadline) {
		deadline = c.loginBy
	}
	c.tc.SetReadDeadline(deadline)
	// This may have overwritten Shutdown's wake-up deadline.
	if c.lc.ShuttingDown() {
		c.tc.SetReadDeadline(time.Now())
	}
}

func (c *conn) readFailed(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, inboxwire.ErrTooLarge):
		e, _ := wireError(err)
		c.send(inboxwire.Response{Error: &e})
		c.finish()
		c.linger()
		return "line too large"
	case c.lc.ShuttingDown():
		c.close()
		return "shutdown"
	case errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded):
		c.close()
		switch {
		case !c.authed && !time.Now().Before(c.loginBy):
			return "login timeout"
		case c.midLine:
			return "read timeout"
		}
		return "idle timeout"
	case errors.Is(err, io.EOF):
		c.close()
		return "client closed"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "client closed mid-line"
	case isClosed(c.done):
		return "dropped"
	default:
		return "read error: " + err.Error()
	}
}

// close ends the session cleanly: flush, close_notify, close.
func (c *conn) close() {
	c.finish()
	c.tc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	c.tc.Close()
}

// linger half-closes and reads (and drops) what the client is still
// sending, for a bounded time, before the socket is closed. Closing with
// unread input makes the kernel send a reset, which can destroy the
// too_large reply before the client has read it.
func (c *conn) linger() {
	c.tc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	c.tc.CloseWrite() // close_notify
	if tcp, ok := c.nc.(*net.TCPConn); ok {
		tcp.CloseWrite() // FIN
	}
	c.nc.SetReadDeadline(time.Now().Add(lingerTime))
	io.CopyN(io.Discard, c.nc, lingerBytes)
}
