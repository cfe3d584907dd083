package smtpserver

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/throttle"
)

// gatedHasher holds every Verify until want calls have arrived (or a
// second has passed): it makes the attempts of a burst overlap, as they do
// against a real password hash.
type gatedHasher struct {
	account.Hasher
	want    int
	mu      sync.Mutex
	arrived int
	all     chan struct{}
}

func (g *gatedHasher) Verify(ctx context.Context, hash, p string) (bool, error) {
	g.mu.Lock()
	if g.arrived++; g.arrived == g.want {
		close(g.all)
	}
	g.mu.Unlock()
	select {
	case <-g.all:
	case <-time.After(time.Second):
	}
	return g.Hasher.Verify(ctx, hash, p)
}

// TestAuthFailBudgetUnderParallelAttempts: the account service's login
// guard, through the real server, lets exactly the budget's worth of
// parallel wrong guesses be checked.
func TestAuthFailBudgetUnderParallelAttempts(t *testing.T) {
	const attempts, budget = 20, 5
	hasher := &gatedHasher{Hasher: testHasher(), want: budget, all: make(chan struct{})}
	h := newHarnessSetup(t, Config{}, setup{
		acc:    account.Config{AuthFailRate: throttle.Rate{N: budget, Per: time.Hour}},
		hasher: hasher,
	})
	h.user("alice")
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
	h := newHarnessSetup(t, Config{}, setup{acc: account.Config{AuthFailRate: throttle.Rate{N: 2, Per: time.Hour}}})
	h.user("alice")
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
