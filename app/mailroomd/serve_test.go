package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"mailroom/adapters/certs"
	"mailroom/adapters/inboxwire"
	"mailroom/adapters/listener"
	"mailroom/adapters/sqlite"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// daemon is a `serve` (or smtp, inbox) run in-process.
type daemon struct {
	t           *testing.T
	cancel      context.CancelFunc
	done        chan int
	logs        *lineWriter
	addrs       map[string]string // adapter name → bound address
	fingerprint string
}

// logLine is the part of a JSON log line the tests read.
type logLine struct {
	Level   string `json:"level"`
	Logger  string `json:"logger"`
	Msg     string `json:"msg"`
	Adapter string `json:"adapter"`
	Addr    string `json:"addr"`
	SHA256  string `json:"sha256"`
	Error   string `json:"error"`
}

// logLines decodes every JSON log line written so far.
func logLines(t *testing.T, w *lineWriter) []logLine {
	t.Helper()
	var out []logLine
	for _, line := range strings.Split(strings.TrimSpace(w.String()), "\n") {
		var l logLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, l)
	}
	return out
}

// startDaemon runs mailroomd with args plus JSON logs and ephemeral
// addresses, and waits for its "started" line. The test's cleanup stops it
// if the test did not.
func startDaemon(t *testing.T, dataDir string, args ...string) *daemon {
	t.Helper()
	d := launchDaemon(t, dataDir, args...)
	d.waitStarted(d.logs.lines, d.done)
	return d
}

// launchDaemon is startDaemon without the wait for "started".
func launchDaemon(t *testing.T, dataDir string, args ...string) *daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{t: t, cancel: cancel, done: make(chan int, 1), logs: newLineWriter(), addrs: map[string]string{}}
	all := append([]string{
		"--data", dataDir, "--log-format", "json", "--log-level", "debug",
		"--smtp-addr", "127.0.0.1:0", "--inbox-addr", "127.0.0.1:0", "--imap-addr", "127.0.0.1:0", "--grace", "10s",
	}, args...)
	c := &cli{stdin: strings.NewReader(""), stdout: d.logs, stderr: d.logs, getenv: env{}.get}
	go func() { d.done <- c.run(ctx, all) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(20 * time.Second):
			t.Errorf("daemon did not stop; log:\n%s", d.logs)
		}
	})
	return d
}

// waitStarted reads log lines until "mailroomd started", collecting the
// listening addresses and the fingerprint.
func (d *daemon) waitStarted(lines <-chan string, done <-chan int) {
	d.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line := <-lines:
			var l logLine
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				d.t.Fatalf("log line is not JSON: %q", line)
			}
			switch l.Msg {
			case "listening":
				d.addrs[l.Adapter] = l.Addr
			case "mailroomd started":
				d.fingerprint = l.SHA256
				return
			}
		case code := <-done:
			d.t.Fatalf("daemon exited %d before it started; log:\n%s", code, d.logs)
		case <-timeout:
			d.t.Fatalf("daemon did not start; log:\n%s", d.logs)
		}
	}
}

// stop cancels the run (what SIGTERM does) and gives its exit code.
func (d *daemon) stop() int {
	d.t.Helper()
	d.cancel()
	select {
	case code := <-d.done:
		d.done <- code // for the cleanup
		return code
	case <-time.After(15 * time.Second):
		d.t.Fatalf("run did not return after cancel; log:\n%s", d.logs)
		return -1
	}
}

