// Command mailroom-load is Mailroom's SMTP load generator and hostile-client
// tool. It drives a real mailroomd over implicit TLS with AUTH PLAIN and
// reports what the server sustained: messages and MiB per second, latency
// from MAIL to the 250 after DATA (and of connect plus AUTH when each
// message has its own connection), errors by reply code and, given the
// server's PID, the server's CPU time per message and its peak RSS. The
// --idle and --slowloris modes measure what idle and trickling connections
// cost the server, and --burst whether it hands back the memory of a
// burst of password hashes (issue 9's memory and deadline figures). It only ever
// dials loopback: it is a measuring tool, not a way to load someone else's
// server. app/mailroom-load/bench.sh runs the whole matrix (`task load`).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"
)

// Bounds that keep every run finite whatever the flags say.
const (
	maxConns    = 1000
	maxRcpts    = 100
	maxSize     = 64 << 20
	maxDuration = 30 * time.Minute
	maxMessages = 10_000_000
	maxHostile  = 10_000
)

var errUsage = errors.New("usage")

// options are the parsed flags.
type options struct {
	addr       string
	conns      int
	size       int
	rcpts      int
	perMessage bool
	duration   time.Duration
	messages   int64
	users      int
	prefix     string
	password   string
	register   bool
	serverPID  int
	format     string
	idle       int
	burst      int
	slowloris  int
	trickle    time.Duration
	timeout    time.Duration
	resume     bool
	label      string
	text       string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "mailroom-load:", err)
		return 2
	}
	var res *result
	switch {
	case o.idle > 0:
		res, err = runIdle(ctx, o)
	case o.burst > 0:
		res, err = runBurst(ctx, o)
	case o.slowloris > 0:
		res, err = runSlowloris(ctx, o)
	default:
		res, err = runLoad(ctx, o)
	}
	if err != nil {
		fmt.Fprintln(stderr, "mailroom-load:", err)
		return 1
	}
	if err := res.write(stdout, o.format); err != nil {
		fmt.Fprintln(stderr, "mailroom-load:", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stdout, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("mailroom-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8025", "SMTP address of the server (loopback only)")
	fs.IntVar(&o.conns, "conns", 8, "concurrent connections (1–1000)")
	size := fs.String("size", "10KB", "message size: bytes, or with KB/MB (×1024)")
	fs.StringVar(&o.text, "text", "filler", "message body: filler (one line repeated: the least a full-text index can cost), words (256 distinct bodies of nothing but Zipf-distributed words: the most), or mail (256 messages as mail arrives: a relay's headers, then the words as text/plain and again as HTML; --size at least 3KB)")
	fs.IntVar(&o.rcpts, "rcpts", 1, "recipients per message (1–100)")
	fs.BoolVar(&o.perMessage, "per-message-conn", false, "a new TLS connection and AUTH for every message, as Thunderbird and msmtp do")
	fs.DurationVar(&o.duration, "duration", 0, "how long to send (default 10s; idle 10s; slowloris 60s; at most 30m)")
	fs.Int64Var(&o.messages, "messages", 0, "stop after this many transactions have been started (0: only --duration)")
	fs.IntVar(&o.users, "users", 0, "accounts to log in as and send to (0: enough for --rcpts)")
	fs.StringVar(&o.prefix, "user-prefix", "load", "account names are this prefix plus a number")
	fs.StringVar(&o.password, "password", "load-password-1", "password of every account")
	fs.BoolVar(&o.register, "register", true, "REG the accounts first (a name already taken is used as it is)")
	fs.IntVar(&o.serverPID, "server-pid", 0, "PID of the server, to read its CPU time and RSS from /proc")
	jsonOut := fs.Bool("json", false, "print the result as JSON (same as --format json)")
	fs.StringVar(&o.format, "format", "text", "text, json, jsonl (one line, for --compare) or md (one Markdown table row)")
	fs.IntVar(&o.idle, "idle", 0, "open N connections, AUTH, sit idle for --duration, report the server's RSS")
	fs.IntVar(&o.burst, "burst", 0, "run N logins one connection each (4 at a time), then report the server's RSS every 5s for --duration (default 60s; needs --server-pid; run mailroomd with --auth-cache-ttl 0 so that each login hashes)")
	fs.IntVar(&o.slowloris, "slowloris", 0, "open N logged-in connections that trickle a command line, report when the server closes them")
	fs.DurationVar(&o.trickle, "trickle", 2*time.Second, "slowloris: time between bytes")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "per reply, and per connect+handshake")
	fs.BoolVar(&o.resume, "tls-resume", true, "share a TLS session cache across connections, as real clients do")
	fs.StringVar(&o.label, "label", "", "name of the server under test, carried into the result (sidebyside.sh: mailroom or mailpit)")
	compare := fs.String("compare", "", "read a file of --format jsonl results and print medians per cell and label side by side, then exit")
	freePort := fs.Bool("free-port", false, "print a free loopback TCP port and exit (for scripts starting a server that cannot listen on :0)")
	header := fs.Bool("md-header", false, "print the Markdown table header that --format md rows fit, and exit")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case *header:
		fmt.Fprintln(stdout, mdHeader)
		return o, flag.ErrHelp
	case *compare != "":
		if err := compareFile(*compare, stdout); err != nil {
			return o, err
		}
		return o, flag.ErrHelp
	case *freePort:
		port, err := pickFreePort()
		if err != nil {
			return o, err
		}
		fmt.Fprintln(stdout, port)
		return o, flag.ErrHelp
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if *jsonOut {
		o.format = "json"
	}
	var err error
	if o.size, err = parseSize(*size); err != nil {
		return o, err
	}
	return o, o.check()
}

