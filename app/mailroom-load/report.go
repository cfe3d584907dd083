package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// result is what a run reports. Pointers are figures that may be unknown
// (no --server-pid, no message acknowledged, not this mode).
type result struct {
	Mode           string  `json:"mode"`
	Label          string  `json:"label,omitempty"`
	Addr           string  `json:"addr"`
	Conns          int     `json:"conns"`
	Size           int     `json:"size_bytes,omitempty"`
	Rcpts          int     `json:"rcpts,omitempty"`
	Text           string  `json:"text,omitempty"` // "words", or empty for filler
	PerMessageConn bool    `json:"per_message_conn"`
	Seconds        float64 `json:"seconds"`
	// Messages counts only transactions whose 250 after DATA was read.
	Messages   int64            `json:"messages"`
	MsgsPerSec float64          `json:"msgs_per_sec"`
	MiBPerSec  float64          `json:"mib_per_sec"`
	P50Ms      float64          `json:"p50_ms"`
	P99Ms      float64          `json:"p99_ms"`
	AuthP50Ms  *float64         `json:"connect_auth_p50_ms,omitempty"`
	AuthP99Ms  *float64         `json:"connect_auth_p99_ms,omitempty"`
	Errors     map[string]int64 `json:"errors"`
	// Handshakes and Resumed count the TLS handshakes made while the clock
	// ran and how many of them resumed a session (a ticket was accepted).
	Handshakes int64 `json:"handshakes,omitempty"`
	Resumed    int64 `json:"resumed,omitempty"`

	ServerCPUMicrosPerMsg *float64 `json:"server_cpu_us_per_msg,omitempty"`
	ClientCPUMicrosPerMsg *float64 `json:"client_cpu_us_per_msg,omitempty"`
	ServerRSSKiB          *int64   `json:"server_rss_kib,omitempty"`
	ServerPeakRSSKiB      *int64   `json:"server_peak_rss_kib,omitempty"`
	// PeakIsPerRun: the peak was reset at the start (clear_refs), so it is
	// this run's and not the process's lifetime peak.
	PeakIsPerRun bool   `json:"peak_is_per_run"`
	LoadAvgStart string `json:"loadavg_start"`
	LoadAvgEnd   string `json:"loadavg_end"`

	// --idle and --slowloris.
	Opened        int            `json:"opened,omitempty"`
	RSSBeforeKiB  *int64         `json:"server_rss_before_kib,omitempty"`
	PerConnKiB    *float64       `json:"server_rss_per_conn_kib,omitempty"`
	Closed        int            `json:"closed,omitempty"`
	StillOpen     int            `json:"still_open,omitempty"`
	ClosedAfterS  []float64      `json:"closed_after_s,omitempty"` // min, p50, max
	ClosingReplys map[string]int `json:"closing_replies,omitempty"`

	// --burst: the logins asked for, the RSS every 5 s after them, and
	// when it was first back within 20% of RSSBeforeKiB (taken before any
	// password hash, REG's included).
	BurstLogins   int      `json:"burst_logins,omitempty"`
	RSSSettledKiB *int64   `json:"server_rss_settled_kib,omitempty"` // after REG and a pause, before the logins
	RSSSamplesKiB []int64  `json:"server_rss_after_kib,omitempty"`
	BackAfterS    *float64 `json:"back_within_20pct_after_s,omitempty"`
}

func (r *result) write(w io.Writer, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "jsonl":
		return json.NewEncoder(w).Encode(r)
	case "md":
		_, err := fmt.Fprintln(w, r.mdRow())
		return err
	}
	_, err := io.WriteString(w, r.text())
	return err
}

// MDHeader is the table header that matches mdRow; bench.sh prints it.
const mdHeader = "| conns | size | rcpts | conn/msg | msgs/s | MiB/s | p50 ms | p99 ms | connect+AUTH p50/p99 ms | server CPU µs/msg | client CPU µs/msg | peak RSS MiB | errors |\n" +
	"|---:|---:|---:|:---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"

