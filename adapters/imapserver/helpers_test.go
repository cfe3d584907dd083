package imapserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"mailroom/adapters/argon2"
	"mailroom/adapters/certs"
	"mailroom/adapters/sqlite"
	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/domain/throttle"
)

const (
	testDomain   = "example.test"
	testPassword = "correct horse battery"
)

func testHasher() *argon2.Hasher {
	return argon2.New(argon2.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
}

var (
	certOnce sync.Once
	certTLS  tls.Certificate
	certPool *x509.CertPool
)

func testCert() (tls.Certificate, *x509.CertPool) {
	certOnce.Do(func() {
		certPEM, keyPEM, err := certs.SelfSigned(nil, time.Now())
		if err != nil {
			panic(err)
		}
		if certTLS, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
			panic(err)
		}
		certPool = x509.NewCertPool()
		certPool.AppendCertsFromPEM(certPEM)
	})
	return certTLS, certPool
}

// node is one store instance on a database file with its services: the
// server's, or a second process's.
type node struct {
	store *sqlite.Store
	feed  *sqlite.Feed
	acc   *account.Service
	mb    *mail.Service
}

func openNode(t testing.TB, path string, acfg account.Config) *node {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{store: st}
	n.feed = st.Feed(sqlite.FeedConfig{PollInterval: 20 * time.Millisecond})
	n.acc = account.NewService(st, testHasher(), acfg, nil)
	n.mb = mail.NewService(st, n.acc, n.feed, mail.Config{MaxMessageBytes: 64 << 10}, nil)
	t.Cleanup(func() {
		n.feed.Close()
		st.Close()
	})
	return n
}

// env is a server on 127.0.0.1:0 over a real SQLite file.
type env struct {
	t      testing.TB
	dbPath string
	*node
	srv  *Server
	addr string
	pool *x509.CertPool
}

type envOpts struct {
	cfg     func(*Config)
	account func(*account.Config)
	log     *zap.Logger
	// dbPath opens an existing database instead of a new one.
	dbPath string
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	e := &env{t: t, dbPath: o.dbPath}
	if e.dbPath == "" {
		e.dbPath = filepath.Join(t.TempDir(), "mail.db")
	}
	acfg := account.Config{Domain: testDomain, AuthFailRate: throttle.Rate{N: -1}}
	if o.account != nil {
		o.account(&acfg)
	}
	e.node = openNode(t, e.dbPath, acfg)
	cert, pool := testCert()
	e.pool = pool
	cfg := Config{TLS: certs.ServerConfig(cert), Index: e.store}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	log := o.log
	if log == nil {
		if tt, ok := t.(*testing.T); ok {
			log = zaptest.NewLogger(tt)
		} else {
			log = zap.NewNop()
		}
	}
	feed, ok := any(e.feed).(ChangeFeed)
	if !ok {
		t.Fatal("sqlite.Feed has no SubscribeChanges yet")
	}
	e.srv = New(cfg, e.acc, e.mb, feed, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return e
}

// user registers name (once) and gives the account.
func (n *node) user(t testing.TB, name string) account.Account {
	t.Helper()
	if a, err := n.acc.Lookup(context.Background(), name); err == nil {
		return a
	}
	a, err := n.acc.Register(context.Background(), name, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// deliver sends one message from one user to others, as SMTP would.
func (n *node) deliver(t testing.TB, from string, to []string, subject string) []mail.Meta {
	t.Helper()
	ctx := context.Background()
	env := n.mb.NewEnvelope(n.user(t, from))
	for _, r := range to {
		n.user(t, r)
		if _, err := env.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	metas, err := n.mb.DeliverEnvelope(ctx, env, rawMessage(from, to, subject))
	if err != nil {
		t.Fatal(err)
	}
	return metas
}

func rawMessage(from string, to []string, subject string) []byte {
	var rcpts []string
	for _, r := range to {
		rcpts = append(rcpts, r+"@"+testDomain)
	}
	return fmt.Appendf(nil, "From: %s@%s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s.%d@%s>\r\n"+
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n\r\nHello %s.\r\n",
		from, testDomain, strings.Join(rcpts, ", "), subject, strings.ReplaceAll(subject, " ", "."),
		time.Now().UnixNano(), testDomain, subject)
}

// dial connects a go-imap client, without logging in.
func (e *env) dial(h *imapclient.UnilateralDataHandler) *imapclient.Client {
	e.t.Helper()
	c, err := imapclient.DialTLS(e.addr, &imapclient.Options{
		TLSConfig:             &tls.Config{RootCAs: e.pool, ServerName: "localhost"},
		UnilateralDataHandler: h,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// login dials and logs in as name (registered on the way).
func (e *env) login(name string, h *imapclient.UnilateralDataHandler) *imapclient.Client {
	e.t.Helper()
	e.user(e.t, name)
	c := e.dial(h)
	if err := c.Login(name, testPassword).Wait(); err != nil {
		e.t.Fatal(err)
	}
	return c
}
