// Package smtpserver owns Mailroom's SMTP submission listener: implicit TLS
// with a handshake deadline, connection limits, the go-smtp backend and
// session (AUTH PLAIN/LOGIN, MAIL/RCPT/DATA/BDAT into ports.Mailboxes), and
// the line-level verb shim in front of go-smtp that adds Mailroom's own verbs
// (PING, REG, GETUSER, GET USER, HELP) and the XMAILROOM EHLO line.
package smtpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
	"go.uber.org/zap"

	"mailroom/domain/mail"
	"mailroom/domain/throttle"
	"mailroom/ports"
)

// Config configures a Server. Zero fields take the default given in their
// comment.
type Config struct {
	// Hostname is the name in the greeting, the EHLO reply and Received
	// headers. Default "localhost".
	Hostname string
	// TLS is the listener's TLS configuration (implicit TLS: the handshake
	// comes first). Required. MinVersion is raised to TLS 1.2 if lower.
	TLS *tls.Config
	// MaxMessageBytes bounds a message (DATA or the sum of BDAT chunks) and
	// is advertised as SIZE: a message of exactly this size is accepted,
	// one byte more is 552 5.3.4. Default 25 MiB, lowered to the Mailboxes'
	// MaxMessageBytes when that is smaller.
	MaxMessageBytes int64
	// MaxRecipients bounds RCPT TO per transaction (then 452 4.5.3). Default
	// 100, which is also the most: a larger value is lowered to
	// mail.MaxRecipients, the domain's own cap, so that a transaction the
	// server accepted recipient by recipient is not refused after DATA.
	MaxRecipients int
	// HandshakeTimeout bounds the TLS handshake; the deadline is set on the
	// TCP connection before the handshake starts. Default 10s.
	HandshakeTimeout time.Duration
	// ReadTimeout bounds the wait for each command line (and for each read
	// inside message content). Default 5m (RFC 5321 §4.5.3.2).
	ReadTimeout time.Duration
	// WriteTimeout bounds each reply write. Default 1m.
	WriteTimeout time.Duration
	// DataTimeout bounds the whole message content of one DATA or BDAT
	// chunk; past it the server replies 421 and closes. Default 10m.
	DataTimeout time.Duration
	// SessionTimeout bounds a whole connection. Default 20m.
	SessionTimeout time.Duration
	// AuthTimeout bounds the time from connect (handshake included) to a
	// successful AUTH; a session still not logged in then gets 421 4.7.0
	// and is closed. Without it a client that never logs in holds a
	// connection slot for the whole SessionTimeout by sending a NOOP within
	// each ReadTimeout. Default 2m: a client logs in within seconds, and
	// two minutes leave room for a slow link, a REG first and password
	// hashes queued under load.
	AuthTimeout time.Duration
	// MaxLineLength bounds a command line, CRLF excluded; a longer line
	// gets 500 5.5.2 and the connection is closed. Default 2000.
	MaxLineLength int
	// MaxAuthFailures is the number of failed AUTH attempts a session may
	// make: the last one is answered 421 4.7.0 and the connection closed.
	// Default 3.
	MaxAuthFailures int
	// MaxProtocolErrors is the number of syntax and sequence errors (500 to
	// 504 replies: unknown verbs, bad arguments, commands out of order) a
	// session may make: the reply to the last is followed by 421 4.7.0 and
	// the connection is closed. It replaces go-smtp's fixed limit of 3,
	// which the shim keeps from applying. Default 10.
	MaxProtocolErrors int
	// RegistrationClosed makes REG answer 554 5.7.0. Default false: open.
	RegistrationClosed bool
	// RegRate is each client IP's budget of REG commands (every attempt
	// counts); past it REG gets 454 4.7.0. Default 30/10m. N < 0 means
	// unlimited.
	RegRate throttle.Rate
	// AuthFailRate is each client IP's budget of failed AUTH attempts; when
	// it is spent AUTH gets 454 4.7.0 before any password is checked.
	// Default 20/10m. N < 0 means unlimited.
	AuthFailRate throttle.Rate
	// MaxConns bounds open connections (handshakes included); past it a
	// new client gets 421 4.7.0. Default 1000.
	MaxConns int
	// MaxConnsPerIP bounds open connections per client IP, then 421 4.7.0.
	// Default 50.
	MaxConnsPerIP int
	// FreeSpace reports the bytes free to the server where mail is stored
	// (the daemon passes a statfs of its data directory). When it is set,
	// MAIL is answered 452 4.3.1 while less than MinFreeBytes plus the
	// message's declared SIZE (RFC 1870) is free, so that the client keeps
	// the message and retries rather than the store failing halfway. An
	// error from it is logged and the mail accepted. Default nil: no check.
	FreeSpace func() (uint64, error)
	// MinFreeBytes is the free space MAIL leaves untouched when FreeSpace
	// is set: room for SQLite's WAL, checkpoints and the sent copies of the
	// message. Default 64 MiB.
	MinFreeBytes int64
	// MaxInflightBytes bounds the message bytes the whole server holds in
	// memory at once, across connections: each DATA or BDAT transaction
	// takes its buffer from this budget as the message arrives and gives it
	// back when the transaction ends. When it is spent, a message waits a
	// few seconds for room, then is refused 452 4.3.1 (the client retries)
	// and its remaining content is read and discarded. Without it, MaxConns
	// clients that never end DATA could hold MaxConns × MaxMessageBytes.
	// Default 256 MiB (about ten maximal messages at the default limit),
	// raised to MaxMessageBytes plus 64 KiB when smaller, so that one
	// message always fits.
	MaxInflightBytes int64
	// inflightWait is how long a message waits for room in
	// MaxInflightBytes, at most DataTimeout. Default 10s; tests shorten it.
	inflightWait time.Duration
	// OmitReceived stops the server prepending a Received: header to each
	// stored message. Default false: the header is added, except to a
	// message it would push over MaxMessageBytes (which is stored as sent),
	// so that what is stored never exceeds the limit the client was given.
	OmitReceived bool
}

