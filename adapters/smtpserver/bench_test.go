package smtpserver

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkSubmission measures submission over loopback TLS against real
// SQLite (synchronous=FULL): N clients, each on one authenticated
// connection, send 10 KB messages back to back (MAIL, RCPT and DATA
// pipelined, then the content). Latency runs from MAIL to the 250 after
// DATA, which is sent only after the commit.
func BenchmarkSubmission(b *testing.B) {
	line := "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n"
	msg := "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: bench\r\n\r\n" +
		strings.Repeat(line, 10240/len(line)) + ".\r\n"
	for _, clients := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			h := newHarness(b, Config{})
			h.user("alice")
			h.user("bob")
			conns := make([]*dialog, clients)
			for i := range conns {
				conns[i] = h.dial()
				conns[i].login("alice")
			}
			var next atomic.Int64
			lat := make([][]time.Duration, clients)
			errs := make(chan error, clients)
			var wg sync.WaitGroup
			b.SetBytes(int64(len(msg)))
			b.ResetTimer()
			start := time.Now()
			for i, d := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						t0 := time.Now()
						if err := submit(d, msg); err != nil {
							errs <- err
							return
						}
						lat[i] = append(lat[i], time.Since(t0))
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			all := slices.Concat(lat...)
			slices.Sort(all)
			ms := func(q float64) float64 {
				return float64(all[min(len(all)-1, int(q*float64(len(all))))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(ms(0.50), "p50-ms")
			b.ReportMetric(ms(0.99), "p99-ms")
		})
	}
}

// submit runs one pipelined transaction without testing.T (it runs on a
// client goroutine).
func submit(d *dialog, msg string) error {
	d.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := d.conn.Write([]byte("MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")); err != nil {
		return err
	}
	for _, want := range []string{"250 ", "250 ", "354 "} {
		if r, err := d.reply(); err != nil || !strings.HasPrefix(r, want) {
			return fmt.Errorf("reply %q (%v), want %q", r, err, want)
		}
	}
	if _, err := d.conn.Write([]byte(msg)); err != nil {
		return err
	}
	if r, err := d.reply(); err != nil || !strings.HasPrefix(r, "250 ") {
		return fmt.Errorf("after DATA: %q (%v)", r, err)
	}
	return nil
}
