package inboxserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"mailroom/adapters/argon2"
	"mailroom/adapters/certs"
	"mailroom/adapters/inboxwire"
	"mailroom/adapters/sqlite"
	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/domain/throttle"
)

var throttleOff = throttle.Rate{N: -1}

const (
	testDomain   = "example.test"
	testPassword = "correct horse battery"
)

// testHasher is argon2id at its cheapest: tests check the server, not the
// hash's cost.
func testHasher() *argon2.Hasher {
	return argon2.New(argon2.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
}

var (
	certOnce    sync.Once
	certTLS     tls.Certificate
	certPool    *x509.CertPool
	testCertPEM []byte // for load children (memory_test.go)
)

func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	certOnce.Do(func() {
		certPEM, keyPEM, err := certs.SelfSigned(nil, time.Now())
		if err != nil {
			panic(err)
		}
		certTLS, err = tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			panic(err)
		}
		testCertPEM = certPEM
		certPool = x509.NewCertPool()
		certPool.AppendCertsFromPEM(certPEM)
	})
	return certTLS, certPool
}

// env is a server on 127.0.0.1:0 over a real SQLite file.
type env struct {
	t       testing.TB
	dbPath  string
	store   *sqlite.Store
	feed    *sqlite.Feed
	acc     *account.Service
	mb      *mail.Service
	srv     *Server
	addr    string
	pool    *x509.CertPool
	serveCh chan error
	users   map[string]account.Account
}

type envOpts struct {
	cfg  func(*Config)
	feed func(e *env) ChangeFeed // nil: the store's feed
	// accounts wraps the account service the server gets; nil: as is.
	accounts func(e *env) Accounts
	// account adjusts the account service's config; by default the
	// failed-login budget is off.
	account func(*account.Config)
	// hasher wraps the (cheap) test hasher; nil: as is.
	hasher func(account.Hasher) account.Hasher
	log    *zap.Logger
	// dbPath opens an existing database instead of a new one.
	dbPath string
	// poll is the feed's poll interval; default 10ms.
	poll time.Duration
	// mail adjusts the mail service's config (its size limit, say).
	mail func(*mail.Config)
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, dbPath: o.dbPath, users: map[string]account.Account{}}
	if e.dbPath == "" {
		e.dbPath = filepath.Join(t.TempDir(), "mail.db")
	}
	if o.poll == 0 {
		o.poll = 10 * time.Millisecond
	}
	st, err := sqlite.Open(ctx, sqlite.Config{Path: e.dbPath})
	if err != nil {
		t.Fatal(err)
	}
	e.store = st
	e.feed = st.Feed(sqlite.FeedConfig{PollInterval: o.poll})
	acfg := account.Config{Domain: testDomain, AuthFailRate: throttleOff}
	if o.account != nil {
		o.account(&acfg)
	}
	var hasher account.Hasher = testHasher()
	if o.hasher != nil {
		hasher = o.hasher(hasher)
	}
	e.acc = account.NewService(st, hasher, acfg, nil)
	var mcfg mail.Config
	if o.mail != nil {
		o.mail(&mcfg)
	}
	e.mb = mail.NewService(st, e.acc, e.feed, mcfg, nil)

	cert, pool := testCert(t)
	e.pool = pool
	cfg := Config{TLS: certs.ServerConfig(cert)}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	var feed ChangeFeed = e.feed
	if o.feed != nil {
		feed = o.feed(e)
	}
	log := o.log
	if log == nil {
		if tt, ok := t.(*testing.T); ok {
			log = zaptest.NewLogger(tt)
		} else {
			log = zap.NewNop()
		}
	}
	var accounts Accounts = e.acc
	if o.accounts != nil {
		accounts = o.accounts(e)
	}
	e.srv = New(cfg, accounts, e.mb, feed, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	e.serveCh = make(chan error, 1)
	go func() { e.serveCh <- e.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-e.serveCh; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
		e.feed.Close()
		e.store.Close()
	})
	return e
}

// user registers name (once) and gives the account.
func (e *env) user(name string) account.Account {
	e.t.Helper()
	if a, ok := e.users[name]; ok {
		return a
	}
	if a, err := e.acc.Lookup(context.Background(), name); err == nil {
		e.users[name] = a
		return a
	}
	a, err := e.acc.Register(context.Background(), name, testPassword)
	if err != nil {
		e.t.Fatal(err)
	}
	e.users[name] = a
	return a
}

// count gives how many entries user's folder holds, read from the store.
func (e *env) count(user string, folder mail.Folder) int {
	e.t.Helper()
	total, _, err := e.mb.Count(context.Background(), e.user(user).ID, folder)
	if err != nil {
		e.t.Fatal(err)
	}
	return total
}

// deliver sends one message from one user to others and gives the entries.
func (e *env) deliver(from string, to []string, subject string) []mail.Meta {
	e.t.Helper()
	for _, r := range to {
		e.user(r)
	}
	metas, err := deliverVia(context.Background(), e.mb, e.user(from), to, rawMessage(from, to, subject))
	if err != nil {
		e.t.Fatal(err)
	}
	return metas
}

