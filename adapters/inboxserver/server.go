// Package inboxserver owns the inbox protocol's server side: a TLS listener
// speaking JSON lines (see docs/protocol.md), one session per connection with
// login, list, count, fetch, seen, delete and watch, the per-connection
// writer with its bounded send queue, and the fan-out of the one change-feed
// subscription to the watching connections of each account.
package inboxserver

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/throttle"
	"mailroom/ports"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("inboxserver: server closed")

// Defaults.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultIdleTimeout      = 30 * time.Minute
	DefaultLoginTimeout     = time.Minute
	DefaultWriteTimeout     = time.Minute
	DefaultSendQueue        = 256
	DefaultSendQueueBytes   = 64 << 20
	DefaultMaxLoginFailures = 3
	DefaultMaxConns         = 1000
	DefaultMaxConnsPerIP    = 50
	// tcpKeepAlive probes idle connections, watchers above all: they have no
	// read deadline, so a peer that vanished is found by TCP.
	tcpKeepAlive = 30 * time.Second
	// lingerTime and lingerBytes bound how much of a client's input is read
	// and thrown away after a too_large reply, so that closing the socket
	// with unread data (which sends a TCP RST) does not destroy the reply
	// before the client reads it.
	lingerTime  = 2 * time.Second
	lingerBytes = 8 << 20
)

// DefaultLoginFailRate is the per-IP budget of failed logins.
var DefaultLoginFailRate = throttle.Rate{N: 20, Per: 10 * time.Minute}

// Config configures a Server. Zero fields take their defaults.
type Config struct {
	// TLS is the server's TLS configuration. Required. A MinVersion below
	// TLS 1.2 is raised to 1.2.
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
	// MaxLine bounds a request line; a longer one gets too_large and the
	// connection is closed. Default inboxwire.MaxLine (1 MiB).
	MaxLine int
	// SendQueue is how many response and event lines may wait for the
	// client to read them. An event that finds the queue full drops the
	// connection. Default 256.
	SendQueue int
	// SendQueueBytes bounds the bytes of those lines, since one fetch
	// response can be tens of MiB. While as many bytes wait, the
	// connection's next request is not read; a response is queued once
	// fewer wait, however long it is (a fetch larger than the budget
	// still goes out), so a connection holds at most about SendQueueBytes
	// plus one response. An event that would take the queue over it
	// drops the connection. Default 64 MiB.
	SendQueueBytes int
	// LoginFailRate is the per-IP budget of failed logins; once spent,
	// login answers rate_limited without checking the password. Default
	// 20/10m. A negative N turns the budget off.
	LoginFailRate throttle.Rate
	// MaxLoginFailures is how many failed logins one connection may make;
	// the last failure's reply is followed by a close. Default 3.
	MaxLoginFailures int
	// MaxConns and MaxConnsPerIP cap open connections; one over the cap is
	// closed at once, before the TLS handshake. Defaults 1000 and 50.
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
	if c.MaxLine <= 0 {
		c.MaxLine = inboxwire.MaxLine
	}
	if c.SendQueue <= 0 {
		c.SendQueue = DefaultSendQueue
	}
	if c.SendQueueBytes <= 0 {
		c.SendQueueBytes = DefaultSendQueueBytes
	}
	switch {
	case c.LoginFailRate.N < 0:
		c.LoginFailRate = throttle.Rate{} // unlimited
	case c.LoginFailRate.N == 0:
		c.LoginFailRate = DefaultLoginFailRate
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
	cfg       Config
	tls       *tls.Config
	accounts  ports.Accounts
	mailboxes ports.Mailboxes
	feed      ports.ChangeFeed
	log       *zap.Logger
	loginFail *throttle.Limiter

	ctx    context.Context // cancelled when Shutdown gives up waiting
	cancel context.CancelFunc

	feedOnce   sync.Once
	feedCtx    context.Context // the one subscription's lifetime
	feedCancel context.CancelFunc
	feedDone   chan struct{}
	hub        hub

	closing atomic.Bool
	mu      sync.Mutex
	lns     map[net.Listener]struct{}
	conns   map[*conn]struct{}
	perIP   map[string]int
	connWG  sync.WaitGroup
}

// New wires a Server. Nil accounts, mailboxes, feed or cfg.TLS panic; a nil
// log discards.
func New(cfg Config, accounts ports.Accounts, mailboxes ports.Mailboxes, feed ports.ChangeFeed, log *zap.Logger) *Server {
	if cfg.TLS == nil || accounts == nil || mailboxes == nil || feed == nil {
		panic("inboxserver: nil dependency")
	}
	if log == nil {
		log = zap.NewNop()
	}
	cfg = cfg.withDefaults()
	tc := cfg.TLS.Clone()
	if tc.MinVersion < tls.VersionTLS12 {
		tc.MinVersion = tls.VersionTLS12
	}
	ctx, cancel := context.WithCancel(context.Background())
	feedCtx, feedCancel := context.WithCancel(ctx)
	return &Server{
		cfg: cfg, tls: tc,
		accounts: accounts, mailboxes: mailboxes, feed: feed,
		log:       log.Named("inbox"),
		loginFail: throttle.New(cfg.LoginFailRate, nil),
		ctx:       ctx, cancel: cancel,
		feedCtx: feedCtx, feedCancel: feedCancel,
		feedDone: make(chan struct{}),
		hub:      hub{watchers: map[int64]map[*conn]struct{}{}},
		lns:      map[net.Listener]struct{}{},
		conns:    map[*conn]struct{}{},
		perIP:    map[string]int{},
	}
}

// Serve accepts plain TCP connections on ln and speaks TLS on them. It
// returns ErrServerClosed after Shutdown, or the listener's error. It may be
// called for several listeners; all share one feed subscription.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
	}()
	s.feedOnce.Do(func() { go s.runFeed() })

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			// EMFILE and the like: net/http's Serve retries on the
			// deprecated Temporary method too, as it is the only signal.
			if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept", zap.Error(err), zap.Duration("retry_in", backoff))
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c, ok := s.admit(nc)
		if !ok {
			continue
		}
		go c.serve()
	}
}

