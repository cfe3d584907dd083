package listener

import (
	"context"
	"sync"
)

// Budget bounds the bytes that the connections of one server hold at
// once, whatever each one may hold alone: SMTP's messages in flight, the
// inbox's fetch responses. Without it MaxConns connections could each
// hold their own maximum. It is a small counter rather than
// golang.org/x/sync/semaphore because it also keeps the peak, for tests
// and logs. It is safe for concurrent use.
type Budget struct {
	max int64

	mu    sync.Mutex
	used  int64
	peak  int64
	freed chan struct{} // closed, and replaced, whenever bytes come back
}

// NewBudget makes a Budget of max bytes.
func NewBudget(max int64) *Budget {
	return &Budget{max: max, freed: make(chan struct{})}
}

// Max is the budget's size.
func (b *Budget) Max() int64 { return b.max }

// TryAcquire takes n bytes if they fit now, and reports whether it did.
func (b *Budget) TryAcquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.takeLocked(n)
}

// takeLocked takes n bytes if they fit. A request larger than the whole
// budget fits when nothing else is held, so that it waits but never
// forever.
func (b *Budget) takeLocked(n int64) bool {
	if b.used != 0 && b.used+n > b.max {
		return false
	}
	b.used += n
	b.peak = max(b.peak, b.used)
	return true
}

// Acquire takes n bytes, waiting while they would take the budget over its
// max (see TryAcquire), until ctx ends: then it gives ctx's error.
func (b *Budget) Acquire(ctx context.Context, n int64) error {
	for {
		b.mu.Lock()
		if b.takeLocked(n) {
			b.mu.Unlock()
			return nil
		}
		ch := b.freed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Release gives back n bytes taken by Acquire or TryAcquire.
func (b *Budget) Release(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// InUse is the bytes held now; Peak the most held at once so far.
func (b *Budget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

func (b *Budget) Peak() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.peak
}
