// Package client owns the client side of Mailroom's two protocols: SMTP
// submission and the verbs (PING, REG, GETUSER) on the SMTP port, and the
// JSON-lines inbox protocol with its watch stream. It is the only way the UI
// and tools reach a server, and it implements ports.Client and ports.Session.
package client

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/account"
	"mailroom/ports"
)

// Default ports of an Endpoint that leaves them zero.
const (
	DefaultSMTPPort  = 8025
	DefaultInboxPort = 9999
)

// ErrClosed is returned by a Session's calls after Close.
var ErrClosed = errors.New("client: session closed")

// Config configures a Client. Zero fields take the stated defaults.
type Config struct {
	// DialTimeout bounds connecting plus the TLS handshake. Default 10s.
	DialTimeout time.Duration
	// IOTimeout bounds one request and its reply (one SMTP command, one
	// inbox request). Default 30s.
	IOTimeout time.Duration
	// SubmitTimeout bounds a whole Send, message upload included: when it
	// passes, the connection is closed. Default 10m.
	SubmitTimeout time.Duration
	// MinBackoff and MaxBackoff bound Watch's reconnection delay, which
	// doubles from MinBackoff up to MaxBackoff, with jitter. Defaults 250ms
	// and 30s.
	MinBackoff, MaxBackoff time.Duration
	// PingInterval is how often an idle watch connection checks that the
	// server is still there; no reply within IOTimeout drops it. Default 60s.
	PingInterval time.Duration
	// MaxResponseBytes bounds one inbox response line. A fetch carries the
	// raw message in base64, so this must exceed 4/3 of the server's
	// message size limit. A session raises it to
	// inboxwire.ResponseLineLimit of the SIZE the server advertised at
	// login, when that is larger. Default inboxwire.ResponseLineLimit of
	// 25 MiB (about 34 MiB).
	MaxResponseBytes int
	// HelloName is the name sent in EHLO. Default "localhost".
	HelloName string
	// Now gives the Date of sent messages. Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.DialTimeout <= 0 {
		c.DialTimeout = 10 * time.Second
	}
	if c.IOTimeout <= 0 {
		c.IOTimeout = 30 * time.Second
	}
	if c.SubmitTimeout <= 0 {
		c.SubmitTimeout = 10 * time.Minute
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 250 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = c.MinBackoff
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 60 * time.Second
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = inboxwire.ResponseLineLimit(25 << 20)
	}
	if c.HelloName == "" {
		c.HelloName = "localhost"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Client reaches Mailroom servers. It holds no connections of its own and is
// safe for concurrent use.
type Client struct {
	cfg Config
}

var _ ports.Client = (*Client)(nil)

// New makes a Client.
func New(cfg Config) *Client {
	return &Client{cfg: cfg.withDefaults()}
}

// endpoint fills in the default ports.
func endpoint(ep ports.Endpoint) ports.Endpoint {
	if ep.SMTPPort == 0 {
		ep.SMTPPort = DefaultSMTPPort
	}
	if ep.InboxPort == 0 {
		ep.InboxPort = DefaultInboxPort
	}
	return ep
}

func smtpAddr(ep ports.Endpoint) string {
	return net.JoinHostPort(ep.Host, strconv.Itoa(endpoint(ep).SMTPPort))
}

func inboxAddr(ep ports.Endpoint) string {
	return net.JoinHostPort(ep.Host, strconv.Itoa(endpoint(ep).InboxPort))
}

// Probe connects to the SMTP port without trusting the server and returns
// its certificate's fingerprint (lower-case hex SHA-256 of the leaf's DER),
// for the UI to show and pin. Both servers present the same certificate.
func (c *Client) Probe(ctx context.Context, ep ports.Endpoint) (string, error) {
	var fp string
	conn, err := c.dialTLS(ctx, smtpAddr(ep), probeTLS(ep.Host, &fp))
	if err != nil {
		return "", err
	}
	conn.Close()
	return fp, nil
}

// Ping checks that the SMTP server answers PING.
func (c *Client) Ping(ctx context.Context, ep ports.Endpoint) error {
	v, err := c.dialVerbs(ctx, ep)
	if err != nil {
		return err
	}
	defer v.close()
	code, msg, err := v.cmd(opPing, "PING")
	if err != nil {
		return err
	}
	if code != 250 {
		return replyError(opPing, code, msg)
	}
	return v.quit()
}

// Register creates an account with REG.
func (c *Client) Register(ctx context.Context, ep ports.Endpoint, username, password string) error {
	// REG is "REG <username> <password>" on one line: the server takes
	// everything after the username's space as the password, so spaces in
	// a password travel fine, but a space in the name or a control
	// character anywhere would change the command.
	if username == "" || hasSpaceOrControl(username) {
		return fmt.Errorf("%w: %q", account.ErrBadUsername, username)
	}
	if strings.IndexFunc(password, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: it must not contain control characters", account.ErrWeakPassword)
	}
	v, err := c.dialVerbs(ctx, ep)
	if err != nil {
		return err
	}
	defer v.close()
	code, msg, err := v.cmd(opReg, "REG %s %s", username, password)
	if err != nil {
		return err
	}
	if code != 250 {
		return replyError(opReg, code, msg)
	}
	return v.quit()
}

// Login logs in to the inbox server and returns a session holding one
// request connection. The password stays in memory for reconnections and
// for SMTP AUTH.
//
// First it says EHLO to the SMTP server to learn its message size limit
// (see Session.MaxMessageBytes), which sizes the inbox connections'
// response bound. That step is best effort: a server that cannot be
// reached there, or advertises no SIZE, leaves the limit unknown (0) and
// the bound at Config.MaxResponseBytes; only the inbox login decides
// whether Login succeeds.
func (c *Client) Login(ctx context.Context, ep ports.Endpoint, username, password string) (ports.Session, error) {
	s, err := c.login(ctx, ep, username, password)
	if err != nil {
		return nil, err // not a nil *Session in a non-nil interface
	}
	return s, nil
}

// login is Login with the concrete type.
func (c *Client) login(ctx context.Context, ep ports.Endpoint, username, password string) (*Session, error) {
	ep = endpoint(ep)
	s := &Session{c: c, ep: ep, user: username, pass: password}
	s.maxMessage = c.serverSize(ctx, ep)
	s.maxResponse = responseLimit(c.cfg.MaxResponseBytes, s.maxMessage)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	conn, info, err := s.connect(ctx)
	if err != nil {
		s.cancel()
		return nil, err
	}
	s.conn = conn
	s.info = info
	return s, nil
}

// serverSize says EHLO to ep's SMTP server and gives the SIZE it
// advertises, 0 if it cannot be learned.
func (c *Client) serverSize(ctx context.Context, ep ports.Endpoint) int64 {
	v, err := c.dialVerbs(ctx, ep)
	if err != nil {
		return 0
	}
	defer v.close()
	v.quit()
	return ehloSize(v.ehlo)
}

// responseLimit is the inbox response bound for a server whose messages are
// at most maxMessage bytes (0: unknown): def, or more when the messages
// need it.
func responseLimit(def int, maxMessage int64) int {
	if maxMessage <= 0 {
		return def
	}
	// Where int is 32 bits, a limit near or over 1.5 GiB cannot be met:
	// bound the line by what int holds.
	if maxMessage > int64(math.MaxInt-(1<<20))/4*3-3 {
		return math.MaxInt
	}
	return max(def, inboxwire.ResponseLineLimit(maxMessage))
}

// hasSpaceOrControl reports whether s holds a character that would split or
// end an SMTP command line.
func hasSpaceOrControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0
}
