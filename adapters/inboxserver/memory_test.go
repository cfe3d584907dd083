package inboxserver

// Memory benchmarks (issue 9): what hostile or idle clients make the server
// hold. The clients run in a child process (the test binary re-executed,
// see loadMain), so that the figures are the server's alone: heap from
// runtime.ReadMemStats, RSS from /proc/self/statm. Run one at a time, once:
//
//	go test ./adapters/inboxserver -run '^$' -bench Memory -benchtime 1x
//
// Each reports per connection: live-B/conn (heap after a forced GC),
// peak-heap-B/conn and peak-rss-B/conn (the most seen while the clients
// were at it, garbage included), over the baseline taken before.

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
)

// loadEnv makes the test binary a load child (see startLoad).
const loadEnv = "MAILROOM_INBOXSERVER_LOAD"

// memEnv is a server whose caps let 1000 clients from one address in.
func memEnv(b *testing.B, cfg func(*Config)) *env {
	return newEnv(b, envOpts{log: zap.NewNop(), cfg: func(c *Config) {
		c.MaxConns, c.MaxConnsPerIP = 5000, 5000
		if cfg != nil {
			cfg(c)
		}
	}})
}

// BenchmarkMemoryPreLogin: 1000 connections that never log in, each
// sending an unfinished 1 MB line (issue 9, item 1).
func BenchmarkMemoryPreLogin(b *testing.B) {
	const n = 1000
	for range b.N {
		e := memEnv(b, nil)
		m := measure(b, e, n, "prelogin", "1000000")
		m.report(b, n)
	}
}

// BenchmarkMemoryIdleAfterBigRequest: 500 logged-in connections that each
// sent one 1 MB request, then idle (issue 9, item 3).
func BenchmarkMemoryIdleAfterBigRequest(b *testing.B) {
	const n = 500
	for range b.N {
		e := memEnv(b, nil)
		e.user("bob")
		m := measure(b, e, n, "idle", "1000000")
		m.report(b, n)
	}
}

// BenchmarkMemoryIdle: 1000 logged-in idle connections, 500 of them
// watching (issue 9, item 4).
func BenchmarkMemoryIdle(b *testing.B) {
	const n = 1000
	for range b.N {
		e := memEnv(b, nil)
		e.user("bob")
		m := measure(b, e, n, "idle", "0")
		m.report(b, n)
	}
}

// BenchmarkMemoryPipelinedFetch: 10 connections each pipelining 10
// fetches of a 10 MiB message and reading nothing (issue 9, item 2).
func BenchmarkMemoryPipelinedFetch(b *testing.B) {
	const n = 10
	for range b.N {
		e := memEnv(b, nil)
		e.user("alice")
		e.user("bob")
		body := strings.Repeat(strings.Repeat("z", 998)+"\r\n", 10<<20/1000)
		raw := []byte("From: alice@" + testDomain + "\r\nTo: bob@" + testDomain + "\r\nSubject: big\r\n\r\n" + body)
		metas, err := deliverVia(context.Background(), e.mb, e.user("alice"), []string{"bob"}, raw)
		if err != nil {
			b.Fatal(err)
		}
		m := measure(b, e, n, "fetch", strconv.FormatInt(int64(metas[0].ID), 10))
		m.report(b, n)
	}
}

type memFigures struct {
	baseHeap, baseRSS   uint64
	peakHeap, peakRSS   uint64
	liveHeap, liveStack uint64
	rss                 uint64
}

func (m memFigures) report(b *testing.B, n int) {
	per := func(v, base uint64) float64 {
		if v < base {
			return 0
		}
		return float64(v-base) / float64(n)
	}
	b.ReportMetric(per(m.liveHeap, m.baseHeap), "live-B/conn")
	b.ReportMetric(per(m.peakHeap, m.baseHeap), "peak-heap-B/conn")
	b.ReportMetric(per(m.peakRSS, m.baseRSS), "peak-rss-B/conn")
	b.ReportMetric(per(m.rss, m.baseRSS), "rss-B/conn")
	b.ReportMetric(float64(m.liveStack)/float64(n), "stack-B/conn")
}

