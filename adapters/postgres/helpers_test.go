package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mailroom/domain/account"
)

// The tests run against a real PostgreSQL (see .ci/postgres.sh): its URL is
// in MAILROOM_TEST_POSTGRES. Without it they skip, unless
// MAILROOM_REQUIRE_POSTGRES=1 (CI), which makes a missing or unreachable
// server a failure.
const (
	envURL     = "MAILROOM_TEST_POSTGRES"
	envRequire = "MAILROOM_REQUIRE_POSTGRES"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

// unavailable skips the test, or fails it when PostgreSQL is required.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(envRequire) == "1" {
		t.Fatalf(format+" ("+envRequire+"=1)", args...)
	}
	t.Skipf(format, args...)
}

func serverURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(envURL)
	if u == "" {
		unavailable(t, "%s is not set: no PostgreSQL to test against", envURL)
	}
	return u
}

// admin connects to the database named by MAILROOM_TEST_POSTGRES.
func admin(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverURL(t))
	if err != nil {
		unavailable(t, "PostgreSQL at %s is unreachable: %v", envURL, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func randomName() string {
	var b [8]byte
	rand.Read(b[:])
	return "mailroom_test_" + hex.EncodeToString(b[:])
}

// freshSchema creates an empty schema of the test's own in the database of
// MAILROOM_TEST_POSTGRES and gives a URL whose search_path selects it: a
// schema costs one commit where a database costs a copy of the template and
// a checkpoint. The schema is dropped when the test ends.
func freshSchema(t testing.TB) string {
	t.Helper()
	conn := admin(t)
	name := randomName()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("CREATE SCHEMA: %v", err)
	}
	t.Cleanup(func() {
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("DROP SCHEMA %s: %v", name, err)
		}
	})
	u, err := url.Parse(serverURL(t))
	if err != nil {
		t.Fatalf("%s: %v", envURL, err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// freshDB creates an empty database of the test's own and gives its URL.
// The database is dropped when the test ends, connections and all.
func freshDB(t testing.TB) string {
	t.Helper()
	conn := admin(t)
	name := randomName()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("CREATE DATABASE: %v", err)
	}
	t.Cleanup(func() {
		if _, err := conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("DROP DATABASE %s: %v", name, err)
		}
	})
	return withDatabase(t, serverURL(t), name)
}

func withDatabase(t testing.TB, base, name string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", envURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

func openAt(t testing.TB, dbURL string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{URL: dbURL})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func newStore(t testing.TB) *Store {
	t.Helper()
	return openAt(t, freshSchema(t))
}

func mkAccount(t testing.TB, s *Store, name string) account.Account {
	t.Helper()
	a, err := s.CreateAccount(context.Background(), account.Username(name), "hash-"+name, t0)
	if err != nil {
		t.Fatalf("CreateAccount(%q): %v", name, err)
	}
	return a
}
