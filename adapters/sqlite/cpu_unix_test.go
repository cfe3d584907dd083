//go:build unix

package sqlite

import (
	"syscall"
	"testing"
	"time"
)

// cpuMeter reports the process's CPU time (user + system) per op, which,
// unlike ns/op, a delivery's wait for fsync and other load on the machine
// hardly move: the figure to compare for parsing and other CPU work.
type cpuMeter struct{ start time.Duration }

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuMeter { return cpuMeter{processCPU()} }

func (m cpuMeter) report(b *testing.B) {
	if b.N > 0 {
		b.ReportMetric(float64(processCPU()-m.start)/float64(b.N), "cpu-ns/op")
	}
}
