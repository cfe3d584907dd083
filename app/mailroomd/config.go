package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"

	"mailroom/adapters/argon2"
	"mailroom/adapters/inboxserver"
	"mailroom/adapters/inboxwire"
	"mailroom/adapters/smtpserver"
	"mailroom/adapters/sqlite"
	"mailroom/domain/mail"
	"mailroom/domain/throttle"
)

// envPrefix prefixes every flag's environment variable: --smtp-addr falls
// back to MAILROOM_SMTP_ADDR.
const envPrefix = "MAILROOM_"

// Size bounds for --max-message. The upper bound exists because a message is
// held in memory while it is delivered.
const (
	minMessageBytes = 1 << 10
	maxMessageBytes = 1 << 30
)

// Bounds of the limit flags. Their defaults are the adapters' Default*
// constants, kept there only.
const (
	// minLine is RFC 5321 §4.5.3.1.4's 512-octet command line; maxLine
	// bounds the per-connection read buffer the shim allocates.
	minLine = 512
	maxLine = 64 << 10
	// maxConns is far above what one process's file descriptors allow.
	maxConns = 1 << 20
	// maxAuthFailures: beyond it the per-session cap means nothing next to
	// the per-IP budget.
	maxAuthFailures = 1000
	// maxProtocolErrors: Postfix allows 20; far more only lets a client
	// that speaks no SMTP hold its connection slot longer.
	maxProtocolErrors = 1000
	// minInboxLine leaves room for a login with a 1024-byte password that
	// JSON escapes to 6 bytes a byte (\u003c); maxInboxLine bounds the
	// buffer each inbox connection may grow.
	minInboxLine = 8 << 10
	maxInboxLine = 64 << 20
	// maxHashConcurrency bounds --hash-concurrency; each hash holds the
	// argon2 m KiB while it runs.
	maxHashConcurrency = 1024
)

// Bounds of --argon2. argon2id needs m >= 8*p KiB. The upper bounds of m
// and t are those adapters/argon2 accepts when it reads a stored hash: a
// hash written past them could never be verified, so no one could log in.
const (
	maxArgon2Memory  = 4 << 20 // KiB: 4 GiB
	maxArgon2Time    = 100
	maxArgon2Threads = 255
)

