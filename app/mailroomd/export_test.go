package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mailroom/adapters/mbox"
)

// exportMessages are sent over SMTP, so each is stored with the Received
// header the server prepends; the bodies hold lines mboxrd must escape.
var exportMessages = []string{
	"Message-ID: <one@test>\r\nSubject: plain\r\nFrom: alice@localhost\r\n\r\nnothing special\r\n",
	"Message-ID: <two@test>\r\nSubject: from lines\r\nFrom: alice@localhost\r\n\r\nFrom the start of a line\r\n>From quoted once\r\n>>From quoted twice\r\n",
	"Message-ID: <three@test>\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nFrom: alice@localhost\r\n\r\nends with a blank line\r\n\r\n",
}

// rawMessages reads an mbox the way import does.
func rawMessages(t *testing.T, data []byte) [][]byte {
	t.Helper()
	var out [][]byte
	r := mbox.NewReader(bytes.NewReader(data), 0)
	for {
		m, err := r.Next()
		if err != nil {
			break
		}
		out = append(out, m.Raw)
	}
	return out
}

func TestExportImportRoundTrip(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, nil, "alice-password\n", "--data", dir, "user", "add", "alice")
	mustRun(t, nil, "bob-password!\n", "--data", dir, "user", "add", "bob")
	d := startDaemon(t, dir, "--imap-addr", "127.0.0.1:0")
	for _, m := range exportMessages {
		sendMail(t, d, "alice", "alice-password", "bob@localhost", strings.TrimSuffix(m, "\r\n"))
	}

	// While the daemon runs: to stdout, and to a file.
	out := mustRun(t, nil, "", "--data", dir, "export", "--user", "bob")
	file := filepath.Join(t.TempDir(), "bob.mbox")
	mustRun(t, nil, "", "--data", dir, "export", "--user", "bob@localhost", "--folder", "INBOX", "--out", file)
	fromFile, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if out.stdout != string(fromFile) {
		t.Error("stdout and --out differ")
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("--out file mode %v, want 0600", fi.Mode().Perm())
	}
	if !strings.Contains(out.stderr, "exported 3 messages of bob/inbox") {
		t.Errorf("stderr %q", out.stderr)
	}
	if !strings.Contains(out.stdout, "\r\n>From the start of a line\r\n>>From quoted once\r\n>>>From quoted twice\r\n") {
		t.Errorf("From lines not escaped mboxrd-style:\n%s", out.stdout)
	}
	got := rawMessages(t, fromFile)
	if len(got) != len(exportMessages) {
		t.Fatalf("%d messages in the export, want %d", len(got), len(exportMessages))
	}
	for i, raw := range got {
		// What was sent, after the Received header the server added.
		if !bytes.HasPrefix(raw, []byte("Received: ")) || !bytes.HasSuffix(raw, []byte(exportMessages[i])) {
			t.Errorf("message %d exported as %q, want Received: then %q", i, raw, exportMessages[i])
		}
	}
	if r := runCLI(t, nil, "", "--data", dir, "export", "--user", "bob", "--out", file); r.code != exitError || !strings.Contains(r.stderr, "exists") {
		t.Errorf("export over a file: exit %d, %q", r.code, r.stderr)
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}

	// Into another server, twice: the second run adds nothing.
	dir2 := t.TempDir()
	mustRun(t, nil, "carol-password\n", "--data", dir2, "user", "add", "carol")
	r := mustRun(t, nil, "", "--data", dir2, "import", "--user", "carol", file)
	if !strings.Contains(r.stdout, "imported 3 messages into carol/inbox; skipped 0") {
		t.Errorf("import said %q", r.stdout)
	}
	r = mustRun(t, nil, "", "--data", dir2, "import", "--user", "carol", file)
	if !strings.Contains(r.stdout, "imported 0 messages into carol/inbox; skipped 3") {
		t.Errorf("second import said %q", r.stdout)
	}
	back := mustRun(t, nil, "", "--data", dir2, "export", "--user", "carol").stdout
	again := rawMessages(t, []byte(back))
	if len(again) != len(got) {
		t.Fatalf("%d messages after the round trip, want %d", len(again), len(got))
	}
	for i := range got {
		if !bytes.Equal(again[i], got[i]) {
			t.Errorf("message %d changed on the round trip:\n%q\n%q", i, got[i], again[i])
		}
	}
	// The From lines keep the received time too.
	if fromLines(back) != fromLines(string(fromFile)) {
		t.Errorf("dates changed:\n%s\n%s", fromLines(string(fromFile)), fromLines(back))
	}
	checkWithPython(t, file, got)
}

