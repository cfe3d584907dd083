package inboxserver

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
)

// BenchmarkAppendHeap: what one append of the largest message (25 MiB by
// default) makes the server allocate, and the most heap seen while it
// ran, over the heap before. The client writes a line built beforehand,
// so the figures are the server's (and the store's) alone, plus the
// client's small TLS records.
//
//	go test ./adapters/inboxserver -run '^$' -bench AppendHeap -benchtime 3x
func BenchmarkAppendHeap(b *testing.B) {
	e := newEnv(b, envOpts{log: zap.NewNop()})
	bob := e.login("bob")
	size := e.mb.MaxMessageBytes()
	line := []byte(appendLine(1, "drafts", draftRaw("big", int(size)), "") + "\n")
	var peakSum, allocSum float64
	for b.Loop() {
		runtime.GC()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		peaks := samplePeaks(2*time.Millisecond, false)
		bob.conn.SetWriteDeadline(time.Now().Add(time.Minute))
		if _, err := bob.conn.Write(line); err != nil {
			b.Fatal(err)
		}
		got, err := bob.readLine(time.Minute)
		peak, _ := peaks()
		if err != nil {
			b.Fatal(err)
		}
		if r := bob.response2(got); !r.OK {
			b.Fatalf("append: %s", got)
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		peakSum += float64(peak) - float64(before.HeapAlloc)
		allocSum += float64(after.TotalAlloc - before.TotalAlloc)
	}
	b.ReportMetric(peakSum/float64(b.N)/float64(size), "peak-heap/msg")
	b.ReportMetric(allocSum/float64(b.N)/float64(size), "alloc/msg")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkAppendHeapParallel: six connections each send an append of the
// largest message at once, under an 80 MiB MaxInflightBytes (two such
// lines and some). Reported: the most heap seen over the heap before, in
// MiB, and how many appends were stored and refused (busy).
func BenchmarkAppendHeapParallel(b *testing.B) {
	const conns = 6
	e := newEnv(b, envOpts{log: zap.NewNop(), cfg: func(c *Config) { c.MaxInflightBytes = 80 << 20 }})
	size := e.mb.MaxMessageBytes()
	line := []byte(appendLine(1, "drafts", draftRaw("big", int(size)), "") + "\n")
	var peakSum, stored, refused float64
	for b.Loop() {
		clients := make([]*client, conns)
		for i := range clients {
			clients[i] = e.login("bob")
		}
		runtime.GC()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		peaks := samplePeaks(2*time.Millisecond, false)
		var wg sync.WaitGroup
		var ok, busy atomic.Int64
		for _, c := range clients {
			wg.Go(func() {
				go func() {
					c.conn.SetWriteDeadline(time.Now().Add(time.Minute))
					c.conn.Write(line)
				}()
				got, err := c.readLine(time.Minute)
				if err != nil {
					b.Error(err)
					return
				}
				if r := c.response2(got); r.OK {
					ok.Add(1)
				} else {
					busy.Add(1)
				}
				c.conn.Close()
			})
		}
		wg.Wait()
		peak, _ := peaks()
		peakSum += float64(peak) - float64(before.HeapAlloc)
		stored += float64(ok.Load())
		refused += float64(busy.Load())
	}
	n := float64(b.N)
	b.ReportMetric(peakSum/n/(1<<20), "peak-heap-MiB")
	b.ReportMetric(stored/n, "stored")
	b.ReportMetric(refused/n, "refused")
	b.ReportMetric(0, "ns/op")
}
