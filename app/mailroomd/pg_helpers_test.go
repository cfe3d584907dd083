package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mailroom/adapters/certs"
	"mailroom/adapters/postgres"
	"mailroom/ports"
)

// The PostgreSQL tests run against a real server (see .ci/postgres.sh):
// its URL is in MAILROOM_TEST_POSTGRES. Without it they skip, unless
// MAILROOM_REQUIRE_POSTGRES=1 (CI), which makes a missing or unreachable
// server a failure.
const (
	envTestPG    = "MAILROOM_TEST_POSTGRES"
	envRequirePG = "MAILROOM_REQUIRE_POSTGRES"
)

// cheapArgon2 keeps the many logins of these tests from costing seconds
// of CPU on a shared machine; the hashes are still argon2id.
const cheapArgon2 = "m=1024,t=1,p=1"

// pgUnavailable skips the test, or fails it when PostgreSQL is required.
func pgUnavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(envRequirePG) == "1" {
		t.Fatalf(format+" ("+envRequirePG+"=1)", args...)
	}
	t.Skipf(format, args...)
}

// pgAdmin connects to the database MAILROOM_TEST_POSTGRES names.
func pgAdmin(t testing.TB, serverURL string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		pgUnavailable(t, "PostgreSQL at %s is unreachable: %v", postgres.RedactURL(serverURL), err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func pgServerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(envTestPG)
	if u == "" {
		pgUnavailable(t, "%s is not set: no PostgreSQL to test against", envTestPG)
	}
	return u
}

func randomSuffix() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// pgSchema creates an empty schema of the test's own on the server at
// serverURL and gives a URL whose search_path selects it, as if it were a
// database of its own. It is dropped when the test ends.
func pgSchema(t testing.TB, serverURL string) string {
	t.Helper()
	conn := pgAdmin(t, serverURL)
	name := "mailroomd_test_" + randomSuffix()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("CREATE SCHEMA: %v", err)
	}
	t.Cleanup(func() {
		// A host killed mid-test may leave sessions behind for a moment.
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Logf("DROP SCHEMA %s: %v", name, err)
		}
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

// pgStore opens the store at dbURL for a test to look inside.
func pgStore(t testing.TB, dbURL string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), postgres.Config{URL: dbURL, MaxConns: 2})
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sharedCert makes one certificate pair for every host of a test, as
// --cert/--key give the same one to every host behind a load balancer.
func sharedCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	if _, _, err := certs.LoadOrCreate(dir, []string{"localhost"}); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, certs.CertFile), filepath.Join(dir, certs.KeyFile)
}

// endpoint is how adapters/client reaches a started daemon.
func (d *daemon) endpoint() ports.Endpoint {
	d.t.Helper()
	port := func(addr string) int {
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			d.t.Fatalf("address %q: %v", addr, err)
		}
		n, _ := strconv.Atoi(p)
		return n
	}
	return ports.Endpoint{Host: "127.0.0.1", SMTPPort: port(d.addrs["smtp"]), InboxPort: port(d.addrs["inbox"]), Fingerprint: d.fingerprint}
}

// startPGHost starts an in-process host on the database at dbURL with the
// shared certificate, and a data directory of its own.
func startPGHost(t *testing.T, dbURL, certFile, keyFile string, args ...string) *daemon {
	t.Helper()
	all := append([]string{"--db", dbURL, "--cert", certFile, "--key", keyFile, "--argon2", cheapArgon2, "--imap-addr", "127.0.0.1:0"}, args...)
	return startDaemon(t, t.TempDir(), all...)
}

// sender submits messages over one SMTP connection with net/smtp (not our
// own client) and reports the reply code of a refusal.
type sender struct {
	addr, fingerprint, user, password string
	c                                 *smtp.Client
	conn                              net.Conn
}

// send submits one message to rcpt; it gives 250 once the server
// acknowledged it, else the refusing reply's code, or 0 with the error when
// the connection failed (a reply of 421 closes it too).
func (s *sender) send(rcpt, subject string) (int, error) {
	if s.c == nil {
		if err := s.dial(); err != nil {
			return codeOf(err), err
		}
	}
	s.conn.SetDeadline(time.Now().Add(30 * time.Second))
	err := s.transaction(rcpt, subject)
	if err == nil {
		return 250, nil
	}
	code := codeOf(err)
	if code == 0 || code == 421 || s.c.Reset() != nil {
		s.close()
	}
	return code, err
}

func (s *sender) transaction(rcpt, subject string) error {
	if err := s.c.Mail(s.user + "@localhost"); err != nil {
		return err
	}
	if err := s.c.Rcpt(rcpt); err != nil {
		return err
	}
	w, err := s.c.Data()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "From: %s@localhost\r\nTo: %s\r\nSubject: %s\r\n\r\nbody of %s\r\n", s.user, rcpt, subject, subject)
	return w.Close()
}

func (s *sender) dial() error {
	conf := &tls.Config{
		InsecureSkipVerify: true, // replaced by the pin below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || certs.FingerprintDER(raw[0]) != s.fingerprint {
				return errors.New("certificate does not match the pinned fingerprint")
			}
			return nil
		},
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.addr, conf)
	if err != nil {
		return err
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c, err := smtp.NewClient(conn, "localhost")
	if err != nil {
		conn.Close()
		return err
	}
	if err := c.Auth(smtp.PlainAuth("", s.user, s.password, "localhost")); err != nil {
		c.Close()
		return err
	}
	s.c, s.conn = c, conn
	return nil
}

func (s *sender) close() {
	if s.c != nil {
		s.c.Close()
		s.c = nil
	}
}

func codeOf(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// binary builds mailroomd once per test run, for the tests that need a
// child process to kill.
var binary = sync.OnceValues(func() (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "mailroomd-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "mailroomd")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})
