package imapserver

import (
	"context"
	"errors"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-sasl"
	"go.uber.org/zap"

	"mailroom/domain/account"
)

// session is one IMAP connection's state, driven by go-imap: one command at
// a time, except Idle, whose goroutine runs while go-imap waits for DONE.
type session struct {
	srv *Server
	c   *conn
	ctx context.Context // the connection's: every domain call takes it
	log *zap.Logger

	failures int
	acc      account.Account // zero until login
	sel      *view           // the selected folder, nil when none

	idle sync.Mutex // held by Idle's goroutine; Close waits for it
}

var (
	_ imapserver.SessionIMAP4rev2   = (*session)(nil)
	_ imapserver.SessionSASL        = (*session)(nil)
	_ imapserver.SessionAppendLimit = (*session)(nil)
)

// newSession is go-imap's NewSession: the greeting comes next.
func (s *Server) newSession(ic *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	c, ok := ic.NetConn().(*conn)
	if !ok {
		return nil, nil, errors.New("imapserver: connection not from the listener core")
	}
	return &session{
		srv: s, c: c, ctx: c.lc.Context(),
		log: s.log.With(zap.String("remote", c.lc.IP)),
	}, nil, nil
}

// Close ends the session: its selected view leaves the hub.
func (s *session) Close() error {
	// go-imap has closed IDLE's stop channel by now, so an Idle still
	// running returns promptly.
	s.idle.Lock()
	defer s.idle.Unlock()
	s.unselect()
	return nil
}

// Login is LOGIN (and AUTHENTICATE PLAIN without an authorization
// identity).
func (s *session) Login(username, password string) error {
	return s.login("", username, password)
}

// AuthenticateMechanisms offers PLAIN only: the connection is TLS, and the
// passwords are stored hashed, which rules out the challenge-response
// mechanisms.
func (s *session) AuthenticateMechanisms() []string { return []string{sasl.Plain} }

// Authenticate gives AUTHENTICATE its SASL server. PLAIN's authorization
// identity goes to the login guard, which refuses any but the user's own.
func (s *session) Authenticate(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
			Text: "Only AUTHENTICATE PLAIN is offered"}
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		return s.login(identity, username, password)
	}), nil
}

// login checks one attempt through the login guard. The per-client budget
// is the account service's (shared with SMTP and inbox); the per-session
// cap is this server's: its last failure is answered NO and then BYE.
func (s *session) login(authzid, username, password string) error {
	max := s.srv.cfg.MaxLoginFailures
	if s.failures >= max {
		return no(imap.ResponseCodeAuthenticationFailed, "Too many failed logins")
	}
	acc, err := s.srv.accounts.LoginAs(s.ctx, s.c.lc.Key, authzid, username, password)
	if err != nil {
		if errors.Is(err, account.ErrBadCredentials) || errors.Is(err, account.ErrAuthzRefused) ||
			errors.Is(err, account.ErrThrottled) {
			s.failures++
			// The name as typed may be anything; it is bounded for the log.
			s.log.Info("login failed", zap.String("user", clip(username, 64)), zap.Error(err),
				zap.Int("failures", s.failures))
			if s.failures >= max {
				s.c.sayBye("Too many failed logins")
			}
		}
		return reply(s.log, "login", err)
	}
	s.acc = acc
	s.c.loggedIn()
	s.log = s.log.With(zap.String("user", string(acc.Username)))
	s.log.Info("login")
	return nil
}

// clip bounds a string taken from the client for a log line.
func clip(v string, n int) string {
	if len(v) > n {
		return v[:n] + "…"
	}
	return v
}

// AppendLimit is APPENDLIMIT: the message size cap.
func (s *session) AppendLimit() uint32 { return uint32(s.srv.cfg.MaxMessageBytes) }

// Namespace is NAMESPACE (RFC 2342): one personal namespace with "/" as
// the delimiter, nothing shared.
func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{
		Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: delim}},
	}, nil
}

// Subscribe and Unsubscribe succeed without storing anything: every folder
// of the user counts as subscribed (LIST answers \Subscribed for all), so
// that a client that shows only subscribed folders shows them all.
func (s *session) Subscribe(mailbox string) error {
	_, err := s.folderInfo(mailbox)
	return err
}

func (s *session) Unsubscribe(mailbox string) error { return nil }
