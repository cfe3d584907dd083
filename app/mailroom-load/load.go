package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// loadRun is one load run's shared state.
type loadRun struct {
	o       options
	tls     *tls.Config
	users   []string
	bodies  [][]byte     // sent in turn
	sent    atomic.Int64 // picks the next body
	started atomic.Int64 // transactions claimed (for --messages)
	errs    errCounter
}

// errCounter counts errors by phase and reply code ("auth 454", "data io").
type errCounter struct {
	mu sync.Mutex
	m  map[string]int64
}

func (e *errCounter) add(phase string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string]int64{}
	}
	e.m[phase+" "+errorKey(err)]++
}

func (e *errCounter) snapshot() map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		return map[string]int64{}
	}
	return maps.Clone(e.m)
}

// worker's tallies; merged after the run.
type tally struct {
	acked   int64
	lat     []time.Duration // MAIL to the 250 after DATA
	authLat []time.Duration // dial, handshake, EHLO and AUTH
	resumed int64           // of len(authLat) handshakes
}

// runLoad is the default mode: sustained submission.
func runLoad(ctx context.Context, o options) (*result, error) {
	lr := &loadRun{o: o, tls: tlsClient(o.resume), users: userNames(o), bodies: messages(o.size, o.text)}
	if err := lr.setupUsers(); err != nil {
		return nil, err
	}
	// Persistent connections log in before the clock starts: the cell
	// measures submission, and the logins are measured by the
	// per-message mode.
	conns := make([]*smtpConn, o.conns)
	if !o.perMessage {
		for i := range conns {
			c, _, err := lr.connect(ctx, lr.sender(i))
			if err != nil {
				return nil, fmt.Errorf("connection %d: %w", i, err)
			}
			conns[i] = c
		}
	}
	probe := newProbe(o.serverPID)
	start := time.Now()
	deadline := start.Add(o.duration)
	tallies := make([]tally, o.conns)
	var wg sync.WaitGroup
	for i := range o.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lr.work(ctx, i, conns[i], deadline, &tallies[i])
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := &result{Mode: "load", Label: o.label, Text: textName(o.text), Addr: o.addr, Conns: o.conns, Size: o.size, Rcpts: o.rcpts,
		PerMessageConn: o.perMessage, Seconds: elapsed.Seconds(), Errors: lr.errs.snapshot(), LoadAvgStart: probe.load}
	var lat, authLat []time.Duration
	for _, t := range tallies {
		res.Messages += t.acked
		lat = append(lat, t.lat...)
		authLat = append(authLat, t.authLat...)
		res.Resumed += t.resumed
	}
	res.Handshakes = int64(len(authLat))
	res.MsgsPerSec = float64(res.Messages) / elapsed.Seconds()
	res.MiBPerSec = float64(res.Messages) * float64(o.size) / (1 << 20) / elapsed.Seconds()
	res.P50Ms, res.P99Ms = quantiles(lat)
	if o.perMessage {
		p50, p99 := quantiles(authLat)
		res.AuthP50Ms, res.AuthP99Ms = &p50, &p99
	}
	probe.finish(res, res.Messages)
	return res, nil
}

// work sends until the deadline, --messages or ctx.
func (lr *loadRun) work(ctx context.Context, i int, c *smtpConn, deadline time.Time, t *tally) {
	defer func() {
		if c != nil {
			c.quit()
		}
	}()
	from, rcpts := lr.envelope(i)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if lr.o.messages > 0 && lr.started.Add(1) > lr.o.messages {
			return
		}
		if c == nil {
			var took time.Duration
			var err error
			if c, took, err = lr.connect(ctx, lr.sender(i)); err != nil {
				// A refused connection is counted and retried after a
				// pause, so a full server is seen in the error counts
				// rather than spun on.
				time.Sleep(50 * time.Millisecond)
				continue
			}
			t.authLat = append(t.authLat, took)
			if c.resumed() {
				t.resumed++
			}
		}
		t0 := time.Now()
		body := lr.bodies[int(lr.sent.Add(1))%len(lr.bodies)]
		err := c.send(from, rcpts, body)
		if err == nil {
			t.acked++
			t.lat = append(t.lat, time.Since(t0))
		} else {
			lr.errs.add("send", err)
		}
		var re *replyError
		if lr.o.perMessage || err != nil && (!errors.As(err, &re) || re.code == 421) {
			if err == nil {
				c.quit()
			} else {
				c.close()
			}
			c = nil
		}
	}
}

// connect dials and logs in as user, retrying a 454 (the login budget's
// "try again later", which issue 9 says honest parallel logins can get)
// a few times. Every failure is counted.
func (lr *loadRun) connect(ctx context.Context, user string) (*smtpConn, time.Duration, error) {
	var last error
	for attempt := range 5 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
		}
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		t0 := time.Now()
		c, err := dial(lr.o.addr, lr.tls, lr.o.timeout)
		if err != nil {
			lr.errs.add("connect", err)
			last = err
			continue
		}
		if err := c.auth(user, lr.o.password); err != nil {
			lr.errs.add("auth", err)
			c.close()
			last = err
			var re *replyError
			if errors.As(err, &re) && re.code == 454 {
				continue
			}
			return nil, 0, err
		}
		return c, time.Since(t0), nil
	}
	return nil, 0, last
}

