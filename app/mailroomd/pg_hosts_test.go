package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailroom/adapters/postgres"
	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
)

// storedSubjects counts the subjects of every entry in name's folder,
// straight from the database.
func storedSubjects(t *testing.T, s *postgres.Store, name string, folder mail.Folder) map[string]int {
	t.Helper()
	ctx := context.Background()
	a, err := s.AccountByName(ctx, account.Username(name))
	if err != nil {
		t.Fatalf("account %s: %v", name, err)
	}
	got := map[string]int{}
	var before mail.EntryID
	for {
		page, err := s.List(ctx, a.ID, folder, before, 500)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, m := range page {
			got[m.Subject]++
		}
		if len(page) < 500 {
			return got
		}
		before = page[len(page)-1].ID
	}
}

// waitConnected reads watch events until the watch is connected.
func waitConnected(t *testing.T, events <-chan ports.WatchEvent) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Connected && ev.Message == nil {
				return
			}
		case <-timeout:
			t.Fatal("the watch did not connect")
		}
	}
}

// TestHostsShareOneDatabase runs two hosts on one PostgreSQL database, as
// behind a load balancer: they start at once (and migrate once), a name
// taken on one is taken on the other, a watcher on one sees mail sent
// through the other within a second, and concurrent sends through both
// land exactly once.
func TestHostsShareOneDatabase(t *testing.T) {
	dbURL := pgSchema(t, pgServerURL(t))
	cert, key := sharedCert(t)
	common := []string{"--db", dbURL, "--cert", cert, "--key", key, "--argon2", cheapArgon2, "--imap-addr", "127.0.0.1:0"}
	a := launchDaemon(t, t.TempDir(), common...)
	b := launchDaemon(t, t.TempDir(), common...)
	a.waitStarted(a.logs.lines, a.done)
	b.waitStarted(b.logs.lines, b.done)
	if v, dirty, err := postgres.MigrationVersion(context.Background(), dbURL); err != nil || dirty || v != latestPostgresVersion(t) {
		t.Fatalf("schema after two hosts started at once: version %d, dirty %v, %v", v, dirty, err)
	}
	if a.fingerprint != b.fingerprint {
		t.Fatalf("hosts present different certificates")
	}

	sa := dialSMTP(t, a.addrs["smtp"], a.fingerprint)
	sa.cmd(250, "EHLO test.example")
	sa.cmd(250, "REG alice alice-password")
	sb := dialSMTP(t, b.addrs["smtp"], b.fingerprint)
	sb.cmd(250, "EHLO test.example")
	sb.cmd(550, "REG alice another-password")
	sb.cmd(550, "REG ALICE another-password")
	sb.cmd(250, "REG bob bob-password")

	// A watcher on B, mail through A.
	bob := login(t, b.endpoint(), "bob", "bob-password")
	wctx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	events := bob.Watch(wctx)
	waitConnected(t, events)
	start := time.Now()
	snd := &sender{addr: a.addrs["smtp"], fingerprint: a.fingerprint, user: "alice", password: "alice-password"}
	if code, err := snd.send("bob@localhost", "through A"); code != 250 {
		t.Fatalf("send through A: %d %v", code, err)
	}
	snd.close()
	select {
	case ev := <-events:
		if ev.Message == nil || ev.Message.Subject != "through A" {
			t.Fatalf("watch event %+v", ev)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("the watcher on B saw mail sent through A after %v, want under 1s", d)
		}
	case <-time.After(time.Second):
		t.Fatal("the watcher on B did not see mail sent through A within 1s")
	}

	// 40 concurrent sends, split over both hosts.
	const n = 40
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		h := a
		if i%2 == 1 {
			h = b
		}
		wg.Go(func() {
			s := &sender{addr: h.addrs["smtp"], fingerprint: h.fingerprint, user: "alice", password: "alice-password"}
			defer s.close()
			codes[i], _ = s.send("bob@localhost", fmt.Sprintf("concurrent %d", i))
		})
	}
	wg.Wait()
	for i, c := range codes {
		if c != 250 {
			t.Errorf("send %d: %d", i, c)
		}
	}
	store := pgStore(t, dbURL)
	inbox, sent := storedSubjects(t, store, "bob", mail.Inbox), storedSubjects(t, store, "alice", mail.Sent)
	for i := range n {
		subject := fmt.Sprintf("concurrent %d", i)
		if inbox[subject] != 1 || sent[subject] != 1 {
			t.Errorf("%q stored %d times in bob's inbox and %d in alice's sent, want once each", subject, inbox[subject], sent[subject])
		}
	}
	if len(inbox) != n+1 {
		t.Errorf("bob's inbox holds %d subjects, want %d", len(inbox), n+1)
	}
	// The watcher on B saw every one of them, whichever host took it.
	seen := map[string]int{}
	timeout := time.After(5 * time.Second)
	for len(seen) < n {
		select {
		case ev := <-events:
			if ev.Message != nil {
				seen[ev.Message.Subject]++
			}
		case <-timeout:
			t.Fatalf("the watcher on B saw %d of %d messages", len(seen), n)
		}
	}
	for s, c := range seen {
		if c != 1 {
			t.Errorf("the watcher saw %q %d times", s, c)
		}
	}
}

