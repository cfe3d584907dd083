package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"mailroom/domain/mail"
)

// flags is the daemon's flag set bound to a config.
type flags struct {
	fs  *flag.FlagSet
	cfg *config
	cmd *cmdFlags // export and import's own (help.go)
}

// newFlags defines every flag of the daemon on a config at its defaults.
func newFlags(getenv func(string) string) *flags {
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("mailroomd", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run prints errors and usage itself
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "`dir`ectory for the database and the generated certificate")
	fs.Var(addrValue{p: &cfg.SMTPAddr}, "smtp-addr", "SMTP (implicit TLS) listen `address`")
	fs.Var(addrValue{p: &cfg.InboxAddr}, "inbox-addr", "inbox protocol (TLS) listen `address`")
	fs.Var(addrValue{&cfg.IMAPAddr, true}, "imap-addr", "IMAP (implicit TLS) listen `address`; empty: no IMAP in serve")
	fs.Var(domainValue{&cfg.Domain}, "domain", "mail `domain` of every address")
	fs.Var(enumValue{p: &cfg.Registration, allowed: []string{"open", "closed"}}, "registration", "`open` or closed: whether clients may register accounts")
	fs.Var(sizeValue{&cfg.MaxMessage, minMessageBytes, maxMessageBytes}, "max-message", "largest message, e.g. 25MiB, 10MB or 1048576 (`size`)")
	fs.Var(rateValue{&cfg.RegRate}, "reg-rate", "registrations per client IP, N/duration or off (`rate`)")
	fs.Var(rateValue{&cfg.AuthFailRate}, "auth-fail-rate", "failed logins per client IP, N/duration or off (`rate`)")
	fs.StringVar(&cfg.CertFile, "cert", "", "PEM certificate (chain) `file`; with --key, replaces the self-signed pair")
	fs.StringVar(&cfg.KeyFile, "key", "", "PEM private key `file` for --cert")
	fs.Var(enumValue{p: &cfg.LogFormat, allowed: []string{"console", "json"}}, "log-format", "log `format`: console or json")
	fs.Var(levelValue{&cfg.LogLevel}, "log-level", "log `level`: debug, info, warn or error")
	fs.Var(offDurationValue{&cfg.Grace}, "grace", "shutdown grace period for in-flight transactions (`duration`)")
	fs.Var(sizeValue{&cfg.MinFree, 0, maxSize}, "min-free", "disk space to keep free in the data directory; MAIL gets 452 4.3.1 below it, 0 turns the check off (`size`)")
	fs.Var(intValue{&cfg.MaxRecipients, 1, mail.MaxRecipients}, "max-recipients", "recipients per message, then 452 4.5.3 (`count`)")
	fs.Var(intValue{&cfg.MaxConns, 1, maxConns}, "max-conns", "open connections per server (`count`)")
	fs.Var(intValue{&cfg.MaxConnsPerIP, 1, maxConns}, "max-conns-per-ip", "open connections per client IP, per server (`count`)")
	fs.Var(durationValue{&cfg.SMTPReadTimeout}, "smtp-read-timeout", "wait for each SMTP command (`duration`)")
	fs.Var(durationValue{&cfg.SMTPWriteTimeout}, "smtp-write-timeout", "time to write each SMTP reply (`duration`)")
	fs.Var(durationValue{&cfg.SMTPDataTimeout}, "smtp-data-timeout", "time to receive one message's content, then 421 (`duration`)")
	fs.Var(durationValue{&cfg.SMTPSessionTimeout}, "smtp-session-timeout", "lifetime of one SMTP connection (`duration`)")
	fs.Var(durationValue{&cfg.SMTPAuthTimeout}, "smtp-auth-timeout", "time from connect to SMTP AUTH, then 421 4.7.0 and close (`duration`)")
	fs.Var(sizeValue{&cfg.MaxInflight, minMessageBytes, maxSize}, "max-inflight", "message bytes each server holds in memory at once, all its connections: SMTP DATA (then 452 4.3.1), inbox fetches and appends (an append then gets busy), IMAP APPEND (`size`)")
	fs.Var(durationValue{&cfg.HandshakeTimeout}, "handshake-timeout", "TLS handshake deadline, both servers (`duration`)")
	fs.Var(durationValue{&cfg.InboxIdleTimeout}, "inbox-idle-timeout", "wait for the next inbox request; watching connections excepted (`duration`)")
	fs.Var(durationValue{&cfg.InboxLoginTimeout}, "inbox-login-timeout", "time from connect to inbox login, then close (`duration`)")
	fs.Var(intValue{&cfg.MaxAuthFailures, 1, maxAuthFailures}, "max-auth-failures", "failed logins per SMTP session or inbox connection, then close (`count`)")
	fs.Var(intValue{&cfg.MaxLine, minLine, maxLine}, "max-line", "longest SMTP command line in octets, CRLF excluded, then 500 5.5.2 (`octets`)")
	fs.Var(intValue{&cfg.MaxProtocolErrors, 1, maxProtocolErrors}, "max-protocol-errors", "SMTP syntax and sequence errors per session, then 421 and close (`count`)")
	fs.Var(sizeValue{&cfg.InboxMaxLine, minInboxLine, maxInboxLine}, "inbox-max-line", "longest inbox request line, then too_large and close; after login a minimum: an append gets the line its message size needs (`size`)")
	fs.Var(intValue{&cfg.InboxSendQueue, 16, 1 << 16}, "inbox-send-queue", "lines one inbox connection may have waiting to be written (`count`)")
	fs.Var(sizeValue{&cfg.InboxSendQueueBytes, 1 << 20, 1 << 30}, "inbox-send-queue-bytes", "bytes one inbox connection may have waiting to be written (`size`)")
	fs.Var(argon2Value{&cfg.Argon2}, "argon2", "argon2id cost of new password hashes: memory KiB, passes, threads (`m=KiB,t=N,p=N`)")
	fs.Var(intValue{&cfg.HashConcurrency, 0, maxHashConcurrency}, "hash-concurrency", "password hashes run at once; 0 means one per CPU (`count`)")
	fs.Var(sizeValue{&cfg.MemoryLimit, 0, maxSize}, "memory-limit", "soft memory limit of the Go runtime (debug.SetMemoryLimit); 0 leaves GOMEMLIMIT or none (`size`)")
	// --db is checked by config.check, not by the flag package, whose
	// error would quote the value, password and all.
	fs.StringVar(&cfg.DB, "db", "", "PostgreSQL database `URL` (postgres://user:password@host:port/name); empty: the SQLite file in --data")
	fs.Var(intValue{&cfg.DBMaxConns, 0, maxDBConns}, "db-max-conns", "PostgreSQL connections per process; 0 means max(4, CPUs) (`count`)")
	fs.Var(durationValue{&cfg.DBBusyTimeout}, "db-busy-timeout", "wait for a SQLite lock held by another process (`duration`)")
	fs.BoolVar(&cfg.DBSkipQuickCheck, "db-skip-quick-check", false, "skip SQLite's integrity check at start (it reads the whole file)")
	fs.Var(sizeValue{&cfg.DBMaxWAL, minWAL, maxSize}, "db-max-wal", "SQLite WAL size past which it is checkpointed and truncated (`size`)")
	fs.Var(offDurationValue{&cfg.AuthCacheTTL}, "auth-cache-ttl", "how long a verified login is remembered so a repeat costs no password hash; 0 turns the cache off (`duration`)")
	fs.Var(loopbackAddrValue{&cfg.PprofAddr}, "pprof-addr", "loopback `address` to serve net/http/pprof on; empty: off")
	fs.Var(addrValue{&cfg.MetricsAddr, true}, "metrics-addr", "`address` to serve /metrics, /healthz and /readyz on (plain HTTP); loopback only unless --metrics-public; empty: off")
	fs.BoolVar(&cfg.MetricsPublic, "metrics-public", false, "allow a --metrics-addr that is not a loopback IP")
	return &flags{fs: fs, cfg: cfg, cmd: addCommandFlags(fs)}
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
				return pos, err // the command, if it came first, picks the help
			}
			return nil, usageError{msg: twoDashes(err.Error())}
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

