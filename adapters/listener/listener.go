// Package listener owns the connection plumbing that Mailroom's servers
// share (SMTP, inbox, and IMAP to come), so that they behave alike: the
// accept loop with backoff, the global and per-client connection caps with
// a busy reply, the implicit-TLS handshake under a deadline set before it
// starts, TLS settings (1.2 or later, AEAD suites only), one goroutine per
// connection with its own context and a recover(), and graceful shutdown
// with one contract. What is said on a connection is the server's business:
// the core hands each handshaken connection to the server's Handler.
package listener

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"

	"mailroom/domain/throttle"
)

// ErrServerClosed is returned by Serve after Shutdown. Every server on the
// core returns this one value, so the daemon checks one sentinel.
var ErrServerClosed = errors.New("listener: server closed")

// CutError is Shutdown's error when its context ended before every handler
// had returned: Conns connections were then cut (their contexts cancelled,
// their sockets closed) with work possibly in hand. It wraps the context's
// error, so errors.Is(err, context.DeadlineExceeded) holds.
type CutError struct {
	Conns int   // connections cut
	Err   error // the context's error
}

func (e *CutError) Error() string {
	return fmt.Sprintf("listener: shutdown cut %d connection(s): %v", e.Conns, e.Err)
}

func (e *CutError) Unwrap() error { return e.Err }

// Limit names the cap that refused a connection.
type Limit int

const (
	// LimitConns is MaxConns: the server as a whole is full.
	LimitConns Limit = iota + 1
	// LimitConnsPerIP is MaxConnsPerIP: this client holds too many.
	LimitConnsPerIP
)

func (l Limit) String() string {
	switch l {
	case LimitConns:
		return "max_conns"
	case LimitConnsPerIP:
		return "max_conns_per_ip"
	}
	return fmt.Sprintf("Limit(%d)", int(l))
}

// Defaults.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultMaxConns         = 1000
	DefaultMaxConnsPerIP    = 50
)

const (
	// maxRejecting bounds the goroutines that complete a handshake only to
	// give a client over a cap its busy reply; beyond it such clients are
	// closed without a word, so that a flood costs at most this many
	// handshakes at a time.
	maxRejecting = 16
	// rejectLinger and rejectLingerBytes bound how long, and how much of
	// its input, a refused client is read after its busy reply: closing a
	// socket with unread input sends a TCP reset, which can destroy the
	// reply before the client has read it.
	rejectLinger      = 2 * time.Second
	rejectLingerBytes = 64 << 10
	// lastWordsTimeout bounds the write of a panicking connection's last
	// words.
	lastWordsTimeout = 5 * time.Second
)

// Config configures a Server. Zero fields take the default in their comment.
type Config struct {
	// TLS is the listener's configuration (implicit TLS: the handshake
	// comes first). Required. It is cloned; MinVersion is raised to TLS
	// 1.2, and TLS 1.2 offers only ECDHE suites with AES-GCM or
	// ChaCha20-Poly1305 (CipherSuites, when set, is narrowed to those; New
	// panics when none is left). TLS 1.3 suites are all AEAD.
	TLS *tls.Config
	// HandshakeTimeout bounds the TLS handshake, from accept: the deadline
	// is set on the TCP connection before the handshake starts. Default 10s.
	HandshakeTimeout time.Duration
	// MaxConns bounds open connections, handshakes included. Default 1000.
	MaxConns int
	// MaxConnsPerIP bounds open connections per client key
	// (throttle.ClientKey: an IPv4 address, an IPv6 /64). Default 50.
	MaxConnsPerIP int
	// Busy gives the bytes written, after the TLS handshake, to a client
	// refused by limit; the client is then closed. New calls it once per
	// Limit. At most 16 refused clients are answered at once, the rest are
	// closed without a word. Default nil: every refused client is closed
	// without a word, before the handshake.
	Busy func(limit Limit) []byte
	// PlainText is written, in clear, to a client whose first byte is not
	// the start of a TLS handshake record (a plaintext client on the
	// implicit-TLS port: smtplib.SMTP, telnet, swaks without --tlsc), and
	// the client is then closed: one line that says the port speaks TLS
	// beats a silent close after HandshakeTimeout. Default nil: such a
	// client is closed without a word, as soon as its first byte arrives.
	PlainText []byte
}

// Handler serves one handshaken connection. The connection ends when the
// handler returns: the core then cancels c.Context() and closes the socket,
// so a handler may leave both to it (a handler that wants a clean TLS close
// calls c.TLS.Close itself).
type Handler func(c *Conn)

