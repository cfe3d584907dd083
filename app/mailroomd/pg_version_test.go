package main

import (
	"io/fs"
	"strconv"
	"strings"
	"testing"

	"mailroom/migrations"
)

// latestPostgresVersion is the number of the newest embedded PostgreSQL
// migration: what `migrate up` reaches and what a host migrates to, so the
// tests need no update when a migration is added.
func latestPostgresVersion(t testing.TB) uint {
	t.Helper()
	names, err := fs.Glob(migrations.Postgres, "postgres/*.up.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded postgres migrations: %v (%d files)", err, len(names))
	}
	var latest uint
	for _, n := range names {
		base := strings.TrimPrefix(n, "postgres/")
		num, _, _ := strings.Cut(base, "_")
		v, err := strconv.ParseUint(num, 10, 32)
		if err != nil {
			t.Fatalf("migration %s: %v", n, err)
		}
		latest = max(latest, uint(v))
	}
	return latest
}
