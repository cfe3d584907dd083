package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mailroom/adapters/certs"
)

// fingerprintRE is cert's first line; the second is the same in AA:BB:… form.
var fingerprintRE = regexp.MustCompile(`^[0-9a-f]{64}\n$`)

// firstLine is cert's plain-hex line, with its newline.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line + "\n"
}

func TestCertCreatesThenReprints(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet
	r1 := mustRun(t, nil, "", "--data", dir, "--domain", "mail.example", "cert")
	if !fingerprintRE.MatchString(firstLine(r1.stdout)) {
		t.Fatalf("cert printed %q, want one hex SHA-256 line", r1.stdout)
	}
	if !strings.Contains(r1.stderr, "created") {
		t.Errorf("first run did not say it created the pair: %q", r1.stderr)
	}
	r2 := mustRun(t, nil, "", "--data", dir, "cert")
	if r2.stdout != r1.stdout {
		t.Errorf("second run printed %q, first %q", r2.stdout, r1.stdout)
	}
	if r2.stderr != "" {
		t.Errorf("second run said %q", r2.stderr)
	}

	for name, want := range map[string]os.FileMode{certs.KeyFile: 0o600, ".": 0o700} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode %o, want %o", name, got, want)
		}
	}
	// The pair is valid for the configured domain.
	c, err := certs.Load(filepath.Join(dir, certs.CertFile), filepath.Join(dir, certs.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	leaf := c.Leaf
	if leaf == nil {
		t.Fatal("no parsed leaf")
	}
	if err := leaf.VerifyHostname("mail.example"); err != nil {
		t.Errorf("certificate not valid for the domain: %v", err)
	}
	if got := certs.Fingerprint(c) + "\n"; got != firstLine(r1.stdout) {
		t.Errorf("printed fingerprint is not the file's: %q vs %q", r1.stdout, got)
	}
}

func TestCertFromFlags(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, err := certs.SelfSigned([]string{"example.org"}, timeNow())
	if err != nil {
		t.Fatal(err)
	}
	cp, kp := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	writeFile(t, cp, certPEM, 0o644)
	writeFile(t, kp, keyPEM, 0o600)
	data := filepath.Join(dir, "data")
	r := mustRun(t, env{"MAILROOM_CERT": cp, "MAILROOM_KEY": kp}, "", "--data", data, "cert")
	c, err := certs.Load(cp, kp)
	if err != nil {
		t.Fatal(err)
	}
	if firstLine(r.stdout) != certs.Fingerprint(c)+"\n" {
		t.Errorf("printed %q, want the given pair's fingerprint", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(data, certs.KeyFile)); !os.IsNotExist(err) {
		t.Errorf("a self-signed pair was made although --cert was given (stat: %v)", err)
	}

	r = runCLI(t, nil, "", "--data", data, "--cert", filepath.Join(dir, "missing.pem"), "--key", kp, "cert")
	if r.code != exitError || !strings.Contains(r.stderr, "missing.pem") {
		t.Errorf("missing cert file: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestMigrate(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, nil, "", "--data", dir, "migrate", "version")
	if r.code != exitError || !strings.Contains(r.stderr, "no database") {
		t.Errorf("version before any database: exit %d, stderr %q", r.code, r.stderr)
	}
	up := mustRun(t, nil, "", "--data", dir, "migrate", "up")
	if up.stdout == "0\n" || !regexp.MustCompile(`^[1-9][0-9]*\n$`).MatchString(up.stdout) {
		t.Fatalf("migrate up printed %q, want the new version", up.stdout)
	}
	if r := mustRun(t, nil, "", "--data", dir, "migrate", "version"); r.stdout != up.stdout {
		t.Errorf("version after up = %q, want %q", r.stdout, up.stdout)
	}
	if r := mustRun(t, nil, "", "--data", dir, "migrate", "up"); r.stdout != up.stdout {
		t.Errorf("a second up = %q, want %q (nothing to do)", r.stdout, up.stdout)
	}
	// With the schema in place, accounts can be made; down then drops them.
	mustRun(t, nil, "password1\n", "--data", dir, "user", "add", "alice")

	// Down reverts one step at a time, down to 0.
	for {
		r := mustRun(t, nil, "", "--data", dir, "migrate", "down")
		if r.stdout == "0\n" {
			break
		}
		if r.stdout == up.stdout {
			t.Fatalf("down did not change the version (%q)", r.stdout)
		}
	}
	if r := mustRun(t, nil, "", "--data", dir, "migrate", "down"); r.stdout != "0\n" {
		t.Errorf("down at 0 = %q, want 0", r.stdout)
	}
	if r := mustRun(t, nil, "", "--data", dir, "migrate", "up"); r.stdout != up.stdout {
		t.Errorf("up again = %q, want %q", r.stdout, up.stdout)
	}
	if r := mustRun(t, nil, "", "--data", dir, "user", "list"); strings.Contains(r.stdout, "alice") {
		t.Errorf("alice survived down and up:\n%s", r.stdout)
	}
}

func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	e := env{"MAILROOM_DATA": dir, "MAILROOM_DOMAIN": "example.org"}

	r := mustRun(t, e, "correct horse\n", "user", "add", "Alice")
	if !strings.Contains(r.stdout, "alice@example.org") {
		t.Errorf("add printed %q", r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, "correct horse") {
		t.Error("the password was echoed")
	}
	// Windows line ending and no final newline both work.
	mustRun(t, e, "bob-password\r\n", "user", "add", "bob@example.org")
	mustRun(t, e, "carol-password", "user", "add", "carol")

	for _, tc := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"taken", "another-pass\n", []string{"user", "add", "ALICE"}, "taken"},
		{"weak", "short\n", []string{"user", "add", "dave"}, "password must"},
		{"empty stdin", "", []string{"user", "add", "dave"}, "no password"},
		{"bad name", "password1\n", []string{"user", "add", "dave!"}, "bad username"},
		{"other domain", "password1\n", []string{"user", "add", "dave@other.org"}, "bad username"},
		{"passwd unknown", "password1\n", []string{"user", "passwd", "zed"}, "no such user"},
		{"delete unknown", "", []string{"user", "delete", "zed"}, "no such user"},
		{"too long", strings.Repeat("x", 5000) + "\n", []string{"user", "add", "dave"}, "password must"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, e, tc.stdin, tc.args...)
			if r.code != exitError || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tc.want)
			}
			if tc.stdin != "" && strings.Contains(r.stderr, strings.TrimSpace(tc.stdin)) {
				t.Error("the password reached stderr")
			}
		})
	}

	list := mustRun(t, e, "", "user", "list").stdout
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(list), "\n")[1:] {
		names = append(names, strings.Fields(line)[1])
	}
	if got, want := strings.Join(names, " "), "alice@example.org bob@example.org carol@example.org"; got != want {
		t.Errorf("list = %q, want %q\n%s", got, want, list)
	}
	if strings.Contains(list, "$") {
		t.Errorf("list shows a password hash:\n%s", list)
	}

	mustRun(t, e, "a-new-password\n", "user", "passwd", "alice")
	mustRun(t, e, "", "user", "delete", "bob@example.org")
	list = mustRun(t, e, "", "user", "list").stdout
	if strings.Contains(list, "bob") || !strings.Contains(list, "alice") {
		t.Errorf("after delete:\n%s", list)
	}
	checkLogin(t, dir, "example.org", "alice", "a-new-password", true)
	checkLogin(t, dir, "example.org", "alice", "correct horse", false)
}