// config is every setting of the daemon, after flags and environment.
type config struct {
	// DataDir holds the database and the generated certificate pair.
	// Default: see defaultDataDir.
	DataDir string
	// SMTPAddr is the SMTP (implicit TLS) listen address. Default 127.0.0.1:8025.
	SMTPAddr string
	// InboxAddr is the inbox protocol (TLS) listen address. Default 127.0.0.1:9999.
	InboxAddr string
	// Domain is the mail domain. Default localhost.
	Domain string
	// Registration is "open" (REG allowed) or "closed". Default open.
	Registration string
	// MaxMessage bounds one message in bytes. Default 25 MiB.
	MaxMessage int64
	// RegRate is the per-IP registration budget. Default 30/10m.
	RegRate throttle.Rate
	// AuthFailRate is the per-IP failed-login budget. Default 20/10m.
	AuthFailRate throttle.Rate
	// CertFile and KeyFile name a PEM pair; both empty means the
	// self-signed pair in DataDir. Default empty.
	CertFile, KeyFile string
	// LogFormat is "console" or "json". Default console.
	LogFormat string
	// LogLevel is a zap level (debug, info, warn, error). Default info.
	LogLevel zapcore.Level
	// Grace is how long in-flight transactions get on shutdown. Default 30s.
	Grace time.Duration
	// MinFree is the disk space (bytes) MAIL keeps free in DataDir: below
	// it plus the message's SIZE, MAIL gets 452 4.3.1. 0 turns the check
	// off. Default smtpserver.DefaultMinFreeBytes (64 MiB).
	MinFree int64
	// MaxRecipients bounds RCPT TO per message (1 to mail.MaxRecipients).
	// Default smtpserver.DefaultMaxRecipients (100).
	MaxRecipients int
	// MaxConns and MaxConnsPerIP cap open connections, per server.
	// Defaults smtpserver.DefaultMaxConns (1000) and
	// smtpserver.DefaultMaxConnsPerIP (50), the same as inboxserver's.
	MaxConns, MaxConnsPerIP int
	// SMTPReadTimeout bounds the wait for each SMTP command. Default
	// smtpserver.DefaultReadTimeout (5m).
	SMTPReadTimeout time.Duration
	// SMTPWriteTimeout bounds each SMTP reply write. Default
	// smtpserver.DefaultWriteTimeout (1m).
	SMTPWriteTimeout time.Duration
	// SMTPDataTimeout bounds one message's content. Default
	// smtpserver.DefaultDataTimeout (10m).
	SMTPDataTimeout time.Duration
	// SMTPSessionTimeout bounds one SMTP connection. Default
	// smtpserver.DefaultSessionTimeout (20m).
	SMTPSessionTimeout time.Duration
	// SMTPAuthTimeout bounds the time from connect to a successful SMTP
	// AUTH, then 421 4.7.0 and close. Default
	// smtpserver.DefaultAuthTimeout (2m).
	SMTPAuthTimeout time.Duration
	// MaxInflight bounds the message bytes the SMTP server holds in memory
	// at once, across connections; past it DATA gets 452 4.3.1. Default
	// smtpserver.DefaultMaxInflightBytes (256 MiB).
	MaxInflight int64
	// HandshakeTimeout bounds the TLS handshake on both servers. Default
	// smtpserver.DefaultHandshakeTimeout (10s), the same as inboxserver's.
	HandshakeTimeout time.Duration
	// InboxIdleTimeout bounds the wait for the next inbox request. Default
	// inboxserver.DefaultIdleTimeout (30m).
	InboxIdleTimeout time.Duration
	// InboxLoginTimeout bounds the time from connect to a successful inbox
	// login. Default inboxserver.DefaultLoginTimeout (60s).
	InboxLoginTimeout time.Duration
	// MaxAuthFailures is the failed logins one SMTP session or inbox
	// connection may make before it is closed. Default
	// smtpserver.DefaultMaxAuthFailures (3), the same as inboxserver's.
	MaxAuthFailures int
	// MaxLine bounds an SMTP command line in octets, CRLF excluded.
	// Default smtpserver.DefaultMaxLineLength (2000).
	MaxLine int
	// MaxProtocolErrors is the syntax and sequence errors one SMTP session
	// may make before 421 and close. Default
	// smtpserver.DefaultMaxProtocolErrors (10).
	MaxProtocolErrors int
	// InboxMaxLine bounds an inbox request line in bytes. Default
	// inboxwire.MaxLine (1 MiB).
	InboxMaxLine int64
	// InboxSendQueue and InboxSendQueueBytes bound what one inbox
	// connection may have waiting to be written: requests wait for room, a
	// watcher over it is dropped. Default inboxserver.DefaultSendQueue (256
	// lines) and inboxserver.DefaultSendQueueBytes (64 MiB).
	InboxSendQueue      int
	InboxSendQueueBytes int64
	// Argon2 are the cost parameters new password hashes are written with;
	// only Memory, Time and Threads are settable. Stored hashes carry their
	// own. Default argon2.DefaultParams() (m=19456,t=2,p=1).
	Argon2 argon2.Params
	// HashConcurrency bounds the password hashes run at once; 0 means
	// runtime.NumCPU(). Default 0.
	HashConcurrency int
	// DBBusyTimeout is how long a database connection waits for a lock
	// another process holds. Default sqlite.DefaultBusyTimeout (5s).
	DBBusyTimeout time.Duration
}

// DBPath is the SQLite file inside DataDir.
func (c config) DBPath() string { return filepath.Join(c.DataDir, "mailroom.db") }

// defaultDataDir is $XDG_DATA_HOME/mailroom, else ~/.local/share/mailroom,
// else ./mailroom-data when there is no home directory. It is per user and
// outside the source tree, so `go run ./app/mailroomd` keeps its accounts
// and certificate across runs from any directory.
func defaultDataDir(getenv func(string) string) string {
	if x := getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "mailroom")
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	if home != "" {
		return filepath.Join(home, ".local", "share", "mailroom")
	}
	return "mailroom-data"
}

