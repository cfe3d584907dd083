package throttle

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

// waitPending polls until key has the given tickets out and waiters, so a
// test settles tickets only once the others are really blocked.
func waitPending(t *testing.T, l *Limiter, key string, inflight, waiting int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		in, w := l.Pending(key)
		if in == inflight && w == waiting {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Pending(%q) = %d, %d; want %d, %d", key, in, w, inflight, waiting)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAcquireAdmitsWhileTokensAreFree(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	l := New(Rate{N: 2, Per: time.Minute}, c.now)
	ctx := context.Background()
	a, err := l.Acquire(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Acquire(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if in, w := l.Pending("k"); in != 2 || w != 0 {
		t.Fatalf("Pending = %d, %d; want 2, 0", in, w)
	}
	// Held tokens are not free to Allow either.
	if l.Allow("k") {
		t.Error("Allow took a token held by a ticket")
	}
	a.Release()
	a.Release() // a second settle does nothing
	b.Spend()
	b.Spend()
	if in, _ := l.Pending("k"); in != 0 {
		t.Errorf("%d tickets out after settling both", in)
	}
	// One token spent, one free.
	if _, err := l.Acquire(ctx, "k"); err != nil {
		t.Errorf("Acquire with one free token: %v", err)
	}
}

func TestAcquireRefusesOnlyWhenSpent(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	l := New(Rate{N: 2, Per: time.Minute}, c.now)
	ctx := context.Background()
	for range 2 {
		tk, err := l.Acquire(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		tk.Spend()
	}
	if _, err := l.Acquire(ctx, "k"); !errors.Is(err, ErrExhausted) {
		t.Fatalf("Acquire after spending the budget = %v, want ErrExhausted", err)
	}
	if _, err := l.Acquire(ctx, "other"); err != nil {
		t.Errorf("another key: %v", err)
	}
	c.t = c.t.Add(30 * time.Second) // one token back
	tk, err := l.Acquire(ctx, "k")
	if err != nil {
		t.Fatalf("Acquire after refill: %v", err)
	}
	// Spent tokens alone exhaust the budget: refused at once, even with a
	// ticket in flight that may be released (it cannot add a token).
	done := make(chan error, 1)
	go func() {
		_, err := l.Acquire(ctx, "k")
		done <- err
	}()
	// The second Acquire must not refuse: one token is held, not spent.
	waitPending(t, l, "k", 1, 1)
	tk.Spend()
	if err := <-done; !errors.Is(err, ErrExhausted) {
		t.Errorf("waiter after the held token was spent = %v, want ErrExhausted", err)
	}
}

func TestAcquireWaitsForHeldTokens(t *testing.T) {
	const n, attempts = 3, 12
	l := New(Rate{N: n, Per: time.Minute}, (&clock{t: time.Unix(1_000_000, 0)}).now)
	ctx := context.Background()
	tickets := make(chan *Ticket, attempts)
	errs := make(chan error, attempts)
	for range attempts {
		go func() {
			tk, err := l.Acquire(ctx, "k")
			if err != nil {
				errs <- err
				return
			}
			tickets <- tk
		}()
	}
	waitPending(t, l, "k", n, attempts-n)
	// Every attempt succeeds (releases): all are admitted, n at a time.
	for i := range attempts {
		select {
		case tk := <-tickets:
			if in, _ := l.Pending("k"); in > n {
				t.Fatalf("%d tickets out, budget %d", in, n)
			}
			tk.Release()
		case err := <-errs:
			t.Fatalf("attempt %d refused: %v", i, err)
		}
	}
}

func TestAcquireWaitEndsWithContext(t *testing.T) {
	l := New(Rate{N: 1, Per: time.Minute}, nil)
	tk, err := l.Acquire(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := l.Acquire(ctx, "k")
		done <- err
	}()
	waitPending(t, l, "k", 1, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || errors.Is(err, ErrExhausted) {
		t.Errorf("cancelled wait = %v, want context.Canceled", err)
	}
	waitPending(t, l, "k", 1, 0)
	tk.Release()
}

func TestAcquireUnlimited(t *testing.T) {
	for _, l := range []*Limiter{nil, New(Rate{}, nil)} {
		for range 100 {
			tk, err := l.Acquire(context.Background(), "k")
			if err != nil {
				t.Fatal(err)
			}
			tk.Spend()
		}
		if in, w := l.Pending("k"); in != 0 || w != 0 {
			t.Errorf("unlimited Pending = %d, %d", in, w)
		}
	}
}

// A bucket with a ticket out survives pruning, by either of its rules
// (full buckets first, then any): the ticket settles on it.
func TestPruneKeepsBusyBuckets(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	l := New(Rate{N: 1, Per: time.Minute}, c.now)
	l.maxKeys = 100
	tk, err := l.Acquire(context.Background(), "busy")
	if err != nil {
		t.Fatal(err)
	}
	l.prune(c.t.Add(time.Hour)) // "busy" looks full by then
	for i := range l.maxKeys {
		l.Allow(strconv.Itoa(i)) // spent, so not full: the second rule goes
	}
	if len(l.buckets) > l.maxKeys*9/10+1 {
		t.Fatalf("prune kept %d buckets", len(l.buckets))
	}
	if in, _ := l.Pending("busy"); in != 1 {
		t.Fatalf("busy bucket forgotten: Pending = %d", in)
	}
	tk.Spend()
	if _, err := l.Acquire(context.Background(), "busy"); !errors.Is(err, ErrExhausted) {
		t.Errorf("a spend on a forgotten bucket was lost: Acquire = %v", err)
	}
}
