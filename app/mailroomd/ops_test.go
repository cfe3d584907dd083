//go:build unix

package main

import (
	"bufio"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// child is the real mailroomd binary running on a SQLite data directory.
type child struct {
	*daemon
	cmd    *exec.Cmd
	exited chan int
}

// startBinary runs the built binary on dir with ephemeral addresses and
// waits until it serves.
func startBinary(t *testing.T, dir string, args ...string) *child {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the binary")
	}
	bin, err := binary()
	if err != nil {
		t.Skipf("no binary to run: %v", err)
	}
	all := append([]string{"--data", dir, "--argon2", cheapArgon2, "--log-format", "json",
		"--smtp-addr", "127.0.0.1:0", "--inbox-addr", "127.0.0.1:0", "--imap-addr", "127.0.0.1:0"}, args...)
	cmd := exec.Command(bin, all...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, exited: make(chan int, 1), daemon: &daemon{t: t, logs: newLineWriter(), addrs: map[string]string{}}}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			c.logs.Write([]byte(sc.Text() + "\n"))
		}
		cmd.Wait()
		c.exited <- cmd.ProcessState.ExitCode()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	c.waitStarted(c.logs.lines, c.exited)
	return c
}

// signal sends sig and gives the exit code.
func (c *child) signal(sig syscall.Signal) int {
	c.t.Helper()
	c.cmd.Process.Signal(sig)
	select {
	case code := <-c.exited:
		return code
	case <-time.After(20 * time.Second):
		c.t.Fatalf("mailroomd did not exit on %v; log:\n%s", sig, c.logs)
		return -1
	}
}

// subjects reads every stored message's subject from a SQLite file.
func subjects(t *testing.T, path string) map[string]bool {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(ON)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT subject FROM messages")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got[s] = true
	}
	return got
}

// TestBackupUnderLoadThenRestore takes a backup of the running binary's
// database while four senders keep delivering: every message acknowledged
// before the backup began is in it. Then the documented restore: stop
// (Ctrl-C, exit 0), copy the backup over mailroom.db, start, and the
// messages are served.
func TestBackupUnderLoadThenRestore(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, nil, "alice-password\n", "--data", dir, "--argon2", cheapArgon2, "user", "add", "alice")
	mustRun(t, nil, "bob-password!\n", "--data", dir, "--argon2", cheapArgon2, "user", "add", "bob")
	c := startBinary(t, dir)
	l := startLoad(c.daemon, 4)
	l.waitAcked(t, 50, "before the backup")

	l.mu.Lock()
	ackedBefore := make(map[string]bool, len(l.acked))
	for s := range l.acked {
		ackedBefore[s] = true
	}
	l.mu.Unlock()
	dest := filepath.Join(t.TempDir(), "mailroom-backup.db")
	r := mustRun(t, nil, "", "--data", dir, "backup", dest)
	l.waitAcked(t, 20, "after the backup") // the load went on throughout
	l.stop.Store(true)
	l.wg.Wait()

	if !strings.HasPrefix(r.stdout, "backup "+dest+": ") || !strings.Contains(r.stdout, "2 accounts") ||
		!strings.Contains(r.stdout, "quick_check ok") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("summary %q", r.stdout)
	}
	inBackup := subjects(t, dest)
	for s := range ackedBefore {
		if !inBackup[s] {
			t.Errorf("%q was acknowledged before the backup began but is not in it", s)
		}
	}
	t.Logf("%d acknowledged before the backup, %d in it, %d in all", len(ackedBefore), len(inBackup), l.nAcked.Load())

	// Restore: stop, copy back (the WAL of the old file goes with it),
	// start.
	if code := c.signal(syscall.SIGINT); code != 0 {
		t.Fatalf("Ctrl-C: exit %d, want 0; log:\n%s", code, c.logs)
	}
	db := filepath.Join(dir, "mailroom.db")
	for _, side := range []string{"-wal", "-shm"} {
		os.Remove(db + side)
	}
	data, err := os.ReadFile(dest)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, db, data, 0o600)
	c = startBinary(t, dir)
	ic := dialInbox(t, c.addrs["inbox"], c.fingerprint)
	mustOK(t, "login", ic.do(`{"tag":1,"op":"login","user":"bob","password":"bob-password!"}`))
	resp := ic.do(`{"tag":2,"op":"count","folder":"inbox"}`)
	if total, _ := resp["total"].(float64); int(total) != len(inBackup) {
		t.Errorf("after restore the inbox counts %v, the backup holds %d messages", resp, len(inBackup))
	}
	if code := c.signal(syscall.SIGTERM); code != 0 {
		t.Errorf("SIGTERM: exit %d", code)
	}
}

func TestBackupRefusals(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, nil, "", "--data", dir, "backup", filepath.Join(dir, "b.db"))
	if r.code != exitError || !strings.Contains(r.stderr, "no SQLite database") {
		t.Errorf("no database: exit %d, %q", r.code, r.stderr)
	}
	r = runCLI(t, nil, "", "--data", dir, "--db", "postgres://u:secret@127.0.0.1:1/x", "backup", "b.db")
	if r.code != exitError || !strings.Contains(r.stderr, "pg_dump") || strings.Contains(r.stderr, "secret") {
		t.Errorf("postgres: exit %d, %q", r.code, r.stderr)
	}
	if r := runCLI(t, nil, "", "--data", dir, "backup"); r.code != exitUsage {
		t.Errorf("no DEST: exit %d", r.code)
	}
	mustRun(t, nil, "", "--data", dir, "migrate", "up")
	dest := filepath.Join(t.TempDir(), "b.db")
	mustRun(t, nil, "", "--data", dir, "backup", dest)
	if r := runCLI(t, nil, "", "--data", dir, "backup", dest); r.code != exitError || !strings.Contains(r.stderr, "exists") {
		t.Errorf("over an old backup: exit %d, %q", r.code, r.stderr)
	}
}

// TestPaths: paths prints what the daemon opens, and the README's sqlite3
// line reads the database path from it.
func TestPaths(t *testing.T) {
	tmp := t.TempDir()
	e := env{"XDG_DATA_HOME": filepath.Join(tmp, "xdg"), "HOME": tmp}
	r := mustRun(t, e, "", "paths")
	want := fmt.Sprintf("data\t%[1]s\ndatabase\t%[1]s/mailroom.db\nsearch-index\t%[1]s/mailroom.search.db\ncert\t%[1]s/cert.pem\nkey\t%[1]s/key.pem\n", filepath.Join(tmp, "xdg", "mailroom"))
	if r.stdout != want {
		t.Errorf("paths printed %q, want %q", r.stdout, want)
	}
	if _, err := os.Stat(filepath.Join(tmp, "xdg")); err == nil {
		t.Error("paths created the data directory")
	}
}

func TestCertPrintsBothForms(t *testing.T) {
	r := mustRun(t, nil, "", "--data", t.TempDir(), "cert")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 2 || !fingerprintRE.MatchString(lines[0]+"\n") {
		t.Fatalf("cert printed %q", r.stdout)
	}
	if want := colonFingerprint(lines[0]); lines[1] != want || len(want) != 64+31 || want != strings.ToUpper(want) {
		t.Errorf("second line %q, want %q", lines[1], want)
	}
}
