package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailroom/adapters/sqlite"
)

// sendMail sends one message from user to rcpt over SMTP and waits for the
// 250 that says it is stored.
func sendMail(t *testing.T, d *daemon, user, password, rcpt, body string) {
	t.Helper()
	s := dialSMTP(t, d.addrs["smtp"], d.fingerprint)
	s.login(user, password)
	s.cmd(250, "MAIL FROM:<%s@localhost>", user)
	s.cmd(250, "RCPT TO:<%s>", rcpt)
	s.cmd(354, "DATA")
	fmt.Fprintf(s.tc.W, "%s\r\n.\r\n", strings.ReplaceAll(body, "\n.", "\n.."))
	s.tc.W.Flush()
	s.expect(250)
	s.cmd(221, "QUIT")
}

// httpGet gives the status and body of a GET.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestMetricsAfterDelivery(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, nil, "alice-password\n", "--data", dir, "user", "add", "alice")
	mustRun(t, nil, "bob-password!\n", "--data", dir, "user", "add", "bob")
	d := startDaemon(t, dir, "--imap-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	base := "http://" + d.addrs["metrics"]
	if d.addrs["metrics"] == "" {
		t.Fatalf("no metrics listener: %v", d.addrs)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := httpGet(t, base+p); code != http.StatusOK {
			t.Errorf("%s: %d %q, want 200", p, code, body)
		}
	}

	sendMail(t, d, "alice", "alice-password", "bob@localhost", "Subject: counted\r\n\r\nhello")
	// One failed login over SMTP, and one over the inbox protocol.
	s := dialSMTP(t, d.addrs["smtp"], d.fingerprint)
	s.cmd(250, "EHLO test.example")
	s.cmd(535, "AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00alice\x00wrong-password")))
	ic := dialInbox(t, d.addrs["inbox"], d.fingerprint)
	ic.do(`{"tag":1,"op":"login","user":"bob","password":"wrong-password"}`)

	_, text := httpGet(t, base+"/metrics")
	for _, want := range []string{
		`mailroom_smtp_transactions_total{result="2xx"} 1`,
		`mailroom_smtp_transactions_total{result="5xx"} 0`,
		`mailroom_deliveries_total 1`,
		`mailroom_connections{server="smtp"}`,
		`mailroom_connections{server="inbox"} 1`, // ic is still open
		`mailroom_connections{server="imap"} 0`,
		`mailroom_auth_failures_total{server="smtp"} 1`,
		`mailroom_auth_failures_total{server="inbox"} 1`,
		`mailroom_throttled_total{server="smtp"} 0`,
		`mailroom_store_commit_seconds_count 1`,
		`mailroom_store_commit_seconds_bucket{le="+Inf"} 1`,
		`mailroom_store_write_requests_total`,
		`mailroom_store_group_commits_total`,
		`mailroom_watchers 0`,
		`mailroom_feed_lag_entries`,
		`go_goroutines`,
		`go_gc_duration_seconds`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Every metric the example dashboard and rules use exists.
	for _, doc := range []string{"grafana-dashboard.json", "prometheus.yml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "docs", doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range regexp.MustCompile(`\b(?:mailroom|go|process)_[a-z_]+[a-z]`).FindAllString(string(b), -1) {
			if !strings.Contains(text, "\n"+name) && !strings.HasPrefix(name, "mailroom_rules") {
				t.Errorf("docs/%s uses %s, which /metrics does not have", doc, name)
			}
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, d.logs)
	}
}

func TestNodeReady(t *testing.T) {
	st, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "mailroom.db")})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{servers: []running{{name: "smtp"}, {name: "inbox"}}, db: &storeWiring{store: st}}
	n.up.Store(2)
	if err := n.ready(t.Context()); err != nil {
		t.Errorf("ready: %v", err)
	}
	n.up.Store(1)
	if err := n.ready(t.Context()); err == nil {
		t.Error("ready with one of two servers down")
	}
	n.up.Store(2)
	st.Close()
	if err := n.ready(t.Context()); err == nil || !strings.Contains(err.Error(), "database") {
		t.Errorf("ready with the store closed: %v", err)
	}
}

func TestMetricsAddrLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--metrics-addr", "0.0.0.0:9100"}, exitUsage},
		{[]string{"--metrics-addr", "192.0.2.1:9100"}, exitUsage},
		{[]string{"--metrics-addr", "[::1]:9100", "version"}, exitOK},
		{[]string{"--metrics-addr", "0.0.0.0:9100", "--metrics-public", "version"}, exitOK},
	} {
		r := runCLI(t, nil, "", append([]string{"--data", t.TempDir()}, tc.args...)...)
		if r.code != tc.code {
			t.Errorf("%q: exit %d, want %d; stderr %q", tc.args, r.code, tc.code, r.stderr)
		}
		if tc.code == exitUsage && !strings.Contains(r.stderr, "--metrics-public") {
			t.Errorf("%q: stderr %q does not point at --metrics-public", tc.args, r.stderr)
		}
	}
}
