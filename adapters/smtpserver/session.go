package smtpserver

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"go.uber.org/zap"

	"mailroom/adapters/smtpreply"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// backend gives go-smtp one session per connection.
type backend struct{ srv *Server }

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	sh, ok := c.Conn().(*shimConn)
	if !ok {
		// Only Serve hands go-smtp connections, always shimmed.
		return nil, errors.New("smtpserver: connection without shim")
	}
	return &session{srv: b.srv, conn: c, sh: sh, st: sh.state}, nil
}

// session is one connection's go-smtp session. Its transaction fields are
// guarded by mu: with BDAT, go-smtp runs Data on a goroutine of its own and
// may call Reset (RSET, a dropped connection) meanwhile.
type session struct {
	srv  *Server
	conn *smtp.Conn
	sh   *shimConn
	st   *connState

	mu      sync.Mutex
	from    string
	env     *mail.Envelope // from MAIL to the end of the transaction
	started time.Time
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string { return []string{mechPlain, mechLogin} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case mechPlain:
		return &plainServer{auth: s.authenticate}, nil
	case mechLogin:
		return &loginServer{auth: s.authenticate}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// authenticate checks one AUTH attempt through the account service's
// login guard, which keeps the client's one failed-login budget across
// every server. An unknown user and a wrong password get the same reply
// and the same cost.
func (s *session) authenticate(identity, username, password string) (err error) {
	defer s.sh.guard(&err)
	log := s.srv.log.With(zap.String("remote", s.sh.ip))
	acc, err := s.srv.accounts.LoginAs(s.sh.ctx(), s.sh.key, identity, username, password)
	switch {
	case err == nil:
	case errors.Is(err, account.ErrThrottled):
		log.Info("auth throttled")
		return replyThrottled.err()
	case errors.Is(err, account.ErrBadCredentials), errors.Is(err, account.ErrAuthzRefused):
		r, _ := replyFor(err)
		return s.authFailed(log, r)
	default:
		// Our own failure (or the connection's end) is not the client's.
		log.Error("auth", zap.Error(err))
		return replyTempAuthFailure.err()
	}
	s.st.acct.Store(&acc)
	log.Info("auth", zap.String("user", string(acc.Username)), zap.Int64("id", int64(acc.ID)))
	return nil
}

// authFailed counts the failure against the session (the login guard has
// spent the client's token); the last allowed failure is answered 421.
func (s *session) authFailed(log *zap.Logger, r reply) error {
	s.st.authFailures++
	log.Info("auth failed", zap.Int("failures", s.st.authFailures))
	if s.st.authFailures >= s.srv.cfg.MaxAuthFailures {
		return replyTooManyAuth.err()
	}
	return r.err()
}

func (s *session) Mail(from string, opts *smtp.MailOptions) (err error) {
	defer s.sh.guard(&err)
	acc := s.st.account()
	if acc == nil {
		return replyAuthRequired.err()
	}
	// Submission only: the envelope sender is the authenticated address
	// (RFC 6409 §6.1 lets a submission server enforce this).
	if !strings.EqualFold(from, s.srv.accounts.AddressOf(*acc).String()) {
		return replyBadSender.err()
	}
	var size int64
	if opts != nil {
		size = opts.Size
	}
	if size > s.srv.cfg.MaxMessageBytes {
		return replyMessageTooBig.err()
	}
	if !s.roomFor(size) {
		return replyLowStorage.err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.from = strings.ToLower(from)
	s.env = s.srv.mailboxes.NewEnvelope(*acc)
	s.started = time.Now()
	s.st.inTx.Store(true)
	return nil
}

// roomFor reports whether the disk has room for a message of the declared
// size (0 when the client gave no SIZE) beside MinFreeBytes. A failing probe
// says yes: it must not stop mail while the store itself may work.
func (s *session) roomFor(size int64) bool {
	probe := s.srv.cfg.FreeSpace
	if probe == nil {
		return true
	}
	free, err := probe()
	if err != nil {
		s.srv.log.Warn("free space probe", zap.String("remote", s.sh.ip), zap.Error(err))
		return true
	}
	need := uint64(s.srv.cfg.MinFreeBytes) + uint64(max(size, 0))
	if free < need {
		s.srv.log.Warn("low disk: MAIL refused", zap.String("remote", s.sh.ip),
			zap.Uint64("free", free), zap.Uint64("need", need))
		return false
	}
	return true
}

// Rcpt adds a recipient to the envelope, which resolves it once (DATA
// looks nothing up again) and holds the no-relay, duplicate and cap rules.
func (s *session) Rcpt(to string, opts *smtp.RcptOptions) (err error) {
	defer s.sh.guard(&err)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.env == nil {
		return replyAuthRequired.err() // go-smtp allows RCPT only after MAIL
	}
	if _, err := s.env.Add(s.sh.ctx(), to); err != nil {
		r, known := replyFor(err)
		if !known {
			s.srv.log.Error("rcpt", zap.String("remote", s.sh.ip), zap.Error(err))
		}
		return r.err()
	}
	return nil
}

// Data takes one message: DATA's content read from the shim in blocks
// (content.go), or BDAT's chunks from go-smtp's pipe.
func (s *session) Data(r io.Reader) (err error) {
	defer s.sh.guard(&err)
	s.sh.event(eventContent)
	if !s.sh.claimContent() {
		return s.data(r)
	}
	err = s.data(contentReader{s.sh})
	s.sh.finishContent()
	return err
}

func (s *session) data(r io.Reader) error {
	s.mu.Lock()
	from, env, started := s.from, s.env, s.started
	s.mu.Unlock()
	acc := s.st.account()
	summary := func(size int, res reply, err error) {
		if ce := s.srv.log.Check(zap.InfoLevel, "transaction"); ce != nil {
			fields := s.txFields(from, env, zap.Int("size", size), zap.String("result", res.String()), zap.Duration("duration", time.Since(started)))
			if err != nil {
				fields = append(fields, zap.Error(err))
			}
			ce.Write(fields...)
		}
		if o := s.srv.cfg.Observer; o != nil {
			o.Transaction(res.Code)
		}
	}
	if acc == nil || env == nil {
		// go-smtp allows DATA only after MAIL, which needs AUTH.
		summary(0, replyAuthRequired, nil)
		return replyAuthRequired.err()
	}

	// The Received header goes into the buffer first and the message
	// after it, so that adding it copies nothing; it carries the time DATA
	// began. The buffer comes out of the server's in-flight budget.
	var hdr []byte
	if !s.srv.cfg.OmitReceived {
		hdr = []byte(s.received(acc, time.Now()))
	}
	limit := s.srv.cfg.MaxMessageBytes
	raw, n, held, err := s.srv.inflight.readMessage(s.sh.ctx(), r, hdr, limit, s.srv.cfg.inflightWait)
	defer func() { s.srv.inflight.release(held) }()
	if err == nil && n <= limit {
		raw, held, err = s.normalize(raw, len(hdr), held)
	}
	switch {
	case err == nil && n > limit:
		err = smtp.ErrDataTooLarge
		fallthrough
	case err != nil:
		res, known := replyFor(err)
		switch {
		case isTimeout(err):
			res, known = replyDataTimeout, true
		case errors.Is(err, errInflightBudget):
			res, known = replyLowStorage, true
			s.srv.log.Warn("in-flight message budget spent: DATA refused",
				s.txFields(from, env, zap.Int64("budget", s.srv.cfg.MaxInflightBytes), zap.Int64("read", n))...)
		}
		if known {
			err = nil
		}
		summary(int(n), res, err)
		return res.err()
	}
	// The header must not push a message that fits over the limit.
	if int64(len(raw)) > limit {
		raw = raw[len(hdr):]
	}
	if _, err := s.srv.mailboxes.DeliverEnvelope(s.sh.ctx(), env, raw); err != nil {
		res, known := replyFor(err)
		if known {
			err = nil
		}
		summary(len(raw), res, err)
		return res.err()
	}
	// The reply the shim sends for go-smtp's "OK: queued" (rewrite.go).
	summary(len(raw), reply(smtpreply.DataOK), nil)
	return nil
}

// txFields are a transaction's log fields, then more. They are made only
// for a line that is written: a logger With them would encode the
// recipients on every message, even with info lines off.
func (s *session) txFields(from string, env *mail.Envelope, more ...zap.Field) []zap.Field {
	var rcpts []string
	if env != nil {
		rcpts = env.Addresses()
	}
	return append([]zap.Field{zap.String("remote", s.sh.ip), zap.String("from", from), zap.Strings("rcpts", rcpts)}, more...)
}

// normalize turns each bare LF of the message (raw[from:], after the
// Received header) into CRLF, so that every stored message has one line
// ending, as Postfix's smtpd_forbid_bare_newline=normalize does. It runs
// only after the end of the content was found: the end marker stays
// exactly CRLF "." CRLF, so "\n.\n" never ends DATA (SMTP smuggling). A
// bare CR is left as it is, as Postfix leaves it: making it a line break
// could turn text inside a header line into a header of its own. Growing
// the buffer takes the growth from the in-flight budget first. A message
// that its CRs would take over MaxMessageBytes is refused
// (smtp.ErrDataTooLarge): no stored message passes the limit.
func (s *session) normalize(raw []byte, from int, held int64) ([]byte, int64, error) {
	k := countBareLF(raw[from:])
	if k == 0 {
		return raw, held, nil
	}
	if int64(len(raw)-from+k) > s.srv.cfg.MaxMessageBytes {
		return raw, held, smtp.ErrDataTooLarge // refused before growing anything
	}
	if need := int64(len(raw) + k); need > int64(cap(raw)) {
		if !s.srv.inflight.acquire(s.sh.ctx(), need-held, s.srv.cfg.inflightWait) {
			return raw, held, errInflightBudget
		}
		held = need
	}
	return expandBareLF(raw, from, k), held, nil
}

// received is the RFC 5321 §4.4 trace header; "ESMTPSA" is RFC 3848's
// name for ESMTP with TLS and AUTH. Recipients are left out (a Bcc must not
// show).
func (s *session) received(acc *account.Account, now time.Time) string {
	helo := sanitizeHeaderWord(s.conn.Hostname())
	if helo == "" {
		helo = "unknown"
	}
	cipher := ""
	if st := s.sh.tc.ConnectionState(); st.Version != 0 {
		cipher = tls.VersionName(st.Version) + " " + tls.CipherSuiteName(st.CipherSuite) + "; "
	}
	return fmt.Sprintf("Received: from %s ([%s])\r\n\tby %s (Mailroom) with ESMTPSA\r\n\t(%sauthenticated as %s); %s\r\n",
		helo, s.sh.ip, s.srv.cfg.Hostname, cipher, acc.Username, now.UTC().Format(time.RFC1123Z))
}

// sanitizeHeaderWord keeps a client-chosen name printable and free of the
// characters that would change a header's structure.
func sanitizeHeaderWord(s string) string {
	if len(s) > 255 {
		s = s[:255]
	}
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>;\\\"[]", r) {
			return -1
		}
		return r
	}, s)
}

func (s *session) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.from = ""
	s.env = nil
	s.st.inTx.Store(false)
}

func (s *session) Logout() error {
	s.Reset()
	return nil
}
