package crashtest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailroom/ports"
)

// buildDaemon builds mailroomd from this tree into a temporary directory,
// or uses MAILROOM_CRASHTEST_DAEMON when set (a binary built elsewhere, for
// instance from an older commit).
func buildDaemon(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("MAILROOM_CRASHTEST_DAEMON"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "mailroomd")
	out, err := exec.Command("go", "build", "-o", bin, "mailroom/app/mailroomd").CombinedOutput()
	if err != nil {
		t.Fatalf("go build mailroomd: %v\n%s", err, out)
	}
	return bin
}

// daemon is one run of the child process.
type daemon struct {
	cmd  *exec.Cmd
	ep   ports.Endpoint
	done chan struct{} // closed once the process has been reaped
	kill sync.Once
	mu   sync.Mutex
	log  []string // the last lines of its log, for failure messages
}

// startDaemon runs bin serve on data with both servers on 127.0.0.1:0 and
// waits until it has logged where it listens. Passwords are hashed cheaply:
// this test is about the store, not the hasher.
func startDaemon(t *testing.T, bin, data string) *daemon {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data", data,
		"--smtp-addr", "127.0.0.1:0", "--inbox-addr", "127.0.0.1:0",
		"--log-format", "json", "--argon2", "m=256,t=1,p=1", "--grace", "2s")
	cmd.Env = append(os.Environ(), "MAILROOM_LOG_LEVEL=info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, done: make(chan struct{}), ep: ports.Endpoint{Host: "127.0.0.1"}}
	t.Cleanup(d.sigkill)
	ready := make(chan struct{})
	go d.readLog(stderr, ready)
	select {
	case <-ready:
		return d
	case <-d.done:
		t.Fatalf("mailroomd exited while starting: %v\n%s", cmd.ProcessState, d.tail())
	case <-time.After(30 * time.Second):
		d.sigkill()
		t.Fatalf("mailroomd did not start in 30s\n%s", d.tail())
	}
	return nil
}

// readLog follows the JSON log for the certificate and the two listening
// addresses, keeps the tail, and reaps the process at EOF.
func (d *daemon) readLog(r interface{ Read([]byte) (int, error) }, ready chan struct{}) {
	defer close(d.done)
	defer d.cmd.Wait()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var smtp, inbox bool
	for sc.Scan() {
		line := sc.Text()
		d.mu.Lock()
		d.log = append(d.log, line)
		if len(d.log) > 40 {
			d.log = d.log[1:]
		}
		d.mu.Unlock()
		if smtp && inbox {
			continue
		}
		var e struct{ Msg, Adapter, Addr, SHA256 string }
		if json.Unmarshal([]byte(line), &e) != nil {
			continue
		}
		switch {
		case e.Msg == "certificate":
			d.ep.Fingerprint = e.SHA256
		case e.Msg == "listening" && e.Adapter == "smtp":
			d.ep.SMTPPort, smtp = port(e.Addr), true
		case e.Msg == "listening" && e.Adapter == "inbox":
			d.ep.InboxPort, inbox = port(e.Addr), true
		}
		if smtp && inbox {
			close(ready)
		}
	}
}

func port(addr string) int {
	var p int
	fmt.Sscanf(addr[strings.LastIndexByte(addr, ':')+1:], "%d", &p)
	return p
}

func (d *daemon) smtpAddr() string { return fmt.Sprintf("127.0.0.1:%d", d.ep.SMTPPort) }

// sigkill kills the process with SIGKILL (once) and waits until it is gone.
func (d *daemon) sigkill() {
	d.kill.Do(func() { d.cmd.Process.Signal(syscall.SIGKILL) })
	<-d.done
}

// stop asks for a clean shutdown and fails the test unless it exits 0.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	d.kill.Do(func() { d.cmd.Process.Signal(syscall.SIGTERM) })
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
		t.Fatalf("mailroomd did not stop on SIGTERM\n%s", d.tail())
	}
	if !d.cmd.ProcessState.Success() {
		t.Errorf("mailroomd: %v\n%s", d.cmd.ProcessState, d.tail())
	}
}

func (d *daemon) tail() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.log, "\n")
}