// check applies the bounds and fills the defaults.
func (o *options) check() error {
	if err := checkLoopback(o.addr); err != nil {
		return err
	}
	switch {
	case o.conns < 1 || o.conns > maxConns:
		return fmt.Errorf("%w: --conns %d: want 1–%d", errUsage, o.conns, maxConns)
	case o.rcpts < 1 || o.rcpts > maxRcpts:
		return fmt.Errorf("%w: --rcpts %d: want 1–%d", errUsage, o.rcpts, maxRcpts)
	case o.duration < 0 || o.duration > maxDuration:
		return fmt.Errorf("%w: --duration %v: want at most %v", errUsage, o.duration, maxDuration)
	case o.messages < 0 || o.messages > maxMessages:
		return fmt.Errorf("%w: --messages %d: want 0–%d", errUsage, o.messages, maxMessages)
	case o.idle < 0 || o.idle > maxHostile || o.slowloris < 0 || o.slowloris > maxHostile:
		return fmt.Errorf("%w: --idle and --slowloris take 0–%d", errUsage, maxHostile)
	case o.burst < 0 || o.burst > maxHostile:
		return fmt.Errorf("%w: --burst takes 0–%d", errUsage, maxHostile)
	case min(o.idle, 1)+min(o.slowloris, 1)+min(o.burst, 1) > 1:
		return fmt.Errorf("%w: --idle, --slowloris and --burst are separate runs", errUsage)
	case o.trickle <= 0 || o.timeout <= 0:
		return fmt.Errorf("%w: --trickle and --timeout must be positive", errUsage)
	case o.text != "filler" && o.text != "words" && o.text != "mail":
		return fmt.Errorf("%w: --text %q: want filler, words or mail", errUsage, o.text)
	case o.text == "mail" && o.size < minMailSize:
		return fmt.Errorf("%w: --text mail needs --size of at least %s", errUsage, sizeName(minMailSize))
	case o.format != "text" && o.format != "json" && o.format != "jsonl" && o.format != "md":
		return fmt.Errorf("%w: --format %q: want text, json, jsonl or md", errUsage, o.format)
	}
	if o.duration == 0 {
		switch {
		case o.slowloris > 0, o.burst > 0:
			o.duration = time.Minute
		case o.messages > 0 && o.idle == 0:
			o.duration = maxDuration
		default:
			o.duration = 10 * time.Second
		}
	}
	o.users = max(o.users, o.rcpts, 1)
	return nil
}

// checkLoopback refuses any address whose host is not 127.0.0.0/8, ::1 or
// localhost.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: --addr %q: %v", errUsage, addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() || ip.Zone() != "" {
		return fmt.Errorf("%w: --addr %q: only 127.0.0.0/8, ::1 or localhost", errUsage, addr)
	}
	return nil
}

// parseSize reads "1024", "1KB", "10KB", "1MB" (binary multiples; KiB and
// MiB are accepted too).
func parseSize(s string) (int, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	mult := 1
	for _, suf := range []struct {
		s string
		m int
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"K", 1 << 10}, {"M", 1 << 20}, {"B", 1}} {
		if strings.HasSuffix(u, suf.s) {
			u, mult = strings.TrimSpace(strings.TrimSuffix(u, suf.s)), suf.m
			break
		}
	}
	n, err := strconv.Atoi(u)
	if err != nil || n < 1 || n > maxSize/mult {
		return 0, fmt.Errorf("%w: --size %q: want 1B–64MB", errUsage, s)
	}
	return n * mult, nil
}