// Server accepts, caps, handshakes and shuts down connections for one
// protocol. It is safe for concurrent use.
type Server struct {
	cfg     Config
	busy    map[Limit][]byte
	handler Handler
	log     *zap.Logger

	// base is the parent of every connection's context; it is cancelled
	// when Shutdown gives up waiting.
	base    context.Context
	cancel  context.CancelFunc
	closing chan struct{} // closed when Shutdown starts

	mu          sync.Mutex
	shutdown    bool
	listeners   map[net.Listener]struct{}
	handshaking map[net.Conn]struct{} // connections Shutdown closes at once, refused ones included
	live        map[*Conn]struct{}    // handshaken, in their handler
	open        int                   // handshaking + live: what MaxConns counts
	perKey      map[string]int
	rejecting   int
	wg          sync.WaitGroup // every connection's goroutine
}

// New wires a Server. A nil cfg.TLS, handler or log panics (log is used as
// given: the caller names it).
func New(cfg Config, handler Handler, log *zap.Logger) *Server {
	if cfg.TLS == nil || handler == nil || log == nil {
		panic("listener: nil dependency")
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.MaxConnsPerIP <= 0 {
		cfg.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	cfg.TLS = serverTLS(cfg.TLS)
	var busy map[Limit][]byte
	if cfg.Busy != nil {
		busy = map[Limit][]byte{
			LimitConns:      cfg.Busy(LimitConns),
			LimitConnsPerIP: cfg.Busy(LimitConnsPerIP),
		}
	}
	base, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg: cfg, busy: busy, handler: handler, log: log,
		base: base, cancel: cancel, closing: make(chan struct{}),
		listeners:   map[net.Listener]struct{}{},
		handshaking: map[net.Conn]struct{}{},
		live:        map[*Conn]struct{}{},
		perKey:      map[string]int{},
	}
}

// Serve accepts plain TCP connections on ln and runs the TLS handshake on
// them itself. It may be called for several listeners at once. It returns
// ErrServerClosed after Shutdown (at once when called after it), or the
// first Accept error that is not temporary.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()

	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.ShuttingDown() {
				return ErrServerClosed
			}
			if !retryable(err) {
				return err
			}
			// EMFILE and the like: wait for descriptors to free up,
			// as net/http does, rather than spin.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("accept", zap.Error(err), zap.Duration("retry_in", delay))
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.closing:
				t.Stop()
				return ErrServerClosed
			}
			continue
		}
		delay = 0
		s.admit(nc)
	}
}

// retryable reports an Accept error worth retrying. Temporary is
// deprecated, but for Accept it is still the only signal of EMFILE.
func retryable(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// ShuttingDown reports whether Shutdown has started.
func (s *Server) ShuttingDown() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// OpenConns is the number of open connections, handshakes included (what
// MaxConns counts; refused connections still being answered are not).
func (s *Server) OpenConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open
}

// RemoteIP is the IP address of a, without port or brackets (the string
// form of a when it has no host part).
func RemoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// admit applies the caps and starts the connection's goroutine: its
// handshake and handler, or its busy reply.
func (s *Server) admit(nc net.Conn) {
	ip := RemoteIP(nc.RemoteAddr())
	key := throttle.ClientKey(ip)
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		nc.Close()
		return
	}
	var over Limit
	switch {
	case s.open >= s.cfg.MaxConns:
		over = LimitConns
	case s.perKey[key] >= s.cfg.MaxConnsPerIP:
		over = LimitConnsPerIP
	}
	if over != 0 {
		open, perKey := s.open, s.perKey[key]
		answer := s.busy != nil && s.rejecting < maxRejecting
		if answer {
			s.rejecting++
			s.handshaking[nc] = struct{}{}
			s.wg.Add(1)
		}
		s.mu.Unlock()
		s.log.Info("connection refused", zap.String("remote", ip), zap.Stringer("limit", over),
			zap.Int("conns", open), zap.Int("conns_ip", perKey), zap.Bool("answered", answer))
		if answer {
			go s.reject(nc, over)
		} else {
			nc.Close()
		}
		return
	}
	s.open++
	s.perKey[key]++
	s.handshaking[nc] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go s.serveConn(nc, ip, key)
}

// releaseLocked gives back a connection's place under the caps.
func (s *Server) releaseLocked(key string) {
	s.open--
	if s.perKey[key]--; s.perKey[key] <= 0 {
		delete(s.perKey, key)
	}
}