// admit registers a new connection, or closes it when a cap is reached.
func (s *Server) admit(nc net.Conn) (*conn, bool) {
	ip := remoteIP(nc.RemoteAddr())
	key := throttle.ClientKey(ip) // what per-IP caps and budgets count
	s.mu.Lock()
	switch {
	case s.closing.Load():
		s.mu.Unlock()
		nc.Close()
		return nil, false
	case len(s.conns) >= s.cfg.MaxConns, s.perIP[key] >= s.cfg.MaxConnsPerIP:
		n, nip := len(s.conns), s.perIP[key]
		s.mu.Unlock()
		nc.Close()
		s.log.Warn("connection refused: too many connections",
			zap.String("ip", ip), zap.Int("conns", n), zap.Int("conns_ip", nip))
		return nil, false
	}
	c := newConn(s, nc, ip, key)
	s.conns[c] = struct{}{}
	s.perIP[key]++
	s.connWG.Add(1)
	s.mu.Unlock()
	return c, true
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	if s.perIP[c.key]--; s.perIP[c.key] <= 0 {
		delete(s.perIP, c.key)
	}
	s.mu.Unlock()
	s.connWG.Done()
}

// Shutdown stops accepting, lets each connection finish the request it is
// handling and closes it, and stops the feed subscription. If ctx ends
// first, the remaining connections are closed at once and ctx's error is
// returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for ln := range s.lns {
		ln.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	// Interrupt each reader between requests: the request in hand is
	// answered, then the read fails and the session ends. The reader
	// checks s.closing after setting its own deadline, so none is missed.
	for _, c := range conns {
		c.nc.SetReadDeadline(time.Now())
	}
	done := make(chan struct{})
	go func() {
		s.connWG.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.cancel()
		s.mu.Lock()
		for c := range s.conns {
			c.abort()
		}
		s.mu.Unlock()
		<-done
	}
	s.feedCancel()
	s.feedOnce.Do(func() { close(s.feedDone) }) // never started
	<-s.feedDone
	s.cancel()
	return err
}

func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
