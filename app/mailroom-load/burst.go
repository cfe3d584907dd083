package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// burstSample is how often --burst reads the server's RSS after the burst.
const burstSample = 5 * time.Second

// burstSettle is how long --burst waits after registering before it takes
// the baseline: long enough for a server that returns memory after a
// hashing burst to have done so for the REG's hash.
const burstSettle = 10 * time.Second

// runBurst measures whether the server hands memory back after a burst of
// password hashes (issue 9, item 4): it takes the server's RSS as a
// baseline, runs --burst logins (each a connection with AUTH; against
// mailroomd --auth-cache-ttl 0 each one hashes), then reads the RSS every
// 5 s for --duration (default 60 s). It needs --server-pid.
func runBurst(ctx context.Context, o options) (*result, error) {
	if o.serverPID <= 0 {
		return nil, fmt.Errorf("%w: --burst needs --server-pid", errUsage)
	}
	// The baseline is the server before any hash: registering hashes too.
	before, err := readProc(o.serverPID)
	if err != nil {
		return nil, err
	}
	lr := &loadRun{o: o, tls: tlsClient(o.resume), users: userNames(o)}
	if err := lr.setupUsers(); err != nil {
		return nil, err
	}
	if !sleepCtx(ctx, burstSettle) {
		return nil, ctx.Err()
	}
	res := &result{Mode: "burst", Addr: o.addr, LoadAvgStart: loadAvg(), BurstLogins: o.burst}
	res.RSSBeforeKiB = &before.rssKiB
	if s, err := readProc(o.serverPID); err == nil {
		res.RSSSettledKiB = &s.rssKiB
	}
	resetPeak(o.serverPID) // best effort: the peak is then the burst's own
	t0 := time.Now()
	res.Opened, res.Conns = lr.loginMany(ctx, o.burst), openers
	res.Seconds = time.Since(t0).Seconds()
	end := time.Now().Add(o.duration)
	for {
		if !sleepCtx(ctx, burstSample) {
			break
		}
		s, err := readProc(o.serverPID)
		if err != nil {
			return nil, err
		}
		res.RSSSamplesKiB = append(res.RSSSamplesKiB, s.rssKiB)
		res.ServerRSSKiB, res.ServerPeakRSSKiB = &s.rssKiB, &s.hwmKiB
		if res.BackAfterS == nil && float64(s.rssKiB) <= 1.2*float64(before.rssKiB) {
			v := float64(len(res.RSSSamplesKiB)) * burstSample.Seconds()
			res.BackAfterS = &v
		}
		if !time.Now().Before(end) {
			break
		}
	}
	res.PeakIsPerRun = true
	res.Errors = lr.errs.snapshot()
	res.LoadAvgEnd = loadAvg()
	return res, nil
}

// loginMany runs n logins, openers at a time, each on its own connection
// closed right after (so that the per-IP connection cap never applies),
// and gives how many succeeded. Failures are counted in lr.errs.
func (lr *loadRun) loginMany(ctx context.Context, n int) int {
	var ok atomic.Int64
	next := make(chan int)
	var wg sync.WaitGroup
	for range openers {
		wg.Go(func() {
			for i := range next {
				if c, _, err := lr.connect(ctx, lr.sender(i)); err == nil {
					c.quit()
					ok.Add(1)
				}
			}
		})
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return int(ok.Load())
}

// burstText is the --burst part of the text report.
func (r *result) burstText(b *strings.Builder) {
	if r.RSSSettledKiB != nil {
		fmt.Fprintf(b, "RSS %s MiB after registering and %v idle\n", optMiB(r.RSSSettledKiB), burstSettle)
	}
	fmt.Fprintf(b, "%d logins in %.1f s (%d completed); RSS every %v after (MiB):", r.BurstLogins, r.Seconds, r.Opened, burstSample)
	for _, v := range r.RSSSamplesKiB {
		fmt.Fprintf(b, " %.1f", float64(v)/1024)
	}
	b.WriteString("\n")
	if r.BackAfterS != nil {
		fmt.Fprintf(b, "back within 20%% of the baseline after %.0f s\n", *r.BackAfterS)
	} else {
		b.WriteString("not back within 20% of the baseline\n")
	}
}

// sleepCtx sleeps for d, or less when ctx ends (then it reports false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
