package main

import (
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap/zapcore"

	"mailroom/adapters/argon2"
	"mailroom/adapters/inboxserver"
	"mailroom/adapters/inboxwire"
	"mailroom/adapters/postgres"
	"mailroom/adapters/smtpserver"
	"mailroom/adapters/sqlite"
	"mailroom/domain/account"
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
	// maxDBConns bounds --db-max-conns; PostgreSQL's max_connections
	// defaults to 100 for every host together.
	maxDBConns = 10000
	// minWAL bounds --db-max-wal: below one page the writer would
	// checkpoint before every batch.
	minWAL = 64 << 10
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
	// IMAPAddr is the IMAP (implicit TLS) listen address; empty turns
	// IMAP off in serve. Default 127.0.0.1:9993.
	IMAPAddr string
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
	// MaxInflight bounds the message bytes each server holds in memory at
	// once, across its connections: past it SMTP DATA gets 452 4.3.1, an
	// inbox append (a request line past InboxMaxLine) an untagged busy,
	// IMAP APPEND NO [UNAVAILABLE]; inbox fetches wait. Default
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
	// InboxMaxLine bounds an inbox request line in bytes. After login it is
	// a minimum: an append may send the line its message needs (about
	// 33.4 MiB for 25 MiB messages), taking what passes InboxMaxLine from
	// MaxInflight. Default inboxwire.MaxLine (1 MiB).
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
	// MemoryLimit is the Go runtime's soft memory limit
	// (debug.SetMemoryLimit) in bytes: near it the garbage collector runs
	// more often and returns free memory sooner. 0 leaves the runtime's
	// own, which is GOMEMLIMIT when that is set, else none. Default 0.
	MemoryLimit int64
	// DB selects the store: empty means the SQLite file in DataDir; a
	// postgres:// or postgresql:// URL means that PostgreSQL database,
	// which several mailroomd hosts may share. Default empty.
	DB string
	// DBMaxConns bounds the PostgreSQL connection pool; 0 means
	// postgres.DefaultMaxConns(), max(4, GOMAXPROCS). SQLite ignores it.
	// Default 0.
	DBMaxConns int
	// DBBusyTimeout is how long a SQLite connection waits for a lock
	// another process holds. Default sqlite.DefaultBusyTimeout (5s).
	DBBusyTimeout time.Duration
	// DBSkipQuickCheck skips SQLite's PRAGMA quick_check at start, which
	// reads the whole file. Default false.
	DBSkipQuickCheck bool
	// DBMaxWAL is the SQLite WAL size past which the writer checkpoints
	// and truncates it. Default sqlite.DefaultMaxWAL (4 MiB).
	DBMaxWAL int64
	// AuthCacheTTL is how long a verified (username, password) pair is
	// remembered, as a keyed hash, so that a repeat login costs no
	// password hash; 0 turns the cache off. Default
	// account.DefaultCredentialCacheTTL (5m).
	AuthCacheTTL time.Duration
	// PprofAddr is the loopback address net/http/pprof is served on; empty
	// means not at all. Default empty.
	PprofAddr string
	// MetricsAddr is the address /metrics, /healthz and /readyz are
	// served on (plain HTTP); empty means not at all. Default empty.
	MetricsAddr string
	// MetricsPublic lets MetricsAddr be an address other than a loopback
	// IP. Default false: the metrics name accounts' activity and the
	// servers' load, which is nobody else's business.
	MetricsPublic bool
}

// DBPath is the SQLite file inside DataDir.
func (c config) DBPath() string { return filepath.Join(c.DataDir, "mailroom.db") }

// Postgres reports whether DB names a PostgreSQL database (check has made
// sure that anything else in DB is empty).
func (c config) Postgres() bool { return c.DB != "" }

// DBName names the database for a log line or a message: the SQLite file,
// or the PostgreSQL URL with its password replaced by xxxxx.
func (c config) DBName() string {
	if c.Postgres() {
		return postgres.RedactURL(c.DB)
	}
	return c.DBPath()
}

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

// defaultConfig is every setting at its default. The limits' defaults are
// the adapters' Default* constants, kept there only.
func defaultConfig(getenv func(string) string) *config {
	return &config{
		DataDir:      defaultDataDir(getenv),
		SMTPAddr:     "127.0.0.1:8025",
		InboxAddr:    "127.0.0.1:9999",
		IMAPAddr:     "127.0.0.1:9993",
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
		DBMaxWAL:            sqlite.DefaultMaxWAL,
		AuthCacheTTL:        account.DefaultCredentialCacheTTL,
	}
}
