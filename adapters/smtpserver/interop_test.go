package smtpserver

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Interop: clients nobody here wrote, run against a real server. A missing
// tool skips its test unless MAILROOM_REQUIRE_INTEROP=1 (CI), which fails it.

func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("MAILROOM_REQUIRE_INTEROP") == "1" {
			t.Fatalf("%s not found and MAILROOM_REQUIRE_INTEROP=1", name)
		}
		t.Skipf("%s not installed", name)
	}
	return path
}

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (h *harness) port() string {
	_, p, _ := net.SplitHostPort(h.addr)
	return p
}

// expectDelivered checks every user's inbox holds one message containing
// marker.
func (h *harness) expectDelivered(t *testing.T, marker string, users ...string) {
	t.Helper()
	for _, u := range users {
		n := 0
		for _, raw := range h.inbox(u) {
			if strings.Contains(raw, marker) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s has %d messages with %q, want 1", u, n, marker)
		}
	}
}

func interopHarness(t *testing.T) *harness {
	h := newHarness(t, Config{})
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		h.user(u)
	}
	return h
}

func TestInteropPythonSmtplib(t *testing.T) {
	py := requireTool(t, "python3")
	h := interopHarness(t)
	script := `
import smtplib, ssl, sys
port = int(sys.argv[1])
ctx = ssl._create_unverified_context()
msg = "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: python-plain\r\n\r\nHello from smtplib.\r\n.leading dot\r\n"
with smtplib.SMTP_SSL("127.0.0.1", port, local_hostname="python.test", context=ctx) as s:
    s.login("alice", "password-alice")  # picks PLAIN
    refused = s.sendmail("alice@example.test", ["bob@example.test", "carol"], msg)
    assert not refused, refused
    code, resp = s.docmd("PING")
    assert code == 250 and b"PONG" in resp, (code, resp)
with smtplib.SMTP_SSL("127.0.0.1", port, local_hostname="python.test", context=ctx) as s:
    s.ehlo("python.test")
    assert s.has_extn("xmailroom"), s.esmtp_features
    s.user, s.password = "alice@example.test", "password-alice"
    s.auth("LOGIN", s.auth_login)
    s.sendmail("alice@example.test", ["dave@example.test"], "Subject: python-login\r\n\r\nvia AUTH LOGIN\r\n")
with smtplib.SMTP_SSL("127.0.0.1", port, local_hostname="python.test", context=ctx) as s:
    try:
        s.login("alice", "wrong-password")
        sys.exit("bad password accepted")
    except smtplib.SMTPAuthenticationError as e:
        assert e.smtp_code == 535, e
print("ok")
`
	out := runTool(t, py, "-c", script, h.port())
	if !strings.Contains(out, "ok") {
		t.Fatalf("python: %s", out)
	}
	h.expectDelivered(t, "python-plain", "bob", "carol")
	h.expectDelivered(t, "python-login", "dave")
	if got := h.inbox("bob"); len(got) == 1 && !strings.HasSuffix(got[0], "Hello from smtplib.\r\n.leading dot\r\n") {
		t.Errorf("python message stored as %q", got[0])
	}
}

func TestInteropCurl(t *testing.T) {
	curl := requireTool(t, "curl")
	h := interopHarness(t)
	for _, tc := range []struct{ marker, login string }{
		{"curl-default", ""},
		{"curl-login", "AUTH=LOGIN"},
		{"curl-plain", "AUTH=PLAIN"},
	} {
		msg := filepath.Join(t.TempDir(), "msg.eml")
		body := "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: " + tc.marker + "\r\n\r\nHello from curl.\r\n"
		if err := os.WriteFile(msg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"-sS", "-k", "smtps://127.0.0.1:" + h.port(),
			"--user", "alice:password-alice",
			"--mail-from", "alice@example.test",
			"--mail-rcpt", "bob@example.test", "--mail-rcpt", "carol@example.test", "--mail-rcpt", "dave",
			"--upload-file", msg}
		if tc.login != "" {
			args = append(args, "--login-options", tc.login)
		}
		runTool(t, curl, args...)
		h.expectDelivered(t, tc.marker, "bob", "carol", "dave")
	}
	// With no mail to send, curl probes the server with HELP and prints
	// the reply.
	if out := runTool(t, curl, "-sS", "-k", "smtps://127.0.0.1:"+h.port()); !strings.Contains(out, "GETUSER") {
		t.Errorf("curl's HELP output: %q", out)
	}
	// A wrong password makes curl fail (exit 67, login denied).
	cmd := exec.Command(curl, "-sS", "-k", "smtps://127.0.0.1:"+h.port(), "--user", "alice:nope-nope",
		"--mail-from", "alice@example.test", "--mail-rcpt", "bob@example.test", "--upload-file", os.DevNull)
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("curl with a wrong password succeeded: %s", out)
	}
}

func TestInteropSwaks(t *testing.T) {
	swaks := requireTool(t, "swaks")
	h := interopHarness(t)
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		marker := "swaks-" + strings.ToLower(mech)
		out := runTool(t, swaks, "--server", "127.0.0.1", "--port", h.port(), "--tls-on-connect",
			"--auth", mech, "--auth-user", "alice", "--auth-password", "password-alice",
			"--from", "alice@example.test", "--to", "bob@example.test,carol@example.test",
			"--header", "Subject: "+marker, "--body", "Hello from swaks.", "--helo", "swaks.test")
		if !strings.Contains(out, "XMAILROOM") {
			t.Errorf("swaks transcript lacks the EHLO line:\n%s", out)
		}
		h.expectDelivered(t, marker, "bob", "carol")
	}
}