// dialTLS dials addr and checks that the server's certificate is the one
// with the pinned fingerprint, the way the client pins it.
func dialTLS(t *testing.T, addr, fingerprint string) *tls.Conn {
	t.Helper()
	conf := &tls.Config{
		InsecureSkipVerify: true, // replaced by the pin below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || certs.FingerprintDER(raw[0]) != fingerprint {
				return errors.New("certificate does not match the pinned fingerprint")
			}
			return nil
		},
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(dialer, "tcp", addr, conf)
	if err != nil {
		t.Fatalf("TLS dial %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// smtpConn is a small SMTP dialogue helper.
type smtpConn struct {
	t        *testing.T
	tc       *textproto.Conn
	greeting string
}

func dialSMTP(t *testing.T, addr, fingerprint string) *smtpConn {
	t.Helper()
	s := &smtpConn{t: t, tc: textproto.NewConn(dialTLS(t, addr, fingerprint))}
	s.greeting = s.expect(220)
	return s
}

// cmd sends a line and expects a reply with code; it gives the reply text.
func (s *smtpConn) cmd(code int, format string, args ...any) string {
	s.t.Helper()
	if err := s.tc.PrintfLine(format, args...); err != nil {
		s.t.Fatalf("send %q: %v", format, err)
	}
	return s.expect(code)
}

func (s *smtpConn) expect(code int) string {
	s.t.Helper()
	_, msg, err := s.tc.ReadResponse(code)
	if err != nil {
		s.t.Fatalf("want %d: %v", code, err)
	}
	return msg
}

func (s *smtpConn) login(user, password string) {
	s.t.Helper()
	s.cmd(250, "EHLO test.example")
	s.cmd(235, "AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+password)))
}

// inboxConn is a small inbox-protocol dialogue helper.
type inboxConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialInbox(t *testing.T, addr, fingerprint string) *inboxConn {
	t.Helper()
	c := dialTLS(t, addr, fingerprint)
	return &inboxConn{t: t, c: c, br: bufio.NewReader(c)}
}

// do sends one request and reads one line back.
func (ic *inboxConn) do(req string) map[string]any {
	ic.t.Helper()
	if _, err := fmt.Fprintf(ic.c, "%s\n", req); err != nil {
		ic.t.Fatalf("send: %v", err)
	}
	return ic.read()
}

func (ic *inboxConn) read() map[string]any {
	ic.t.Helper()
	line, err := ic.br.ReadString('\n')
	if err != nil {
		ic.t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		ic.t.Fatalf("response %q: %v", line, err)
	}
	return m
}

func mustOK(t *testing.T, what string, resp map[string]any) {
	t.Helper()
	if resp["ok"] != true {
		t.Fatalf("%s: %v", what, resp)
	}
}

func TestServeListensAndStops(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir)
	if d.addrs["smtp"] == "" || d.addrs["inbox"] == "" {
		t.Fatalf("listening lines: %v", d.addrs)
	}
	// The logged fingerprint is what `cert` prints.
	if r := mustRun(t, nil, "", "--data", dir, "cert"); firstLine(r.stdout) != d.fingerprint+"\n" {
		t.Errorf("logged fingerprint %q, cert prints %q", d.fingerprint, r.stdout)
	}

	s := dialSMTP(t, d.addrs["smtp"], d.fingerprint)
	s.cmd(250, "EHLO test.example")
	ic := dialInbox(t, d.addrs["inbox"], d.fingerprint)
	mustOK(t, "ping", ic.do(`{"op":"ping"}`))

	start := time.Now()
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, d.logs)
	}
	// Idle connections do not hold shutdown up for the grace period.
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("shutdown took %v with only idle connections", el)
	}
	// Nothing listens any more.
	for name, addr := range d.addrs {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts on %s", name, addr)
		}
	}
	logs := d.logs.String()
	for _, w := range []string{`"msg":"shutting down"`, `"msg":"mailroomd stopped"`} {
		if !strings.Contains(logs, w) {
			t.Errorf("log lacks %s", w)
		}
	}
}

