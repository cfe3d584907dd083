package main

import (
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"mailroom/adapters/argon2"
	"mailroom/adapters/sqlite"
	"mailroom/domain/throttle"
)

// parseConfig parses args and applies e like run does.
func parseConfig(t *testing.T, e env, args ...string) (config, []string) {
	t.Helper()
	f := newFlags(e.get)
	pos, err := f.parse(args)
	if err == nil {
		err = f.applyEnv(e.get)
	}
	if err == nil {
		err = f.cfg.check()
	}
	if err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return *f.cfg, pos
}

func TestDefaults(t *testing.T) {
	cfg, pos := parseConfig(t, env{"HOME": "/home/u"})
	if len(pos) != 0 {
		t.Errorf("positional = %q", pos)
	}
	want := config{
		DataDir:      "/home/u/.local/share/mailroom",
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

		MinFree:             64 << 20,
		MaxRecipients:       100,
		MaxConns:            1000,
		MaxConnsPerIP:       50,
		SMTPReadTimeout:     5 * time.Minute,
		SMTPWriteTimeout:    time.Minute,
		SMTPDataTimeout:     10 * time.Minute,
		SMTPSessionTimeout:  20 * time.Minute,
		SMTPAuthTimeout:     2 * time.Minute,
		MaxInflight:         256 << 20,
		HandshakeTimeout:    10 * time.Second,
		InboxIdleTimeout:    30 * time.Minute,
		InboxLoginTimeout:   time.Minute,
		MaxAuthFailures:     3,
		MaxLine:             2000,
		MaxProtocolErrors:   10,
		InboxMaxLine:        1 << 20,
		InboxSendQueue:      256,
		InboxSendQueueBytes: 64 << 20,
		Argon2:              argon2.Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		HashConcurrency:     0,
		DBBusyTimeout:       5 * time.Second,
		DBMaxWAL:            4 << 20,
		AuthCacheTTL:        5 * time.Minute,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", cfg, want)
	}
	if got := cfg.DBPath(); got != filepath.Join(want.DataDir, "mailroom.db") {
		t.Errorf("DBPath = %q", got)
	}
}

func TestDefaultDataDir(t *testing.T) {
	for _, tc := range []struct {
		env  env
		want string
	}{
		{env{"XDG_DATA_HOME": "/x", "HOME": "/h"}, "/x/mailroom"},
		{env{"XDG_DATA_HOME": "relative", "HOME": "/h"}, "/h/.local/share/mailroom"}, // XDG says ignore relative paths
		{env{"HOME": "/h"}, "/h/.local/share/mailroom"},
	} {
		if got := defaultDataDir(tc.env.get); got != tc.want {
			t.Errorf("defaultDataDir(%v) = %q, want %q", tc.env, got, tc.want)
		}
	}
}