// startChild runs the mailroomd binary as a child process on the database
// at dbURL (given in MAILROOM_DB, so that it shows in no process list) and
// waits until it serves.
func startChild(t *testing.T, dbURL, cert, key string) (*exec.Cmd, *daemon) {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Skipf("no binary to run: %v", err)
	}
	cmd := exec.Command(bin, "--data", t.TempDir(), "--cert", cert, "--key", key, "--argon2", cheapArgon2,
		"--smtp-addr", "127.0.0.1:0", "--inbox-addr", "127.0.0.1:0", "--imap-addr", "127.0.0.1:0", "--log-format", "json")
	cmd.Env = append(os.Environ(), "MAILROOM_DB="+dbURL)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := newLineWriter()
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write([]byte(sc.Text() + "\n"))
		}
		cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	d := &daemon{t: t, logs: logs, addrs: map[string]string{}}
	d.waitStarted(logs.lines, make(chan int))
	return cmd, d
}

// TestHostKilledLosesNothingAcknowledged kills a host (kill -9) while
// senders keep it busy: every message it acknowledged with 250 is in the
// database, once.
func TestHostKilledLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dbURL := pgSchema(t, pgServerURL(t))
	cert, key := sharedCert(t)
	for _, name := range []string{"alice", "bob"} {
		mustRun(t, env{"MAILROOM_DB": dbURL}, name+"-password\n", "--data", t.TempDir(), "--argon2", cheapArgon2, "user", "add", name)
	}
	cmd, host := startChild(t, dbURL, cert, key)

	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			s := &sender{addr: host.addrs["smtp"], fingerprint: host.fingerprint, user: "alice", password: "alice-password"}
			defer s.close()
			for i := 0; ; i++ {
				subject := fmt.Sprintf("g%d-%d", g, i)
				if code, _ := s.send("bob@localhost", subject); code != 250 {
					return // the host is gone
				}
				mu.Lock()
				acked[subject] = true
				mu.Unlock()
			}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 100 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	store := pgStore(t, dbURL)
	inbox, sent := storedSubjects(t, store, "bob", mail.Inbox), storedSubjects(t, store, "alice", mail.Sent)
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged before the kill")
	}
	for subject := range acked {
		if inbox[subject] != 1 || sent[subject] != 1 {
			t.Errorf("acknowledged %q is stored %d times in the inbox and %d in sent, want once each", subject, inbox[subject], sent[subject])
		}
	}
	t.Logf("%d acknowledged before kill -9, %d stored", len(acked), len(inbox))
}
