package inboxserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// conn is one client connection. Its reader goroutine (serve) owns the
// session state; its writer goroutine (writeLoop) owns the socket's write
// side; anyone may abort it.
type conn struct {
	s   *Server
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
	ctx        context.Context // ends with abort
	cancel     context.CancelFunc

	// Session state, reader goroutine only.
	loginBy  time.Time // log in by then or be closed
	acc      account.Account
	authed   bool
	fails    int
	watching bool
	requests int
}

func newConn(s *Server, nc net.Conn, ip, key string) *conn {
	ctx, cancel := context.WithCancel(s.ctx)
	return &conn{
		s: s, nc: nc, tc: tls.Server(nc, s.tls), ip: ip, key: key,
		log:        s.log.With(zap.String("ip", ip)),
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

// action is what the reader does after sending a response.
type action int

const (
	actContinue action = iota
	actWatch           // start watching, after the ok is queued
	actQuit            // flush and close
	actGiveUp          // flush and close: too many failed logins
)

func (c *conn) serve() {
	start := time.Now()
	c.loginBy = start.Add(c.s.cfg.LoginTimeout)
	defer c.s.forget(c)
	defer c.abort()
	if tcp, ok := c.nc.(*net.TCPConn); ok {
		tcp.SetKeepAlive(true)
		tcp.SetKeepAlivePeriod(tcpKeepAlive)
	}
	// The deadline goes on before the handshake, or a client that never
	// speaks would pin this goroutine forever (go-smtp issue #161).
	c.tc.SetDeadline(time.Now().Add(c.s.cfg.HandshakeTimeout))
	if c.s.closing.Load() { // as in readLoop: Shutdown's deadline may have been overwritten
		return
	}
	if err := c.tc.HandshakeContext(c.ctx); err != nil {
		c.log.Debug("tls handshake failed", zap.Error(err))
		return
	}
	c.tc.SetDeadline(time.Time{})
	go c.writeLoop()

	reason := c.readLoop()
	if c.watching {
		c.s.hub.remove(c, int64(c.acc.ID))
	}
	c.log.Info("connection closed", zap.String("end", reason),
		zap.Int("requests", c.requests), zap.Int64("peak_queued_bytes", c.peakQueued.Load()),
		zap.Duration("duration", time.Since(start)))
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
		// Checked after the deadline is set: Shutdown sets closing, then a
		// deadline in the past, so one of the two stops this read.
		if c.s.closing.Load() {
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
	case c.s.closing.Load():
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

// handle runs one request line.
func (c *conn) handle(line []byte) (inboxwire.Response, action) {
	req, err := inboxwire.DecodeRequest(line)
	resp := inboxwire.Response{Tag: req.Tag}
	if err != nil {
		return c.fail(resp, err), actContinue
	}
	switch req.Op {
	case inboxwire.OpPing:
		resp.OK = true
		return resp, actContinue
	case inboxwire.OpQuit:
		resp.OK = true
		return resp, actQuit
	case inboxwire.OpLogin:
		return c.login(req, resp)
	case inboxwire.OpList, inboxwire.OpCount, inboxwire.OpFetch, inboxwire.OpSeen,
		inboxwire.OpDelete, inboxwire.OpWatch:
	default:
		return c.fail(resp, errUnknownOp), actContinue
	}
	if !c.authed {
		return c.fail(resp, errAuthRequired), actContinue
	}
	owner := c.acc.ID
	mb := c.s.mailboxes
	switch req.Op {
	case inboxwire.OpList:
		folder, before, limit, err := listArgs(req)
		if err != nil {
			return c.fail(resp, err), actContinue
		}
		metas, err := mb.List(c.ctx, owner, folder, before, limit)
		if err != nil {
			return c.fail(resp, err), actContinue
		}
		resp.Messages = make([]inboxwire.Meta, len(metas))
		for i, m := range metas {
			resp.Messages[i] = inboxwire.MetaFrom(m)
		}
	case inboxwire.OpCount:
		if req.Folder == nil {
			return c.fail(resp, missing("folder")), actContinue
		}
		total, unseen, err := mb.Count(c.ctx, owner, mail.Folder(*req.Folder))
		if err != nil {
			return c.fail(resp, err), actContinue
		}
		resp.Total, resp.Unseen = &total, &unseen
	case inboxwire.OpFetch:
		if req.ID == nil {
			return c.fail(resp, missing("id")), actContinue
		}
		msg, err := mb.Fetch(c.ctx, owner, mail.EntryID(*req.ID))
		if err != nil {
			return c.fail(resp, err), actContinue
		}
		raw := msg.Raw
		if raw == nil {
			raw = []byte{} // "" rather than null
		}
		resp.Message = &inboxwire.Message{Meta: inboxwire.MetaFrom(msg.Meta), Raw: raw}
	case inboxwire.OpSeen:
		if req.ID == nil {
			return c.fail(resp, missing("id")), actContinue
		}
		if req.Seen == nil {
			return c.fail(resp, missing("seen")), actContinue
		}
		if err := mb.SetSeen(c.ctx, owner, mail.EntryID(*req.ID), *req.Seen); err != nil {
			return c.fail(resp, err), actContinue
		}
	case inboxwire.OpDelete:
		if req.ID == nil {
			return c.fail(resp, missing("id")), actContinue
		}
		if err := mb.Delete(c.ctx, owner, mail.EntryID(*req.ID)); err != nil {
			return c.fail(resp, err), actContinue
		}
	case inboxwire.OpWatch:
		resp.OK = true
		if c.watching {
			return resp, actContinue
		}
		return resp, actWatch
	}
	resp.OK = true
	return resp, actContinue
}

func listArgs(req inboxwire.Request) (folder mail.Folder, before mail.EntryID, limit int, err error) {
	if req.Folder == nil {
		return "", 0, 0, missing("folder")
	}
	folder = mail.Folder(*req.Folder)
	if req.Before != nil {
		if *req.Before < 0 {
			return "", 0, 0, mail.ErrBadLimit
		}
		before = mail.EntryID(*req.Before) // 0 means no bound
	}
	if req.Limit != nil {
		// The domain reads 0 as "the default"; on the wire it is out of
		// the documented range 1..500.
		if *req.Limit < 1 {
			return "", 0, 0, mail.ErrBadLimit
		}
		limit = *req.Limit
	}
	return folder, before, limit, nil
}

// login checks credentials under the per-IP budget and the per-connection
// cap on failures.
func (c *conn) login(req inboxwire.Request, resp inboxwire.Response) (inboxwire.Response, action) {
	switch {
	case c.authed:
		return c.fail(resp, errLoggedIn), actContinue
	case req.User == nil:
		return c.fail(resp, missing("user")), actContinue
	case req.Password == nil:
		return c.fail(resp, missing("password")), actContinue
	}
	failed := func(err error) (inboxwire.Response, action) {
		c.fails++
		c.log.Info("login failed", c.logUser(*req.User), zap.Int("failures", c.fails), zap.Error(err))
		if c.fails >= c.s.cfg.MaxLoginFailures {
			return c.fail(resp, err), actGiveUp
		}
		return c.fail(resp, err), actContinue
	}
	// The token is taken before hashing, so a spent budget costs us
	// nothing, and parallel attempts cannot all pass a check made before
	// any of them has spent. Only a bad password keeps it spent.
	ok, refund := c.s.loginFail.Reserve(c.key)
	if !ok {
		return failed(errRateLimited)
	}
	acc, err := c.s.accounts.Authenticate(c.ctx, *req.User, *req.Password)
	if errors.Is(err, account.ErrBadCredentials) {
		return failed(err)
	}
	refund()
	if err != nil {
		return c.fail(resp, err), actContinue
	}
	c.acc, c.authed = acc, true
	c.log = c.log.With(zap.String("user", string(acc.Username)))
	resp.OK = true
	resp.Account = &inboxwire.Account{ID: int64(acc.ID), Address: c.s.accounts.AddressOf(acc).String()}
	return resp, actContinue
}

// logUser is what the log may say about a login's user field: the
// normalised username when the field is one (bare or in our domain), else
// only its length. The field is client text as long as a request line
// (1 MiB) and people type passwords into it: neither belongs in the log,
// on every failed attempt. (A password shaped like a username is still
// logged; telling the two apart would take a lookup per failure.)
func (c *conn) logUser(name string) zap.Field {
	local := name
	if i := strings.LastIndexByte(name, '@'); i >= 0 && strings.EqualFold(name[i+1:], c.s.accounts.Domain()) {
		local = name[:i]
	}
	if u, err := account.ParseUsername(local); err == nil {
		return zap.String("user", string(u))
	}
	return zap.Int("user_malformed_len", len(name))
}

// fail fills resp with err's wire error, logging internal ones.
func (c *conn) fail(resp inboxwire.Response, err error) inboxwire.Response {
	e, internal := wireError(err)
	if internal {
		c.log.Error("request failed", zap.Error(err))
	}
	resp.OK = false
	resp.Error = &e
	return resp
}
