package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// TestConcurrentOpenMigratesOnce opens two stores on a fresh database at
// once, as two hosts starting together would.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	dbURL := freshDB(t)
	var wg sync.WaitGroup
	stores := make([]*Store, 4)
	errs := make([]error, len(stores))
	start := make(chan struct{})
	for i := range stores {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = Open(context.Background(), Config{URL: dbURL})
		})
	}
	close(start)
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
			continue
		}
		t.Cleanup(func() { s.Close() })
	}
	if t.Failed() {
		return
	}
	v, dirty, err := MigrationVersion(context.Background(), dbURL)
	if err != nil || v != 6 || dirty {
		t.Fatalf("MigrationVersion = %d, %v, %v; want 6, clean", v, dirty, err)
	}
	var n int
	if err := stores[0].pool.QueryRow(context.Background(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != 1 {
		t.Errorf("schema_migrations has %d rows, %v; want 1", n, err)
	}
	// Every store works on the one schema.
	for i, s := range stores {
		if _, err := s.CreateAccount(context.Background(), account.Username(fmt.Sprint("user", i)), "h", t0); err != nil {
			t.Errorf("store %d: %v", i, err)
		}
	}
}

func TestMigrateDownAndUp(t *testing.T) {
	ctx := context.Background()
	dbURL := freshSchema(t)
	if v, _, err := MigrationVersion(ctx, dbURL); err != nil || v != 0 {
		t.Fatalf("fresh: version %d, %v; want 0", v, err)
	}
	for _, step := range []struct {
		direction string
		want      uint
	}{{Up, 6}, {Up, 6}, {Down, 5}, {Down, 4}, {Down, 3}, {Down, 2}, {Down, 1}, {Down, 0}, {Down, 0}, {Up, 6}} {
		if err := Migrate(ctx, dbURL, step.direction); err != nil {
			t.Fatalf("Migrate %s: %v", step.direction, err)
		}
		if v, dirty, err := MigrationVersion(ctx, dbURL); err != nil || v != step.want || dirty {
			t.Fatalf("after %s: version %d, %v, %v; want %d", step.direction, v, dirty, err, step.want)
		}
	}
	if err := Migrate(ctx, dbURL, "sideways"); err == nil {
		t.Error("Migrate sideways succeeded")
	}
	s := openAt(t, dbURL)
	mkAccount(t, s, "alice")
}

// TestRawCompression: on a server built with lz4 (Debian's is), the raw
// column is set to it (migration 0006), so raw messages are stored with it
// whatever default_toast_compression says, and read back unchanged; on
// one without, the column keeps the server's default.
func TestRawCompression(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	var lz4 bool
	if err := s.pool.QueryRow(ctx, `SELECT 'lz4' = ANY (enumvals) FROM pg_settings
WHERE name = 'default_toast_compression'`).Scan(&lz4); err != nil {
		t.Fatal(err)
	}
	// The column's own setting: a server whose default_toast_compression
	// is lz4 would store lz4 values without migration 0006.
	var setting string
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(nullif(attcompression::text, ''), 'default') FROM pg_attribute
WHERE attrelid = 'messages'::regclass AND attname = 'raw'`).Scan(&setting); err != nil {
		t.Fatal(err)
	}
	if want := map[bool]string{true: "l", false: "default"}[lz4]; setting != want {
		t.Errorf("messages.raw's attcompression is %q, want %q (server has lz4: %v)", setting, want, lz4)
	}
	if !lz4 {
		t.Skip("this PostgreSQL is built without lz4")
	}
	a := mkAccount(t, s, "ann")
	raw := []byte("Subject: big\r\n\r\n" + strings.Repeat("a line of a letter that compresses well\r\n", 300))
	metas, err := s.Deliver(ctx, mail.NewMessage{Raw: raw, From: "x@localhost", Received: t0},
		[]mail.NewEntry{{Owner: a.ID, Folder: mail.Inbox}})
	if err != nil {
		t.Fatal(err)
	}
	var method string
	if err := s.pool.QueryRow(ctx, `SELECT pg_column_compression(raw) FROM messages`).Scan(&method); err != nil || method != "lz4" {
		t.Errorf("raw compressed with %q, %v; want lz4", method, err)
	}
	got, err := s.Fetch(ctx, a.ID, metas[0].ID)
	if err != nil || string(got.Raw) != string(raw) {
		t.Errorf("Fetch = %d bytes, %v; want the %d stored", len(got.Raw), err, len(raw))
	}
}

// TestSynchronousCommitOn: a database whose default is off still commits
// Mailroom's writes synchronously.
func TestSynchronousCommitOn(t *testing.T) {
	ctx := context.Background()
	dbURL := freshDB(t)
	u, _ := url.Parse(dbURL)
	if _, err := admin(t).Exec(ctx, "ALTER DATABASE "+strings.TrimPrefix(u.Path, "/")+" SET synchronous_commit = off"); err != nil {
		t.Fatal(err)
	}
	plain, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close(ctx)
	var v string
	if err := plain.QueryRow(ctx, "SHOW synchronous_commit").Scan(&v); err != nil || v != "off" {
		t.Fatalf("test setup: a plain session has synchronous_commit %q, %v; want off", v, err)
	}
	s := openAt(t, dbURL)
	for range 3 { // several pooled sessions
		if err := s.pool.QueryRow(ctx, "SHOW synchronous_commit").Scan(&v); err != nil || v != "on" {
			t.Errorf("store session: synchronous_commit %q, %v; want on", v, err)
		}
	}
}

// TestPasswordNeverInErrors: every way of failing to reach the database
// gives an error without the URL's password, as written or decoded.
func TestPasswordNeverInErrors(t *testing.T) {
	const password = "s3cr3t/P@ss:word%x"
	closed := closedPort(t)
	escaped := url.UserPassword("mailroom", password).String() // user:escaped
	tests := []struct {
		name string
		url  string
	}{
		{"nothing listening", "postgres://" + escaped + "@127.0.0.1:" + closed + "/mailroom?sslmode=disable&connect_timeout=5"},
		{"bad port", "postgres://" + escaped + "@127.0.0.1:notaport/mailroom"},
		{"bad option", "postgres://" + escaped + "@127.0.0.1:" + closed + "/mailroom?sslmode=bogus"},
		{"keyword form", "host=127.0.0.1 port=" + closed + " user=mailroom password=" + strings.ReplaceAll(password, " ", "") + " sslmode=bogus"},
	}
	if base := os.Getenv(envURL); base != "" {
		// A reachable server refusing the login: the database does not exist.
		u, _ := url.Parse(base)
		u.User = url.UserPassword(u.User.Username(), password)
		u.Path = "/no_such_database_here"
		tests = append(tests, struct{ name, url string }{"no such database", u.String()})
		// And a wrong password, for a role that must give one.
		tests = append(tests, struct{ name, url string }{"wrong password", passwordRole(t, password+"-not")})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			calls := map[string]error{}
			_, calls["Open"] = Open(ctx, Config{URL: tt.url})
			calls["Migrate"] = Migrate(ctx, tt.url, Up)
			_, _, calls["MigrationVersion"] = MigrationVersion(ctx, tt.url)
			for call, err := range calls {
				if err == nil {
					t.Errorf("%s succeeded", call)
					continue
				}
				msg := err.Error()
				for _, secret := range []string{password, url.PathEscape(password), url.QueryEscape(password), "s3cr3t"} {
					if strings.Contains(msg, secret) {
						t.Errorf("%s error holds the password (%q): %s", call, secret, msg)
					}
				}
				t.Logf("%s: %s", call, msg)
			}
		})
	}
}

// passwordRole creates a login role whose password is not password, and
// gives a URL that logs in as it with password. The cluster must ask roles
// other than postgres for a password, as .ci/postgres.sh's does; against a
// cluster that trusts everyone the test is skipped.
func passwordRole(t *testing.T, rolePassword string) string {
	t.Helper()
	ctx := context.Background()
	conn := admin(t)
	role := randomName()
	if _, err := conn.Exec(ctx, "CREATE ROLE "+role+" LOGIN PASSWORD "+quoteLiteral(rolePassword)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Exec(ctx, "DROP ROLE "+role) })
	u, _ := url.Parse(serverURL(t))
	right := *u
	right.User = url.UserPassword(role, rolePassword)
	if c, err := pgx.Connect(ctx, right.String()); err != nil {
		t.Fatalf("the right password fails: %v", err)
	} else {
		c.Close(ctx)
	}
	wrong := *u
	wrong.User = url.UserPassword(role, strings.TrimSuffix(rolePassword, "-not"))
	if c, err := pgx.Connect(ctx, wrong.String()); err == nil {
		c.Close(ctx)
		t.Skip("the server lets a wrong password in (trust authentication): see .ci/postgres.sh")
	}
	return wrong.String()
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// closedPort gives a 127.0.0.1 port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return port
}

func TestRedactor(t *testing.T) {
	r := newRedactor("postgres://u:p%40ss%2Fw0rd@h/db").with("fromenv")
	for _, tt := range []struct{ in, want string }{
		{"cannot parse `postgres://u:p%40ss%2Fw0rd@h/db`", "cannot parse `postgres://u:xxxxx@h/db`"},
		{"auth failed for p@ss/w0rd", "auth failed for xxxxx"},
		{"dsn host=h password=hunter2 user=u", "dsn host=h password=xxxxx user=u"},
		{"dsn password='a b' user=u", "dsn password=xxxxx user=u"},
		{"other://x:y@z", "other://x:xxxxx@z"},
		{"PGPASSWORD said fromenv", "PGPASSWORD said xxxxx"},
		{"nothing secret", "nothing secret"},
	} {
		if got := r.scrub(tt.in); got != tt.want {
			t.Errorf("scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	err := r.wrap("op", fmt.Errorf("x: %w", context.DeadlineExceeded))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wrapped error %v does not match context.DeadlineExceeded", err)
	}
	if errors.Unwrap(err) != nil {
		t.Error("wrapped error unwraps to the unredacted one")
	}
}

func TestRedactURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"postgres://mailroom:pw%2F1@db.example:5432/mailroom?sslmode=verify-full", "postgres://mailroom:xxxxx@db.example:5432/mailroom?sslmode=verify-full"},
		{"postgresql://mailroom@db/mailroom", "postgresql://mailroom@db/mailroom"},
		{"host=db user=mailroom password=pw dbname=mailroom", "host=db user=mailroom password=xxxxx dbname=mailroom"},
	} {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Config{URL: freshSchema(t)})
	if err != nil {
		t.Fatal(err)
	}
	alice := mkAccount(t, s, "alice")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	calls := map[string]error{}
	_, calls["CreateAccount"] = s.CreateAccount(ctx, "bob", "x", t0)
	_, calls["AccountByName"] = s.AccountByName(ctx, "alice")
	_, calls["Deliver"] = s.Deliver(ctx, mail.NewMessage{}, []mail.NewEntry{{Owner: alice.ID, Folder: mail.Inbox}})
	_, calls["List"] = s.List(ctx, alice.ID, mail.Inbox, 0, 10)
	_, _, calls["Count"] = s.Count(ctx, alice.ID, mail.Inbox)
	for call, err := range calls {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", call, err)
		}
	}
}
