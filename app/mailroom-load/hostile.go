package main

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// openers is how many logins the hostile modes run at once: few enough
// that parallel honest logins do not trip the server's login budget (issue
// 9), many enough to keep its hashers busy.
const openers = 4

// openMany opens up to n logged-in connections, giving up on the rest when
// ctx ends. Failures are counted in lr.errs.
func (lr *loadRun) openMany(ctx context.Context, n int) []*smtpConn {
	var (
		mu    sync.Mutex
		conns []*smtpConn
		wg    sync.WaitGroup
	)
	next := make(chan int)
	for range openers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, _, err := lr.connect(ctx, lr.sender(i))
				if err != nil {
					continue
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return conns
}

// setupHostile registers the accounts and reads the server's RSS before
// anything is opened.
func setupHostile(o options, mode string) (*loadRun, *result, *procStat, error) {
	lr := &loadRun{o: o, tls: tlsClient(o.resume), users: userNames(o)}
	if err := lr.setupUsers(); err != nil {
		return nil, nil, nil, err
	}
	// Warm up first: each login's password hash grows the server's heap
	// by the argon2 memory cost, and the runtime keeps that heap for a
	// while. Paying it before the baseline leaves the per-connection
	// figure with what the connections themselves hold.
	for _, c := range lr.openMany(context.Background(), 2*openers) {
		c.quit()
	}
	time.Sleep(time.Second)
	res := &result{Mode: mode, Addr: o.addr, LoadAvgStart: loadAvg()}
	var before *procStat
	if o.serverPID > 0 {
		if s, err := readProc(o.serverPID); err == nil {
			before = &s
			res.RSSBeforeKiB = &s.rssKiB
		}
	}
	return lr, res, before, nil
}

// finishHostile reads the server's RSS with the connections still open.
func finishHostile(o options, lr *loadRun, res *result, before *procStat, opened int) {
	res.Opened, res.Conns = opened, opened
	res.Errors = lr.errs.snapshot()
	res.LoadAvgEnd = loadAvg()
	if before == nil {
		return
	}
	after, err := readProc(o.serverPID)
	if err != nil {
		return
	}
	res.ServerRSSKiB, res.ServerPeakRSSKiB = &after.rssKiB, &after.hwmKiB
	if opened > 0 {
		v := float64(after.rssKiB-before.rssKiB) / float64(opened)
		res.PerConnKiB = &v
	}
}

// runIdle opens --idle logged-in connections, leaves them idle for
// --duration and reports what the server's RSS grew by.
func runIdle(ctx context.Context, o options) (*result, error) {
	lr, res, before, err := setupHostile(o, "idle")
	if err != nil {
		return nil, err
	}
	octx, cancel := context.WithTimeout(ctx, maxDuration)
	defer cancel()
	conns := lr.openMany(octx, o.idle)
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()
	select {
	case <-ctx.Done():
	case <-time.After(o.duration):
	}
	finishHostile(o, lr, res, before, len(conns))
	return res, nil
}

// runSlowloris opens --slowloris logged-in connections, each sending a
// command line one byte every --trickle and never its CRLF, for
// --duration, and reports when (after its first byte) the server closed
// each one and with what reply.
func runSlowloris(ctx context.Context, o options) (*result, error) {
	lr, res, before, err := setupHostile(o, "slowloris")
	if err != nil {
		return nil, err
	}
	octx, cancel := context.WithTimeout(ctx, maxDuration)
	defer cancel()
	conns := lr.openMany(octx, o.slowloris)
	end := time.Now().Add(o.duration)
	type outcome struct {
		closed bool
		after  time.Duration
		reply  string
	}
	out := make([]outcome, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.close()
			out[i].closed, out[i].after, out[i].reply = trickle(ctx, c, o.trickle, end)
		}()
	}
	// RSS while they trickle, just before the first could be cut.
	time.Sleep(min(o.duration/2, 5*time.Second))
	finishHostile(o, lr, res, before, len(conns))
	wg.Wait()
	res.LoadAvgEnd = loadAvg()
	res.ClosingReplys = map[string]int{}
	var afters []float64
	for _, oc := range out {
		if !oc.closed {
			res.StillOpen++
			continue
		}
		res.Closed++
		afters = append(afters, oc.after.Seconds())
		res.ClosingReplys[oc.reply]++
	}
	if len(afters) > 0 {
		slices.Sort(afters)
		res.ClosedAfterS = []float64{afters[0], afters[len(afters)/2], afters[len(afters)-1]}
	}
	return res, nil
}

// slowCommand is the command line a slowloris connection trickles; after
// it come 'a's, and never a CRLF.
const slowCommand = "MAIL FROM:<"

// trickle writes one byte every `every` until end, ctx, or the server
// closing the connection. It tells whether the server closed it, how long
// after the first byte, and the reply it sent before closing.
func trickle(ctx context.Context, c *smtpConn, every time.Duration, end time.Time) (bool, time.Duration, string) {
	type readEnd struct {
		closed bool
		at     time.Time
		reply  string
	}
	done := make(chan readEnd, 1)
	go func() {
		c.conn.SetReadDeadline(end)
		var first string
		for {
			line, err := c.r.ReadString('\n')
			if first == "" && line != "" {
				first = strings.TrimSpace(line)
			}
			if err != nil {
				var ne net.Error
				timedOut := errors.As(err, &ne) && ne.Timeout()
				if first == "" {
					first = "(closed without a reply)"
				}
				done <- readEnd{closed: !timedOut, at: time.Now(), reply: first}
				return
			}
		}
	}()
	start := time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	for i := 0; ; i++ {
		b := byte('a')
		if i < len(slowCommand) {
			b = slowCommand[i]
		}
		c.conn.SetWriteDeadline(time.Now().Add(every))
		if _, err := c.conn.Write([]byte{b}); err != nil {
			// The reader sees the close too; give it a moment to say how.
			select {
			case r := <-done:
				return r.closed, r.at.Sub(start), r.reply
			case <-time.After(time.Second):
				return true, time.Since(start), "(write failed: " + err.Error() + ")"
			}
		}
		select {
		case r := <-done:
			return r.closed, r.at.Sub(start), r.reply
		case <-ctx.Done():
			return false, 0, ""
		case <-t.C:
		}
	}
}
