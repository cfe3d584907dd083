// Package smtpserver owns Mailroom's SMTP submission server: the go-smtp
// backend and session (AUTH PLAIN/LOGIN through the account service's
// login guard, MAIL/RCPT/DATA/BDAT filling a mail.Envelope), and the
// line-level verb shim in front of go-smtp that adds Mailroom's own verbs
// (PING, REG, GETUSER, GET USER, HELP) and the XMAILROOM EHLO line, bounds
// lines and deadlines, and reads message content in blocks. Accepting,
// connection caps, the TLS handshake, recover and shutdown are the shared
// listener core's (adapters/listener).
package smtpserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-smtp"
	"go.uber.org/zap"

	"mailroom/adapters/listener"
	"mailroom/domain/mail"
)

// Config configures a Server. Zero fields take the default given in their
// comment.
type Config struct {
	// Hostname is the name in the greeting, the EHLO reply and Received
	// headers. Default "localhost".
	Hostname string
	// TLS is the listener's TLS configuration (implicit TLS: the handshake
	// comes first). Required. It is cloned, a MinVersion below TLS 1.2 is
	// raised, and TLS 1.2 offers only AEAD suites (listener.Config.TLS).
	TLS *tls.Config
	// MaxMessageBytes bounds a message (DATA or the sum of BDAT chunks) and
	// is advertised as SIZE: a message of exactly this size is accepted,
	// one byte more is 552 5.3.4. Default 25 MiB, lowered to the Mailboxes'
	// MaxMessageBytes when that is smaller.
	MaxMessageBytes int64
	// HandshakeTimeout bounds the TLS handshake; the deadline is set on the
	// TCP connection before the handshake starts. Default 10s.
	HandshakeTimeout time.Duration
	// ReadTimeout bounds the idle time before a command, and the time from
	// a command's first byte to its CRLF: a client that trickles a line a
	// byte at a time does not reset it. It also bounds each wait for
	// message content. Past it the client gets 421 4.4.2 and is closed.
	// Default 5m (RFC 5321 §4.5.3.2).
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
	// hook, when set, is called with each command line the shim reads
	// (CRLF trimmed) and with eventContent when a message begins: tests
	// inject faults (a panic) through it. Default nil.
	hook func(event string)
	// OmitReceived stops the server prepending a Received: header to each
	// stored message. Default false: the header is added, except to a
	// message it would push over MaxMessageBytes (which is stored as sent),
	// so that what is stored never exceeds the limit the client was given.
	OmitReceived bool
	// Observer, when set, is told of each mail transaction's outcome (for
	// metrics). Default nil: nobody is told.
	Observer Observer
}

// Defaults.
const (
	DefaultHostname        = "localhost"
	DefaultMaxMessageBytes = 25 << 20
	// DefaultMaxRecipients is the mail service's cap (mail.MaxRecipients):
	// the server takes its recipient cap from Mailboxes.MaxRecipients.
	DefaultMaxRecipients     = mail.MaxRecipients
	DefaultHandshakeTimeout  = listener.DefaultHandshakeTimeout
	DefaultReadTimeout       = 5 * time.Minute
	DefaultWriteTimeout      = time.Minute
	DefaultDataTimeout       = 10 * time.Minute
	DefaultSessionTimeout    = 20 * time.Minute
	DefaultAuthTimeout       = 2 * time.Minute
	DefaultMaxLineLength     = 2000
	DefaultMaxAuthFailures   = 3
	DefaultMaxProtocolErrors = 10
	DefaultMaxConns          = listener.DefaultMaxConns
	DefaultMaxConnsPerIP     = listener.DefaultMaxConnsPerIP
	DefaultMinFreeBytes      = 64 << 20
	DefaultMaxInflightBytes  = 256 << 20
)

// defaultInflightWait is Config.inflightWait's default: long enough to
// ride out a burst of messages, short enough that a client is answered well
// before its own timeouts.
const defaultInflightWait = 10 * time.Second

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
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// ErrServerClosed is returned by Serve after Shutdown: the listener core's
// sentinel, the same value every Mailroom server returns.
var ErrServerClosed = listener.ErrServerClosed

// Server is the SMTP submission server.
type Server struct {
	cfg       Config
	accounts  Accounts
	mailboxes Mailboxes
	log       *zap.Logger

	// ln is the connection plumbing: accept, caps, handshake, recover,
	// shutdown. Its handler hands each connection, shimmed, to smtp.
	ln       *listener.Server
	smtp     *smtp.Server
	handoff  *listener.Handoff // go-smtp serves only a listener: this one
	inflight *byteBudget

	// ehloSizeFrom is go-smtp's SIZE capability (it knows the limit plus
	// one), which the shim rewrites to ehloSizeTo, the real limit.
	ehloSizeFrom, ehloSizeTo string
	// help and xmailroom are the HELP reply and the EHLO line, from the
	// verb table as the registration policy leaves it.
	help      []byte
	xmailroom string
}

