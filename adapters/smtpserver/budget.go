package smtpserver

import (
	"context"
	"errors"
	"io"
	"time"

	"mailroom/adapters/listener"
)

// errInflightBudget is a message that could not get buffer space within
// the wait: the server-wide in-flight budget stayed spent.
var errInflightBudget = errors.New("smtpserver: in-flight message budget exhausted")

// byteBudget is the server-wide bound on message bytes held in memory
// (Config.MaxInflightBytes), the listener core's Budget with SMTP's rule
// on top: a message waits a bounded time for room, then is refused.
// Without it each connection may buffer up to MaxMessageBytes, and
// MaxConns connections that never send the final dot hold MaxConns ×
// MaxMessageBytes.
type byteBudget struct{ *listener.Budget }

func newByteBudget(limit int64) *byteBudget {
	return &byteBudget{listener.NewBudget(limit)}
}

// acquire takes n bytes, waiting until wait has passed or ctx ends for
// others to release them. It reports whether it took them. More than the
// whole budget is refused at once (setDefaults makes room for the
// largest message).
func (b *byteBudget) acquire(ctx context.Context, n int64, wait time.Duration) bool {
	if n > b.Max() {
		return false
	}
	if b.TryAcquire(n) {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	return b.Acquire(ctx, n) == nil
}

// release gives back n bytes taken by acquire.
func (b *byteBudget) release(n int64) { b.Release(n) }

// inUse and maxUsed report the bytes held now and at most so far.
func (b *byteBudget) inUse() int64   { return b.InUse() }
func (b *byteBudget) maxUsed() int64 { return b.Peak() }

// inflightChunk is the first buffer a message gets; the buffer then
// doubles, each step's growth taken from the budget before it is
// allocated. 16 KiB holds most messages (and a 10 KB one with its
// Received header) in one buffer from the allocator's small size classes;
// 64 KiB cost every 1 KB message a large, zeroed allocation.
const inflightChunk = 16 << 10

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
