package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailroom/domain/mail"
)

// cluster is a PostgreSQL cluster of one test's own, from .ci/postgres.sh:
// restarting the shared one would break the tests of other packages that
// `go test ./...` runs at the same time.
type cluster struct {
	t        *testing.T
	url, dir string
}

func ownCluster(t *testing.T) *cluster {
	t.Helper()
	pgServerURL(t) // skips (or fails) like every PostgreSQL test
	if os.Geteuid() != 0 {
		pgUnavailable(t, "a cluster of the test's own needs root (initdb runs as the postgres user)")
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl"); len(m) == 0 {
		pgUnavailable(t, "PostgreSQL is not installed")
	}
	out, err := exec.Command("bash", clusterScript(), "start").Output()
	if err != nil {
		pgUnavailable(t, ".ci/postgres.sh start: %v", err)
	}
	c := &cluster{t: t}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "export MAILROOM_TEST_POSTGRES='"); ok {
			c.url = strings.TrimSuffix(v, "'")
		}
		if v, ok := strings.CutPrefix(line, "export MAILROOM_TEST_POSTGRES_DIR='"); ok {
			c.dir = strings.TrimSuffix(v, "'")
		}
	}
	if c.url == "" || c.dir == "" {
		t.Fatalf(".ci/postgres.sh start printed %q", out)
	}
	t.Cleanup(func() { exec.Command("bash", clusterScript(), "stop", c.dir).Run() })
	return c
}

func clusterScript() string { return filepath.Join("..", "..", ".ci", "postgres.sh") }

func (c *cluster) restart() {
	c.t.Helper()
	if out, err := exec.Command("bash", clusterScript(), "restart", c.dir).CombinedOutput(); err != nil {
		c.t.Fatalf("restart: %v\n%s", err, out)
	}
}

// pgctl runs pg_ctl on the cluster as the postgres user; start gives the
// options .ci/postgres.sh starts it with (restart reuses them by itself).
func (c *cluster) pgctl(args string) {
	c.t.Helper()
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	port, err := os.ReadFile(filepath.Join(c.dir, "port"))
	if err != nil {
		c.t.Fatal(err)
	}
	opts := fmt.Sprintf(`-o "-p %s -k %s -c listen_addresses=127.0.0.1 -c max_connections=200"`, strings.TrimSpace(string(port)), c.dir)
	line := fmt.Sprintf("%s -D %s/data -l %s/log -w %s %s", m[len(m)-1], c.dir, c.dir, args, opts)
	if out, err := exec.Command("su", "postgres", "-s", "/bin/bash", "-c", line).CombinedOutput(); err != nil {
		c.t.Fatalf("pg_ctl %s: %v\n%s", args, err, out)
	}
}

// load is senders that keep submitting until stopped, noting every
// acknowledged subject and every refusal's reply code.
type load struct {
	mu     sync.Mutex
	acked  map[string]bool
	codes  map[int]int
	stop   atomic.Bool
	wg     sync.WaitGroup
	nAcked atomic.Int64
}

func startLoad(d *daemon, senders int) *load {
	l := &load{acked: map[string]bool{}, codes: map[int]int{}}
	for g := range senders {
		l.wg.Go(func() {
			s := &sender{addr: d.addrs["smtp"], fingerprint: d.fingerprint, user: "alice", password: "alice-password"}
			defer s.close()
			for i := 0; !l.stop.Load(); i++ {
				subject := fmt.Sprintf("load %d-%d", g, i)
				code, _ := s.send("bob@localhost", subject)
				l.mu.Lock()
				l.codes[code]++
				if code == 250 {
					l.acked[subject] = true
					l.nAcked.Add(1)
				}
				l.mu.Unlock()
				if code != 250 {
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	return l
}

// waitAcked waits until n more sends are acknowledged.
func (l *load) waitAcked(t *testing.T, n int64, what string) {
	t.Helper()
	target := l.nAcked.Load() + n
	deadline := time.Now().Add(30 * time.Second)
	for l.nAcked.Load() < target {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no sends acknowledged for 30s (codes %v)", what, l.codes)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPostgresRestartUnderLoad restarts PostgreSQL, then stops it for a
// while, under a steady stream of sends: meanwhile SMTP answers 4xx (never
// 5xx, never a 250 for mail that was not stored) and the inbox answers
// internal; afterwards sends, reads and watches work again without
// restarting the daemon.
func TestPostgresRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	c := ownCluster(t)
	e := env{"MAILROOM_DB": c.url}
	for _, name := range []string{"alice", "bob"} {
		mustRun(t, e, name+"-password\n", "--data", t.TempDir(), "--argon2", cheapArgon2, "user", "add", name)
	}
	d := startDaemon(t, t.TempDir(), "--db", c.url, "--argon2", cheapArgon2, "--imap-addr", "127.0.0.1:0")
	bob := login(t, d.endpoint(), "bob", "bob-password")
	wctx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	events := bob.Watch(wctx)
	waitConnected(t, events)

	l := startLoad(d, 4)
	l.waitAcked(t, 20, "before the restart")
	c.restart()
	l.waitAcked(t, 20, "after the restart")

	c.pgctl("-m fast stop")
	probe := &sender{addr: d.addrs["smtp"], fingerprint: d.fingerprint, user: "alice", password: "alice-password"}
	if code, err := probe.send("bob@localhost", "while down"); code < 400 || code > 499 {
		t.Errorf("send while PostgreSQL is down: %d %v, want 4xx", code, err)
	}
	probe.close()
	if _, err := bob.List(context.Background(), mail.Inbox, 0, 10); err == nil || !strings.Contains(err.Error(), "internal") {
		t.Errorf("list while PostgreSQL is down: %v, want internal", err)
	}
	time.Sleep(500 * time.Millisecond)
	c.pgctl("start")
	l.waitAcked(t, 20, "after PostgreSQL came back")
	l.stop.Store(true)
	l.wg.Wait()

	// Reads and the watch work again, without restarting the daemon.
	if _, err := bob.List(context.Background(), mail.Inbox, 0, 10); err != nil {
		t.Errorf("list after recovery: %v", err)
	}
	for len(events) > 0 {
		<-events
	}
	s := &sender{addr: d.addrs["smtp"], fingerprint: d.fingerprint, user: "alice", password: "alice-password"}
	if code, err := s.send("bob@localhost", "after recovery"); code != 250 {
		t.Fatalf("send after recovery: %d %v", code, err)
	}
	s.close()
	timeout := time.After(5 * time.Second)
	for got := false; !got; {
		select {
		case ev := <-events:
			got = ev.Message != nil && ev.Message.Subject == "after recovery"
		case <-timeout:
			t.Fatal("the watch saw nothing after recovery")
		}
	}

	for code, n := range l.codes {
		if code >= 500 {
			t.Errorf("%d sends got %d: a permanent refusal for a passing outage", n, code)
		}
	}
	inbox := storedSubjects(t, pgStore(t, c.url), "bob", mail.Inbox)
	for subject := range l.acked {
		if inbox[subject] != 1 {
			t.Errorf("acknowledged %q stored %d times, want once", subject, inbox[subject])
		}
	}
	t.Logf("reply codes over the run: %v (0: connection failed)", l.codes)
}