func TestFlagEnvPrecedence(t *testing.T) {
	for _, tc := range []struct {
		flag, envVal, flagVal string
		get                   func(config) string
		def                   string
	}{
		{"smtp-addr", "127.0.0.1:1", "127.0.0.1:2", func(c config) string { return c.SMTPAddr }, "127.0.0.1:8025"},
		{"inbox-addr", "127.0.0.1:3", "[::1]:4", func(c config) string { return c.InboxAddr }, "127.0.0.1:9999"},
		{"data", "/env/data", "/flag/data", func(c config) string { return c.DataDir }, "/h/.local/share/mailroom"},
		{"domain", "env.example", "Flag.Example", func(c config) string { return c.Domain }, "localhost"},
		{"registration", "closed", "open", func(c config) string { return c.Registration }, "open"},
		{"max-message", "10MB", "1048576", func(c config) string { return formatSize(c.MaxMessage) }, "25MiB"},
		{"reg-rate", "5/1m", "off", func(c config) string { return formatRate(c.RegRate) }, "30/10m"},
		{"auth-fail-rate", "1/1h", "7/30s", func(c config) string { return formatRate(c.AuthFailRate) }, "20/10m"},
		{"log-format", "json", "console", func(c config) string { return c.LogFormat }, "console"},
		{"log-level", "debug", "warn", func(c config) string { return c.LogLevel.String() }, "info"},
		{"grace", "5s", "1m", func(c config) string { return c.Grace.String() }, "30s"},
		{"min-free", "1GiB", "0", func(c config) string { return formatSize(c.MinFree) }, "64MiB"},
		{"max-recipients", "10", "2", func(c config) string { return strconv.Itoa(c.MaxRecipients) }, "100"},
		{"max-conns", "20", "5", func(c config) string { return strconv.Itoa(c.MaxConns) }, "1000"},
		{"max-conns-per-ip", "4", "1", func(c config) string { return strconv.Itoa(c.MaxConnsPerIP) }, "50"},
		{"smtp-read-timeout", "10m", "30s", func(c config) string { return formatDuration(c.SMTPReadTimeout) }, "5m"},
		{"smtp-write-timeout", "2m", "10s", func(c config) string { return formatDuration(c.SMTPWriteTimeout) }, "1m"},
		{"smtp-data-timeout", "1h", "90s", func(c config) string { return formatDuration(c.SMTPDataTimeout) }, "10m"},
		{"smtp-session-timeout", "1h", "5m", func(c config) string { return formatDuration(c.SMTPSessionTimeout) }, "20m"},
		{"smtp-auth-timeout", "30s", "5m", func(c config) string { return formatDuration(c.SMTPAuthTimeout) }, "2m"},
		{"max-inflight", "1GiB", "64MiB", func(c config) string { return formatSize(c.MaxInflight) }, "256MiB"},
		{"handshake-timeout", "3s", "200ms", func(c config) string { return formatDuration(c.HandshakeTimeout) }, "10s"},
		{"inbox-idle-timeout", "2h", "1m", func(c config) string { return formatDuration(c.InboxIdleTimeout) }, "30m"},
		{"inbox-login-timeout", "90s", "20s", func(c config) string { return formatDuration(c.InboxLoginTimeout) }, "1m"},
		{"max-auth-failures", "5", "1", func(c config) string { return strconv.Itoa(c.MaxAuthFailures) }, "3"},
		{"max-line", "4096", "512", func(c config) string { return strconv.Itoa(c.MaxLine) }, "2000"},
		{"max-protocol-errors", "3", "20", func(c config) string { return strconv.Itoa(c.MaxProtocolErrors) }, "10"},
		{"inbox-max-line", "64KiB", "16MiB", func(c config) string { return formatSize(c.InboxMaxLine) }, "1MiB"},
		{"inbox-send-queue", "512", "64", func(c config) string { return strconv.Itoa(c.InboxSendQueue) }, "256"},
		{"inbox-send-queue-bytes", "128MiB", "8MiB", func(c config) string { return formatSize(c.InboxSendQueueBytes) }, "64MiB"},
		{"argon2", "m=65536,t=3,p=4", "p=2, t=1, m=47104", func(c config) string { return argon2Value{&c.Argon2}.String() }, "m=19456,t=2,p=1"},
		{"hash-concurrency", "4", "1", func(c config) string { return strconv.Itoa(c.HashConcurrency) }, "0"},
		{"db-busy-timeout", "30s", "250ms", func(c config) string { return formatDuration(c.DBBusyTimeout) }, "5s"},
		{"db", "postgres://h1/a", "postgresql://h2/b", func(c config) string { return c.DB }, ""},
		{"db-max-conns", "16", "2", func(c config) string { return strconv.Itoa(c.DBMaxConns) }, "0"},
		{"db-skip-quick-check", "true", "false", func(c config) string { return strconv.FormatBool(c.DBSkipQuickCheck) }, "false"},
		{"db-max-wal", "64MiB", "1MiB", func(c config) string { return formatSize(c.DBMaxWAL) }, "4MiB"},
		{"auth-cache-ttl", "1m", "0", func(c config) string { return formatDuration(c.AuthCacheTTL) }, "5m"},
		{"pprof-addr", "127.0.0.1:6060", "[::1]:6061", func(c config) string { return c.PprofAddr }, ""},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			base := env{"HOME": "/h"}
			withEnv := env{"HOME": "/h", envName(tc.flag): tc.envVal}

			cfg, _ := parseConfig(t, base)
			if got := tc.get(cfg); got != tc.def {
				t.Errorf("default = %q, want %q", got, tc.def)
			}
			envCfg, _ := parseConfig(t, withEnv)
			flagArgs := []string{"--" + tc.flag, tc.flagVal}
			if bf, ok := newFlags(base.get).fs.Lookup(tc.flag).Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
				flagArgs = []string{"--" + tc.flag + "=" + tc.flagVal} // a bool flag takes no separate value
			}
			flagCfg, _ := parseConfig(t, withEnv, flagArgs...)
			if tc.get(envCfg) == tc.def {
				t.Errorf("env %s=%s was ignored", envName(tc.flag), tc.envVal)
			}
			if tc.get(flagCfg) == tc.get(envCfg) {
				t.Errorf("flag --%s %s did not beat the environment (%q)", tc.flag, tc.flagVal, tc.get(flagCfg))
			}
			// The same flag given after the command counts just as well.
			lateCfg, pos := parseConfig(t, withEnv, "serve", "-"+tc.flag+"="+tc.flagVal)
			if tc.get(lateCfg) != tc.get(flagCfg) || !reflect.DeepEqual(pos, []string{"serve"}) {
				t.Errorf("flag after the command: %q (pos %q), want %q", tc.get(lateCfg), pos, tc.get(flagCfg))
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	if got := envName("auth-fail-rate"); got != "MAILROOM_AUTH_FAIL_RATE" {
		t.Errorf("envName = %q", got)
	}
}

func TestPositionalMixedWithFlags(t *testing.T) {
	_, pos := parseConfig(t, nil, "user", "--data", "/d", "add", "alice", "-domain=x.org")
	if want := []string{"user", "add", "alice"}; !reflect.DeepEqual(pos, want) {
		t.Errorf("positional = %q, want %q", pos, want)
	}
	_, pos = parseConfig(t, nil, "user", "delete", "--", "-odd")
	if want := []string{"user", "delete", "-odd"}; !reflect.DeepEqual(pos, want) {
		t.Errorf("after --: positional = %q, want %q", pos, want)
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "1048576", want: 1 << 20},
		{in: "25MiB", want: 25 << 20},
		{in: "25mib", want: 25 << 20},
		{in: "10MB", want: 10_000_000},
		{in: "512KiB", want: 512 << 10},
		{in: "64kB", want: 64_000},
		{in: "1GiB", want: 1 << 30},
		{in: "2M", want: 2 << 20},
		{in: "100 B", want: 100},
		{in: "", bad: true},
		{in: "MiB", bad: true},
		{in: "-5MB", bad: true},
		{in: "1.5MB", bad: true},
		{in: "10XB", bad: true},
		{in: "99999999999999999999", bad: true},
		{in: "9999999999GiB", bad: true},
	} {
		got, err := parseSize(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("parseSize(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestBadValuesExit2(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		env  env
		args []string
		want []string // substrings of stderr
	}{
		{"size", nil, []string{"--max-message", "lots"}, []string{"--max-message", "25MiB"}},
		{"size too small", nil, []string{"--max-message", "10"}, []string{"--max-message", "out of range"}},
		{"size too big", nil, []string{"--max-message", "2GiB"}, []string{"--max-message", "out of range"}},
		{"rate", nil, []string{"--reg-rate", "30 per minute"}, []string{"--reg-rate", "N/duration"}},
		{"auth rate", nil, []string{"--auth-fail-rate=5/0s"}, []string{"--auth-fail-rate"}},
		{"registration", nil, []string{"--registration", "maybe"}, []string{"--registration", "open, closed"}},
		{"log format", nil, []string{"--log-format", "xml"}, []string{"--log-format"}},
		{"log level", nil, []string{"--log-level", "loud"}, []string{"--log-level"}},
		{"log level fatal", nil, []string{"--log-level", "fatal"}, []string{"--log-level"}},
		{"grace", nil, []string{"--grace", "-1s"}, []string{"--grace"}},
		{"grace unit", nil, []string{"--grace", "30"}, []string{"--grace"}},
		{"addr", nil, []string{"--smtp-addr", "localhost"}, []string{"--smtp-addr"}},
		{"addr port", nil, []string{"--inbox-addr", "127.0.0.1:99999"}, []string{"--inbox-addr"}},
		{"domain", nil, []string{"--domain", "bad_domain"}, []string{"--domain"}},
		{"unknown flag", nil, []string{"--colour"}, []string{"--colour"}},
		{"cert without key", nil, []string{"--cert", "c.pem", "cert"}, []string{"--cert", "--key"}},
		{"env size", env{"MAILROOM_MAX_MESSAGE": "big"}, nil, []string{"MAILROOM_MAX_MESSAGE", "--max-message"}},
		{"env rate", env{"MAILROOM_REG_RATE": "x"}, nil, []string{"MAILROOM_REG_RATE", "--reg-rate"}},
		{"env grace", env{"MAILROOM_GRACE": "soon"}, nil, []string{"MAILROOM_GRACE", "--grace"}},
		{"min-free", nil, []string{"--min-free", "plenty"}, []string{"--min-free"}},
		{"min-free negative", nil, []string{"--min-free", "-1MiB"}, []string{"--min-free"}},
		{"max-recipients zero", nil, []string{"--max-recipients", "0"}, []string{"--max-recipients", "out of range (1 to 100)"}},
		{"max-recipients over the domain's", nil, []string{"--max-recipients", "101"}, []string{"--max-recipients", "out of range (1 to 100)"}},
		{"max-recipients word", nil, []string{"--max-recipients", "many"}, []string{"--max-recipients", "whole number"}},
		{"max-conns", nil, []string{"--max-conns", "0"}, []string{"--max-conns", "out of range"}},
		{"max-conns-per-ip", nil, []string{"--max-conns-per-ip", "-3"}, []string{"--max-conns-per-ip", "out of range"}},
		{"max-conns-per-ip float", nil, []string{"--max-conns-per-ip", "2.5"}, []string{"--max-conns-per-ip", "whole number"}},
		{"smtp-read-timeout zero", nil, []string{"--smtp-read-timeout", "0"}, []string{"--smtp-read-timeout", "positive duration"}},
		{"smtp-write-timeout negative", nil, []string{"--smtp-write-timeout", "-1m"}, []string{"--smtp-write-timeout"}},
		{"smtp-data-timeout unit", nil, []string{"--smtp-data-timeout", "600"}, []string{"--smtp-data-timeout"}},
		{"smtp-session-timeout", nil, []string{"--smtp-session-timeout", "forever"}, []string{"--smtp-session-timeout"}},
		{"smtp-auth-timeout zero", nil, []string{"--smtp-auth-timeout", "0"}, []string{"--smtp-auth-timeout", "positive duration"}},
		{"inbox-login-timeout zero", nil, []string{"--inbox-login-timeout", "0"}, []string{"--inbox-login-timeout", "positive duration"}},
		{"max-inflight", nil, []string{"--max-inflight", "lots"}, []string{"--max-inflight"}},
		{"max-inflight zero", nil, []string{"--max-inflight", "0"}, []string{"--max-inflight"}},
		{"handshake-timeout", nil, []string{"--handshake-timeout", "0s"}, []string{"--handshake-timeout"}},
		{"inbox-idle-timeout", nil, []string{"--inbox-idle-timeout", "-5m"}, []string{"--inbox-idle-timeout"}},
		{"max-auth-failures", nil, []string{"--max-auth-failures", "0"}, []string{"--max-auth-failures", "out of range"}},
		{"max-line below RFC 5321", nil, []string{"--max-line", "100"}, []string{"--max-line", "out of range (512 to 65536)"}},
		{"max-line too long", nil, []string{"--max-line", "1000000"}, []string{"--max-line", "out of range"}},
		{"env max-recipients", env{"MAILROOM_MAX_RECIPIENTS": "1000"}, nil, []string{"MAILROOM_MAX_RECIPIENTS", "--max-recipients"}},
		{"env handshake-timeout", env{"MAILROOM_HANDSHAKE_TIMEOUT": "soon"}, nil, []string{"MAILROOM_HANDSHAKE_TIMEOUT", "--handshake-timeout"}},
		{"env min-free", env{"MAILROOM_MIN_FREE": "lots"}, nil, []string{"MAILROOM_MIN_FREE", "--min-free"}},
		{"max-protocol-errors zero", nil, []string{"--max-protocol-errors", "0"}, []string{"--max-protocol-errors", "out of range (1 to 1000)"}},
		{"max-protocol-errors too many", nil, []string{"--max-protocol-errors", "1001"}, []string{"--max-protocol-errors", "out of range"}},
		{"inbox-max-line too small", nil, []string{"--inbox-max-line", "4KiB"}, []string{"--inbox-max-line", "out of range (8KiB to 64MiB)"}},
		{"inbox-max-line too big", nil, []string{"--inbox-max-line", "1GiB"}, []string{"--inbox-max-line", "out of range"}},
		{"inbox-max-line word", nil, []string{"--inbox-max-line", "long"}, []string{"--inbox-max-line", "want a size"}},
		{"inbox-send-queue too small", nil, []string{"--inbox-send-queue", "1"}, []string{"--inbox-send-queue", "out of range"}},
		{"inbox-send-queue-bytes too small", nil, []string{"--inbox-send-queue-bytes", "1KiB"}, []string{"--inbox-send-queue-bytes", "out of range"}},
		{"argon2 shape", nil, []string{"--argon2", "19456,2,1"}, []string{"--argon2", "m=KiB,t=passes,p=threads"}},
		{"argon2 missing p", nil, []string{"--argon2", "m=19456,t=2"}, []string{"--argon2", "m=KiB,t=passes,p=threads"}},
		{"argon2 twice", nil, []string{"--argon2", "m=19456,m=2,p=1"}, []string{"--argon2", "m=KiB,t=passes,p=threads"}},
		{"argon2 unknown key", nil, []string{"--argon2", "m=19456,t=2,x=1"}, []string{"--argon2", "m=KiB,t=passes,p=threads"}},
		{"argon2 negative", nil, []string{"--argon2", "m=-1,t=2,p=1"}, []string{"--argon2", "m=KiB,t=passes,p=threads"}},
		{"argon2 m below 8p", nil, []string{"--argon2", "m=31,t=1,p=4"}, []string{"--argon2", "m=31 is out of range (8*p = 32 to 4194304 KiB)"}},
		{"argon2 m over 4GiB", nil, []string{"--argon2", "m=4194305,t=1,p=1"}, []string{"--argon2", "m=4194305 is out of range"}},
		{"argon2 t zero", nil, []string{"--argon2", "m=19456,t=0,p=1"}, []string{"--argon2", "t=0 is out of range (1 to 100)"}},
		{"argon2 t past what verifies", nil, []string{"--argon2", "m=19456,t=101,p=1"}, []string{"--argon2", "t=101 is out of range"}},
		{"argon2 p zero", nil, []string{"--argon2", "m=19456,t=2,p=0"}, []string{"--argon2", "p=0 is out of range (1 to 255)"}},
		{"argon2 p too many", nil, []string{"--argon2", "m=19456,t=2,p=256"}, []string{"--argon2", "p=256 is out of range"}},
		{"hash-concurrency negative", nil, []string{"--hash-concurrency", "-1"}, []string{"--hash-concurrency", "out of range (0 to 1024)"}},
		{"hash-concurrency word", nil, []string{"--hash-concurrency", "cpus"}, []string{"--hash-concurrency", "whole number"}},
		{"db-busy-timeout zero", nil, []string{"--db-busy-timeout", "0"}, []string{"--db-busy-timeout", "positive duration"}},
		{"db-busy-timeout below 1ms", nil, []string{"--db-busy-timeout", "500us"}, []string{"--db-busy-timeout", "below 1ms"}},
		{"env argon2", env{"MAILROOM_ARGON2": "m=1,t=1,p=1"}, nil, []string{"MAILROOM_ARGON2", "--argon2"}},
		{"env inbox-max-line", env{"MAILROOM_INBOX_MAX_LINE": "huge"}, nil, []string{"MAILROOM_INBOX_MAX_LINE", "--inbox-max-line"}},
		{"env db-busy-timeout", env{"MAILROOM_DB_BUSY_TIMEOUT": "-1s"}, nil, []string{"MAILROOM_DB_BUSY_TIMEOUT", "--db-busy-timeout"}},
		{"db scheme", nil, []string{"--db", "mysql://u:hunter2@h/db"}, []string{"--db", "postgres://", "mysql://u:xxxxx@h/db"}},
		{"db a path", nil, []string{"--db", "/var/lib/mailroom/mailroom.db"}, []string{"--db", "postgres://", "empty for the SQLite file"}},
		{"env db scheme", env{"MAILROOM_DB": "sqlite:///x.db"}, nil, []string{"--db", "postgres://"}},
		{"db-max-conns negative", nil, []string{"--db-max-conns", "-1"}, []string{"--db-max-conns", "out of range"}},
		{"db-max-wal too small", nil, []string{"--db-max-wal", "1KiB"}, []string{"--db-max-wal", "out of range"}},
		{"db-max-wal word", nil, []string{"--db-max-wal", "big"}, []string{"--db-max-wal", "want a size"}},
		{"db-skip-quick-check word", nil, []string{"--db-skip-quick-check=maybe"}, []string{"--db-skip-quick-check"}},
		{"env db-skip-quick-check word", env{"MAILROOM_DB_SKIP_QUICK_CHECK": "sometimes"}, nil, []string{"MAILROOM_DB_SKIP_QUICK_CHECK"}},
		{"copy-db args", nil, []string{"--db", "postgres://h/d", "copy-db", "postgres://h/e"}, []string{"copy-db takes no arguments"}},
		{"copy-db no db", nil, []string{"copy-db"}, []string{"copy-db", "--db"}},
		{"auth-cache-ttl negative", nil, []string{"--auth-cache-ttl", "-1m"}, []string{"--auth-cache-ttl"}},
		{"pprof-addr on every interface", nil, []string{"--pprof-addr", "0.0.0.0:6060"}, []string{"--pprof-addr", "loopback"}},
		{"pprof-addr not an IP", nil, []string{"--pprof-addr", "localhost:6060"}, []string{"--pprof-addr", "loopback"}},
		{"env pprof-addr", env{"MAILROOM_PPROF_ADDR": ":6060"}, nil, []string{"MAILROOM_PPROF_ADDR", "--pprof-addr", "loopback"}},
		{"unknown command", nil, []string{"frobnicate"}, []string{"frobnicate"}},
		{"serve args", nil, []string{"serve", "now"}, []string{"serve takes no arguments"}},
		{"migrate", nil, []string{"migrate", "sideways"}, []string{"sideways"}},
		{"migrate none", nil, []string{"migrate"}, []string{"up, down or version"}},
		{"user none", nil, []string{"user"}, []string{"add NAME"}},
		{"user add no name", nil, []string{"user", "add"}, []string{"one NAME"}},
		{"user verb", nil, []string{"user", "rename", "a"}, []string{"rename"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--data", dir}, tc.args...)
			r := runCLI(t, tc.env, "", args...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want 2; stderr: %s", r.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q does not mention %q", r.stderr, w)
				}
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	r := mustRun(t, nil, "", "-h")
	for _, w := range []string{"serve", "migrate up|down|version", "MAILROOM_SMTP_ADDR", "127.0.0.1:8025", "-max-message"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("usage does not mention %q:\n%s", w, r.stdout)
		}
	}
	r = mustRun(t, nil, "", "version")
	if !strings.HasPrefix(r.stdout, "mailroomd ") || !strings.Contains(r.stdout, "go1") {
		t.Errorf("version printed %q", r.stdout)
	}
}

func TestFormatRate(t *testing.T) {
	for in, want := range map[string]string{"30/10m": "30/10m", "5/1h": "5/1h", "3/90s": "3/1m30s", "off": "off", "1/1h30m": "1/1h30m"} {
		r, err := throttle.ParseRate(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := formatRate(r); got != want {
			t.Errorf("formatRate(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestArgon2Value(t *testing.T) {
	for _, tc := range []struct {
		in      string
		m, t, p uint32
	}{
		{"m=19456,t=2,p=1", 19456, 2, 1},
		{"p=4,m=65536,t=3", 65536, 3, 4},
		{" M = 64 , T = 1 , P = 8 ", 64, 1, 8},
		{"m=8,t=100,p=1", 8, 100, 1},
		{"m=4194304,t=1,p=255", 4 << 20, 1, 255},
	} {
		got := argon2.DefaultParams()
		if err := (argon2Value{&got}).Set(tc.in); err != nil {
			t.Errorf("Set(%q): %v", tc.in, err)
			continue
		}
		want := argon2.DefaultParams()
		want.Memory, want.Time, want.Threads = tc.m, tc.t, uint8(tc.p)
		if got != want {
			t.Errorf("Set(%q) = %+v, want %+v", tc.in, got, want)
		}
	}
	// A bad value leaves the parameters as they were.
	got := argon2.DefaultParams()
	if err := (argon2Value{&got}).Set("m=64,t=0,p=1"); err == nil || got != argon2.DefaultParams() {
		t.Errorf("Set(t=0) = %v, params %+v", err, got)
	}
}

// TestSQLiteConfig checks that the SQLite flags reach the store's Config.
func TestSQLiteConfig(t *testing.T) {
	cfg, _ := parseConfig(t, env{"MAILROOM_DB_MAX_WAL": "16MiB"}, "--data", "/d", "--db-skip-quick-check", "--db-busy-timeout", "2s")
	want := sqlite.Config{Path: filepath.Join("/d", "mailroom.db"), BusyTimeout: 2 * time.Second, SkipQuickCheck: true, MaxWAL: 16 << 20}
	if got := sqliteConfig(cfg); got != want {
		t.Errorf("sqliteConfig = %+v, want %+v", got, want)
	}
	def, _ := parseConfig(t, nil, "--data", "/d")
	if got := sqliteConfig(def); got.MaxWAL != sqlite.DefaultMaxWAL || got.SkipQuickCheck {
		t.Errorf("default sqliteConfig = %+v, want MaxWAL %d and the quick check on", got, sqlite.DefaultMaxWAL)
	}
	// A store opens with them.
	dir := t.TempDir()
	mustRun(t, nil, "", "--data", dir, "--db-skip-quick-check", "--db-max-wal", "1MiB", "user", "list")
}
