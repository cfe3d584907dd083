package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
)

// cellKey names one cell of the matrix.
type cellKey struct {
	Conns, Size, Rcpts int
	PerMessage         bool
	Text               string
}

func (k cellKey) String() string {
	s := fmt.Sprintf("%s × %d", sizeName(k.Size), k.Conns)
	if k.Rcpts > 1 {
		s = fmt.Sprintf("%s × %d rcpts × %d", sizeName(k.Size), k.Rcpts, k.Conns)
	}
	if k.PerMessage {
		s += ", conn+AUTH per msg"
	}
	if k.Text != "" {
		s += ", " + k.Text
	}
	return s
}

// cellSummary is the median of each figure over one label's runs of a cell.
// Each figure's median is taken on its own, so the row need not be one run.
type cellSummary struct {
	runs                         int
	msgs, mib, p50, p99, cpu, hw float64
	resumed, handshakes          int64
	errors                       int64
}

// compareFile reads --format jsonl results (one per line, each with a
// --label) and writes one Markdown row per cell: the first label's medians,
// every other label's beside it, and the ratio of msgs/s.
func compareFile(path string, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runs := map[cellKey]map[string][]result{}
	var cells []cellKey
	var labels []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		k := cellKey{r.Conns, r.Size, r.Rcpts, r.PerMessageConn, r.Text}
		if runs[k] == nil {
			runs[k] = map[string][]result{}
			cells = append(cells, k)
		}
		if !slices.Contains(labels, r.Label) {
			labels = append(labels, r.Label)
		}
		runs[k][r.Label] = append(runs[k][r.Label], r)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	writeCompareHeader(w, labels)
	for _, k := range cells {
		row := []string{k.String()}
		var base float64
		for i, l := range labels {
			s := summarize(runs[k][l])
			row = append(row, s.cells()...)
			if i == 0 {
				base = s.msgs
			} else if s.msgs > 0 {
				row = append(row, fmt.Sprintf("**%.2f**", base/s.msgs))
			} else {
				row = append(row, "—")
			}
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	return nil
}

func writeCompareHeader(w io.Writer, labels []string) {
	head := []string{"cell"}
	for i, l := range labels {
		for _, c := range []string{"msgs/s", "MiB/s", "p50/p99 ms", "CPU µs/msg", "peak RSS MiB", "runs (errors)"} {
			head = append(head, l+" "+c)
		}
		if i > 0 {
			head = append(head, labels[0]+" / "+l)
		}
	}
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---:|", len(head)))
}

func summarize(rs []result) cellSummary {
	s := cellSummary{runs: len(rs)}
	pick := func(f func(r result) float64) float64 {
		v := make([]float64, 0, len(rs))
		for _, r := range rs {
			v = append(v, f(r))
		}
		return median(v)
	}
	s.msgs = pick(func(r result) float64 { return r.MsgsPerSec })
	s.mib = pick(func(r result) float64 { return r.MiBPerSec })
	s.p50 = pick(func(r result) float64 { return r.P50Ms })
	s.p99 = pick(func(r result) float64 { return r.P99Ms })
	s.cpu = pick(func(r result) float64 { return deref(r.ServerCPUMicrosPerMsg) })
	s.hw = pick(func(r result) float64 { return float64(derefI(r.ServerPeakRSSKiB)) / 1024 })
	for _, r := range rs {
		s.resumed += r.Resumed
		s.handshakes += r.Handshakes
		for _, n := range r.Errors {
			s.errors += n
		}
	}
	return s
}

func (s cellSummary) cells() []string {
	if s.runs == 0 {
		return []string{"—", "—", "—", "—", "—", "0"}
	}
	runs := fmt.Sprintf("%d (%d)", s.runs, s.errors)
	if s.handshakes > 0 {
		runs += fmt.Sprintf(", %d/%d resumed", s.resumed, s.handshakes)
	}
	return []string{fmt.Sprintf("%.0f", s.msgs), fmt.Sprintf("%.1f", s.mib), fmt.Sprintf("%.1f / %.1f", s.p50, s.p99),
		fmt.Sprintf("%.0f", s.cpu), fmt.Sprintf("%.1f", s.hw), runs}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func derefI(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// pickFreePort asks the kernel for a free loopback port and releases it.
// Another process may take it before the caller does; scripts retry.
func pickFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