// Defaults.
const (
	DefaultHostname          = "localhost"
	DefaultMaxMessageBytes   = 25 << 20
	DefaultMaxRecipients     = 100
	DefaultHandshakeTimeout  = 10 * time.Second
	DefaultReadTimeout       = 5 * time.Minute
	DefaultWriteTimeout      = time.Minute
	DefaultDataTimeout       = 10 * time.Minute
	DefaultSessionTimeout    = 20 * time.Minute
	DefaultAuthTimeout       = 2 * time.Minute
	DefaultMaxLineLength     = 2000
	DefaultMaxAuthFailures   = 3
	DefaultMaxProtocolErrors = 10
	DefaultMaxConns          = 1000
	DefaultMaxConnsPerIP     = 50
	DefaultMinFreeBytes      = 64 << 20
	DefaultMaxInflightBytes  = 256 << 20
)

// Default per-IP budgets.
var (
	DefaultRegRate      = throttle.Rate{N: 30, Per: 10 * time.Minute}
	DefaultAuthFailRate = throttle.Rate{N: 20, Per: 10 * time.Minute}
)

// defaultInflightWait is Config.inflightWait's default: long enough to
// ride out a burst of messages, short enough that a client is answered well
// before its own timeouts.
const defaultInflightWait = 10 * time.Second

// maxRejecting bounds the goroutines that complete a handshake only to say
// 421 to a client over the connection limits; beyond it such clients are
// dropped without a reply.
const maxRejecting = 16

