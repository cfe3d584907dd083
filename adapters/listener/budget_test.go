package listener

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	ctx := context.Background()
	b := NewBudget(100)
	if !b.TryAcquire(60) || b.Acquire(ctx, 40) != nil {
		t.Fatal("acquire within the budget failed")
	}
	if b.TryAcquire(1) {
		t.Fatal("acquired past the budget")
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := b.Acquire(short, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire past the budget: %v, want ctx's error", err)
	}
	// A waiter gets what a release frees.
	got := make(chan error, 1)
	go func() { got <- b.Acquire(ctx, 50) }()
	time.Sleep(20 * time.Millisecond)
	b.Release(60)
	if err := <-got; err != nil {
		t.Fatalf("waiter: %v", err)
	}
	b.Release(40)
	b.Release(50)
	// More than the whole budget passes when nothing else is held.
	if !b.TryAcquire(150) || b.TryAcquire(1) {
		t.Fatal("an oversized request, alone, must pass, and nothing beside it")
	}
	b.Release(150)
	if b.InUse() != 0 || b.Peak() != 150 || b.Max() != 100 {
		t.Fatalf("in use %d, peak %d, max %d", b.InUse(), b.Peak(), b.Max())
	}
}
