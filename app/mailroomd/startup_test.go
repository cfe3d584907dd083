package main

import (
	"database/sql"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPortInUseLeavesNothing: a start that fails on a taken port creates
// no data directory, certificate or database.
func TestPortInUseLeavesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := filepath.Join(t.TempDir(), "data")
	for _, args := range [][]string{
		{"--smtp-addr", ln.Addr().String(), "--inbox-addr", "127.0.0.1:0", "--imap-addr", "127.0.0.1:0"},
		{"--smtp-addr", "127.0.0.1:0", "--inbox-addr", "127.0.0.1:0", "--imap-addr", "127.0.0.1:0", "--metrics-addr", ln.Addr().String()},
	} {
		r := runCLI(t, nil, "", append([]string{"--data", dir, "--log-format", "json"}, args...)...)
		if r.code != exitError || !strings.Contains(r.stderr, "address already in use") {
			t.Errorf("%q: exit %d, stderr %q", args, r.code, r.stderr)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%q: the failed start left %s behind (%v)", args, dir, err)
		}
	}
}

func TestStartupErrorsNameTheirFiles(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "mailroom.db")
	writeFile(t, db, []byte(strings.Repeat("not a database. ", 64)), 0o600)
	r := runCLI(t, nil, "", "--data", dir, "user", "list")
	if r.code != exitError || !strings.Contains(r.stderr, db) {
		t.Errorf("garbage database: exit %d, stderr %q; want the file named", r.code, r.stderr)
	}
	r = runCLI(t, nil, "", "--data", dir, "--log-format", "json", "--smtp-addr", "127.0.0.1:0", "--inbox-addr", "127.0.0.1:0", "--imap-addr", "")
	if r.code != exitError || !strings.Contains(r.stderr, db) {
		t.Errorf("serve on a garbage database: exit %d, stderr %q", r.code, r.stderr)
	}

	missing := filepath.Join(t.TempDir(), "c.pem")
	r = runCLI(t, nil, "", "--data", t.TempDir(), "--cert", missing, "--key", "/etc/k.pem", "cert")
	if r.code != exitError || strings.Contains(r.stderr, "//") || !strings.Contains(r.stderr, missing) || !strings.Contains(r.stderr, "/etc/k.pem") {
		t.Errorf("missing pair: stderr %q; want both paths, no A//B", r.stderr)
	}
}

func TestUserErrorsSayTheCommand(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, nil, "alice-password\n", "--data", dir, "user", "add", "alice")
	for _, tc := range []struct {
		stdin string
		args  []string
	}{
		{"alice-password\n", []string{"user", "add", "alice"}},    // taken
		{"alice-password\n", []string{"user", "add", "Bad Name"}}, // bad name
		{"short\n", []string{"user", "add", "bob"}},               // weak password
		{"", []string{"user", "add", "bob"}},                      // no password
		{"new-password-1\n", []string{"user", "passwd", "nobody"}},
		{"", []string{"user", "delete", "nobody"}},
	} {
		r := runCLI(t, nil, tc.stdin, append([]string{"--data", dir}, tc.args...)...)
		want := "mailroomd: user " + tc.args[1] + ": "
		if r.code != exitError || !strings.HasPrefix(r.stderr, want) {
			t.Errorf("%q: exit %d, stderr %q; want 1 and the prefix %q", tc.args, r.code, r.stderr, want)
		}
	}
}

// TestDebugLogsEachConnection: --log-level debug logs each connection's
// start (TLS version) and end (duration); the DATA line records the
// reply the client got.
func TestDebugLogsEachConnection(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, nil, "alice-password\n", "--data", dir, "user", "add", "alice")
	d := startDaemon(t, dir, "--imap-addr", "127.0.0.1:0") // at debug level
	sendMail(t, d, "alice", "alice-password", "alice@localhost", "Subject: logged\r\n\r\nhi")
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	logs := d.logs.String()
	for _, want := range []string{
		`"msg":"connection","remote":"127.0.0.1","tls":"TLS 1.3"`,
		`"msg":"connection closed","remote":"127.0.0.1","duration":`,
		`"msg":"auth","remote":"127.0.0.1","user":"alice"`,
		`"result":"250 2.0.0 OK: stored"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
}

// TestFetchRawStartsWithReceived: protocol.md says fetch's raw is the
// message with the server's Received: header in front.
func TestFetchRawStartsWithReceived(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, nil, "alice-password\n", "--data", dir, "user", "add", "alice")
	d := startDaemon(t, dir, "--imap-addr", "127.0.0.1:0")
	sendMail(t, d, "alice", "alice-password", "alice@localhost", "Subject: traced\r\n\r\nhi")
	ic := dialInbox(t, d.addrs["inbox"], d.fingerprint)
	mustOK(t, "login", ic.do(`{"tag":1,"op":"login","user":"alice","password":"alice-password"}`))
	list := ic.do(`{"tag":2,"op":"list","folder":"inbox"}`)
	msgs, _ := list["messages"].([]any)
	if len(msgs) != 1 {
		t.Fatalf("list: %v", list)
	}
	id := msgs[0].(map[string]any)["id"]
	resp := ic.do(fmt.Sprintf(`{"tag":3,"op":"fetch","id":%v}`, id))
	m, _ := resp["message"].(map[string]any)
	raw, err := base64.StdEncoding.DecodeString(fmt.Sprint(m["raw"]))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), "Received: from test.example ([127.0.0.1])\r\n\tby localhost (Mailroom) with ESMTPSA\r\n\t(TLS 1.3 ") ||
		!strings.HasSuffix(string(raw), "\r\nSubject: traced\r\n\r\nhi\r\n") || int(m["size"].(float64)) != len(raw) {
		t.Errorf("raw %q, size %v", raw, m["size"])
	}
}

// TestReadmeQueries: README's sqlite3 query runs on the schema as it is.
func TestReadmeQueries(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)sqlite3 "\$DB" "(SELECT .*?)"\n`).FindSubmatch(readme)
	if m == nil {
		t.Fatal(`README has no sqlite3 "$DB" "SELECT …" line`)
	}
	dir := t.TempDir()
	mustRun(t, nil, "alice-password\n", "--data", dir, "user", "add", "alice")
	db, err := sql.Open("sqlite", filepath.Join(dir, "mailroom.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(string(m[1]))
	if err != nil {
		t.Fatalf("README's query: %v\n%s", err, m[1])
	}
	rows.Close()
}