// New wires a Server. cfg.TLS is required; accounts, mailboxes and log must
// not be nil (log is used as given: the caller names it).
func New(cfg Config, accounts Accounts, mailboxes Mailboxes, log *zap.Logger) *Server {
	if cfg.TLS == nil || accounts == nil || mailboxes == nil || log == nil {
		panic("smtpserver: nil dependency")
	}
	cfg.setDefaults(mailboxes.MaxMessageBytes())
	s := &Server{
		cfg:       cfg,
		accounts:  accounts,
		mailboxes: mailboxes,
		log:       log,
		inflight:  newByteBudget(cfg.MaxInflightBytes),
		handoff:   listener.NewHandoff(),
	}
	shown := shownVerbs(accounts.RegistrationOpen())
	s.help, s.xmailroom = helpText(shown), ehloKeyword(shown)
	s.ln = listener.New(listener.Config{
		TLS:              cfg.TLS,
		HandshakeTimeout: cfg.HandshakeTimeout,
		MaxConns:         cfg.MaxConns,
		MaxConnsPerIP:    cfg.MaxConnsPerIP,
		Busy:             busyReply,
		PlainText:        []byte(replyImplicitTLS.String() + "\r\n"),
	}, s.serveConn, log)

	gs := smtp.NewServer(&backend{srv: s})
	gs.Domain = cfg.Hostname
	// go-smtp's DATA reader fails as soon as it has read MaxMessageBytes,
	// before it sees the end marker, so a message of exactly the limit
	// (which SIZE= at MAIL accepts) would be refused. go-smtp gets one byte
	// of headroom; the session applies the exact limit (552 5.3.4 above
	// it, also for SIZE=), and the shim advertises the exact limit in EHLO.
	gs.MaxMessageBytes = cfg.MaxMessageBytes + 1
	// The mail service's cap, so that go-smtp answers the RCPT past it
	// 452 4.5.3 before the envelope would refuse it.
	gs.MaxRecipients = mailboxes.MaxRecipients()
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
	// That is safe to override: the listener core speaks nothing but
	// implicit TLS, and the handshake has finished before go-smtp sees a
	// connection.
	gs.AllowInsecureAuth = true
	gs.ErrorLog = zapErrorLog{log}
	s.smtp = gs
	s.ehloSizeFrom = fmt.Sprintf("SIZE %d\r\n", gs.MaxMessageBytes)
	s.ehloSizeTo = fmt.Sprintf("SIZE %d\r\n", cfg.MaxMessageBytes)
	return s
}

// busyReply is what a client over a connection cap reads before the
// server closes.
func busyReply(limit listener.Limit) []byte {
	r := replyBusy
	if limit == listener.LimitConnsPerIP {
		r = replyBusyIP
	}
	return []byte(r.String() + "\r\n")
}

// Serve accepts plain TCP connections on ln and speaks implicit TLS on
// them. It returns ErrServerClosed after Shutdown, or the listener's
// error. It may be called for several listeners.
func (s *Server) Serve(ln net.Listener) error {
	if !s.ln.ShuttingDown() {
		s.handoff.Start(ln.Addr(), s.smtp.Serve)
	}
	return s.ln.Serve(ln)
}

// serveConn is the listener core's handler: it shims the connection,
// hands it to go-smtp, and returns when the shim is closed (go-smtp's
// session has ended, or the core cut the connection).
func (s *Server) serveConn(lc *listener.Conn) {
	sh := newShim(s, lc.TLS, peerOf(lc))
	lc.OnShutdown(sh.wake)
	lc.OnPanic(sh.lastWords)
	if !s.handoff.Give(lc, sh) {
		sh.Close()
		return
	}
	<-sh.done
}

// Shutdown stops accepting, tells idle sessions 421 4.3.2 and closes them,
// and lets sessions in a mail transaction finish it (each is closed with
// 421 at its next command). When ctx ends first, the remaining
// connections are cut and a *listener.CutError that counts them and wraps
// ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.ln.Shutdown(ctx)
	// Every handler has returned, so no shim waits for go-smtp any more.
	s.handoff.Close()
	s.smtp.Close()
	return err
}

// zapErrorLog routes go-smtp's internal error log (panics, accept errors)
// to zap.
type zapErrorLog struct{ log *zap.Logger }

func (l zapErrorLog) Printf(format string, v ...any) { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l zapErrorLog) Println(v ...any)               { l.log.Warn(fmt.Sprint(v...)) }
