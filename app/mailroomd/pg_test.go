package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"mailroom/adapters/client"
	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
)

// TestPostgresCommands runs migrate and user against PostgreSQL: --db
// selects it, and no SQLite file appears in --data.
func TestPostgresCommands(t *testing.T) {
	dbURL := pgSchema(t, pgServerURL(t))
	e := env{"MAILROOM_DB": dbURL}
	dir := t.TempDir()
	run := func(stdin string, args ...string) string {
		t.Helper()
		return mustRun(t, e, stdin, append([]string{"--data", dir, "--argon2", cheapArgon2}, args...)...).stdout
	}
	for _, step := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"migrate", "version"}, "0\n"},
		{"", []string{"migrate", "up"}, fmt.Sprintf("%d\n", latestPostgresVersion(t))},
		{"first-password\n", []string{"user", "add", "alice"}, "created alice@localhost"},
		{"second-password\n", []string{"user", "add", "bob@localhost"}, "created bob@localhost"},
		{"", []string{"user", "list"}, "alice@localhost"},
		{"new-password-1\n", []string{"user", "passwd", "alice"}, "password changed for alice"},
		{"", []string{"user", "delete", "bob"}, "deleted bob"},
		{"", []string{"migrate", "down"}, fmt.Sprintf("%d\n", latestPostgresVersion(t)-1)}, // one step
		{"", []string{"migrate", "up"}, fmt.Sprintf("%d\n", latestPostgresVersion(t))},
	} {
		if got := run(step.stdin, step.args...); !strings.Contains(got, step.want) {
			t.Fatalf("%v: %q, want %q", step.args, got, step.want)
		}
		if step.args[0] == "user" && step.args[1] == "passwd" {
			acc := account.NewService(pgStore(t, dbURL), newHasher(config{}), account.Config{Domain: "localhost"}, nil)
			if _, err := acc.Authenticate(context.Background(), "alice", "new-password-1"); err != nil {
				t.Errorf("alice after passwd: %v", err)
			}
		}
	}
	if got := run("", "user", "list"); strings.Contains(got, "bob") {
		t.Errorf("bob listed after delete (and migrate down, up):\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "mailroom.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a SQLite file appeared in --data with --db set: %v", err)
	}
}

// TestPostgresPasswordNeverShown runs every command that opens the
// database, the daemon included, with URLs whose password is wrong or that
// point nowhere, and looks for the password in everything printed.
func TestPostgresPasswordNeverShown(t *testing.T) {
	server := pgServerURL(t)
	admin := pgAdmin(t, server)
	secret := "S3cret-" + randomSuffix()
	role := "mailroomd_role_" + randomSuffix()
	ctx := context.Background()
	if _, err := admin.Exec(ctx, "CREATE ROLE "+role+" LOGIN PASSWORD 'the-right-one'"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec(ctx, "DROP ROLE "+role) })
	su, _ := url.Parse(server)
	wrongPassword := *su
	wrongPassword.User = url.UserPassword(role, secret)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	mustRun(t, nil, "", "--data", dir, "migrate", "up") // a SQLite database for copy-db to read

	for _, u := range []struct{ name, url string }{
		{"wrong password", wrongPassword.String()},
		{"nothing listening", "postgres://" + role + ":" + secret + "@" + closedPort + "/mailroom?sslmode=disable"},
		{"bad port", "postgresql://" + role + ":" + secret + "@127.0.0.1:notaport/mailroom"},
		{"escaped", "postgres://" + role + ":" + url.QueryEscape(secret+"/@:") + "@" + closedPort + "/mailroom"},
	} {
		for _, args := range [][]string{
			{"migrate", "up"}, {"migrate", "version"}, {"migrate", "down"},
			{"user", "list"}, {"user", "delete", "alice"}, {"copy-db"}, {"version"},
			{"serve", "--smtp-addr", "127.0.0.1:0", "--inbox-addr", "127.0.0.1:0", "--imap-addr", "127.0.0.1:0", "--log-format", "json"},
		} {
			t.Run(u.name+"/"+strings.Join(args[:1], " "), func(t *testing.T) {
				r := runCLI(t, env{"MAILROOM_DB": u.url}, "", append([]string{"--data", dir}, args...)...)
				out := r.stdout + r.stderr
				if args[0] != "version" && r.code == exitOK {
					t.Errorf("exit 0 with an unusable database:\n%s", out)
				}
				if strings.TrimSpace(out) == "" {
					t.Errorf("nothing printed")
				}
				for _, s := range []string{secret, url.QueryEscape(secret + "/@:"), url.PathEscape(secret)} {
					if strings.Contains(out, s) {
						t.Errorf("the password appears in the output:\n%s", out)
					}
				}
			})
		}
	}
}