// twoDashes rewrites the flag package's "-name" in its errors as "--name",
// the spelling the usage, the docs and the other errors use. The errors it
// knows: "flag provided but not defined: -x", "flag needs an argument: -x"
// "invalid value "v" for flag -x: …" and a bool flag's "invalid boolean
// value "v" for -x: …" (v is quoted, so text in the value is never taken
// for the flag). Others pass unchanged.
func twoDashes(msg string) string {
	for _, p := range []struct{ head, mid string }{
		{"invalid value ", " for flag -"},
		{"invalid boolean value ", " for -"}, // a bool flag's
	} {
		rest, ok := strings.CutPrefix(msg, p.head)
		if !ok {
			continue
		}
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return msg
		}
		if tail, ok := strings.CutPrefix(rest[len(q):], p.mid); ok {
			return p.head + q + p.mid + "-" + tail
		}
		return msg
	}
	for _, p := range []string{"flag provided but not defined: -", "flag needs an argument: -"} {
		if tail, ok := strings.CutPrefix(msg, p); ok {
			return p + "-" + tail
		}
	}
	return msg
}

// applyEnv sets every flag not given on the command line from its
// MAILROOM_* variable, if that is set and not empty: a flag beats the
// environment, which beats the default.
func (f *flags) applyEnv(getenv func(string) string) error {
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var err error
	f.fs.VisitAll(func(fl *flag.Flag) {
		if err != nil || set[fl.Name] || commandOnly[fl.Name] {
			return
		}
		name := envName(fl.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		if serr := f.fs.Set(fl.Name, v); serr != nil {
			err = usagef("invalid value %q for %s (flag --%s): %v", v, name, fl.Name, serr)
		}
	})
	return err
}

// usage writes the command summary and every flag with its variable and default.
func (f *flags) usage(w io.Writer) {
	fmt.Fprint(w, `Usage: mailroomd [flags] [command] [args]

Commands:
  serve                  run the SMTP, inbox and IMAP servers in one process (default)
  smtp                   run the SMTP server only
  inbox                  run the inbox server only
  imap                   run the IMAP server only
  migrate up|down|version
                         apply all migrations, revert the latest one, or print the schema version
  copy-db                copy the SQLite database in --data into the empty PostgreSQL database --db names
  user add NAME          create an account; the password is read from the terminal or one line of stdin
  user list              list accounts
  user passwd NAME       set a new password (read like user add)
  user delete NAME       delete an account and its mailbox
  backup DEST            copy the running SQLite database to DEST, checked
  export --user NAME     write a user's folder as mboxrd (--folder, --out)
  import --user NAME FILE
                         add an mbox file or a Maildir to a user's folder, skipping Message-IDs it has
  cert                   print the certificate's SHA-256 fingerprint, creating the pair if needed
  version                print the version, the data directory and the database path
  paths                  print the data directory, database and certificate paths (name<TAB>path)

Run 'mailroomd COMMAND --help' for one command and only the flags it reads.

Flags (each falls back to the environment variable shown):
`)
	f.fs.VisitAll(func(fl *flag.Flag) { printFlag(w, fl) })
}