// measure runs a load child against e, sampling the heap and RSS until
// the child has done its part and a little after, then takes the live
// heap after a forced GC while the child's connections are still open.
func measure(b *testing.B, e *env, n int, mode, arg string) memFigures {
	b.Helper()
	var m memFigures
	runtime.GC()
	debug.FreeOSMemory()
	m.baseHeap, m.baseRSS = heapNow(), rssNow()
	var stack0 runtime.MemStats
	runtime.ReadMemStats(&stack0)

	peaks := samplePeaks(10*time.Millisecond, true)
	child := startLoad(b, e, mode, n, arg)
	child.waitFor("ready")
	time.Sleep(time.Second) // let the server take what it will
	m.peakHeap, m.peakRSS = peaks()
	m.liveHeap = heapNow()
	m.rss = rssNow()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.StackInuse > stack0.StackInuse {
		m.liveStack = ms.StackInuse - stack0.StackInuse
	}
	child.stop()
	return m
}

// samplePeaks samples the heap (and, with rss, the resident set) every
// interval until the function it gives back is called, which gives the
// most seen of each.
func samplePeaks(every time.Duration, rss bool) (stop func() (heap, rss uint64)) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var peakHeap, peakRSS atomic.Uint64
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peakHeap.Store(max(peakHeap.Load(), ms.HeapAlloc))
			if rss {
				peakRSS.Store(max(peakRSS.Load(), rssNow()))
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() (uint64, uint64) {
		close(done)
		wg.Wait()
		return peakHeap.Load(), peakRSS.Load()
	}
}

func heapNow() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// rssNow is the process's resident set in bytes (0 where /proc is absent).
func rssNow() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

type loadChild struct {
	b     *testing.B
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines *bufio.Scanner
}

// startLoad re-executes the test binary as a load child: mode|addr|pem|n|arg.
func startLoad(b *testing.B, e *env, mode string, n int, arg string) *loadChild {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	pemPath := filepath.Join(b.TempDir(), "cert.pem")
	if err := os.WriteFile(pemPath, testCertPEM, 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%s|%d|%s", loadEnv, mode, e.addr, pemPath, n, arg))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	return &loadChild{b: b, cmd: cmd, stdin: stdin, lines: bufio.NewScanner(out)}
}

func (c *loadChild) waitFor(word string) {
	c.b.Helper()
	for c.lines.Scan() {
		if c.lines.Text() == word {
			return
		}
	}
	c.b.Fatalf("load child ended before %q", word)
}

// stop closes the child's stdin, which makes it close its connections
// and exit.
func (c *loadChild) stop() {
	c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		c.b.Errorf("load child: %v", err)
	}
}

// loadMain is the child's side: open n connections and do mode's part on
// each, say "ready", and hold them until stdin closes.
func loadMain(spec string) error {
	f := strings.Split(spec, "|")
	if len(f) != 5 {
		return fmt.Errorf("bad load spec %q", spec)
	}
	mode, addr, pemPath, arg := f[0], f[1], f[2], f[4]
	n, err := strconv.Atoi(f[3])
	if err != nil {
		return err
	}
	pemBytes, err := os.ReadFile(pemPath)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	conns := make([]*tls.Conn, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 32) // handshakes at once
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			raw, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			c := tlsClient(raw, pool)
			conns[i] = c
			if err := loadConn(c, mode, arg, i); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	return nil
}

// loadConn does one connection's part of mode.
func loadConn(c *tls.Conn, mode, arg string, i int) error {
	c.SetDeadline(time.Now().Add(time.Minute))
	defer c.SetDeadline(time.Time{})
	lr := bufio.NewReaderSize(c, 4096)
	ask := func(line string) error {
		if _, err := io.WriteString(c, line+"\n"); err != nil {
			return err
		}
		resp, err := lr.ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.Contains(resp, `"ok":true`) {
			return fmt.Errorf("%.100s: %.200s", line, resp)
		}
		return nil
	}
	switch mode {
	case "prelogin":
		size, _ := strconv.Atoi(arg)
		// The server may close part way (too_large): not an error here.
		c.Write([]byte(strings.Repeat("x", size)))
		return nil
	case "idle":
		if err := ask(fmt.Sprintf(`{"op":"login","user":"bob","password":%q}`, testPassword)); err != nil {
			return err
		}
		if size, _ := strconv.Atoi(arg); size > 0 {
			if err := ask(`{"op":"ping","tag":"` + strings.Repeat("t", size) + `"}`); err != nil {
				return err
			}
		}
		if i%2 == 0 {
			return ask(`{"op":"watch"}`)
		}
		return nil
	case "fetch":
		if err := ask(fmt.Sprintf(`{"op":"login","user":"bob","password":%q}`, testPassword)); err != nil {
			return err
		}
		_, err := io.WriteString(c, strings.Repeat(`{"op":"fetch","id":`+arg+"}\n", 10))
		return err
	}
	return fmt.Errorf("unknown load mode %q", mode)
}