// usageError is a bad command line or environment value: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}

// flags is the daemon's flag set bound to a config.
type flags struct {
	fs  *flag.FlagSet
	cfg *config
}

func newFlags(getenv func(string) string) *flags {
	cfg := &config{
		DataDir:      defaultDataDir(getenv),
		SMTPAddr:     "127.0.0.1:8025",
		InboxAddr:    "127.0.0.1:9999",
		Domain:       "localhost",
		Registration: "open",
		MaxMessage:   25 << 20,
		RegRate:      throttle.Rate{N: 30, Per: 10 * time.Minute},
		AuthFailRate: throttle.Rate{N: 20, Per: 10 * time.Minute},
		LogFormat:    "console",
		LogLevel:     zapcore.InfoLevel,
		Grace:        30 * time.Second,

		MinFree:             smtpserver.DefaultMinFreeBytes,
		MaxRecipients:       smtpserver.DefaultMaxRecipients,
		MaxConns:            smtpserver.DefaultMaxConns,
		MaxConnsPerIP:       smtpserver.DefaultMaxConnsPerIP,
		SMTPReadTimeout:     smtpserver.DefaultReadTimeout,
		SMTPWriteTimeout:    smtpserver.DefaultWriteTimeout,
		SMTPDataTimeout:     smtpserver.DefaultDataTimeout,
		SMTPSessionTimeout:  smtpserver.DefaultSessionTimeout,
		SMTPAuthTimeout:     smtpserver.DefaultAuthTimeout,
		MaxInflight:         smtpserver.DefaultMaxInflightBytes,
		HandshakeTimeout:    smtpserver.DefaultHandshakeTimeout,
		InboxIdleTimeout:    inboxserver.DefaultIdleTimeout,
		InboxLoginTimeout:   inboxserver.DefaultLoginTimeout,
		MaxAuthFailures:     smtpserver.DefaultMaxAuthFailures,
		MaxLine:             smtpserver.DefaultMaxLineLength,
		MaxProtocolErrors:   smtpserver.DefaultMaxProtocolErrors,
		InboxMaxLine:        inboxwire.MaxLine,
		InboxSendQueue:      inboxserver.DefaultSendQueue,
		InboxSendQueueBytes: inboxserver.DefaultSendQueueBytes,
		Argon2:              argon2.DefaultParams(),
		DBBusyTimeout:       sqlite.DefaultBusyTimeout,
	}
	fs := flag.NewFlagSet("mailroomd", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run prints errors and usage itself
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "`dir`ectory for the database and the generated certificate")
	fs.Var(addrValue{&cfg.SMTPAddr}, "smtp-addr", "SMTP (implicit TLS) listen `address`")
	fs.Var(addrValue{&cfg.InboxAddr}, "inbox-addr", "inbox protocol (TLS) listen `address`")
	fs.Var(domainValue{&cfg.Domain}, "domain", "mail `domain` of every address")
	fs.Var(enumValue{p: &cfg.Registration, allowed: []string{"open", "closed"}}, "registration", "`open` or closed: whether clients may register accounts")
	fs.Var(sizeValue{&cfg.MaxMessage, minMessageBytes, maxMessageBytes}, "max-message", "largest message, e.g. 25MiB, 10MB or 1048576 (`size`)")
	fs.Var(rateValue{&cfg.RegRate}, "reg-rate", "registrations per client IP, N/duration or off (`rate`)")
	fs.Var(rateValue{&cfg.AuthFailRate}, "auth-fail-rate", "failed logins per client IP, N/duration or off (`rate`)")
	fs.StringVar(&cfg.CertFile, "cert", "", "PEM certificate (chain) `file`; with --key, replaces the self-signed pair")
	fs.StringVar(&cfg.KeyFile, "key", "", "PEM private key `file` for --cert")
	fs.Var(enumValue{p: &cfg.LogFormat, allowed: []string{"console", "json"}}, "log-format", "log `format`: console or json")
	fs.Var(levelValue{&cfg.LogLevel}, "log-level", "log `level`: debug, info, warn or error")
	fs.Var(graceValue{&cfg.Grace}, "grace", "shutdown grace period for in-flight transactions (`duration`)")
	fs.Var(sizeValue{&cfg.MinFree, 0, maxSize}, "min-free", "disk space to keep free in the data directory; MAIL gets 452 4.3.1 below it, 0 turns the check off (`size`)")
	fs.Var(intValue{&cfg.MaxRecipients, 1, mail.MaxRecipients}, "max-recipients", "recipients per message, then 452 4.5.3 (`count`)")
	fs.Var(intValue{&cfg.MaxConns, 1, maxConns}, "max-conns", "open connections per server (`count`)")
	fs.Var(intValue{&cfg.MaxConnsPerIP, 1, maxConns}, "max-conns-per-ip", "open connections per client IP, per server (`count`)")
	fs.Var(durationValue{&cfg.SMTPReadTimeout}, "smtp-read-timeout", "wait for each SMTP command (`duration`)")
	fs.Var(durationValue{&cfg.SMTPWriteTimeout}, "smtp-write-timeout", "time to write each SMTP reply (`duration`)")
	fs.Var(durationValue{&cfg.SMTPDataTimeout}, "smtp-data-timeout", "time to receive one message's content, then 421 (`duration`)")
	fs.Var(durationValue{&cfg.SMTPSessionTimeout}, "smtp-session-timeout", "lifetime of one SMTP connection (`duration`)")
	fs.Var(durationValue{&cfg.SMTPAuthTimeout}, "smtp-auth-timeout", "time from connect to SMTP AUTH, then 421 4.7.0 and close (`duration`)")
	fs.Var(sizeValue{&cfg.MaxInflight, minMessageBytes, maxSize}, "max-inflight", "message bytes the SMTP server holds in memory at once, all connections; then DATA gets 452 4.3.1 (`size`)")
	fs.Var(durationValue{&cfg.HandshakeTimeout}, "handshake-timeout", "TLS handshake deadline, both servers (`duration`)")
	fs.Var(durationValue{&cfg.InboxIdleTimeout}, "inbox-idle-timeout", "wait for the next inbox request; watching connections excepted (`duration`)")
	fs.Var(durationValue{&cfg.InboxLoginTimeout}, "inbox-login-timeout", "time from connect to inbox login, then close (`duration`)")
	fs.Var(intValue{&cfg.MaxAuthFailures, 1, maxAuthFailures}, "max-auth-failures", "failed logins per SMTP session or inbox connection, then close (`count`)")
	fs.Var(intValue{&cfg.MaxLine, minLine, maxLine}, "max-line", "longest SMTP command line in octets, CRLF excluded, then 500 5.5.2 (`octets`)")
	fs.Var(intValue{&cfg.MaxProtocolErrors, 1, maxProtocolErrors}, "max-protocol-errors", "SMTP syntax and sequence errors per session, then 421 and close (`count`)")
	fs.Var(sizeValue{&cfg.InboxMaxLine, minInboxLine, maxInboxLine}, "inbox-max-line", "longest inbox request line, then too_large and close (`size`)")
	fs.Var(intValue{&cfg.InboxSendQueue, 16, 1 << 16}, "inbox-send-queue", "lines one inbox connection may have waiting to be written (`count`)")
	fs.Var(sizeValue{&cfg.InboxSendQueueBytes, 1 << 20, 1 << 30}, "inbox-send-queue-bytes", "bytes one inbox connection may have waiting to be written (`size`)")
	fs.Var(argon2Value{&cfg.Argon2}, "argon2", "argon2id cost of new password hashes: memory KiB, passes, threads (`m=KiB,t=N,p=N`)")
	fs.Var(intValue{&cfg.HashConcurrency, 0, maxHashConcurrency}, "hash-concurrency", "password hashes run at once; 0 means one per CPU (`count`)")
	fs.Var(durationValue{&cfg.DBBusyTimeout}, "db-busy-timeout", "wait for a database lock held by another process (`duration`)")
	return &flags{fs: fs, cfg: cfg}
}

