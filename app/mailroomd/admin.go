package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"mailroom/adapters/certs"
	"mailroom/adapters/postgres"
	"mailroom/adapters/sqlite"
	"mailroom/domain/account"
)

// certSource says where a certificate came from, for the log.
type certSource struct {
	CertFile string
	Created  bool
}

// loadCert loads --cert/--key, or the self-signed pair in the data
// directory, creating it on first use for the domain and this host's name.
// The caller holds lockDataDir, which made the directory.
func loadCert(cfg config) (tls.Certificate, certSource, error) {
	if cfg.CertFile != "" {
		c, err := certs.Load(cfg.CertFile, cfg.KeyFile)
		return c, certSource{CertFile: cfg.CertFile}, err
	}
	hosts := []string{cfg.Domain}
	if h, err := os.Hostname(); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	c, created, err := certs.LoadOrCreate(cfg.DataDir, hosts)
	return c, certSource{CertFile: filepath.Join(cfg.DataDir, certs.CertFile), Created: created}, err
}

// warn tells the operator of a command what was fixed on the way.
func (c *cli) warn(msg string) { fmt.Fprintln(c.stderr, "mailroomd:", msg) }

// cert prints the fingerprint clients pin, creating the pair if needed:
// plain lower-case hex on the first line (what the Gio client and
// `openssl x509 -fingerprint` users compare), AA:BB:… on the second.
func (c *cli) cert(cfg config) int {
	unlock, err := lockDataDir(cfg, c.warn)
	if err != nil {
		return c.fail(err)
	}
	cert, src, err := loadCert(cfg)
	unlock()
	if err != nil {
		return c.fail(err)
	}
	if src.Created {
		fmt.Fprintln(c.stderr, "mailroomd: created a self-signed certificate:", src.CertFile)
	}
	hexFP := certs.Fingerprint(cert)
	fmt.Fprintln(c.stdout, hexFP)
	fmt.Fprintln(c.stdout, colonFingerprint(hexFP))
	return exitOK
}

// colonFingerprint writes a hex fingerprint as upper-case pairs joined by
// colons (AA:BB:…), the form msmtp's tls_fingerprint, s-nail and
// Thunderbird show and take.
func colonFingerprint(hexFP string) string {
	var b strings.Builder
	for i := 0; i+1 < len(hexFP); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToUpper(hexFP[i : i+2]))
	}
	return b.String()
}

// migrate runs `migrate up|down|version` on the database cfg selects.
func (c *cli) migrate(ctx context.Context, cfg config, args []string) int {
	if len(args) != 1 {
		return c.fail(usagef("migrate wants one of up, down or version"))
	}
	dir := args[0]
	if dir != "up" && dir != "down" && dir != "version" {
		return c.fail(usagef("migrate wants one of up, down or version, not %q", dir))
	}
	var v uint
	var dirty bool
	var err error
	if cfg.Postgres() {
		v, dirty, err = migratePostgres(ctx, cfg.DB, dir)
	} else {
		v, dirty, err = c.migrateSQLite(ctx, cfg, dir)
	}
	if err != nil {
		return c.fail(err)
	}
	if dirty {
		fmt.Fprintf(c.stdout, "%d (dirty: a migration failed halfway; fix the schema by hand, then migrate again)\n", v)
		return exitError
	}
	fmt.Fprintln(c.stdout, v)
	return exitOK
}

// migratePostgres runs dir ("up", "down" or "version") on the database at
// url and gives the version after it. Hosts running it at once take turns
// on golang-migrate's advisory lock.
func migratePostgres(ctx context.Context, url, dir string) (uint, bool, error) {
	if dir != "version" {
		if err := postgres.Migrate(ctx, url, dir); err != nil {
			return 0, false, err
		}
	}
	return postgres.MigrationVersion(ctx, url)
}

// migrateSQLite is migratePostgres for the SQLite file in the data
// directory, under the data directory's lock.
func (c *cli) migrateSQLite(ctx context.Context, cfg config, dir string) (uint, bool, error) {
	path := cfg.DBPath()
	if dir != "version" {
		unlock, err := lockDataDir(cfg, c.warn)
		if err != nil {
			return 0, false, err
		}
		err = sqlite.Migrate(ctx, path, dir)
		unlock()
		if err != nil {
			return 0, false, err
		}
	}
	v, dirty, err := sqlite.MigrationVersion(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, fmt.Errorf("no database at %s yet (mailroomd migrate up or serve creates it)", path)
	}
	return v, dirty, err
}

