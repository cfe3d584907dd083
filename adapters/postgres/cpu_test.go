package postgres

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// cpuMeter measures the CPU time a benchmark costs this process and the
// PostgreSQL backends of its store (named by their application_name), so
// that a change can be judged by CPU per operation on a machine whose other
// load makes throughput alone unreliable. The backends must run on this
// machine (Linux /proc); otherwise only this process is measured.
type cpuMeter struct {
	app     string
	self    time.Duration
	backend map[int32]time.Duration
}

// withAppName gives dbURL with an application_name of its own, for a meter.
func withAppName(t testing.TB, dbURL string) (string, string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	app := "bench_" + randomName()[len("mailroom_test_"):]
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String(), app
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendCPU gives the CPU time of each backend named app; nil when /proc
// cannot tell.
func backendCPU(ctx context.Context, s *Store, app string) map[int32]time.Duration {
	rows, err := s.pool.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
	if err != nil {
		return nil
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil
	}
	out := map[int32]time.Duration{}
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return nil
		}
		// Fields after the command's closing parenthesis: utime and stime
		// are the 12th and 13th, in clock ticks (100 a second on Linux).
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 13 {
			return nil
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[pid] = time.Duration(ut+st) * 10 * time.Millisecond
	}
	return out
}

func startCPU(s *Store, app string) *cpuMeter {
	return &cpuMeter{app: app, self: selfCPU(), backend: backendCPU(context.Background(), s, app)}
}

// report adds cpu-µs/op (this process) and pg-cpu-µs/op (the backends:
// those born during the run count whole) to b.
func (m *cpuMeter) report(b *testing.B, s *Store) {
	b.ReportMetric(float64((selfCPU()-m.self).Microseconds())/float64(b.N), "cpu-µs/op")
	now := backendCPU(context.Background(), s, m.app)
	if now == nil || m.backend == nil {
		return
	}
	var d time.Duration
	for pid, t := range now {
		d += t - m.backend[pid]
	}
	b.ReportMetric(float64(d.Microseconds())/float64(b.N), "pg-cpu-µs/op")
}