// envName is the environment variable a flag falls back to.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse parses args, which may mix flags and positional arguments
// ("user add --data d alice"), and gives the positional ones. A "--" ends the
// flags. Errors are usageErrors naming the flag.
func (f *flags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{msg: err.Error()}
		}
		rest := f.fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return pos, nil
}

// applyEnv sets every flag not given on the command line from its
// MAILROOM_* variable, if that is set and not empty: a flag beats the
// environment, which beats the default.
func (f *flags) applyEnv(getenv func(string) string) error {
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var err error
	f.fs.VisitAll(func(fl *flag.Flag) {
		if err != nil || set[fl.Name] {
			return
		}
		name := envName(fl.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		if serr := f.fs.Set(fl.Name, v); serr != nil {
			err = usagef("invalid value %q for %s (flag -%s): %v", v, name, fl.Name, serr)
		}
	})
	return err
}

// check validates combinations the single flags cannot.
func (c *config) check() error {
	if (c.CertFile == "") != (c.KeyFile == "") {
		return usagef("flags -cert and -key go together: give both or neither")
	}
	if c.DataDir == "" {
		return usagef("flag -data: empty directory")
	}
	// SQLite counts its busy timeout in whole milliseconds: less would be 0,
	// which means not waiting at all.
	if c.DBBusyTimeout < time.Millisecond {
		return usagef("flag -db-busy-timeout: %s is below 1ms", c.DBBusyTimeout)
	}
	return nil
}

// usage writes the command summary and every flag with its variable and default.
func (f *flags) usage(w io.Writer) {
	fmt.Fprint(w, `Usage: mailroomd [flags] [command] [args]

Commands:
  serve                  run the SMTP and inbox servers in one process (default)
  smtp                   run the SMTP server only
  inbox                  run the inbox server only
  migrate up|down|version
                         apply all migrations, revert the latest one, or print the schema version
  user add NAME          create an account; the password is read from the terminal or one line of stdin
  user list              list accounts
  user passwd NAME       set a new password (read like user add)
  user delete NAME       delete an account and its mailbox
  cert                   print the certificate's SHA-256 fingerprint, creating the pair if needed
  version                print the version

Flags (each falls back to the environment variable shown):
`)
	f.fs.VisitAll(func(fl *flag.Flag) {
		name, use := flag.UnquoteUsage(fl)
		fmt.Fprintf(w, "  -%s %s\n    \t%s (env %s, default %q)\n", fl.Name, name, use, envName(fl.Name), fl.DefValue)
	})
}

// ---- flag values ----

type enumValue struct {
	p       *string
	allowed []string
}

func (v enumValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v enumValue) Set(s string) error {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, a := range v.allowed {
		if s == a {
			*v.p = s
			return nil
		}
	}
	return fmt.Errorf("want one of %s", strings.Join(v.allowed, ", "))
}

type addrValue struct{ p *string }

func (v addrValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v addrValue) Set(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	*v.p = s
	return nil
}

type domainValue struct{ p *string }

func (v domainValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v domainValue) Set(s string) error {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || len(s) > 253 {
		return errors.New("want a domain name such as example.org")
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("want a domain name such as example.org")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return errors.New("want a domain name such as example.org")
			}
		}
	}
	*v.p = s
	return nil
}