// user runs `user add|list|passwd|delete`. It opens the database cfg
// selects directly, so it works while the daemon runs (SQLite serialises
// the writers; PostgreSQL is shared by design) and whatever
// --registration says.
func (c *cli) user(ctx context.Context, cfg config, args []string) int {
	if len(args) == 0 {
		return c.fail(usagef("user wants add NAME, list, passwd NAME or delete NAME"))
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "list":
		if len(args) != 0 {
			return c.fail(usagef("user list takes no arguments"))
		}
	case "add", "passwd", "delete":
		if len(args) != 1 {
			return c.fail(usagef("user %s wants one NAME", sub))
		}
	default:
		return c.fail(usagef("unknown user command %q (want add, list, passwd or delete)", sub))
	}

	// Every error past the usage checks says which command failed, as
	// "user add: …", whichever step it came from.
	failed := func(err error) int { return c.fail(fmt.Errorf("user %s: %w", sub, err)) }
	// Read the password before opening the database, so that a prompt is
	// not kept waiting with the file open, and a bad password costs nothing.
	var password string
	if sub == "add" || sub == "passwd" {
		if _, err := account.ParseUsername(stripDomain(args[0], cfg.Domain)); err != nil {
			return failed(err)
		}
		p, err := c.readPassword(ctx, args[0])
		if err != nil {
			return failed(err)
		}
		if err := account.CheckPassword(p); err != nil {
			return failed(err)
		}
		password = p
	}

	store, err := c.openForCommand(ctx, cfg)
	if err != nil {
		return failed(err)
	}
	defer store.Close()
	acc := account.NewService(store, newHasher(cfg), account.Config{Domain: cfg.Domain}, nil)

	switch sub {
	case "add":
		a, err := acc.Register(ctx, stripDomain(args[0], cfg.Domain), password)
		if err != nil {
			return failed(err)
		}
		fmt.Fprintln(c.stdout, "created", acc.AddressOf(a))
	case "passwd":
		if err := acc.SetPassword(ctx, args[0], password); err != nil {
			return failed(err)
		}
		fmt.Fprintln(c.stdout, "password changed for", args[0])
	case "delete":
		if err := acc.Delete(ctx, args[0]); err != nil {
			return failed(err)
		}
		fmt.Fprintln(c.stdout, "deleted", args[0])
	case "list":
		list, err := acc.List(ctx)
		if err != nil {
			return failed(err)
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tADDRESS\tCREATED")
		for _, a := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\n", a.ID, acc.AddressOf(a), a.Created.UTC().Format(time.RFC3339))
		}
		tw.Flush()
	}
	return exitOK
}

// openForCommand opens the store for a command: the SQLite file under the
// data directory's lock (it may create and migrate the file), or the
// PostgreSQL database, which needs no data directory at all.
func (c *cli) openForCommand(ctx context.Context, cfg config) (store, error) {
	if cfg.Postgres() {
		return openStore(ctx, cfg, nil)
	}
	unlock, err := lockDataDir(cfg, c.warn)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return openStore(ctx, cfg, nil)
}

// stripDomain turns alice@domain into alice for Register, which takes a bare
// name; another domain is left for the name check to reject.
func stripDomain(name, domain string) string {
	if i := len(name) - len(domain) - 1; i > 0 && name[i] == '@' && strings.EqualFold(name[i+1:], domain) {
		return name[:i]
	}
	return name
}

// readPassword reads the password for name: from the terminal without echo,
// asked twice, when stdin is one; otherwise one line of stdin. It is never
// taken from argv, so it shows in no process list or shell history.
func (c *cli) readPassword(ctx context.Context, name string) (string, error) {
	if f, ok := c.stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprintf(c.stderr, "New password for %s: ", name)
		p1, err := readNoEcho(ctx, f)
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(c.stderr, "Repeat it: ")
		p2, err := readNoEcho(ctx, f)
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", err
		}
		if p1 != p2 {
			return "", errors.New("the passwords do not match")
		}
		return p1, nil
	}
	return readPasswordLine(c.stdin)
}

// readPasswordLine reads one line (the final newline is optional) of at most
// MaxPasswordBytes, without its line ending.
func readPasswordLine(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, account.MaxPasswordBytes+3), account.MaxPasswordBytes+3)
	line, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	if err != nil && len(line) > account.MaxPasswordBytes+1 {
		return "", account.ErrWeakPassword
	}
	line = trimEOL(line)
	if line == "" {
		return "", errors.New("no password on stdin: give it as one line (echo is not needed on a terminal)")
	}
	return line, nil
}

func trimEOL(s string) string {
	if n := len(s); n > 0 && s[n-1] == '\n' {
		s = s[:n-1]
	}
	if n := len(s); n > 0 && s[n-1] == '\r' {
		s = s[:n-1]
	}
	return s
}
