package smtpserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"mailroom/adapters/argon2"
	"mailroom/adapters/certs"
	"mailroom/adapters/sqlite"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

const testDomain = "example.test"

// testHasher is argon2id with cheap parameters: the tests look at the
// server's behaviour around hashing, not at its cost.
func testHasher() *argon2.Hasher {
	return argon2.New(argon2.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
}

// harness is a running server over a real SQLite file.
type harness struct {
	t        testing.TB
	srv      *Server
	addr     string
	store    *sqlite.Store
	accounts *account.Service
	mail     *mail.Service
	serveErr chan error
}

var testCert = func() tls.Certificate {
	certPEM, keyPEM, err := certs.SelfSigned(nil, time.Now())
	if err != nil {
		panic(err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		panic(err)
	}
	return c
}()

func newHarness(t testing.TB, cfg Config) *harness {
	return newHarnessSetup(t, cfg, setup{})
}

func newHarnessLog(t testing.TB, cfg Config, log *zap.Logger) *harness {
	return newHarnessSetup(t, cfg, setup{log: log})
}

// setup is what a harness wires besides the server's Config; zero fields
// take the usual test values.
type setup struct {
	acc  account.Config // Domain defaults to testDomain
	mail mail.Config
	// accStore wraps the SQLite store as the account service sees it.
	accStore func(account.Store) account.Store
	hasher   account.Hasher
	log      *zap.Logger
}

func newHarnessSetup(t testing.TB, cfg Config, su setup) *harness {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "m.db")})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	if su.acc.Domain == "" {
		su.acc.Domain = testDomain
	}
	var accStore account.Store = store
	if su.accStore != nil {
		accStore = su.accStore(store)
	}
	if su.hasher == nil {
		su.hasher = testHasher()
	}
	log := su.log
	if log == nil {
		log = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	}
	acc := account.NewService(accStore, su.hasher, su.acc, nil)
	mb := mail.NewService(store, acc, nil, su.mail, nil)
	if cfg.TLS == nil {
		cfg.TLS = certs.ServerConfig(testCert)
	}
	srv := New(cfg, acc, mb, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, srv: srv, addr: ln.Addr().String(), store: store, accounts: acc, mail: mb, serveErr: make(chan error, 1)}
	go func() { h.serveErr <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-h.serveErr; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v, want ErrServerClosed", err)
		}
		store.Close()
	})
	return h
}

// user registers name with password "password-<name>".
func (h *harness) user(name string) account.Account {
	h.t.Helper()
	a, err := h.accounts.Register(context.Background(), name, "password-"+name)
	if err != nil {
		h.t.Fatalf("Register(%s): %v", name, err)
	}
	return a
}

// inbox lists the raw messages in name's inbox, oldest first.
func (h *harness) inbox(name string) []string {
	h.t.Helper()
	ctx := context.Background()
	a, err := h.accounts.Lookup(ctx, name)
	if err != nil {
		h.t.Fatalf("Lookup(%s): %v", name, err)
	}
	metas, err := h.mail.List(ctx, a.ID, mail.Inbox, 0, mail.MaxLimit)
	if err != nil {
		h.t.Fatalf("List: %v", err)
	}
	var out []string
	for i := len(metas) - 1; i >= 0; i-- {
		m, err := h.mail.Fetch(ctx, a.ID, metas[i].ID)
		if err != nil {
			h.t.Fatalf("Fetch: %v", err)
		}
		out = append(out, string(m.Raw))
	}
	return out
}

// body strips the Received header the server prepends.
func body(raw string) string {
	if !strings.HasPrefix(raw, "Received: ") {
		return raw
	}
	// The header's continuation lines start with a tab.
	i := 0
	for {
		j := strings.Index(raw[i:], "\r\n")
		if j < 0 {
			return ""
		}
		i += j + 2
		if i >= len(raw) || raw[i] != '\t' {
			return raw[i:]
		}
	}
}

func clientTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
}

// dialog is one client connection driven line by line.
type dialog struct {
	t    testing.TB
	conn *tls.Conn
	r    *bufio.Reader
}

// dial connects, completes the handshake and reads the 220 greeting.
func (h *harness) dial() *dialog {
	h.t.Helper()
	d := h.dialNoGreeting()
	d.expect("220 ")
	return d
}

func (h *harness) dialNoGreeting() *dialog {
	h.t.Helper()
	c, err := tls.Dial("tcp", h.addr, clientTLS())
	if err != nil {
		h.t.Fatalf("dial: %v", err)
	}
	h.t.Cleanup(func() { c.Close() })
	return &dialog{t: h.t, conn: c, r: bufio.NewReader(c)}
}

// send writes raw bytes (CRLF added when line doesn't end in LF).
func (d *dialog) send(line string) {
	d.t.Helper()
	if !strings.HasSuffix(line, "\n") {
		line += "\r\n"
	}
	d.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := d.conn.Write([]byte(line)); err != nil {
		d.t.Fatalf("write %q: %v", line, err)
	}
}

// reply reads one whole (possibly multi-line) reply.
func (d *dialog) reply() (string, error) {
	d.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var lines []string
	for {
		l, err := d.r.ReadString('\n')
		if err != nil {
			return strings.Join(lines, "\n"), err
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return strings.Join(lines, "\n"), nil
		}
	}
}

// expect reads one reply and checks that its last line starts with prefix.
// It returns the whole reply.
func (d *dialog) expect(prefix string) string {
	d.t.Helper()
	r, err := d.reply()
	if err != nil {
		d.t.Fatalf("reading reply (want %q): %v (got %q)", prefix, err, r)
	}
	last := r[strings.LastIndexByte(r, '\n')+1:]
	if !strings.HasPrefix(last, prefix) {
		d.t.Fatalf("reply %q, want prefix %q", r, prefix)
	}
	return r
}

// cmd sends line and expects a reply starting with prefix.
func (d *dialog) cmd(line, prefix string) string {
	d.t.Helper()
	d.send(line)
	return d.expect(prefix)
}

// expectClosed checks that the server closes the connection (after any
// replies still in flight).
func (d *dialog) expectClosed() {
	d.t.Helper()
	d.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 512)
	for {
		_, err := d.r.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			d.t.Fatalf("connection still open")
		}
		return
	}
}

func plainIR(identity, user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(identity + "\x00" + user + "\x00" + pass))
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// login greets and authenticates as name (registered by h.user).
func (d *dialog) login(name string) {
	d.t.Helper()
	d.cmd("EHLO client.test", "250 ")
	d.cmd("AUTH PLAIN "+plainIR("", name, "password-"+name), "235 ")
}

// sendMail runs one transaction from name to rcpts with DATA.
func (d *dialog) sendMail(from string, rcpts []string, msg string) {
	d.t.Helper()
	d.cmd("MAIL FROM:<"+from+">", "250 ")
	for _, r := range rcpts {
		d.cmd("RCPT TO:<"+r+">", "250 ")
	}
	d.cmd("DATA", "354 ")
	d.send(msg + ".\r\n")
	d.expect("250 2.0.0 OK: stored") // committed, not queued
}

// mailConfig is a mail service config with a recipient cap.
func mailConfig(maxRcpts int) mail.Config { return mail.Config{MaxRecipients: maxRcpts} }

// crlf turns each bare LF of s into CRLF, as the server stores content (a
// plain reference for the server's in-place version).
func crlf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' && (i == 0 || s[i-1] != '\r') {
			b.WriteByte('\r')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
