// Package inboxserver owns the inbox protocol's server side: a TLS listener
// speaking JSON lines (see docs/protocol.md), one session per connection with
// login, the mailbox, folder, search and append ops, and watch, the
// per-connection writer with its bounded send queue, and the fan-out of the
// one change-feed subscription (new entries, removals, flag changes) to the
// watching connections of each account.
package inboxserver

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"

	"mailroom/adapters/inboxwire"
	"mailroom/adapters/listener"
)

// ErrServerClosed is returned by Serve after Shutdown: the listener core's
// sentinel, the same value every Mailroom server returns.
var ErrServerClosed = listener.ErrServerClosed

// Defaults.
const (
	DefaultHandshakeTimeout = listener.DefaultHandshakeTimeout
	DefaultIdleTimeout      = 30 * time.Minute
	DefaultLoginTimeout     = time.Minute
	DefaultWriteTimeout     = time.Minute
	DefaultReadTimeout      = time.Minute
	DefaultSendQueue        = 256
	DefaultSendQueueBytes   = 64 << 20
	DefaultMaxInflightBytes = 256 << 20
	DefaultMaxLoginFailures = 3
	DefaultMaxConns         = listener.DefaultMaxConns
	DefaultMaxConnsPerIP    = listener.DefaultMaxConnsPerIP
	// tcpKeepAlive probes idle connections, watchers above all: they have no
	// read deadline, so a peer that vanished is found by TCP.
	tcpKeepAlive = 30 * time.Second
	// lingerTime and lingerBytes bound how much of a client's input is read
	// and thrown away after a too_large reply, so that closing the socket
	// with unread data (which sends a TCP RST) does not destroy the reply
	// before the client reads it.
	lingerTime  = 2 * time.Second
	lingerBytes = 8 << 20
	// lineBudgetWait is how long a long request line waits for room in
	// MaxInflightBytes before it is refused, as SMTP's DATA waits (the
	// fetches that hold the budget give it back as they are written).
	lineBudgetWait = 10 * time.Second
	// lastWordsWait bounds how long a panicking connection waits for its
	// internal error to be written before the socket is closed.
	lastWordsWait = 2 * time.Second
	// readBufSize is each connection's read buffer: enough for the usual
	// request line in one go; longer lines are assembled in a buffer that
	// is dropped after use (inboxwire.LineReader), so an idle connection
	// holds only this.
	readBufSize = 4 << 10
	// readPauseBytes: while this many response bytes (or SendQueueBytes,
	// if less) wait for the client, the next request is not read. Small,
	// so that a client pipelining large fetches gets one at a time
	// (backpressure, not queueing), and large enough to keep the network
	// busy with small responses.
	readPauseBytes = 1 << 20
)

// Config configures a Server. Zero fields take their defaults.
type Config struct {
	// TLS is the server's TLS configuration. Required. It is cloned, a
	// MinVersion below TLS 1.2 is raised to 1.2, and TLS 1.2 offers only
	// AEAD suites (see listener.Config.TLS).
	TLS *tls.Config
	// HandshakeTimeout bounds the TLS handshake; its deadline is set before
	// the handshake starts. Default 10s.
	HandshakeTimeout time.Duration
	// IdleTimeout bounds the wait for the next request line. It does not
	// apply while the connection watches (TCP keepalive and WriteTimeout
	// find dead watchers instead). Default 30m.
	IdleTimeout time.Duration
	// LoginTimeout is how long after connecting a client has to log in;
	// a connection still not logged in is then closed without a reply,
	// whatever it sent meanwhile (ping does not extend it). Before login
	// it takes the place of IdleTimeout when it ends sooner: unused
	// sessions must not hold the connection slots (MaxConnsPerIP,
	// MaxConns) for a whole IdleTimeout. Default 1m.
	LoginTimeout time.Duration
	// WriteTimeout bounds each write to the client. Default 1m.
	WriteTimeout time.Duration
	// ReadTimeout bounds a request line from its first byte to its
	// newline, on every connection, watchers included: a client may be
	// silent between requests (for IdleTimeout, or forever while it
	// watches) but must finish a line it has started. Default 1m.
	ReadTimeout time.Duration
	// MaxLine is the least a request line after login may be; a longer
	// one gets too_large and the connection is closed. It is a minimum:
	// the bound after login is an append of the largest message when that
	// is more (inboxwire.RequestLineLimit of Mailboxes.MaxMessageBytes:
	// about 33.4 MiB for 25 MiB). A line's buffer past MaxLine is taken
	// from MaxInflightBytes as it grows. Default inboxwire.MaxLine (1 MiB).
	MaxLine int
	// MaxLineBeforeLogin bounds a request line before login, so that a
	// client that has not logged in can make the server hold no more
	// than this of a request. Default inboxwire.MaxLoginLine (8 KiB),
	// and never more than MaxLine.
	MaxLineBeforeLogin int
	// SendQueue is how many response and event lines may wait for the
	// client to read them. An event that finds the queue full drops the
	// connection. Default 256.
	SendQueue int
	// SendQueueBytes bounds the bytes of those lines: an event that would
	// take the queue over it drops the connection. Responses are not
	// dropped: while SendQueueBytes, or 1 MiB if less, wait, the
	// connection's next request is not read (backpressure), and a
	// response is queued once fewer wait, however long it is. So a
	// client that pipelines fetches without reading makes the server
	// hold one large response at a time. Default 64 MiB.
	SendQueueBytes int
	// MaxInflightBytes bounds the message bytes that fetch responses and
	// long request lines (appends) hold in memory, all connections
	// together. A fetch holds its message from loading it until it is
	// written, and waits for room before it loads (reserving the largest
	// message size, then keeping only what the message takes); a message
	// larger than the budget is still sent, alone. A request line holds
	// its buffer, once that grows past MaxLine, until its request is
	// answered; when the buffer cannot grow within a few seconds, the rest
	// of the line is read and dropped, the client gets an untagged busy
	// error and the connection is closed, and nothing of the request is
	// done. A line (or message) larger than the whole budget is taken
	// only when it would hold the budget alone. Without it MaxConns
	// logged-in clients could each make the server hold a 33 MiB line and
	// its request. Default 256 MiB.
	MaxInflightBytes int64
	// MaxLoginFailures is how many failed logins one connection may make;
	// the last failure's reply is followed by a close. Default 3.
	MaxLoginFailures int
	// lineWait is how long a request line waits for room in
	// MaxInflightBytes before it is refused. Default lineBudgetWait; tests
	// shorten it.
	lineWait time.Duration
	// MaxConns and MaxConnsPerIP cap open connections, handshakes
	// included (per client IP: per /64 for IPv6). One over a cap is
	// answered an untagged busy error after the TLS handshake and closed.
	// Defaults 1000 and 50.
	MaxConns, MaxConnsPerIP int
}

