// Package imapserver owns Mailroom's IMAP server (RFC 9051 IMAP4rev2, with
// the IMAP4rev1 behaviour current clients still use), on go-imap v2's
// imapserver: the session (LOGIN and AUTHENTICATE PLAIN through the
// account service's login guard), folder commands over the mail service's
// folders, the selected-folder view (sequence numbers, FETCH, STORE,
// SEARCH, COPY, MOVE, EXPUNGE) and the hub that turns the store's change
// feed into EXISTS, FETCH and EXPUNGE updates for IDLE and polling
// sessions. Accepting, connection caps, the TLS handshake and shutdown are
// the shared listener core's (adapters/listener).
package imapserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"go.uber.org/zap"

	"mailroom/adapters/listener"
)

// Config configures a Server. Zero fields take the default in their
// comment.
//
// Limits go-imap fixes and this server keeps: a command line (literals
// other than APPEND's included) is at most 50 KiB and a literal outside
// APPEND at most 4 KiB; a command must arrive within 30 s of its first
// byte; an authenticated client may stay silent (IDLE or not) for 35
// minutes, above the 29 that RFC 9051 §5.4 asks for.
type Config struct {
	// TLS is the listener's configuration (implicit TLS, RFC 8314).
	// Required; hardened by the listener core (listener.Config.TLS).
	TLS *tls.Config
	// HandshakeTimeout bounds the TLS handshake. Default 10s.
	HandshakeTimeout time.Duration
	// LoginTimeout is how long after connecting a client has to log in;
	// then it reads BYE and is closed. Default 1m.
	LoginTimeout time.Duration
	// MaxLoginFailures is the number of failed logins a connection may
	// make: the last is answered NO, then BYE, and the connection closed.
	// Default 3.
	MaxLoginFailures int
	// MaxMessageBytes caps APPEND (advertised as APPENDLIMIT). Default and
	// ceiling: the mail service's MaxMessageBytes.
	MaxMessageBytes int64
	// MaxConns and MaxConnsPerIP are the listener core's caps; a client
	// over one reads "* BYE [UNAVAILABLE]". Defaults 1000 and 50.
	MaxConns      int
	MaxConnsPerIP int
	// MaxInflightBytes bounds the APPEND bytes the whole server holds in
	// memory at once; an APPEND waits up to 10 s for room, then is refused
	// NO [UNAVAILABLE]. Default 256 MiB, raised to MaxMessageBytes.
	MaxInflightBytes int64
	// Index is the full-text index behind SEARCH's TEXT, BODY, SUBJECT,
	// FROM and TO keys (search_index.go): the store's. Default nil: every
	// key is a scan of the folder.
	Index Index
}

// Defaults.
const (
	DefaultLoginTimeout     = time.Minute
	DefaultMaxLoginFailures = 3
	DefaultMaxInflightBytes = 256 << 20
	// appendWait is how long an APPEND waits for MaxInflightBytes.
	appendWait = 10 * time.Second
)

// ErrServerClosed is returned by Serve after Shutdown: the listener core's
// sentinel, shared by every Mailroom server.
var ErrServerClosed = listener.ErrServerClosed

// capabilities are what the server offers beyond what go-imap adds by
// itself (IDLE, ENABLE, UNSELECT, SASL-IR, LITERAL-, AUTH=PLAIN,
// APPENDLIMIT). LITERAL+ is left out on purpose: with it a client sends an
// oversized APPEND literal without waiting, and go-imap would read the
// refused bytes as commands.
var capabilities = imap.CapSet{
	imap.CapIMAP4rev1:    {},
	imap.CapIMAP4rev2:    {},
	imap.CapNamespace:    {},
	imap.CapUIDPlus:      {},
	imap.CapESearch:      {},
	imap.CapListExtended: {},
	imap.CapListStatus:   {},
	imap.CapMove:         {},
	imap.CapStatusSize:   {},
	imap.CapSpecialUse:   {},
	imap.CapChildren:     {},
}

// Server is the IMAP server.
type Server struct {
	cfg       Config
	accounts  Accounts
	mailboxes Mailboxes
	log       *zap.Logger

	ln     *listener.Server
	imap   *imapserver.Server
	once   sync.Once
	hub    *hub
	budget *listener.Budget

	handoff *listener.Handoff // go-imap serves only a listener: this one
}

