package inboxserver

import (
	"bufio"
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

	// out carries encoded lines to the writer. A nil line asks the writer
	// to flush and stop. Responses wait for room; events never do. Room is
	// counted in lines (out's capacity) and in bytes (queued, against
	// Config.SendQueueBytes): the reader takes no next request while the
	// bytes are over budget, and drained tells it when the writer has
	// written some.
	out        chan []byte
	queued     atomic.Int64 // bytes in out and not yet written
	peakQueued atomic.Int64 // the most queued ever
	drained    chan struct{}
	writerDone chan struct{}
	done       chan struct{} // closed by abort
	abortOnce  sync.Once
	ctx        context.Context // ends with abort, and when Shutdown cuts
	cancel     context.CancelFunc

	// Session state, reader goroutine only.
	loginBy  time.Time       // log in by then or be closed
	inHand   json.RawMessage // the tag of the request being handled
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
		out:        make(chan []byte, s.cfg.SendQueue),
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
	for _, line := range [][]byte{b, nil} { // nil: flush and stop
		select {
		case c.out <- line:
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
	lr := inboxwire.NewLineReader(c.tc, c.s.cfg.MaxLine)
	for {
		// Backpressure: a client that asks faster than it reads waits
		// here, unread requests pile up in its own socket, and the queue
		// stays near its byte budget rather than one response per
		// request.
		if !c.waitForRoom() {
			return "dropped"
		}
		// A watcher waits for events, not requests, so it has no idle
		// timeout: TCP keepalive and the write deadline find dead peers.
		// Before login, the login deadline holds whatever is sent.
		switch deadline := time.Now().Add(c.s.cfg.IdleTimeout); {
		case c.watching:
			c.tc.SetReadDeadline(time.Time{})
		case !c.authed && c.loginBy.Before(deadline):
			c.tc.SetReadDeadline(c.loginBy)
		default:
			c.tc.SetReadDeadline(deadline)
		}
		// Checked after the deadline is set: Shutdown marks itself
		// started, then sets a deadline in the past, so one of the two
		// stops this read.
		if c.lc.ShuttingDown() {
			c.close()
			return "shutdown"
		}
		line, err := lr.ReadLine()
		if err != nil {
			return c.readFailed(err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue // blank lines are ignored (handy by hand)
		}
		c.requests++
		resp, act := c.handle(line)
		if !c.send(resp) {
			return "dropped"
		}
		switch act {
		case actWatch:
			c.watching = true
			c.s.hub.add(c, int64(c.acc.ID))
		case actQuit:
			c.close()
			return "quit"
		case actGiveUp:
			c.close()
			return "too many failed logins"
		}
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
		if !c.authed && !time.Now().Before(c.loginBy) {
			return "login timeout"
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

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// send queues a response, waiting for room; false means the connection
// was aborted meanwhile.
func (c *conn) send(resp inboxwire.Response) bool {
	b, err := inboxwire.AppendLine(nil, resp)
	if err != nil { // cannot happen with these types; never send half a reply
		c.log.Error("encode response", zap.Error(err))
		e, _ := wireError(err)
		b, _ = inboxwire.AppendLine(nil, inboxwire.Response{Tag: resp.Tag, Error: &e})
	}
	c.enqueue(len(b))
	select {
	case c.out <- b:
		return true
	case <-c.done:
		return false
	}
}

// enqueue counts n more bytes queued and gives the new total.
func (c *conn) enqueue(n int) int64 {
	q := c.queued.Add(int64(n))
	for p := c.peakQueued.Load(); q > p && !c.peakQueued.CompareAndSwap(p, q); p = c.peakQueued.Load() {
	}
	return q
}

// waitForRoom waits until fewer than SendQueueBytes are queued; false
// means the connection was aborted meanwhile. The wait is bounded by the
// writer: it writes whenever something is queued, and a write that makes
// no progress for WriteTimeout aborts the connection.
func (c *conn) waitForRoom() bool {
	for c.queued.Load() >= int64(c.s.cfg.SendQueueBytes) {
		select {
		case <-c.drained:
		case <-c.done:
			return false
		}
	}
	return true
}

// push queues an event without waiting. A full queue (in lines or bytes)
// means the client is not reading: it is dropped so that nobody else
// waits for it.
func (c *conn) push(line []byte) {
	if isClosed(c.done) {
		return // dropped already; the reader will leave the hub
	}
	if q := c.enqueue(len(line)); q > int64(c.s.cfg.SendQueueBytes) {
		c.dropWatcher("send queue over its byte budget", zap.Int64("queued_bytes", q-int64(len(line))))
		return
	}
	select {
	case c.out <- line:
	default:
		c.dropWatcher("send queue full", zap.Int("queue", cap(c.out)))
	}
}

func (c *conn) dropWatcher(why string, f zap.Field) {
	if !isClosed(c.done) {
		c.log.Warn("watcher dropped: "+why, f)
	}
	c.abort()
}

// finish makes the writer flush what is queued and stop, and waits for it.
func (c *conn) finish() {
	select {
	case c.out <- nil:
	case <-c.done:
	}
	select {
	case <-c.writerDone:
	case <-c.done:
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

// writeLoop writes queued lines, coalescing what is ready into one flush.
func (c *conn) writeLoop() {
	// A panic here ends this connection alone. Deferred first, so it runs
	// after writerDone is closed and lastWords need not wait for a writer
	// that is gone.
	defer c.lc.Recover()
	defer close(c.writerDone)
	bw := bufio.NewWriterSize(c.tc, 64<<10)
	for {
		var line []byte
		select {
		case line = <-c.out:
		case <-c.done:
			return
		}
		c.tc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
		for more := true; more; {
			if line == nil {
				if err := bw.Flush(); err != nil {
					c.writeFailed(err)
				}
				return
			}
			if _, err := bw.Write(line); err != nil {
				c.writeFailed(err)
				return
			}
			c.queued.Add(-int64(len(line)))
			select {
			case c.drained <- struct{}{}:
			default: // a wake-up is pending already
			}
			select {
			case line = <-c.out:
			default:
				more = false
			}
		}
		if err := bw.Flush(); err != nil {
			c.writeFailed(err)
			return
		}
	}
}

func (c *conn) writeFailed(err error) {
	if !isClosed(c.done) {
		c.log.Info("write failed", zap.Error(err))
	}
	c.abort()
}
