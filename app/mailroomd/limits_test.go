package main

import (
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/base64"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailroom/adapters/inboxserver"
	"mailroom/adapters/smtpserver"
	_ "mailroom/adapters/sqlite" // registers modernc's "sqlite" driver
)

// TestSharedLimitDefaults: a flag that sets both servers takes one default
// (smtpserver's), which is only right while the two adapters agree.
func TestSharedLimitDefaults(t *testing.T) {
	for _, tc := range []struct {
		flag       string
		smtp, inbx any
	}{
		{"max-conns", smtpserver.DefaultMaxConns, inboxserver.DefaultMaxConns},
		{"max-conns-per-ip", smtpserver.DefaultMaxConnsPerIP, inboxserver.DefaultMaxConnsPerIP},
		{"handshake-timeout", smtpserver.DefaultHandshakeTimeout, inboxserver.DefaultHandshakeTimeout},
		{"max-auth-failures", smtpserver.DefaultMaxAuthFailures, inboxserver.DefaultMaxLoginFailures},
	} {
		if tc.smtp != tc.inbx {
			t.Errorf("--%s: smtpserver's default %v, inboxserver's %v: one flag cannot default to both", tc.flag, tc.smtp, tc.inbx)
		}
	}
}

func TestFreeSpaceProbe(t *testing.T) {
	dir := t.TempDir()
	probe := freeSpaceProbe(dir)
	if probe == nil {
		t.Skip("no statfs on this system")
	}
	free, err := probe()
	if err != nil || free == 0 {
		t.Errorf("probe(%s) = %d, %v", dir, free, err)
	}
	gone := filepath.Join(dir, "gone")
	if _, err := freeSpaceProbe(gone)(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("probe of a missing directory: %v", err)
	}
}

// expectClosedRaw checks that the server closes c without a reply: a read
// ends in EOF or a reset, not in the test's own timeout.
func expectClosedRaw(t *testing.T, c net.Conn, within time.Duration) {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(within + 5*time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("read: %v, want the server to close", err)
	}
	if el := time.Since(start); el > within+2*time.Second {
		t.Errorf("closed after %v, want about %v", el, within)
	}
}

func TestLimitFlagsReachSMTP(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, nil, "alice-password\n", "--data", dir, "user", "add", "alice")
	d := startDaemon(t, dir, "smtp",
		"--max-recipients", "2", "--max-line", "600", "--handshake-timeout", "300ms",
		"--max-auth-failures", "2", "--min-free", "1KiB", "--smtp-auth-timeout", "1s", "--max-inflight", "64MiB")

	// --handshake-timeout: a client that connects and says nothing is dropped.
	silent, err := net.Dial("tcp", d.addrs["smtp"])
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	expectClosedRaw(t, silent, 300*time.Millisecond)

	// --max-auth-failures: the second failure closes the session.
	s := dialSMTP(t, d.addrs["smtp"], d.fingerprint)
	s.cmd(250, "EHLO test.example")
	s.cmd(535, "AUTH PLAIN %s", plainB64("alice", "wrong-password"))
	s.cmd(421, "AUTH PLAIN %s", plainB64("alice", "wrong-password"))

	// --max-recipients: the third RCPT is 452 4.5.3. --min-free with the
	// real statfs probe: a disk with 1 KiB free takes the mail.
	s = dialSMTP(t, d.addrs["smtp"], d.fingerprint)
	s.login("alice", "alice-password")
	s.cmd(250, "MAIL FROM:<alice@localhost>")
	s.cmd(250, "RCPT TO:<alice@localhost>")
	s.cmd(250, "RCPT TO:<alice>")
	if msg := s.cmd(452, "RCPT TO:<alice@localhost>"); !strings.HasPrefix(msg, "4.5.3") {
		t.Errorf("third RCPT: 452 %s, want 4.5.3", msg)
	}
	// --max-line: 601 octets is one too many.
	if msg := s.cmd(500, "NOOP %s", strings.Repeat("x", 596)); !strings.HasPrefix(msg, "5.5.2") {
		t.Errorf("long line: 500 %s, want 5.5.2", msg)
	}
	// --smtp-auth-timeout: a session that does not log in is closed.
	s = dialSMTP(t, d.addrs["smtp"], d.fingerprint)
	s.cmd(250, "EHLO test.example")
	if msg := s.expect(421); !strings.HasPrefix(msg, "4.7.0") {
		t.Errorf("no login: 421 %s, want 4.7.0", msg)
	}
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

