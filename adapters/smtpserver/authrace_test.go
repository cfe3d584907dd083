package smtpserver

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"mailroom/adapters/certs"
	"mailroom/domain/account"
	"mailroom/domain/throttle"
	"mailroom/ports"
)

// serveFake runs a server over the given ports (fakes), for tests that
// need to steer the domain. The harness's store fields stay nil.
func serveFake(t *testing.T, cfg Config, acc ports.Accounts, mb ports.Mailboxes) *harness {
	t.Helper()
	if cfg.TLS == nil {
		cfg.TLS = certs.ServerConfig(testCert)
	}
	srv := New(cfg, acc, mb, nopLog())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, srv: srv, addr: ln.Addr().String(), serveErr: make(chan error, 1)}
	go func() { h.serveErr <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-h.serveErr; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return h
}

// gatedAccounts holds every Authenticate call until want calls have
// arrived (or a second has passed): it makes the attempts of a burst
// overlap, as they do against a real password hash.
type gatedAccounts struct {
	fakeAccounts
	want    int
	mu      sync.Mutex
	arrived int
	all     chan struct{}
}

func (g *gatedAccounts) Authenticate(ctx context.Context, u, p string) (account.Account, error) {
	g.mu.Lock()
	if g.arrived++; g.arrived == g.want {
		close(g.all)
	}
	g.mu.Unlock()
	select {
	case <-g.all:
	case <-time.After(time.Second):
	}
	return g.fakeAccounts.Authenticate(ctx, u, p)
}

func TestAuthFailBudgetUnderParallelAttempts(t *testing.T) {
	const attempts, budget = 20, 5
	acc := &gatedAccounts{want: attempts, all: make(chan struct{})}
	h := serveFake(t, Config{AuthFailRate: throttle.Rate{N: budget, Per: time.Hour}}, acc, fakeMailboxes{})
	dialogs := make([]*dialog, attempts)
	for i := range dialogs {
		dialogs[i] = h.dial()
		dialogs[i].cmd("EHLO c", "250 ")
	}
	replies := make(chan string, attempts)
	var wg sync.WaitGroup
	for _, d := range dialogs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.send("AUTH PLAIN " + plainIR("", "alice", "wrong-password"))
			r, err := d.reply()
			if err != nil {
				r = "error: " + err.Error()
			}
			replies <- r
		}()
	}
	wg.Wait()
	close(replies)
	counts := map[string]int{}
	for r := range replies {
		counts[r[:min(len(r), 9)]]++
	}
	if counts["535 5.7.8"] != budget || counts["454 4.7.0"] != attempts-budget {
		t.Fatalf("replies %v, want %d × 535 5.7.8 and %d × 454 4.7.0", counts, budget, attempts-budget)
	}
}

func TestAuthSuccessDoesNotSpendBudget(t *testing.T) {
	h := serveFake(t, Config{AuthFailRate: throttle.Rate{N: 2, Per: time.Hour}}, fakeAccounts{}, fakeMailboxes{})
	for i := 0; i < 5; i++ {
		d := h.dial()
		d.login("alice")
	}
	d := h.dial()
	d.cmd("EHLO c", "250 ")
	d.cmd("AUTH PLAIN "+plainIR("", "alice", "wrong-1"), "535 5.7.8")
	d.cmd("AUTH PLAIN "+plainIR("", "alice", "wrong-2"), "535 5.7.8")
	d = h.dial()
	d.cmd("EHLO c", "250 ")
	r := d.cmd("AUTH PLAIN "+plainIR("", "alice", "password-alice"), "454 4.7.0")
	if !strings.Contains(r, "Too many attempts") {
		t.Errorf("throttled reply %q", r)
	}
}
