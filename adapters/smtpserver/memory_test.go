package smtpserver

// Memory benchmark (issue 9, item 4): what an idle logged-in connection
// makes the server hold. The clients run in a child process (the test
// binary re-executed, see TestMain and loadMain), so that the figures are
// the server's alone: heap from runtime.ReadMemStats, RSS from
// /proc/self/statm. Run it alone, once:
//
//	go test ./adapters/smtpserver -run '^$' -bench MemoryIdle -benchtime 1x
//
// It reports per connection: live-B/conn (heap after a forced GC, the
// goal is at most 64 KiB), rss-B/conn and peak-rss-B/conn (garbage
// included) and stack-B/conn, over the baseline taken before.

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
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
const loadEnv = "MAILROOM_SMTPSERVER_LOAD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(loadEnv); spec != "" {
		if err := loadMain(spec); err != nil {
			fmt.Fprintln(os.Stderr, "load child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// BenchmarkMemoryIdle: 1000 connections that log in (EHLO, AUTH PLAIN)
// and then wait.
func BenchmarkMemoryIdle(b *testing.B) {
	const n = 1000
	for range b.N {
		h := newHarnessLog(b, Config{MaxConns: 5000, MaxConnsPerIP: 5000}, zap.NewNop())
		h.user("bob")
		m := measure(b, h.addr, n)
		m.report(b, n)
	}
}

type memFigures struct {
	baseHeap, baseRSS uint64
	peakRSS           uint64
	liveHeap, rss     uint64
	liveStack         uint64
}

func (m memFigures) report(b *testing.B, n int) {
	per := func(v, base uint64) float64 {
		if v < base {
			return 0
		}
		return float64(v-base) / float64(n)
	}
	b.ReportMetric(per(m.liveHeap, m.baseHeap), "live-B/conn")
	b.ReportMetric(per(m.peakRSS, m.baseRSS), "peak-rss-B/conn")
	b.ReportMetric(per(m.rss, m.baseRSS), "rss-B/conn")
	b.ReportMetric(float64(m.liveStack)/float64(n), "stack-B/conn")
}

// measure runs a load child against addr, sampling RSS while it connects,
// then takes the live heap after a forced GC while its connections are
// still open.
func measure(b *testing.B, addr string, n int) memFigures {
	b.Helper()
	var m memFigures
	runtime.GC()
	debug.FreeOSMemory()
	m.baseHeap, m.baseRSS = heapNow(), rssNow()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var peakRSS atomic.Uint64
	wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			peakRSS.Store(max(peakRSS.Load(), rssNow()))
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	child := startLoad(b, addr, n)
	child.waitFor("ready")
	time.Sleep(time.Second) // let the server settle
	close(stop)
	wg.Wait()
	m.peakRSS = peakRSS.Load()
	m.liveHeap = heapNow()
	m.rss = rssNow()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.StackInuse > ms0.StackInuse {
		m.liveStack = ms.StackInuse - ms0.StackInuse
	}
	child.stop()
	return m
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

// startLoad re-executes the test binary as a load child: addr|n.
func startLoad(b *testing.B, addr string, n int) *loadChild {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%d", loadEnv, addr, n))
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

// loadMain is the child's side: open n connections, log each in as bob,
// say "ready", and hold them until stdin closes.
func loadMain(spec string) error {
	addr, ns, ok := strings.Cut(spec, "|")
	if !ok {
		return fmt.Errorf("bad load spec %q", spec)
	}
	n, err := strconv.Atoi(ns)
	if err != nil {
		return err
	}
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
			c := tls.Client(raw, clientTLS())
			conns[i] = c
			if err := loadLogin(c); err != nil {
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

// loadLogin reads the greeting, then EHLO and AUTH PLAIN as bob.
func loadLogin(c *tls.Conn) error {
	c.SetDeadline(time.Now().Add(time.Minute))
	defer c.SetDeadline(time.Time{})
	d := &dialog{conn: c, r: bufio.NewReaderSize(c, 1024)}
	steps := []struct{ send, want string }{
		{"", "220 "},
		{"EHLO client.test\r\n", "250 "},
		{"AUTH PLAIN " + plainIR("", "bob", "password-bob") + "\r\n", "235 "},
	}
	for _, s := range steps {
		if s.send != "" {
			if _, err := io.WriteString(c, s.send); err != nil {
				return err
			}
		}
		r, err := d.reply()
		if err != nil {
			return err
		}
		if last := r[strings.LastIndexByte(r, '\n')+1:]; !strings.HasPrefix(last, s.want) {
			return fmt.Errorf("%q: reply %q, want %q", s.send, r, s.want)
		}
	}
	return nil
}
