package imapserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap/zaptest"

	"mailroom/adapters/certs"
	"mailroom/adapters/postgres"
	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/domain/throttle"
)

// The tests that must hold for both stores (search, whose index each
// store builds its own way) run through eachStore: SQLite always, and
// PostgreSQL when MAILROOM_TEST_POSTGRES names a server (see
// .ci/postgres.sh). Without it the PostgreSQL run is skipped, unless
// MAILROOM_REQUIRE_POSTGRES=1 (CI), which makes it a failure.
const (
	envTestPG    = "MAILROOM_TEST_POSTGRES"
	envRequirePG = "MAILROOM_REQUIRE_POSTGRES"
)

// eachStore runs f against a server over SQLite, then over PostgreSQL.
func eachStore(t *testing.T, f func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) { f(t, newEnv(t, envOpts{})) })
	t.Run("postgres", func(t *testing.T) { f(t, newPGEnv(t)) })
}

// newPGEnv is newEnv over a PostgreSQL schema of the test's own: the
// server takes the PostgreSQL store's change feed and search index. Its
// node has services only (store and feed are SQLite's types).
func newPGEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := postgres.Open(ctx, postgres.Config{URL: pgSchema(t), MaxConns: 4})
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	feed := st.Feed(postgres.FeedConfig{})
	t.Cleanup(func() {
		feed.Close()
		st.Close()
	})
	acc := account.NewService(st, testHasher(), account.Config{Domain: testDomain, AuthFailRate: throttle.Rate{N: -1}}, nil)
	mb := mail.NewService(st, acc, feed, mail.Config{MaxMessageBytes: 64 << 10}, nil)
	e := &env{t: t, node: &node{acc: acc, mb: mb}}
	serveEnv(t, e, Config{Index: st}, mb, feed)
	return e
}

// serveEnv starts e's server on 127.0.0.1:0 with cfg (its TLS added),
// e's accounts, the given mailboxes and feed, and stops it when the test
// ends.
func serveEnv(t *testing.T, e *env, cfg Config, mb Mailboxes, feed ChangeFeed) {
	t.Helper()
	cert, pool := testCert()
	e.pool, cfg.TLS = pool, certs.ServerConfig(cert)
	e.srv = New(cfg, e.acc, mb, feed, zaptest.NewLogger(t))
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
}

// pgSchema creates an empty schema on the server MAILROOM_TEST_POSTGRES
// names and gives a URL whose search_path selects it; it is dropped when
// the test ends.
func pgSchema(t *testing.T) string {
	t.Helper()
	serverURL := os.Getenv(envTestPG)
	if serverURL == "" {
		pgUnavailable(t, "%s is not set: no PostgreSQL to test against", envTestPG)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		pgUnavailable(t, "PostgreSQL at %s is unreachable: %v", postgres.RedactURL(serverURL), err)
	}
	var b [8]byte
	rand.Read(b[:])
	name := "imapserver_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("CREATE SCHEMA: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("DROP SCHEMA %s: %v", name, err)
		}
		conn.Close(ctx)
	})
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatalf("%s: %v", envTestPG, err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// pgUnavailable skips the test, or fails it when PostgreSQL is required.
func pgUnavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv(envRequirePG) == "1" {
		t.Fatalf(format+" ("+envRequirePG+"=1)", args...)
	}
	t.Skipf(format, args...)
}
