//go:build unix

package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBinarySIGTERM builds the real binary, starts it with defaults except
// for ephemeral addresses and a temporary home, and stops it with SIGTERM.
func TestBinarySIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the binary with")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "mailroomd")
	build := exec.Command(gobin, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// No --data: the default under $XDG_DATA_HOME is used, and the
	// addresses come from the environment.
	cmd := exec.Command(bin, "--log-format=json")
	cmd.Env = append(os.Environ(),
		"HOME="+tmp, "XDG_DATA_HOME="+filepath.Join(tmp, "xdg"),
		"MAILROOM_SMTP_ADDR=127.0.0.1:0", "MAILROOM_INBOX_ADDR=127.0.0.1:0", "MAILROOM_IMAP_ADDR=127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	logs := newLineWriter()
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write([]byte(sc.Text() + "\n"))
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })

	d := &daemon{t: t, logs: logs, addrs: map[string]string{}}
	done := make(chan int, 1)
	d.waitStarted(logs.lines, done)
	dialSMTP(t, d.addrs["smtp"], d.fingerprint)
	dialInbox(t, d.addrs["inbox"], d.fingerprint)
	if _, err := os.Stat(filepath.Join(tmp, "xdg", "mailroom", "mailroom.db")); err != nil {
		t.Errorf("default data directory not used: %v", err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v; log:\n%s", err, logs)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit after SIGTERM; log:\n%s", logs)
	}
	if !strings.Contains(logs.String(), `"msg":"mailroomd stopped"`) {
		t.Errorf("log lacks the stop line:\n%s", logs)
	}
}