// fromLines gives the dates of an mbox's From lines.
func fromLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "From ") {
			_, date, _ := strings.Cut(l[5:], " ")
			out = append(out, date)
		}
	}
	return strings.Join(out, "\n")
}

// checkWithPython reads the export with Python's mailbox module (mboxo
// reading: the escapes stay), which must find every message, its subject,
// and the first message's bytes exactly.
func checkWithPython(t *testing.T, file string, want [][]byte) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("no python3: the export is not read with Python's mailbox")
		return
	}
	script := `
import mailbox, sys
mb = mailbox.mbox(sys.argv[1], create=False)
keys = sorted(mb.keys())
print(len(keys))
for k in keys:
    print(str(mailbox.mboxMessage(mb.get_bytes(k))['subject']))
sys.stdout.flush()
sys.stdout.buffer.write(mb.get_bytes(keys[0]))
`
	out, err := exec.Command(py, "-c", script, file).Output()
	if err != nil {
		t.Fatalf("python3 mailbox: %v", err)
	}
	head, first, _ := strings.Cut(string(out), "=?utf-8?q?caf=C3=A9?=\n")
	if head != "3\nplain\nfrom lines\n" {
		t.Errorf("python3 read %q", out)
	}
	if first != string(want[0]) {
		t.Errorf("python3's first message %q, want %q", first, want[0])
	}
}

func TestImportMaildir(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, nil, "carol-password\n", "--data", dir, "user", "add", "carol")
	md := t.TempDir()
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.Mkdir(filepath.Join(md, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	msgs := map[string]string{
		"cur/1700000001.a.host:2,S": "Message-ID: <a@x>\nSubject: seen one\n\nbody\n",
		"new/1700000002.b.host":     "Message-ID: <b@x>\nSubject: new one\n\nFrom here\n",
	}
	for name, body := range msgs {
		writeFile(t, filepath.Join(md, name), []byte(body), 0o600)
	}
	r := mustRun(t, nil, "", "--data", dir, "import", "--user", "carol", md)
	if !strings.Contains(r.stdout, "imported 2 messages into carol/inbox; skipped 0") {
		t.Errorf("import said %q", r.stdout)
	}
	got := rawMessages(t, []byte(mustRun(t, nil, "", "--data", dir, "export", "--user", "carol").stdout))
	if len(got) != 2 || string(got[0]) != msgs["new/1700000002.b.host"] || string(got[1]) != msgs["cur/1700000001.a.host:2,S"] {
		t.Errorf("exported after the Maildir import: %q", got)
	}
}

func TestImportExportRefusals(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, nil, "carol-password\n", "--data", dir, "user", "add", "carol")
	notMbox := filepath.Join(t.TempDir(), "x.txt")
	writeFile(t, notMbox, []byte("Subject: no From line\n\n"), 0o600)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"export"}, exitUsage, "--user"},
		{[]string{"export", "--user", "nobody"}, exitError, "nobody"},
		{[]string{"export", "--user", "carol", "--folder", "no such"}, exitError, "no such"},
		{[]string{"import", "--user", "carol"}, exitUsage, "FILE"},
		{[]string{"import", "--user", "carol", notMbox}, exitError, "not an mbox"},
		{[]string{"import", "--user", "carol", filepath.Join(dir, "missing")}, exitError, "missing"},
	} {
		r := runCLI(t, nil, "", append([]string{"--data", dir}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
}