func (r *result) mdRow() string {
	auth := "—"
	if r.AuthP50Ms != nil {
		auth = fmt.Sprintf("%.1f / %.1f", *r.AuthP50Ms, *r.AuthP99Ms)
	}
	perMsg := ""
	if r.PerMessageConn {
		perMsg = "yes"
	}
	return fmt.Sprintf("| %d | %s | %d | %s | %.0f | %.1f | %.2f | %.2f | %s | %s | %s | %s | %s |",
		r.Conns, r.sizeName(), r.Rcpts, perMsg, r.MsgsPerSec, r.MiBPerSec, r.P50Ms, r.P99Ms, auth,
		optF(r.ServerCPUMicrosPerMsg), optF(r.ClientCPUMicrosPerMsg), optMiB(r.ServerPeakRSSKiB), r.errorList())
}

// sizeName is the message size, with the body's kind when it is not the
// default filler ("10 KB words").
func (r *result) sizeName() string {
	if r.Text == "" {
		return sizeName(r.Size)
	}
	return sizeName(r.Size) + " " + r.Text
}

func (r *result) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mode %s against %s, %d connections, load average %s → %s\n", r.Mode, r.Addr, r.Conns, r.LoadAvgStart, r.LoadAvgEnd)
	if r.Mode == "load" {
		fmt.Fprintf(&b, "%s × %d recipients, connection per message: %v, %.1f s\n", r.sizeName(), r.Rcpts, r.PerMessageConn, r.Seconds)
		fmt.Fprintf(&b, "acknowledged %d messages: %.1f msgs/s, %.2f MiB/s\n", r.Messages, r.MsgsPerSec, r.MiBPerSec)
		fmt.Fprintf(&b, "MAIL→250 after DATA: p50 %.2f ms, p99 %.2f ms\n", r.P50Ms, r.P99Ms)
		if r.AuthP50Ms != nil {
			fmt.Fprintf(&b, "connect+TLS+EHLO+AUTH: p50 %.2f ms, p99 %.2f ms; TLS sessions resumed: %d of %d handshakes\n",
				*r.AuthP50Ms, *r.AuthP99Ms, r.Resumed, r.Handshakes)
		}
		fmt.Fprintf(&b, "CPU µs per message: server %s, this tool %s\n", optF(r.ServerCPUMicrosPerMsg), optF(r.ClientCPUMicrosPerMsg))
	}
	if r.Opened > 0 {
		fmt.Fprintf(&b, "opened %d connections\n", r.Opened)
	}
	if r.RSSBeforeKiB != nil && r.ServerRSSKiB != nil {
		fmt.Fprintf(&b, "server RSS %s MiB before, %s MiB after", optMiB(r.RSSBeforeKiB), optMiB(r.ServerRSSKiB))
		if r.PerConnKiB != nil {
			fmt.Fprintf(&b, " (%.1f KiB per connection)", *r.PerConnKiB)
		}
		b.WriteString("\n")
	}
	if r.Mode == "burst" {
		r.burstText(&b)
	}
	if r.Mode == "slowloris" {
		fmt.Fprintf(&b, "closed by the server: %d, still open at the end: %d", r.Closed, r.StillOpen)
		if len(r.ClosedAfterS) == 3 {
			fmt.Fprintf(&b, "; closed after first byte: min %.1f s, p50 %.1f s, max %.1f s", r.ClosedAfterS[0], r.ClosedAfterS[1], r.ClosedAfterS[2])
		}
		b.WriteString("\n")
		for k, v := range r.ClosingReplys {
			fmt.Fprintf(&b, "  %d× %s\n", v, k)
		}
	}
	if r.ServerPeakRSSKiB != nil {
		fmt.Fprintf(&b, "server peak RSS %s MiB (this run's own: %v), RSS now %s MiB\n", optMiB(r.ServerPeakRSSKiB), r.PeakIsPerRun, optMiB(r.ServerRSSKiB))
	}
	fmt.Fprintf(&b, "errors: %s\n", r.errorList())
	return b.String()
}

func (r *result) errorList() string {
	if len(r.Errors) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		keys[i] = fmt.Sprintf("%s×%d", k, r.Errors[k])
	}
	return strings.Join(keys, ", ")
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

func optF(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.0f", *v)
}

func optMiB(v *int64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.1f", float64(*v)/1024)
}