// login logs in to a daemon through our own client.
func login(t *testing.T, ep ports.Endpoint, name, password string) ports.Session {
	t.Helper()
	s, err := client.New(client.Config{}).Login(context.Background(), ep, name, password)
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func list(t *testing.T, s ports.Session, folder mail.Folder) []mail.Meta {
	t.Helper()
	l, err := s.List(context.Background(), folder, 0, 100)
	if err != nil {
		t.Fatalf("list %s: %v", folder, err)
	}
	return l
}

// TestCopyDBToPostgres moves a SQLite installation to PostgreSQL and
// starts the daemon on it: the old passwords log in, the old mail reads
// back with the same ids, flags and previews, new ids come after every id
// SQLite handed out, and a second copy is refused.
func TestCopyDBToPostgres(t *testing.T) {
	dbURL := pgSchema(t, pgServerURL(t))
	dir := t.TempDir()
	base := []string{"--data", dir, "--argon2", cheapArgon2}
	for _, name := range []string{"alice", "bob", "carol"} {
		mustRun(t, nil, "old-password-"+name+"\n", append(base, "user", "add", name)...)
	}
	mustRun(t, nil, "", append(base, "user", "delete", "carol")...) // id 3 is never handed out again

	d := startDaemon(t, dir, "--argon2", cheapArgon2, "--imap-addr", "127.0.0.1:0")
	snd := &sender{addr: d.addrs["smtp"], fingerprint: d.fingerprint, user: "alice", password: "old-password-alice"}
	for i := range 4 {
		if code, err := snd.send("bob@localhost", fmt.Sprintf("old mail %d", i)); code != 250 {
			t.Fatalf("send: %d %v", code, err)
		}
	}
	snd.close()
	bob := login(t, d.endpoint(), "bob", "old-password-bob")
	inbox := list(t, bob, mail.Inbox)
	ctx := context.Background()
	if err := bob.SetSeen(ctx, inbox[1].ID, true); err != nil {
		t.Fatal(err)
	}
	if err := bob.Delete(ctx, inbox[0].ID); err != nil { // the newest: its id is never handed out again
		t.Fatal(err)
	}
	wantInbox := list(t, bob, mail.Inbox)
	wantBody, err := bob.Fetch(ctx, wantInbox[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSent := list(t, login(t, d.endpoint(), "alice", "old-password-alice"), mail.Sent)
	if len(wantInbox) != 3 || len(wantSent) != 4 || wantInbox[0].Preview == "" || !wantInbox[0].Seen {
		t.Fatalf("SQLite mailboxes: inbox %+v, sent %d", wantInbox, len(wantSent))
	}
	d.stop()

	r := mustRun(t, nil, "", append(base, "--db", dbURL, "copy-db")...)
	if !strings.Contains(r.stdout, "2 accounts, 4 messages (4 with a preview), 7 entries (2 unseen)") {
		t.Errorf("copy-db said:\n%s", r.stdout)
	}

	p := startPGHost(t, dbURL, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	bob = login(t, p.endpoint(), "bob", "old-password-bob")
	if got := list(t, bob, mail.Inbox); !reflect.DeepEqual(got, wantInbox) {
		t.Errorf("inbox on PostgreSQL:\n got %+v\nwant %+v", got, wantInbox)
	}
	if got, err := bob.Fetch(ctx, wantInbox[0].ID); err != nil || string(got.Raw) != string(wantBody.Raw) {
		t.Errorf("fetch %d on PostgreSQL: %v, raw equal %v", wantInbox[0].ID, err, err == nil && string(got.Raw) == string(wantBody.Raw))
	}
	alice := login(t, p.endpoint(), "alice", "old-password-alice")
	if got := list(t, alice, mail.Sent); !reflect.DeepEqual(got, wantSent) {
		t.Errorf("sent on PostgreSQL:\n got %+v\nwant %+v", got, wantSent)
	}

	// The sequences moved past every id SQLite handed out, deleted ones too.
	if err := client.New(client.Config{}).Register(ctx, p.endpoint(), "dave", "dave-password"); err != nil {
		t.Fatal(err)
	}
	if id := login(t, p.endpoint(), "dave", "dave-password").Account().ID; id <= 3 {
		t.Errorf("new account id %d, want above carol's 3", id)
	}
	snd = &sender{addr: p.addrs["smtp"], fingerprint: p.fingerprint, user: "alice", password: "old-password-alice"}
	if code, err := snd.send("bob@localhost", "new mail"); code != 250 {
		t.Fatalf("send on PostgreSQL: %d %v", code, err)
	}
	snd.close()
	if got := list(t, bob, mail.Inbox); len(got) != 4 || got[0].ID <= wantSent[0].ID {
		t.Errorf("new entry %+v, want an id above every copied or deleted one (%d)", got[0], wantSent[0].ID)
	}

	r = runCLI(t, nil, "", append(base, "--db", dbURL, "copy-db")...)
	if r.code != exitError || !strings.Contains(r.stderr, "not empty") || !strings.Contains(r.stderr, "nothing was copied") {
		t.Errorf("second copy-db: exit %d\n%s", r.code, r.stderr)
	}
	if got := list(t, bob, mail.Inbox); len(got) != 4 {
		t.Errorf("after the refused copy bob has %d entries, want 4", len(got))
	}
}