func (c Config) withDefaults() Config {
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.LoginTimeout <= 0 {
		c.LoginTimeout = DefaultLoginTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.MaxLine <= 0 {
		c.MaxLine = inboxwire.MaxLine
	}
	if c.MaxLineBeforeLogin <= 0 {
		c.MaxLineBeforeLogin = inboxwire.MaxLoginLine
	}
	c.MaxLineBeforeLogin = min(c.MaxLineBeforeLogin, c.MaxLine)
	if c.MaxInflightBytes <= 0 {
		c.MaxInflightBytes = DefaultMaxInflightBytes
	}
	if c.lineWait <= 0 {
		c.lineWait = lineBudgetWait
	}
	if c.SendQueue <= 0 {
		c.SendQueue = DefaultSendQueue
	}
	if c.SendQueueBytes <= 0 {
		c.SendQueueBytes = DefaultSendQueueBytes
	}
	if c.MaxLoginFailures <= 0 {
		c.MaxLoginFailures = DefaultMaxLoginFailures
	}
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxConnsPerIP <= 0 {
		c.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	return c
}

// Server is the inbox server. It is safe for concurrent use.
type Server struct {
	cfg Config
	// lineMax bounds a request line after login: Config.MaxLine, or an
	// append of the largest message when that is more.
	lineMax   int
	accounts  Accounts
	mailboxes Mailboxes
	log       *zap.Logger
	inflight  *listener.Budget // Config.MaxInflightBytes
	// ln is the connection plumbing: accept, caps, handshake, recover,
	// shutdown.
	ln *listener.Server

	// hub fans the change feed out to watchers (hub.go).
	hub *hub

	mu    sync.Mutex
	conns map[*conn]struct{} // sessions past the handshake
}

// New wires a Server. Nil accounts, mailboxes, feed, log or cfg.TLS panic
// (log is named "inbox" here).
// The failed-login budget is the account service's (one per client across
// every server).
func New(cfg Config, accounts Accounts, mailboxes Mailboxes, feed ChangeFeed, log *zap.Logger) *Server {
	if cfg.TLS == nil || accounts == nil || mailboxes == nil || feed == nil || log == nil {
		panic("inboxserver: nil dependency")
	}
	cfg = cfg.withDefaults()
	// An append carries a whole message in base64: a logged-in client may
	// send a line as long as one of the largest message needs.
	lineMax := max(cfg.MaxLine, inboxwire.RequestLineLimit(mailboxes.MaxMessageBytes()))
	log = log.Named("inbox")
	s := &Server{
		cfg:      cfg,
		lineMax:  lineMax,
		accounts: accounts, mailboxes: mailboxes,
		log:      log,
		inflight: listener.NewBudget(cfg.MaxInflightBytes),
		hub:      newHub(feed, log),
		conns:    map[*conn]struct{}{},
	}
	s.ln = listener.New(listener.Config{
		TLS:              cfg.TLS,
		HandshakeTimeout: cfg.HandshakeTimeout,
		MaxConns:         cfg.MaxConns,
		MaxConnsPerIP:    cfg.MaxConnsPerIP,
		Busy:             busyLine,
		PlainText:        untaggedLine(errPlainText),
	}, s.serveConn, s.log)
	return s
}

// busyLine is the untagged error a client over a connection cap reads
// before the server closes.
func busyLine(limit listener.Limit) []byte {
	if limit == listener.LimitConnsPerIP {
		return untaggedLine(errBusyIP)
	}
	return untaggedLine(errBusy)
}

// untaggedLine is err's untagged error response line.
func untaggedLine(err error) []byte {
	e, _ := wireError(err)
	b, _ := inboxwire.AppendLine(nil, inboxwire.Response{Error: &e})
	return b
}

// Serve accepts plain TCP connections on ln and speaks TLS on them. It
// returns ErrServerClosed after Shutdown, or the listener's error. It may be
// called for several listeners; all share one feed subscription, held
// while someone watches.
func (s *Server) Serve(ln net.Listener) error {
	return s.ln.Serve(ln)
}

// serveConn is the listener core's handler: one session.
func (s *Server) serveConn(lc *listener.Conn) {
	c := newConn(s, lc)
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	c.serve()
}

// Shutdown stops accepting, lets each connection finish the request it is
// handling and closes it, and stops the feed subscription. If ctx ends
// first, the remaining connections are cut and a *listener.CutError that
// counts them and wraps ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.ln.Shutdown(ctx)
	s.hub.stop()
	return err
}