// setupUsers registers the accounts with REG, over one connection. A
// refusal (the name is taken, registration is closed) is left to AUTH to
// judge: existing accounts with the right password serve as well.
func (lr *loadRun) setupUsers() error {
	if !lr.o.register {
		return nil
	}
	var c *smtpConn
	defer func() {
		if c != nil {
			c.quit()
		}
	}()
	for _, u := range lr.users {
		if c == nil {
			var err error
			if c, err = dial(lr.o.addr, lr.tls, lr.o.timeout); err != nil {
				return fmt.Errorf("registering %s: %w", u, err)
			}
		}
		err := c.register(u, lr.o.password)
		var re *replyError
		if err != nil && !errors.As(err, &re) {
			return fmt.Errorf("registering %s: %w", u, err)
		}
	}
	return nil
}

func userNames(o options) []string {
	names := make([]string, o.users)
	for i := range names {
		names[i] = fmt.Sprintf("%s%d", o.prefix, i)
	}
	return names
}

// sender is the account connection i logs in as.
func (lr *loadRun) sender(i int) string { return lr.users[i%len(lr.users)] }

// envelope gives connection i's sender and its recipients: the next
// --rcpts accounts after the sender, wrapping around.
func (lr *loadRun) envelope(i int) (string, []string) {
	n := len(lr.users)
	rcpts := make([]string, lr.o.rcpts)
	for j := range rcpts {
		rcpts[j] = lr.users[(i+1+j)%n] + "@localhost"
	}
	return lr.sender(i) + "@localhost", rcpts
}

// messages builds the bodies a run sends: one of filler, or for "words"
// and "mail" wordBodies distinct texts.
func messages(size int, text string) [][]byte {
	if text == "filler" {
		return [][]byte{message(size, 0, nil)}
	}
	vocab := loadVocab(20_000)
	z := rand.NewZipf(rand.New(rand.NewPCG(7, 8)), 1.1, 2, uint64(len(vocab)-1))
	word := func() string { return vocab[z.Uint64()] }
	out := make([][]byte, wordBodies)
	for i := range out {
		if text == "mail" {
			out[i] = mailMessage(size, i, word)
		} else {
			out[i] = message(size, i, word)
		}
	}
	return out
}

// wordBodies is how many distinct bodies --text words sends in turn:
// enough that the index's terms and doclists grow as with real mail
// rather than with a few bodies repeated.
const wordBodies = 256

// message builds message n of exactly size bytes on the wire before the
// final ".\r\n" (a size under its headers gives just them): a few
// headers, then lines of at most 76 columns that never start with a dot,
// so no stuffing changes its size. With word nil
// every line is the same filler sentence; otherwise lines are word's
// words.
func message(size, n int, word func() string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: load <load@localhost>\r\nTo: load <load@localhost>\r\nSubject: mailroom-load %d\r\n"+
		"Message-ID: <mailroom-load-%d@localhost>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", n, n)
	// Lines stop while at least 3 bytes are left after the longest (a
	// line of words: 72 columns and CRLF), so that the padding after them
	// makes the size exact.
	const filler = "The quick brown fox jumps over the lazy dog; mailroom-load filler text.\r\n"
	const width = 72
	for b.Len()+width+len("\r\n")+3 <= size {
		if word == nil {
			b.WriteString(filler)
		} else {
			b.WriteString(wordLine(word, width) + "\r\n")
		}
	}
	if rest := size - b.Len(); rest >= 3 {
		pad(&b, rest)
	}
	b.WriteString(".\r\n")
	return []byte(b.String())
}

// loadVocab makes n pseudo-words of 3–9 lowercase letters, the same on
// every run.
func loadVocab(n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	const letters = "abcdefghijklmnopqrstuvwxyz"
	out := make([]string, n)
	for i := range out {
		w := make([]byte, 3+r.IntN(7))
		for j := range w {
			w[j] = letters[r.IntN(len(letters))]
		}
		out[i] = string(w)
	}
	return out
}

// textName is the result's text field: empty for the default filler, so
// that older results compare with newer ones.
func textName(text string) string {
	if text == "filler" {
		return ""
	}
	return text
}

// quantiles gives p50 and p99 in milliseconds.
func quantiles(d []time.Duration) (p50, p99 float64) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	q := func(f float64) float64 {
		return float64(d[min(len(d)-1, int(f*float64(len(d))))].Microseconds()) / 1000
	}
	return q(0.50), q(0.99)
}

// probe reads the server's /proc figures and the tool's own CPU around a
// run.
type probe struct {
	pid       int
	before    procStat
	ok, reset bool
	load      string
	selfCPU   time.Duration
}

func newProbe(pid int) *probe {
	p := &probe{pid: pid, load: loadAvg(), selfCPU: selfCPU()}
	if pid > 0 {
		p.reset = resetPeak(pid) == nil
		var err error
		p.before, err = readProc(pid)
		p.ok = err == nil
	}
	return p
}

func (p *probe) finish(res *result, msgs int64) {
	res.LoadAvgEnd = loadAvg()
	if msgs > 0 {
		v := float64(selfCPU()-p.selfCPU) / float64(time.Microsecond) / float64(msgs)
		res.ClientCPUMicrosPerMsg = &v
	}
	if !p.ok {
		return
	}
	after, err := readProc(p.pid)
	if err != nil {
		return
	}
	if msgs > 0 {
		v := float64(after.cpuTicks-p.before.cpuTicks) * 1e6 / userHZ / float64(msgs)
		res.ServerCPUMicrosPerMsg = &v
	}
	res.ServerRSSKiB, res.ServerPeakRSSKiB, res.PeakIsPerRun = &after.rssKiB, &after.hwmKiB, p.reset
}

// selfCPU is this process's user plus system time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