// sizeValue is a byte count between min and max.
type sizeValue struct {
	p        *int64
	min, max int64
}

func (v sizeValue) String() string {
	if v.p == nil {
		return ""
	}
	return formatSize(*v.p)
}

func (v sizeValue) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	if n < v.min || n > v.max {
		return fmt.Errorf("%s is out of range (%s to %s)", s, formatSize(v.min), formatSize(v.max))
	}
	*v.p = n
	return nil
}

// sizeUnits: decimal units are powers of 1000, binary ones (and the bare
// letters, as in nginx) powers of 1024. Matching is case-insensitive.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1000}, {"mb", 1000 * 1000}, {"gb", 1000 * 1000 * 1000},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30},
	{"b", 1},
}

// maxSize is the largest size parseSize gives.
const maxSize = 1 << 62

// parseSize reads a byte count: "1048576", "10MB", "25MiB", "512k".
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a size such as 25MiB, 10MB or 1048576, not %q", s)
	}
	if n > maxSize/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

type rateValue struct{ p *throttle.Rate }

func (v rateValue) String() string {
	if v.p == nil {
		return ""
	}
	return formatRate(*v.p)
}

func (v rateValue) Set(s string) error {
	r, err := throttle.ParseRate(s)
	if err != nil {
		return err
	}
	*v.p = r
	return nil
}