func TestServeDeliversAndShutsDownGracefully(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, nil, "alice-password\n", "--data", dir, "user", "add", "alice")
	mustRun(t, nil, "bob-password!\n", "--data", dir, "user", "add", "bob")
	d := startDaemon(t, dir, "--registration", "closed")

	s := dialSMTP(t, d.addrs["smtp"], d.fingerprint)
	s.login("alice", "alice-password")
	s.cmd(250, "MAIL FROM:<alice@localhost>")
	s.cmd(250, "RCPT TO:<bob@localhost>")
	s.cmd(354, "DATA")
	w := s.tc.W
	fmt.Fprintf(w, "Subject: in flight\r\nTo: bob@localhost\r\n\r\nfirst half\r\n")
	w.Flush()

	// SIGTERM arrives while the body is being sent.
	d.cancel()
	waitLog(t, d.logs, "shutting down")
	// New connections are refused once shutdown has begun.
	waitRefused(t, d.addrs["smtp"])

	fmt.Fprintf(w, "second half\r\n.\r\n")
	w.Flush()
	s.expect(250)

	select {
	case code := <-d.done:
		d.done <- code
		if code != 0 {
			t.Fatalf("exit %d; log:\n%s", code, d.logs)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("run did not return; log:\n%s", d.logs)
	}
	for _, secret := range []string{"alice-password", base64.StdEncoding.EncodeToString([]byte("\x00alice\x00alice-password")), "first half"} {
		if strings.Contains(d.logs.String(), secret) {
			t.Errorf("the log contains %q", secret)
		}
	}

	// The message is on disk for bob.
	ctx := context.Background()
	store, err := sqlite.Open(ctx, sqlite.Config{Path: config{DataDir: dir}.DBPath()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	bob, err := store.AccountByName(ctx, account.Username("bob"))
	if err != nil {
		t.Fatal(err)
	}
	metas, err := store.List(ctx, bob.ID, mail.Inbox, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(metas) != 1 || metas[0].Subject != "in flight" {
		t.Fatalf("bob's inbox: %+v", metas)
	}
	msg, err := store.Fetch(ctx, bob.ID, metas[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(msg.Raw), "first half\r\nsecond half") {
		t.Errorf("stored body: %q", msg.Raw)
	}
}

func TestTwoProcessMode(t *testing.T) {
	// smtp and inbox as two runs sharing one database: a message submitted
	// to one is pushed by the other to a watching client.
	// Both start at once on a fresh data directory: they must agree on one
	// certificate and not trip over each other's migrations.
	dir := t.TempDir()
	smtpd := launchDaemon(t, dir, "smtp")
	inboxd := launchDaemon(t, dir, "inbox")
	smtpd.waitStarted(smtpd.logs.lines, smtpd.done)
	inboxd.waitStarted(inboxd.logs.lines, inboxd.done)
	mustRun(t, nil, "alice-password\n", "--data", dir, "user", "add", "alice")
	if _, ok := smtpd.addrs["inbox"]; ok || smtpd.addrs["smtp"] == "" {
		t.Fatalf("smtp mode listens on %v", smtpd.addrs)
	}
	if _, ok := inboxd.addrs["smtp"]; ok || inboxd.addrs["inbox"] == "" {
		t.Fatalf("inbox mode listens on %v", inboxd.addrs)
	}
	if smtpd.fingerprint != inboxd.fingerprint {
		t.Errorf("fingerprints differ: %s, %s", smtpd.fingerprint, inboxd.fingerprint)
	}

	ic := dialInbox(t, inboxd.addrs["inbox"], inboxd.fingerprint)
	mustOK(t, "login", ic.do(`{"op":"login","user":"alice","password":"alice-password"}`))
	mustOK(t, "watch", ic.do(`{"op":"watch"}`))

	s := dialSMTP(t, smtpd.addrs["smtp"], smtpd.fingerprint)
	s.login("alice", "alice-password")
	s.cmd(250, "MAIL FROM:<alice@localhost>")
	s.cmd(250, "RCPT TO:<alice@localhost>")
	s.cmd(354, "DATA")
	s.cmd(250, "Subject: note to self\r\n\r\nhello\r\n.")
	s.cmd(221, "QUIT")

	// Alice gets two entries (inbox and sent); wait for the inbox one.
	for {
		ev := ic.read()
		if ev["event"] != inboxwire.EventMessage {
			t.Fatalf("unexpected line while watching: %v", ev)
		}
		m, _ := ev["message"].(map[string]any)
		if m["folder"] == "inbox" {
			if m["subject"] != "note to self" {
				t.Errorf("event: %v", m)
			}
			break
		}
	}
	if code := smtpd.stop(); code != 0 {
		t.Errorf("smtp exit %d", code)
	}
	if code := inboxd.stop(); code != 0 {
		t.Errorf("inbox exit %d", code)
	}
}

func TestServeAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := runCLI(t, nil, "", "--data", t.TempDir(), "--log-format", "json",
		"--smtp-addr", "127.0.0.1:0", "--imap-addr", "127.0.0.1:0", "--inbox-addr", ln.Addr().String())
	if r.code != exitError || !strings.Contains(r.stderr, "address already in use") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// waitLog waits for a log line with msg.
func waitLog(t *testing.T, w *lineWriter, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(w.String(), `"msg":"`+msg+`"`) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %q in the log:\n%s", msg, w)
}

// waitRefused waits until addr refuses TCP connections.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%s still accepts connections during shutdown", addr)
}

func TestServeFlagsReachTheServers(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir, "--registration", "closed", "--max-message", "1MiB", "--domain", "example.org")
	s := dialSMTP(t, d.addrs["smtp"], d.fingerprint)
	ehlo := s.cmd(250, "EHLO test.example")
	if !strings.Contains(ehlo, "SIZE 1048576") {
		t.Errorf("EHLO does not advertise --max-message:\n%s", ehlo)
	}
	if !strings.HasPrefix(s.greeting, "example.org") {
		t.Errorf("the greeting does not name --domain: %q", s.greeting)
	}
	s.cmd(554, "REG carol carol-password")
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}

	// Open registration: REG creates an account in the domain.
	d = startDaemon(t, dir, "--domain", "example.org")
	s = dialSMTP(t, d.addrs["smtp"], d.fingerprint)
	s.cmd(250, "EHLO test.example")
	s.cmd(250, "REG carol carol-password")
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if list := mustRun(t, nil, "", "--data", dir, "--domain", "example.org", "user", "list").stdout; !strings.Contains(list, "carol@example.org") {
		t.Errorf("REG did not create carol:\n%s", list)
	}
}

func TestServeGraceRunsOut(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, nil, "alice-password\n", "--data", dir, "user", "add", "alice")
	d := startDaemon(t, dir, "--grace", "300ms")
	s := dialSMTP(t, d.addrs["smtp"], d.fingerprint)
	s.login("alice", "alice-password")
	s.cmd(250, "MAIL FROM:<alice@localhost>")
	s.cmd(250, "RCPT TO:<alice@localhost>")
	s.cmd(354, "DATA")
	fmt.Fprintf(s.tc.W, "Subject: never finished\r\n\r\n")
	s.tc.W.Flush()

	start := time.Now()
	// A transfer was cut: the exit code says the stop was not clean.
	if code := d.stop(); code != exitError {
		t.Fatalf("exit %d, want %d; log:\n%s", code, exitError, d.logs)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("shutdown took %v with a 300ms grace period", el)
	}
	// The log says, as an error with the server's reason, which server cut
	// connections; the idle inbox server stopped in time and is not blamed.
	cut := map[string]bool{}
	for _, l := range logLines(t, d.logs) {
		if strings.HasPrefix(l.Msg, "grace period over") && l.Level == "error" && l.Error != "" {
			cut[l.Adapter] = true
		}
	}
	if !cut["smtp"] || cut["inbox"] {
		t.Errorf("grace period over logged for %v, want smtp only:\n%s", cut, d.logs)
	}
	// The unfinished message was not stored.
	ctx := context.Background()
	store, err := sqlite.Open(ctx, sqlite.Config{Path: config{DataDir: dir}.DBPath()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	alice, err := store.AccountByName(ctx, account.Username("alice"))
	if err != nil {
		t.Fatal(err)
	}
	if total, _, err := store.Count(ctx, alice.ID, mail.Inbox); err != nil || total != 0 {
		t.Errorf("inbox count %d, %v; want 0", total, err)
	}
}

// fakeServer is a server whose Shutdown gives err.
type fakeServer struct {
	err     error
	stopped chan struct{}
}

func newFakeServer(err error) *fakeServer { return &fakeServer{err: err, stopped: make(chan struct{})} }

func (f *fakeServer) Serve(ln net.Listener) error {
	<-f.stopped
	return listener.ErrServerClosed
}

func (f *fakeServer) Shutdown(context.Context) error {
	close(f.stopped)
	return f.err
}

func TestShutdownReportsCutConnections(t *testing.T) {
	for _, tc := range []struct {
		name      string
		errs      map[string]error
		wantClean bool
		wantCut   map[string]int // adapter → cut field; -1: logged without a count
	}{
		{"all stopped in time", map[string]error{"smtp": nil, "inbox": nil}, true, nil},
		{"listener core counts what it cut", map[string]error{
			"smtp":  &listener.CutError{Conns: 2, Err: context.DeadlineExceeded},
			"inbox": nil,
		}, false, map[string]int{"smtp": 2}},
		{"any other error counts too", map[string]error{
			"smtp":  nil,
			"inbox": context.DeadlineExceeded,
		}, false, map[string]int{"inbox": -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := newLineWriter()
			n := &node{log: newLogger(config{LogFormat: "json", LogLevel: zapcore.DebugLevel}, logs)}
			for name, err := range tc.errs {
				ln, err2 := net.Listen("tcp", "127.0.0.1:0")
				if err2 != nil {
					t.Fatal(err2)
				}
				defer ln.Close()
				n.servers = append(n.servers, running{name: name, srv: newFakeServer(err), ln: ln})
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			n.run(ctx, config{}, "serve")
			if clean := n.shutdown(time.Second); clean != tc.wantClean {
				t.Errorf("shutdown clean = %v, want %v; log:\n%s", clean, tc.wantClean, logs)
			}
			got := map[string]int{}
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var l struct {
					Msg     string `json:"msg"`
					Level   string `json:"level"`
					Adapter string `json:"adapter"`
					Cut     *int   `json:"cut"`
				}
				if err := json.Unmarshal([]byte(line), &l); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				if strings.HasPrefix(l.Msg, "grace period over") {
					got[l.Adapter] = -1
					if l.Cut != nil {
						got[l.Adapter] = *l.Cut
					}
					if l.Level != "error" {
						t.Errorf("logged at %s, want error", l.Level)
					}
				}
				if l.Msg == "serve" {
					t.Errorf("ErrServerClosed after Shutdown logged as a failure: %s", line)
				}
			}
			if len(got) != len(tc.wantCut) {
				t.Fatalf("cut logged for %v, want %v", got, tc.wantCut)
			}
			for a, w := range tc.wantCut {
				if got[a] != w {
					t.Errorf("%s: cut %d, want %d", a, got[a], w)
				}
			}
		})
	}
}
