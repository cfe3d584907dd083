package inboxserver

import (
	"context"
	"sync"
)

// byteBudget is the server-wide bound on the message bytes that fetch
// responses hold (Config.MaxInflightBytes), from loading the message to
// writing its last byte. A fetch reserves the largest message size first
// (it cannot know the size before loading), keeps what the message really
// takes, and gives it back once written; the connection gives back what it
// still holds when it ends.
type byteBudget struct {
	max int64

	mu    sync.Mutex
	used  int64
	peak  int64         // for tests
	freed chan struct{} // closed, and replaced, whenever bytes come back
}

func newByteBudget(max int64) *byteBudget {
	return &byteBudget{max: max, freed: make(chan struct{})}
}

// acquire takes n bytes, waiting while they would take the budget over its
// max. A request larger than the whole budget is let through when nothing
// else is held, so that it waits but never forever. The error is ctx's.
func (b *byteBudget) acquire(ctx context.Context, n int64) error {
	for {
		b.mu.Lock()
		if b.used == 0 || b.used+n <= b.max {
			b.used += n
			b.peak = max(b.peak, b.used)
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

// release gives n bytes back.
func (b *byteBudget) release(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// inUse and maxUsed are for tests and logs.
func (b *byteBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

func (b *byteBudget) maxUsed() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.peak
}
