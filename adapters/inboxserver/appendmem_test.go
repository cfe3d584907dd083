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
		stop := make(chan struct{})
		var peak atomic.Uint64
		var wg sync.WaitGroup
		wg.Go(func() {
			t := time.NewTicker(2 * time.Millisecond)
			defer t.Stop()
			for {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak.Store(max(peak.Load(), ms.HeapAlloc))
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		})
		bob.conn.SetWriteDeadline(time.Now().Add(time.Minute))
		if _, err := bob.conn.Write(line); err != nil {
			b.Fatal(err)
		}
		got, err := bob.readLine(time.Minute)
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		if r := bob.response2(got); !r.OK {
			b.Fatalf("append: %s", got)
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		peakSum += float64(peak.Load()) - float64(before.HeapAlloc)
		allocSum += float64(after.TotalAlloc - before.TotalAlloc)
	}
	b.ReportMetric(peakSum/float64(b.N)/float64(size), "peak-heap/msg")
	b.ReportMetric(allocSum/float64(b.N)/float64(size), "alloc/msg")
	b.ReportMetric(0, "ns/op")
}
