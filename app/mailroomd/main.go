// Command mailroomd is Mailroom's daemon: one binary that serves SMTP
// submission and the inbox protocol over TLS from one database (the SQLite
// file in its data directory, or a PostgreSQL database that several hosts
// share), either in one process (serve, the default) or as two processes
// sharing the database (smtp and inbox), and that carries the ops commands:
// migrate, user, copy-db, backup, export, import, cert, version and paths.
// Run `mailroomd -h` for the commands, `mailroomd COMMAND -h` for one
// command's flags; docs/ops.md has the whole story.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"

	"mailroom/adapters/certs"
	"mailroom/adapters/sqlite"
)

// version is set at link time: -ldflags "-X main.version=v1.2.3". Empty
// means the module version and VCS revision from the build info.
var version string

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, stop catching them: a second SIGINT or
	// SIGTERM during the grace period kills the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program; ctx ending is a request to shut down (main
// cancels it on SIGINT and SIGTERM). It gives the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return c.run(ctx, args)
}

// cli carries run's IO; getenv is replaceable for tests.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// secrets are the spellings of the --db password, scrubbed from
	// every message fail prints, whatever produced it.
	secrets []string
}

func (c *cli) run(ctx context.Context, args []string) int {
	f := newFlags(c.getenv)
	pos, err := f.parse(args)
	if errors.Is(err, flag.ErrHelp) {
		if len(pos) == 0 || !f.commandUsage(c.stdout, pos[0]) {
			f.usage(c.stdout)
		}
		return exitOK
	}
	if err == nil {
		err = f.applyEnv(c.getenv)
	}
	if err == nil {
		err = f.cfg.check()
	}
	if err != nil {
		return c.fail(err)
	}
	c.secrets = urlSecrets(f.cfg.DB)
	cmd := "serve"
	if len(pos) > 0 {
		cmd, pos = pos[0], pos[1:]
	}
	cfg := *f.cfg
	switch cmd {
	case "serve", "smtp", "inbox", "imap":
		if len(pos) > 0 {
			return c.fail(usagef("%s takes no arguments, got %q", cmd, pos))
		}
		return c.serve(ctx, cfg, cmd)
	case "migrate":
		return c.migrate(ctx, cfg, pos)
	case "user":
		return c.user(ctx, cfg, pos)
	case "copy-db":
		if len(pos) > 0 {
			return c.fail(usagef("copy-db takes no arguments (the target is --db or MAILROOM_DB), got %d", len(pos)))
		}
		return c.copyDB(ctx, cfg)
	case "cert":
		if len(pos) > 0 {
			return c.fail(usagef("cert takes no arguments, got %q", pos))
		}
		return c.cert(cfg)
	case "version":
		c.version(cfg)
		return exitOK
	case "paths":
		if len(pos) > 0 {
			return c.fail(usagef("paths takes no arguments, got %q", pos))
		}
		c.paths(cfg)
		return exitOK
	case "backup":
		if len(pos) != 1 {
			return c.fail(usagef("backup wants one DEST file, got %d arguments", len(pos)))
		}
		return c.backup(ctx, cfg, pos[0])
	case "export":
		if len(pos) > 0 {
			return c.fail(usagef("export takes no arguments (--user NAME, --folder F, --out FILE), got %q", pos))
		}
		return c.export(ctx, cfg, *f.cmd)
	case "import":
		if len(pos) != 1 {
			return c.fail(usagef("import wants one mbox FILE or Maildir DIR, got %d arguments", len(pos)))
		}
		return c.importMail(ctx, cfg, *f.cmd, pos[0])
	case "help":
		if len(pos) == 0 || !f.commandUsage(c.stdout, pos[0]) {
			f.usage(c.stdout)
		}
		return exitOK
	}
	return c.fail(usagef("unknown command %q (want serve, smtp, inbox, imap, migrate, user, copy-db, backup, export, import, cert, version or paths)", cmd))
}

// fail reports err on stderr and gives its exit code: 2 for a usage error,
// 1 for anything else.
func (c *cli) fail(err error) int {
	fmt.Fprintln(c.stderr, "mailroomd:", scrub(err.Error(), c.secrets))
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(c.stderr, "Run 'mailroomd -h' for usage.")
		return exitUsage
	}
	return exitError
}

// version prints the version, then the data directory and the database
// this configuration uses, made absolute: which file a daemon or a user
// command would open is the usual question when flags, the environment and
// $XDG_DATA_HOME all have a say. Nothing is created or opened.
func (c *cli) version(cfg config) {
	fmt.Fprintln(c.stdout, "mailroomd", versionString(), runtime.Version())
	if abs, err := filepath.Abs(cfg.DataDir); err == nil {
		cfg.DataDir = abs
	}
	fmt.Fprintln(c.stdout, "data directory:", cfg.DataDir)
	fmt.Fprintln(c.stdout, "database:", cfg.DBName())
}

// paths prints what version does, for scripts: one name<TAB>path per
// line (data, database, search-index, cert, key), absolute, nothing
// created or opened. The search index is the SQLite store's, derived from
// the database (it is rebuilt when removed).
// The README's sqlite3 line reads the database from it.
func (c *cli) paths(cfg config) {
	if abs, err := filepath.Abs(cfg.DataDir); err == nil {
		cfg.DataDir = abs
	}
	certFile, keyFile := cfg.CertFile, cfg.KeyFile
	if certFile == "" {
		certFile, keyFile = filepath.Join(cfg.DataDir, certs.CertFile), filepath.Join(cfg.DataDir, certs.KeyFile)
	}
	lines := [][2]string{{"data", cfg.DataDir}, {"database", cfg.DBName()}}
	if !cfg.Postgres() {
		lines = append(lines, [2]string{"search-index", sqlite.IndexFile(cfg.DBPath())})
	}
	for _, p := range append(lines, [2]string{"cert", certFile}, [2]string{"key", keyFile}) {
		fmt.Fprintf(c.stdout, "%s\t%s\n", p[0], p[1])
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	v := "(devel)"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v = bi.Main.Version
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}