func (c *Config) setDefaults(mailboxMax int64) {
	if c.Hostname == "" {
		c.Hostname = DefaultHostname
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if mailboxMax > 0 && mailboxMax < c.MaxMessageBytes {
		c.MaxMessageBytes = mailboxMax
	}
	setDefault(&c.MaxRecipients, DefaultMaxRecipients)
	c.MaxRecipients = min(c.MaxRecipients, mail.MaxRecipients)
	setDefault(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	setDefault(&c.ReadTimeout, DefaultReadTimeout)
	setDefault(&c.WriteTimeout, DefaultWriteTimeout)
	setDefault(&c.DataTimeout, DefaultDataTimeout)
	setDefault(&c.SessionTimeout, DefaultSessionTimeout)
	setDefault(&c.AuthTimeout, DefaultAuthTimeout)
	setDefault(&c.MaxLineLength, DefaultMaxLineLength)
	setDefault(&c.MaxAuthFailures, DefaultMaxAuthFailures)
	setDefault(&c.MaxProtocolErrors, DefaultMaxProtocolErrors)
	setDefault(&c.MaxConns, DefaultMaxConns)
	setDefault(&c.MaxConnsPerIP, DefaultMaxConnsPerIP)
	setDefault(&c.MinFreeBytes, DefaultMinFreeBytes)
	setDefault(&c.MaxInflightBytes, DefaultMaxInflightBytes)
	// One message and its Received header must fit, or it never would.
	c.MaxInflightBytes = max(c.MaxInflightBytes, c.MaxMessageBytes+inflightChunk)
	setDefault(&c.inflightWait, defaultInflightWait)
	c.inflightWait = min(c.inflightWait, c.DataTimeout)
	c.RegRate = rateOrDefault(c.RegRate, DefaultRegRate)
	c.AuthFailRate = rateOrDefault(c.AuthFailRate, DefaultAuthFailRate)
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

func rateOrDefault(r, def throttle.Rate) throttle.Rate {
	switch {
	case r.N < 0:
		return throttle.Rate{} // unlimited
	case r.N == 0 || r.Per <= 0:
		return def
	}
	return r
}

// Server is the SMTP submission server.
type Server struct {
	cfg       Config
	accounts  ports.Accounts
	mailboxes ports.Mailboxes
	log       *zap.Logger

	smtp      *smtp.Server
	smtpOnce  sync.Once
	regLimit  *throttle.Limiter
	authLimit *throttle.Limiter
	inflight  *byteBudget

	// ehloSizeFrom is go-smtp's SIZE capability (it knows the limit plus
	// one), which the shim rewrites to ehloSizeTo, the real limit.
	ehloSizeFrom, ehloSizeTo string

	// ctx is the context of every domain call; it ends when Shutdown gives
	// up waiting.
	ctx    context.Context
	cancel context.CancelFunc

	shuttingDown atomic.Bool
	done         chan struct{} // closed when Shutdown starts
	handoff      chan *shimConn

	mu          sync.Mutex
	listeners   []net.Listener
	handshaking map[net.Conn]struct{}
	conns       map[*shimConn]struct{}
	total       int
	perIP       map[string]int
	rejecting   int
	idle        chan struct{} // closed when shutting down and total reaches 0
	idleClosed  bool
	wg          sync.WaitGroup // handshake and reject goroutines
}

// New wires a Server. cfg.TLS is required; accounts, mailboxes and log must
// not be nil (log is used as given: the caller names it).
func New(cfg Config, accounts ports.Accounts, mailboxes ports.Mailboxes, log *zap.Logger) *Server {
	if cfg.TLS == nil || accounts == nil || mailboxes == nil || log == nil {
		panic("smtpserver: nil dependency")
	}
	cfg.setDefaults(mailboxes.MaxMessageBytes())
	tlsCfg := cfg.TLS.Clone()
	if tlsCfg.MinVersion < tls.VersionTLS12 {
		tlsCfg.MinVersion = tls.VersionTLS12
	}
	cfg.TLS = tlsCfg

	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:         cfg,
		accounts:    accounts,
		mailboxes:   mailboxes,
		log:         log,
		regLimit:    throttle.New(cfg.RegRate, nil),
		authLimit:   throttle.New(cfg.AuthFailRate, nil),
		inflight:    newByteBudget(cfg.MaxInflightBytes),
		ctx:         ctx,
		cancel:      cancel,
		done:        make(chan struct{}),
		handoff:     make(chan *shimConn),
		handshaking: map[net.Conn]struct{}{},
		conns:       map[*shimConn]struct{}{},
		perIP:       map[string]int{},
		idle:        make(chan struct{}),
	}

	gs := smtp.NewServer(&backend{srv: s})
	gs.Domain = cfg.Hostname
	// go-smtp's DATA reader fails as soon as it has read MaxMessageBytes,
	// before it sees the end marker, so a message of exactly the limit
	// (which SIZE= at MAIL accepts) would be refused. go-smtp gets one byte
	// of headroom; the session applies the exact limit (552 5.3.4 above
	// it, also for SIZE=), and the shim advertises the exact limit in EHLO.
	gs.MaxMessageBytes = cfg.MaxMessageBytes + 1
	gs.MaxRecipients = cfg.MaxRecipients
	// The shim bounds command lines itself and never hands go-smtp a
	// longer one. go-smtp's own limit would also apply inside DATA, where
	// RFC 5322 lines may be long, and end the session there.
	gs.MaxLineLength = 0
	// The shim owns every read deadline (per line, per DATA, per session);
	// go-smtp keeps the write deadline per reply.
	gs.ReadTimeout = 0
	gs.WriteTimeout = cfg.WriteTimeout
	// go-smtp recognises TLS by asserting *tls.Conn, and it sees the shim
	// instead, so it believes the connection is plain and would refuse AUTH.
	// That is safe to override: Serve accepts nothing but implicit TLS, and
	// the handshake has finished before go-smtp sees a connection.
	gs.AllowInsecureAuth = true
	gs.ErrorLog = zapErrorLog{log}
	s.smtp = gs
	s.ehloSizeFrom = fmt.Sprintf("SIZE %d\r\n", gs.MaxMessageBytes)
	s.ehloSizeTo = fmt.Sprintf("SIZE %d\r\n", cfg.MaxMessageBytes)
	return s
}

// Serve accepts connections on ln, a plain TCP listener: the server runs
// the TLS handshake itself. It returns nil after Shutdown, or the first
// non-temporary Accept error.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shuttingDown.Load() {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()

	s.smtpOnce.Do(func() {
		go s.smtp.Serve(handoffListener{s: s, addr: ln.Addr()})
	})

	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.shuttingDown.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept", zap.Error(err), zap.Duration("retry_in", delay))
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.admit(conn)
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// admit applies the connection limits and starts the handshake.
func (s *Server) admit(conn net.Conn) {
	ip := hostOf(conn.RemoteAddr())
	key := throttle.ClientKey(ip) // what per-IP caps and budgets count
	s.mu.Lock()
	if s.shuttingDown.Load() {
		s.mu.Unlock()
		conn.Close()
		return
	}
	var refuse *reply
	switch {
	case s.total >= s.cfg.MaxConns:
		refuse = &replyBusy
	case s.perIP[key] >= s.cfg.MaxConnsPerIP:
		refuse = &replyBusyIP
	}
	if refuse != nil {
		if s.rejecting >= maxRejecting {
			s.mu.Unlock()
			conn.Close()
			return
		}
		s.rejecting++
		s.handshaking[conn] = struct{}{} // Shutdown closes it
		s.wg.Add(1)
		s.mu.Unlock()
		s.log.Info("connection refused", zap.String("remote", ip), zap.String("reply", refuse.String()))
		go s.reject(conn, *refuse)
		return
	}
	s.total++
	s.perIP[key]++
	s.handshaking[conn] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go s.handshake(conn, ip, key)
}

// reject says 421 to a client over the limits. It is implicit TLS, so the
// reply needs a handshake first; the reject goroutines are bounded.
func (s *Server) reject(conn net.Conn, r reply) {
	defer func() {
		s.mu.Lock()
		s.rejecting--
		delete(s.handshaking, conn)
		s.mu.Unlock()
		s.wg.Done()
	}()
	conn.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	tc := tls.Server(conn, s.cfg.TLS)
	if err := tc.Handshake(); err == nil {
		tc.Write([]byte(r.String() + "\r\n"))
	}
	tc.Close()
}

func (s *Server) handshake(conn net.Conn, ip, key string) {
	defer s.wg.Done()
	start := time.Now()
	// The deadline goes on before the handshake: a client that connects
	// and sends nothing must not hold the connection (go-smtp issue #161).
	conn.SetDeadline(start.Add(s.cfg.HandshakeTimeout))
	tc := tls.Server(conn, s.cfg.TLS)
	err := tc.Handshake()
	s.mu.Lock()
	delete(s.handshaking, conn)
	s.mu.Unlock()
	if err != nil {
		s.log.Debug("tls handshake", zap.String("remote", ip), zap.Error(err))
		conn.Close()
		s.release(nil, key)
		return
	}
	tc.SetDeadline(time.Time{})
	sh := newShim(s, tc, ip, key, start)
	s.mu.Lock()
	if s.shuttingDown.Load() {
		s.mu.Unlock()
		sh.Close()
		return
	}
	s.conns[sh] = struct{}{}
	s.mu.Unlock()
	select {
	case s.handoff <- sh:
	case <-s.done:
		sh.Close()
	}
}

// release forgets a closed connection from client key.
func (s *Server) release(sh *shimConn, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sh != nil {
		delete(s.conns, sh)
	}
	s.total--
	if s.perIP[key]--; s.perIP[key] <= 0 {
		delete(s.perIP, key)
	}
	s.checkIdleLocked()
}

func (s *Server) checkIdleLocked() {
	if s.shuttingDown.Load() && s.total == 0 && !s.idleClosed {
		s.idleClosed = true
		close(s.idle)
	}
}

// Shutdown stops accepting, tells idle sessions 421 4.3.2 and closes them,
// and lets sessions in a mail transaction finish it (each is closed with
// 421 at its next command). When ctx ends first, it closes every remaining
// connection and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.shuttingDown.CompareAndSwap(false, true) {
		close(s.done)
	}
	for _, ln := range s.listeners {
		ln.Close()
	}
	for c := range s.handshaking {
		c.Close()
	}
	shims := make([]*shimConn, 0, len(s.conns))
	for c := range s.conns {
		shims = append(shims, c)
	}
	s.checkIdleLocked()
	s.mu.Unlock()

	for _, c := range shims {
		c.wake()
	}
	var err error
	select {
	case <-s.idle:
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.cancel()
	s.smtp.Close()
	// Close after unlocking: Close releases the slot, which takes s.mu.
	s.mu.Lock()
	shims = shims[:0]
	for c := range s.conns {
		shims = append(shims, c)
	}
	s.mu.Unlock()
	for _, c := range shims {
		c.Close()
	}
	s.wg.Wait()
	return err
}

// handoffListener yields handshaken, shimmed connections to go-smtp's
// Serve loop.
type handoffListener struct {
	s    *Server
	addr net.Addr
}

func (l handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.s.handoff:
		return c, nil
	case <-l.s.done:
		return nil, net.ErrClosed
	}
}

func (l handoffListener) Close() error   { return nil }
func (l handoffListener) Addr() net.Addr { return l.addr }

func hostOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// zapErrorLog routes go-smtp's internal error log (panics, accept errors)
// to zap.
type zapErrorLog struct{ log *zap.Logger }

func (l zapErrorLog) Printf(format string, v ...any) { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l zapErrorLog) Println(v ...any)               { l.log.Warn(fmt.Sprint(v...)) }
