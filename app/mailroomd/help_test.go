package main

import (
	"strings"
	"testing"
)

func TestHelpPerCommand(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"serve", "--help"}, []string{"Usage: mailroomd [flags] serve\n", "--smtp-addr", "--imap-addr", "--metrics-addr", "--grace", "exits 0"}, []string{"--user ", "--out "}},
		{[]string{"--data", "x", "smtp", "-h"}, []string{"smtp\n", "--smtp-addr"}, []string{"--folder "}},
		{[]string{"user", "--help"}, []string{"user add NAME", "user list", "--data", "--db ", "--argon2", "--domain"}, []string{"--smtp-addr", "--grace", "--max-message", "--user "}},
		{[]string{"user", "add", "--help"}, []string{"user passwd NAME", "--argon2"}, []string{"--smtp-addr"}},
		{[]string{"help", "user"}, []string{"user delete NAME"}, []string{"--smtp-addr"}},
		{[]string{"migrate", "--help"}, []string{"migrate up|down|version", "--db-busy-timeout"}, []string{"--argon2", "--smtp-addr"}},
		{[]string{"backup", "--help"}, []string{"backup DEST", "pg_dump", "--data"}, []string{"--smtp-addr", "--argon2"}},
		{[]string{"export", "--help"}, []string{"export --user NAME", "--user name", "--folder folder", "--out file", "(no env)"}, []string{"--smtp-addr", "MAILROOM_USER"}},
		{[]string{"import", "--help"}, []string{"Maildir", "--user name", "--max-message"}, []string{"--smtp-addr", "--out "}},
		{[]string{"cert", "--help"}, []string{"--cert file", "--key", "colon"}, []string{"--smtp-addr", "--db "}},
		{[]string{"copy-db", "--help"}, []string{"--db URL copy-db", "--db-max-conns"}, []string{"--smtp-addr"}},
		{[]string{"version", "-h"}, []string{"--data"}, []string{"--smtp-addr"}},
		{[]string{"paths", "-h"}, []string{"name<TAB>path"}, []string{"--smtp-addr"}},
		// The overview lists every command and every flag.
		{[]string{"--help"}, []string{"backup DEST", "export --user NAME", "paths", "COMMAND --help", "--smtp-addr", "--argon2"}, nil},
	} {
		r := runCLI(t, nil, "", tc.args...)
		if r.code != exitOK {
			t.Errorf("%q: exit %d, stderr %q", tc.args, r.code, r.stderr)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%q: help lacks %q:\n%s", tc.args, w, r.stdout)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(r.stdout, n) {
				t.Errorf("%q: help shows %q, which the command does not read:\n%s", tc.args, n, r.stdout)
			}
		}
	}
}

// TestCommandFlagsHaveNoEnv: MAILROOM_USER left in a shell never picks
// whose mail export writes.
func TestCommandFlagsHaveNoEnv(t *testing.T) {
	r := runCLI(t, env{"MAILROOM_USER": "alice"}, "", "--data", t.TempDir(), "export")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--user") {
		t.Errorf("exit %d, stderr %q; want 2 asking for --user", r.code, r.stderr)
	}
}