func rawMessage(from string, to []string, subject string) []byte {
	var rcpts []string
	for _, r := range to {
		rcpts = append(rcpts, r+"@"+testDomain)
	}
	return fmt.Appendf(nil, "From: %s@%s\r\nTo: %s\r\nSubject: %s\r\n\r\nHello %s.\r\n",
		from, testDomain, strings.Join(rcpts, ", "), subject, subject)
}

// client is one test connection with a line-by-line dialogue.
type client struct {
	t    testing.TB
	conn *tls.Conn
	lr   *inboxwire.LineReader
}

func (e *env) dial() *client {
	e.t.Helper()
	c, err := e.dialErr()
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) dialErr() (*client, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", e.addr,
		&tls.Config{RootCAs: e.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	c := &client{t: e.t, conn: conn, lr: inboxwire.NewLineReader(conn, inboxwire.ResponseLineLimit(25<<20))}
	e.t.Cleanup(func() { conn.Close() })
	return c, nil
}

// login dials and logs in as name.
func (e *env) login(name string) *client {
	e.t.Helper()
	e.user(name)
	c := e.dial()
	c.ok(fmt.Sprintf(`{"op":"login","user":%q,"password":%q}`, name, testPassword))
	return c
}

func (c *client) sendLine(line string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write([]byte(line + "\n")); err != nil {
		c.t.Fatalf("write %s: %v", line, err)
	}
}

// readLine gives the next line, failing after d.
func (c *client) readLine(d time.Duration) ([]byte, error) {
	c.conn.SetReadDeadline(time.Now().Add(d))
	line, err := c.lr.ReadLine()
	return bytes.Clone(line), err
}

// response reads lines until a response (skipping events) and decodes it.
func (c *client) response() inboxwire.Response {
	c.t.Helper()
	for {
		line, err := c.readLine(5 * time.Second)
		if err != nil {
			c.t.Fatalf("read response: %v", err)
		}
		if isEvent(line) {
			continue
		}
		var r inboxwire.Response
		if err := json.Unmarshal(line, &r); err != nil {
			c.t.Fatalf("bad response %s: %v", line, err)
		}
		return r
	}
}

func isEvent(line []byte) bool {
	var probe map[string]json.RawMessage
	if json.Unmarshal(line, &probe) != nil {
		return false
	}
	_, ok := probe["event"]
	return ok
}

// do sends a request and gives its response.
func (c *client) do(line string) inboxwire.Response {
	c.t.Helper()
	c.sendLine(line)
	return c.response()
}

func (c *client) ok(line string) inboxwire.Response {
	c.t.Helper()
	r := c.do(line)
	if !r.OK || r.Error != nil {
		c.t.Fatalf("%s: got %+v, want ok", line, errOf(r))
	}
	return r
}

func (c *client) fails(line, code string) inboxwire.Response {
	c.t.Helper()
	r := c.do(line)
	if r.OK || r.Error == nil || r.Error.Code != code {
		c.t.Fatalf("%s: got ok=%v error %+v, want %s", line, r.OK, errOf(r), code)
	}
	return r
}

func errOf(r inboxwire.Response) any {
	if r.Error == nil {
		return nil
	}
	return *r.Error
}

// event waits up to d for the next line and requires an event.
func (c *client) event(d time.Duration) inboxwire.Event {
	c.t.Helper()
	line, err := c.readLine(d)
	if err != nil {
		c.t.Fatalf("waiting for an event: %v", err)
	}
	if !isEvent(line) {
		c.t.Fatalf("got %s, want an event", line)
	}
	var ev inboxwire.Event
	if err := json.Unmarshal(line, &ev); err != nil {
		c.t.Fatal(err)
	}
	return ev
}

// noEvent checks that nothing arrives within d.
func (c *client) noEvent(d time.Duration) {
	c.t.Helper()
	line, err := c.readLine(d)
	if err == nil {
		c.t.Fatalf("got %s, want nothing", line)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		c.t.Fatalf("got %v, want a timeout", err)
	}
}

// closed checks that the server closes the connection within d (after
// any lines still in flight).
func (c *client) closed(d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		line, err := c.readLine(time.Until(deadline))
		if err == nil {
			_ = line
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.t.Fatalf("connection still open after %v", d)
		}
		return
	}
}

// eventually polls cond for up to 5s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func (s *Server) watcherCount() int {
	s.hub.mu.RLock()
	defer s.hub.mu.RUnlock()
	n := 0
	for _, set := range s.hub.watchers {
		n += len(set)
	}
	return n
}

// watch starts watching on c and waits until the server has registered
// it (the ok is queued just before that).
func (e *env) watch(c *client) {
	e.t.Helper()
	n := e.srv.watcherCount()
	c.ok(`{"op":"watch"}`)
	eventually(e.t, "the watcher", func() bool { return e.srv.watcherCount() > n })
}

// deliverVia delivers raw from sender to rcpts the way the SMTP server
// does: an envelope filled recipient by recipient, then one delivery.
func deliverVia(ctx context.Context, mb *mail.Service, sender account.Account, rcpts []string, raw []byte) ([]mail.Meta, error) {
	env := mb.NewEnvelope(sender)
	for _, r := range rcpts {
		if _, err := env.Add(ctx, r); err != nil {
			return nil, err
		}
	}
	return mb.DeliverEnvelope(ctx, env, raw)
}
