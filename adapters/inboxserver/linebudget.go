package inboxserver

// Long request lines (appends) under the server-wide MaxInflightBytes: a
// logged-in client may send a line of about 33 MiB (an append of a 25 MiB
// message), and MaxConns of them must not make the server hold MaxConns
// such lines at once.

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"mailroom/adapters/inboxwire"
)

// errLineBudget is a request line whose buffer could not grow within
// Config.lineWait: the server's in-flight budget stayed spent.
var errLineBudget = errors.New("inboxserver: in-flight byte budget spent")

// reserveLine is the line reader's OnGrow function: before the line's
// buffer grows to capacity bytes (past MaxLine), it takes the growth from
// the server's budget, waiting up to lineWait for room. The buffer the
// growth replaces is garbage, left to the GC, and not counted (as SMTP's
// DATA buffer).
func (c *conn) reserveLine(capacity int) error {
	need := int64(capacity) - c.lineHeld
	if need <= 0 {
		return nil
	}
	b := c.s.inflight
	if !b.TryAcquire(need) {
		ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.lineWait)
		err := b.Acquire(ctx, need)
		cancel()
		if err != nil {
			return errLineBudget
		}
	}
	c.lineHeld += need
	return nil
}

// releaseLine gives back what the last line held of the budget once its
// request is answered, and makes the reader drop that line's buffer
// (which an append's raw, decoded in place, still points into: the store
// may hold it a little longer, as its own).
func (c *conn) releaseLine(lr *inboxwire.LineReader) {
	if c.lineHeld == 0 {
		return
	}
	lr.Detach()
	c.s.inflight.Release(c.lineHeld)
	c.lineHeld = 0
}

// refuseLine answers a line that the budget refused: the rest of it is
// read and dropped (held nowhere, under the line's own read deadline), so
// that nothing of the request is done and the client is reading when the
// untagged busy error comes; then the connection is closed, since the
// request's tag was never read. A line that passes the bound or cannot be
// read to its end gets the answer anyway, and the close after linger.
func (c *conn) refuseLine(lr *inboxwire.LineReader) string {
	c.releaseLine(lr)
	c.log.Warn("in-flight byte budget spent: request line refused",
		zap.Int64("budget", c.s.cfg.MaxInflightBytes))
	skipErr := lr.SkipLine()
	e, _ := wireError(errLineBudget)
	c.send(inboxwire.Response{Error: &e})
	if skipErr != nil {
		c.finish()
		c.linger()
	} else {
		c.close()
	}
	return "busy: in-flight byte budget spent"
}
