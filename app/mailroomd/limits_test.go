package main

import (
	"crypto/tls"
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
	// One over the cap is closed at once, before the handshake (without
	// the cap, a silent client would wait out the 10s handshake deadline).
	over, err := net.Dial("tcp", d.addrs["inbox"])
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	expectClosedRaw(t, over, 0)
	expectClosedRaw(t, ic.c, time.Second)
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
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
			for _, w := range []string{"`--" + fl.Name, "`" + envName(fl.Name) + "`"} {
				if !strings.Contains(string(doc), w) {
					t.Errorf("%s does not mention %s", name, w)
				}
			}
		})
	}
}