// formatRate writes a Rate the way it is usually typed: 30/10m, not 30/10m0s.
func formatRate(r throttle.Rate) string {
	if r.N == 0 {
		return "off"
	}
	return strconv.Itoa(r.N) + "/" + formatDuration(r.Per)
}

// formatDuration writes d the way it is usually typed: 10m, not 10m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	for _, z := range []string{"m0s", "h0m"} {
		if strings.HasSuffix(s, z) {
			s = strings.TrimSuffix(s, z) + z[:1]
		}
	}
	return s
}

type levelValue struct{ p *zapcore.Level }

func (v levelValue) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}

func (v levelValue) Set(s string) error {
	l, err := zapcore.ParseLevel(strings.TrimSpace(s))
	if err != nil || l > zapcore.ErrorLevel {
		return errors.New("want debug, info, warn or error")
	}
	*v.p = l
	return nil
}

type graceValue struct{ p *time.Duration }

func (v graceValue) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}

func (v graceValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < 0 {
		return fmt.Errorf("want a duration such as 30s, not %q", s)
	}
	*v.p = d
	return nil
}

// intValue is an integer between min and max.
type intValue struct {
	p        *int
	min, max int
}

func (v intValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.Itoa(*v.p)
}

func (v intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("want a whole number from %d to %d, not %q", v.min, v.max, s)
	}
	if n < v.min || n > v.max {
		return fmt.Errorf("%d is out of range (%d to %d)", n, v.min, v.max)
	}
	*v.p = n
	return nil
}

// argon2Value is argon2id's m, t and p, written "m=19456,t=2,p=1". All
// three are needed, in any order; the salt and key lengths stay as they are.
type argon2Value struct{ p *argon2.Params }

func (v argon2Value) String() string {
	if v.p == nil {
		return ""
	}
	return fmt.Sprintf("m=%d,t=%d,p=%d", v.p.Memory, v.p.Time, v.p.Threads)
}

func (v argon2Value) Set(s string) error {
	const want = "want m=KiB,t=passes,p=threads such as m=19456,t=2,p=1"
	var vals [3]uint64
	var seen [3]bool
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return fmt.Errorf("%s, not %q", want, s)
	}
	for _, f := range fields {
		k, val, ok := strings.Cut(strings.TrimSpace(f), "=")
		i := strings.Index("mtp", strings.ToLower(strings.TrimSpace(k)))
		if !ok || len(strings.TrimSpace(k)) != 1 || i < 0 || seen[i] {
			return fmt.Errorf("%s, not %q", want, s)
		}
		n, err := strconv.ParseUint(strings.TrimSpace(val), 10, 32)
		if err != nil {
			return fmt.Errorf("%s, not %q", want, s)
		}
		vals[i], seen[i] = n, true
	}
	m, t, p := vals[0], vals[1], vals[2]
	switch {
	case p < 1 || p > maxArgon2Threads:
		return fmt.Errorf("p=%d is out of range (1 to %d)", p, maxArgon2Threads)
	case t < 1 || t > maxArgon2Time:
		return fmt.Errorf("t=%d is out of range (1 to %d)", t, maxArgon2Time)
	case m < 8*p || m > maxArgon2Memory:
		return fmt.Errorf("m=%d is out of range (8*p = %d to %d KiB)", m, 8*p, maxArgon2Memory)
	}
	v.p.Memory, v.p.Time, v.p.Threads = uint32(m), uint32(t), uint8(p)
	return nil
}

// durationValue is a positive duration: a limit's zero would mean "no
// limit" to some readers and "the default" to the adapters, so neither is
// offered.
type durationValue struct{ p *time.Duration }

func (v durationValue) String() string {
	if v.p == nil {
		return ""
	}
	return formatDuration(*v.p)
}

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d <= 0 {
		return fmt.Errorf("want a positive duration such as 10s or 5m, not %q", s)
	}
	*v.p = d
	return nil
}