func TestMinFreeRefusesMail(t *testing.T) {
	if freeSpaceProbe(t.TempDir()) == nil {
		t.Skip("no statfs on this system")
	}
	dir := t.TempDir()
	mustRun(t, nil, "alice-password\n", "--data", dir, "user", "add", "alice")
	// About 3.7 EiB: no test machine has that much free.
	d := startDaemon(t, dir, "--min-free", "4000000000GiB")
	s := dialSMTP(t, d.addrs["smtp"], d.fingerprint)
	s.login("alice", "alice-password")
	if msg := s.cmd(452, "MAIL FROM:<alice@localhost>"); !strings.HasPrefix(msg, "4.3.1") {
		t.Errorf("MAIL: 452 %s, want 4.3.1", msg)
	}
	waitLog(t, d.logs, "low disk: MAIL refused")
}

func TestLimitFlagsReachInbox(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, nil, "alice-password\n", "--data", dir, "user", "add", "alice")
	d := startDaemon(t, dir, "inbox", "--handshake-timeout", "300ms", "--max-auth-failures", "2", "--inbox-login-timeout", "1s")

	// --handshake-timeout
	silent, err := net.Dial("tcp", d.addrs["inbox"])
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	expectClosedRaw(t, silent, 300*time.Millisecond)

	// --max-auth-failures: the second failed login is answered, then the
	// connection is closed.
	ic := dialInbox(t, d.addrs["inbox"], d.fingerprint)
	bad := `{"tag":1,"op":"login","user":"alice","password":"wrong-password"}`
	if r := ic.do(bad); r["ok"] != false {
		t.Fatalf("bad login: %v", r)
	}
	if r := ic.do(bad); r["ok"] != false {
		t.Fatalf("bad login: %v", r)
	}
	expectClosedRaw(t, ic.c, time.Second)

	// --inbox-login-timeout: a connection that never logs in is closed,
	// however many pings it sends.
	lazy := dialInbox(t, d.addrs["inbox"], d.fingerprint)
	if r := lazy.do(`{"op":"ping"}`); r["ok"] != true {
		t.Fatalf("ping: %v", r)
	}
	expectClosedRaw(t, lazy.c, 1500*time.Millisecond)
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// TestConnAndIdleFlags covers --max-conns-per-ip on both servers,
// --smtp-read-timeout and --inbox-idle-timeout, in serve mode.
func TestConnAndIdleFlags(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir, "--max-conns-per-ip", "1", "--smtp-read-timeout", "1s", "--inbox-idle-timeout", "1s")

	s := dialSMTP(t, d.addrs["smtp"], d.fingerprint)
	busy := dialSMTP421(t, d.addrs["smtp"])
	if !strings.HasPrefix(busy, "421 4.7.0") {
		t.Errorf("second SMTP connection from one IP: %q, want 421 4.7.0", busy)
	}
	if msg := s.expect(421); !strings.HasPrefix(msg, "4.4.2") {
		t.Errorf("idle SMTP session: 421 %s, want 4.4.2", msg)
	}

	ic := dialInbox(t, d.addrs["inbox"], d.fingerprint)
	mustOK(t, "ping", ic.do(`{"op":"ping"}`))
	// One over the cap reads an untagged busy error right after the
	// handshake, and is closed.
	over := dialInbox(t, d.addrs["inbox"], d.fingerprint)
	r := over.read()
	if e, _ := r["error"].(map[string]any); r["ok"] != false || r["tag"] != nil || e["code"] != "busy" {
		t.Errorf("second inbox connection from one IP: %v, want an untagged busy error", r)
	}
	expectClosedRaw(t, over.c, 0)
	expectClosedRaw(t, ic.c, time.Second)
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// TestProtocolErrorAndInboxLineFlags covers --max-protocol-errors and
// --inbox-max-line, in serve mode.
func TestProtocolErrorAndInboxLineFlags(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir, "--max-protocol-errors", "2", "--inbox-max-line", "8KiB")

	// --max-protocol-errors 2: the second unknown command is answered, then
	// 421 closes the session.
	s := dialSMTP(t, d.addrs["smtp"], d.fingerprint)
	s.cmd(250, "EHLO test.example")
	s.cmd(500, "FROB")
	s.cmd(500, "FROB")
	if msg := s.expect(421); !strings.HasPrefix(msg, "4.7.0") {
		t.Errorf("second protocol error: 421 %s, want 4.7.0", msg)
	}

	// --inbox-max-line 8KiB: a request just under it is served (JSON allows
	// the padding), one just over gets too_large and the connection closes.
	ic := dialInbox(t, d.addrs["inbox"], d.fingerprint)
	const ping = `{"op":"ping"}`
	mustOK(t, "ping under the cap", ic.do(ping[:len(ping)-1]+strings.Repeat(" ", 8<<10-len(ping))+"}"))
	r := ic.do(ping[:len(ping)-1] + strings.Repeat(" ", 8<<10-len(ping)+1) + "}")
	if e, _ := r["error"].(map[string]any); r["ok"] != false || e["code"] != "too_large" {
		t.Errorf("request over the cap: %v, want too_large", r)
	}
	expectClosedRaw(t, ic.c, time.Second)
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// storedHash reads name's password hash straight from the database in dir.
func storedHash(t *testing.T, dir, name string) string {
	t.Helper()
	db, err := sql.Open("sqlite", config{DataDir: dir}.DBPath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var hash string
	if err := db.QueryRow(`SELECT password_hash FROM accounts WHERE username = ?`, name).Scan(&hash); err != nil {
		t.Fatalf("hash of %s: %v", name, err)
	}
	return hash
}

// TestArgon2Flag: --argon2 sets the parameters of new hashes, and hashes
// written with other parameters keep verifying.
func TestArgon2Flag(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, nil, "alice-password\n", "--data", dir, "--argon2", "m=64,t=1,p=1", "--hash-concurrency", "1", "user", "add", "alice")
	mustRun(t, env{"MAILROOM_ARGON2": "m=128,t=3,p=2"}, "bob-password\n", "--data", dir, "user", "add", "bob")
	for name, want := range map[string]string{"alice": "$argon2id$v=19$m=64,t=1,p=1$", "bob": "$argon2id$v=19$m=128,t=3,p=2$"} {
		if h := storedHash(t, dir, name); !strings.HasPrefix(h, want) {
			t.Errorf("%s's hash %q, want the prefix %q", name, h, want)
		}
	}
	// A daemon with the default parameters still lets alice in.
	checkLogin(t, dir, "localhost", "alice", "alice-password", true)
	checkLogin(t, dir, "localhost", "alice", "wrong-password", false)
	d := startDaemon(t, dir, "smtp")
	s := dialSMTP(t, d.addrs["smtp"], d.fingerprint)
	s.login("bob", "bob-password")
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// TestDBBusyTimeoutFlag: while another connection holds the write lock for
// a second, a command with --db-busy-timeout 50ms gives up, and one with
// 30s waits for the lock and succeeds (the default 5s would succeed too).
func TestDBBusyTimeoutFlag(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, nil, "alice-password\n", "--data", dir, "user", "add", "alice")
	db, err := sql.Open("sqlite", config{DataDir: dir}.DBPath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hold := func() (release func()) {
		t.Helper()
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
			t.Fatal(err)
		}
		return func() {
			conn.ExecContext(context.Background(), "ROLLBACK")
			conn.Close()
		}
	}

	// The lock goes after a second in both runs, well inside the default
	// 5s: only a flag that reaches the store makes the first run fail.
	release := hold()
	done := make(chan struct{})
	time.AfterFunc(time.Second, func() { release(); close(done) })
	r := runCLI(t, nil, "bob-password\n", "--data", dir, "--db-busy-timeout", "50ms", "user", "add", "bob")
	<-done
	if r.code != exitError || !strings.Contains(r.stderr, "locked") {
		t.Errorf("user add with the database locked and --db-busy-timeout 50ms: exit %d, want 1 and \"locked\"\nstderr: %s", r.code, r.stderr)
	}

	release = hold()
	done = make(chan struct{})
	time.AfterFunc(time.Second, func() { release(); close(done) })
	mustRun(t, env{"MAILROOM_DB_BUSY_TIMEOUT": "30s"}, "bob-password\n", "--data", dir, "user", "add", "bob")
	<-done
	checkLogin(t, dir, "localhost", "bob", "bob-password", true)
}

// dialSMTP421 dials the SMTP server expecting a refusal, and gives the
// first line it sends.
func dialSMTP421(t *testing.T, addr string) string {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if n == 0 {
		t.Fatalf("read: %v", err)
	}
	return strings.TrimRight(string(buf[:n]), "\r\n")
}

func plainB64(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
}

// TestDocsListEveryFlag keeps the flag tables of docs/ops.md and README.md
// true: each flag and its environment variable must appear in both.
func TestDocsListEveryFlag(t *testing.T) {
	for _, name := range []string{filepath.Join("docs", "ops.md"), "README.md"} {
		doc, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		f := newFlags(env{}.get)
		f.fs.VisitAll(func(fl *flag.Flag) {
			want := []string{"`--" + fl.Name, "`" + envName(fl.Name) + "`"}
			if commandOnly[fl.Name] {
				want = want[:1] // export and import's own: no variable
			}
			for _, w := range want {
				if !strings.Contains(string(doc), w) {
					t.Errorf("%s does not mention %s", name, w)
				}
			}
		})
	}
}
