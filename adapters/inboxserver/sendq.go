package inboxserver

// The send side of a connection: its queue, bounded in lines and bytes,
// and the writer goroutine that drains it.

import (
	"bufio"
	"sync"
	"time"

	"go.uber.org/zap"

	"mailroom/adapters/inboxwire"
)

// outItem is one queued line: an encoded line, or a fetch response that is
// encoded as it is written. The zero item asks the writer to flush and
// stop.
type outItem struct {
	line  []byte
	fetch *inboxwire.FetchLine
	// held is what the item holds of the server's MaxInflightBytes,
	// given back once it is written.
	held int64
}

func (it outItem) size() int {
	if it.fetch != nil {
		return it.fetch.Len()
	}
	return len(it.line)
}

func (it outItem) stop() bool { return it.line == nil && it.fetch == nil }

// writeBufSize is the writer's buffer, taken from writers for a burst of
// lines and put back when the burst is flushed, so that an idle
// connection holds none. Writes longer than it go straight through.
const writeBufSize = 32 << 10

var writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBufSize) }}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// send queues a response, waiting for room; false means the connection
// was aborted meanwhile. A fetch response goes as a FetchLine with the
// budget its message holds (c.fetchHeld, which send hands on).
func (c *conn) send(resp inboxwire.Response) bool {
	it := c.encode(resp)
	c.enqueue(it.size())
	select {
	case c.out <- it:
		return true
	case <-c.done:
		return false
	}
}

// encode makes resp's queue item.
func (c *conn) encode(resp inboxwire.Response) outItem {
	// A fetch's raw is never nil; an append answers a meta only.
	if resp.OK && resp.Message != nil && resp.Message.Raw != nil {
		held := c.fetchHeld
		c.fetchHeld = 0
		f, err := inboxwire.NewFetchLine(resp.Tag, *resp.Message)
		if err == nil {
			return outItem{fetch: f, held: held}
		}
		c.giveBack(held)
		c.log.Error("encode fetch response", zap.Error(err))
		resp = inboxwire.Response{Tag: resp.Tag}
		e, _ := wireError(err)
		resp.Error = &e
	}
	b, err := inboxwire.AppendLine(nil, resp)
	if err != nil { // cannot happen with these types; never send half a reply
		c.log.Error("encode response", zap.Error(err))
		e, _ := wireError(err)
		b, _ = inboxwire.AppendLine(nil, inboxwire.Response{Tag: resp.Tag, Error: &e})
	}
	return outItem{line: b}
}

// giveBack returns n bytes this connection held of the server's
// MaxInflightBytes.
func (c *conn) giveBack(n int64) {
	if n > 0 {
		c.inflight.Add(-n)
		c.s.inflight.Release(n)
	}
}

// enqueue counts n more bytes queued and gives the new total.
func (c *conn) enqueue(n int) int64 {
	q := c.queued.Add(int64(n))
	for p := c.peakQueued.Load(); q > p && !c.peakQueued.CompareAndSwap(p, q); p = c.peakQueued.Load() {
	}
	return q
}

// waitForRoom waits until fewer than the read pause's bytes are queued
// (SendQueueBytes, or readPauseBytes if less); false means the connection
// was aborted meanwhile. The wait is bounded by the writer: it writes
// whenever something is queued, and a write that makes no progress for
// WriteTimeout aborts the connection.
func (c *conn) waitForRoom() bool {
	pause := int64(min(c.s.cfg.SendQueueBytes, readPauseBytes))
	for c.queued.Load() >= pause {
		select {
		case <-c.drained:
		case <-c.done:
			return false
		}
	}
	return true
}

// push queues an event without waiting. A full queue (in lines or bytes)
// means the client is not reading: it is dropped so that nobody else
// waits for it.
func (c *conn) push(line []byte) {
	if isClosed(c.done) {
		return // dropped already; the reader will leave the hub
	}
	if q := c.enqueue(len(line)); q > int64(c.s.cfg.SendQueueBytes) {
		c.dropWatcher("send queue over its byte budget", zap.Int64("queued_bytes", q-int64(len(line))))
		return
	}
	select {
	case c.out <- outItem{line: line}:
	default:
		c.dropWatcher("send queue full", zap.Int("queue", cap(c.out)))
	}
}

func (c *conn) dropWatcher(why string, f zap.Field) {
	if !isClosed(c.done) {
		c.log.Warn("watcher dropped: "+why, f)
	}
	c.abort()
}

// finish makes the writer flush what is queued and stop, and waits for it.
func (c *conn) finish() {
	select {
	case c.out <- outItem{}:
	case <-c.done:
	}
	select {
	case <-c.writerDone:
	case <-c.done:
	}
}

// writeLoop writes queued lines, coalescing what is ready into one flush.
func (c *conn) writeLoop() {
	// A panic here ends this connection alone. Deferred first, so it runs
	// after writerDone is closed and lastWords need not wait for a writer
	// that is gone.
	defer c.lc.Recover()
	defer close(c.writerDone)
	for {
		var it outItem
		select {
		case it = <-c.out:
		case <-c.done:
			return
		}
		if !c.writeBurst(it) {
			return
		}
	}
}

// writeBurst writes it and whatever else is queued by then, and flushes;
// false means stop (asked to, or the write failed).
func (c *conn) writeBurst(it outItem) (more bool) {
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(c.tc)
	defer func() {
		bw.Reset(nil)
		writers.Put(bw)
	}()
	c.tc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	for {
		if it.stop() {
			if err := bw.Flush(); err != nil {
				c.writeFailed(err)
			}
			return false
		}
		var err error
		if it.fetch != nil {
			_, err = it.fetch.WriteTo(bw)
		} else {
			_, err = bw.Write(it.line)
		}
		if err != nil {
			c.writeFailed(err)
			return false
		}
		c.giveBack(it.held)
		c.queued.Add(-int64(it.size()))
		select {
		case c.drained <- struct{}{}:
		default: // a wake-up is pending already
		}
		select {
		case it = <-c.out:
			continue
		default:
		}
		if err := bw.Flush(); err != nil {
			c.writeFailed(err)
			return false
		}
		return true
	}
}

func (c *conn) writeFailed(err error) {
	if !isClosed(c.done) {
		c.log.Info("write failed", zap.Error(err))
	}
	c.abort()
}
