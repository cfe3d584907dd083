package smtpserver

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// errInflightBudget is a message that could not get buffer space within
// the wait: the server-wide in-flight budget stayed spent.
var errInflightBudget = errors.New("smtpserver: in-flight message budget exhausted")

// byteBudget is the server-wide bound on message bytes held in memory
// (Config.MaxInflightBytes). Without it each connection may buffer up to
// MaxMessageBytes, and MaxConns connections that never send the final dot
// hold MaxConns × MaxMessageBytes. A small counter rather than
// golang.org/x/sync/semaphore: it also keeps the peak, for the tests.
type byteBudget struct {
	mu    sync.Mutex
	limit int64
	used  int64
	peak  int64
	freed chan struct{} // closed, and replaced, whenever bytes come back
}

func newByteBudget(limit int64) *byteBudget {
	return &byteBudget{limit: limit, freed: make(chan struct{})}
}

// acquire takes n bytes, waiting until wait has passed or ctx ends for
// others to release them. It reports whether it took them.
func (b *byteBudget) acquire(ctx context.Context, n int64, wait time.Duration) bool {
	var timeout <-chan time.Time
	for {
		b.mu.Lock()
		if b.used+n <= b.limit {
			b.used += n
			b.peak = max(b.peak, b.used)
			b.mu.Unlock()
			return true
		}
		freed := b.freed
		b.mu.Unlock()
		if n > b.limit {
			return false
		}
		if timeout == nil {
			t := time.NewTimer(wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-freed:
		case <-timeout:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// release gives back n bytes taken by acquire.
func (b *byteBudget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
}

// inUse and maxUsed report the bytes held now and at most so far.
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

// inflightChunk is the first buffer a message gets; the buffer then
// doubles, each step's growth taken from the budget before it is
// allocated.
const inflightChunk = 64 << 10

// readMessage reads a message after prefix (the Received header, or
// nothing) into one buffer, taking its capacity from the budget as it
// grows. It reads at most limit+1 bytes of r, so n > limit means too
// large. The caller releases held when done with buf. An error from r, or
// errInflightBudget, ends it early, with held still to be released.
//
// The budget counts buffer capacity, which is what a connection keeps
// alive; the buffer a growth step replaced is garbage, left to the GC.
func (b *byteBudget) readMessage(ctx context.Context, r io.Reader, prefix []byte, limit int64, wait time.Duration) (buf []byte, n int64, held int64, err error) {
	maxCap := int64(len(prefix)) + limit + 1
	for {
		if int64(len(buf)) == maxCap {
			return buf, int64(len(buf) - len(prefix)), held, nil
		}
		if len(buf) == cap(buf) {
			newCap := min(max(2*int64(cap(buf)), inflightChunk, int64(len(prefix))+1), maxCap)
			if !b.acquire(ctx, newCap-held, wait) {
				return buf, int64(len(buf) - len(prefix)), held, errInflightBudget
			}
			held = newCap
			grown := make([]byte, len(buf), newCap)
			copy(grown, buf)
			buf = grown
			if len(buf) == 0 {
				buf = append(buf, prefix...)
			}
		}
		m, rerr := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if rerr == io.EOF {
			return buf, int64(len(buf) - len(prefix)), held, nil
		}
		if rerr != nil {
			return buf, int64(len(buf) - len(prefix)), held, rerr
		}
	}
}