// New wires a Server. cfg.TLS is required; accounts, mailboxes, feed and
// log must not be nil (log is used as given: the caller names it "imap").
func New(cfg Config, accounts Accounts, mailboxes Mailboxes, feed ChangeFeed, log *zap.Logger) *Server {
	if cfg.TLS == nil || accounts == nil || mailboxes == nil || feed == nil || log == nil {
		panic("imapserver: nil dependency")
	}
	if cfg.LoginTimeout <= 0 {
		cfg.LoginTimeout = DefaultLoginTimeout
	}
	if cfg.MaxLoginFailures <= 0 {
		cfg.MaxLoginFailures = DefaultMaxLoginFailures
	}
	if m := mailboxes.MaxMessageBytes(); cfg.MaxMessageBytes <= 0 || (m > 0 && m < cfg.MaxMessageBytes) {
		cfg.MaxMessageBytes = m
	}
	// APPENDLIMIT is a number32.
	cfg.MaxMessageBytes = min(cfg.MaxMessageBytes, 1<<32-1)
	if cfg.MaxInflightBytes <= 0 {
		cfg.MaxInflightBytes = DefaultMaxInflightBytes
	}
	cfg.MaxInflightBytes = max(cfg.MaxInflightBytes, cfg.MaxMessageBytes)
	s := &Server{
		cfg: cfg, accounts: accounts, mailboxes: mailboxes, log: log,
		budget:  listener.NewBudget(cfg.MaxInflightBytes),
		handoff: listener.NewHandoff(),
	}
	s.hub = newHub(feed, mailboxes, log)
	s.ln = listener.New(listener.Config{
		TLS:              cfg.TLS,
		HandshakeTimeout: cfg.HandshakeTimeout,
		MaxConns:         cfg.MaxConns,
		MaxConnsPerIP:    cfg.MaxConnsPerIP,
		Busy:             busyReply,
		PlainText:        []byte("* BYE [PRIVACYREQUIRED] This port speaks implicit TLS (imaps)\r\n"),
	}, s.serveConn, log)
	s.imap = imapserver.New(&imapserver.Options{
		NewSession: s.newSession,
		Caps:       capabilities,
		Logger:     imapLog{log},
		// go-imap recognises TLS by asserting *tls.Conn and sees the
		// server's wrapper instead; the core speaks nothing but implicit
		// TLS, and the handshake is done before go-imap sees a byte.
		InsecureAuth: true,
	})
	return s
}

// busyReply is what a client over a connection cap reads (RFC 5530
// UNAVAILABLE) before the server closes.
func busyReply(limit listener.Limit) []byte {
	text := "Too many connections, try again later"
	if limit == listener.LimitConnsPerIP {
		text = "Too many connections from your address, try again later"
	}
	return []byte("* BYE [UNAVAILABLE] " + text + "\r\n")
}

// Serve accepts plain TCP connections on ln and speaks implicit TLS on
// them. It returns ErrServerClosed after Shutdown, or the listener's
// error. It may be called for several listeners.
func (s *Server) Serve(ln net.Listener) error {
	if !s.ln.ShuttingDown() {
		s.once.Do(func() {
			s.handoff.Start(ln.Addr(), s.imap.Serve)
		})
	}
	return s.ln.Serve(ln)
}

// serveConn is the listener core's handler: it hands the connection to
// go-imap and returns when go-imap has closed it.
func (s *Server) serveConn(lc *listener.Conn) {
	c := newConn(lc, s.cfg.LoginTimeout)
	lc.OnShutdown(c.shutdown)
	if !s.handoff.Give(lc, c) {
		return
	}
	<-c.done
}

// Shutdown stops accepting, says BYE to sessions waiting for a command
// (IDLE included) and lets a command in hand finish first. When ctx ends
// first, the remaining connections are cut and a *listener.CutError is
// returned.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.ln.Shutdown(ctx)
	// Every handler has returned, so go-imap holds no connection; closing
	// the Handoff ends its Serve loop. go-imap's own Close is not called:
	// it waits on a WaitGroup that a Serve still starting may Add to at the
	// same moment (a race the detector reports), and has nothing to close.
	s.handoff.Close()
	s.hub.stop()
	return err
}

// imapLog routes go-imap's error log (read errors, panics it recovered)
// to zap: a client's broken connection is nothing an operator acts on, a
// panic is.
type imapLog struct{ log *zap.Logger }

func (l imapLog) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if len(msg) > 5 && msg[:5] == "panic" {
		l.log.Error("go-imap", zap.String("detail", msg))
		return
	}
	l.log.Debug("go-imap", zap.String("detail", msg))
}
