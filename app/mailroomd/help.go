package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
)

// commandDoc is one command's help: what to type, what it does, and the
// flags it reads. Every flag is accepted before or after any command (one
// MAILROOM_* environment serves them all), but a command's help lists only
// those that change what it does.
type commandDoc struct {
	synopsis []string
	about    string
	flags    []string // nil: every flag
}

// Flag groups several commands share.
var (
	// dbFlags select and open the database.
	dbFlags = []string{"data", "db", "db-max-conns", "db-busy-timeout", "db-skip-quick-check", "db-max-wal"}
	// accountFlags are what account commands need beside the database.
	accountFlags = slices.Concat(dbFlags, []string{"domain", "argon2", "hash-concurrency"})
)

var serverDoc = "Runs until SIGINT or SIGTERM, then finishes in-flight transactions within --grace and exits 0 (1 if the grace ran out and connections were cut, or a server failed)."

var commandDocs = map[string]commandDoc{
	"serve": {synopsis: []string{"serve"}, about: "Run the SMTP, inbox and IMAP servers in one process (the default command). " + serverDoc},
	"smtp":  {synopsis: []string{"smtp"}, about: "Run the SMTP server only. " + serverDoc},
	"inbox": {synopsis: []string{"inbox"}, about: "Run the inbox server only. " + serverDoc},
	"imap":  {synopsis: []string{"imap"}, about: "Run the IMAP server only. " + serverDoc},
	"migrate": {
		synopsis: []string{"migrate up|down|version"},
		about:    "Apply every migration, revert the latest one, or print the schema version (0 when none is applied; with no database file at all, version says so and exits 1 rather than create one).",
		flags:    []string{"data", "db", "db-busy-timeout"},
	},
	"user": {
		synopsis: []string{"user add NAME", "user list", "user passwd NAME", "user delete NAME"},
		about:    "Manage accounts, also while the daemon runs. add and passwd read the password from the terminal (asked twice, not echoed) or one line of stdin.",
		flags:    accountFlags,
	},
	"copy-db": {
		synopsis: []string{"--db URL copy-db"},
		about:    "Copy the SQLite database in --data into the empty PostgreSQL database --db names.",
		flags:    dbFlags,
	},
	"backup": {
		synopsis: []string{"backup DEST"},
		about:    "Write a consistent copy of the SQLite database to the new file DEST while the daemon runs, check it (quick_check, row counts) and print a one-line summary. On PostgreSQL use pg_dump.",
		flags:    []string{"data", "db", "db-busy-timeout"},
	},
	"export": {
		synopsis: []string{"export --user NAME [--folder F] [--out FILE]"},
		about:    "Write a user's mail (one folder, inbox unless --folder) as mboxrd to stdout or FILE, oldest first, each message byte for byte.",
		flags:    slices.Concat(dbFlags, []string{"domain", "user", "folder", "out"}),
	},
	"import": {
		synopsis: []string{"import --user NAME [--folder F] FILE|DIR"},
		about:    "Add the messages of an mbox file (mboxrd or mboxo) or a Maildir to a user's folder (inbox unless --folder). A message whose Message-ID the folder holds already is skipped, so running it twice adds nothing.",
		flags:    slices.Concat(dbFlags, []string{"domain", "max-message", "user", "folder"}),
	},
	"cert": {
		synopsis: []string{"cert"},
		about:    "Print the certificate's SHA-256 fingerprint, as plain hex and as colon-separated upper-case pairs, creating the self-signed pair if needed.",
		flags:    []string{"data", "domain", "cert", "key"},
	},
	"version": {
		synopsis: []string{"version"},
		about:    "Print the version, the data directory and the database this configuration uses.",
		flags:    []string{"data", "db"},
	},
	"paths": {
		synopsis: []string{"paths"},
		about:    "Print the data directory, the database and the certificate files this configuration uses, one per line as name<TAB>path, for scripts: mailroomd paths | awk -F'\\t' '$1==\"database\" {print $2}'.",
		flags:    []string{"data", "db", "cert", "key"},
	},
}

// commandUsage writes cmd's help and its flags; false when there is no
// such command.
func (f *flags) commandUsage(w io.Writer, cmd string) bool {
	doc, ok := commandDocs[cmd]
	if !ok {
		return false
	}
	for i, s := range doc.synopsis {
		head := "Usage:"
		if i > 0 {
			head = "      "
		}
		fmt.Fprintf(w, "%s mailroomd [flags] %s\n", head, s)
	}
	fmt.Fprintf(w, "\n%s\n\nFlags (each falls back to the environment variable shown):\n", doc.about)
	f.fs.VisitAll(func(fl *flag.Flag) {
		if (doc.flags == nil && !commandOnly[fl.Name]) || slices.Contains(doc.flags, fl.Name) {
			printFlag(w, fl)
		}
	})
	return true
}

// printFlag writes one flag the way every usage text does.
func printFlag(w io.Writer, fl *flag.Flag) {
	name, use := flag.UnquoteUsage(fl)
	if commandOnly[fl.Name] {
		fmt.Fprintf(w, "  --%s %s\n    \t%s (no env)\n", fl.Name, name, use)
		return
	}
	fmt.Fprintf(w, "  --%s %s\n    \t%s (env %s, default %q)\n", fl.Name, name, use, envName(fl.Name), fl.DefValue)
}

// cmdFlags are the flags of one run of export or import, not settings of
// the daemon: they have no environment variable, so that a MAILROOM_USER
// left in a shell never picks whose mail is exported.
type cmdFlags struct {
	User, Folder, Out string
}

// commandOnly names the cmdFlags flags.
var commandOnly = map[string]bool{"user": true, "folder": true, "out": true}

func addCommandFlags(fs *flag.FlagSet) *cmdFlags {
	c := &cmdFlags{}
	fs.StringVar(&c.User, "user", "", "export, import: the account `name`")
	fs.StringVar(&c.Folder, "folder", "", "export, import: the `folder` (default inbox)")
	fs.StringVar(&c.Out, "out", "", "export: write to this `file` (created, never overwritten) instead of stdout")
	return c
}
