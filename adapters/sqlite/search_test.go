package sqlite

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"mailroom/domain/mail"
)

// Messages stored before migration 0005 are found once the background
// backfill has indexed them, and the progress survives a restart.
func TestSearchBackfill(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	m, err := newMigrate(path, DefaultBusyTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Migrate(4); err != nil {
		t.Fatalf("migrate to 4: %v", err)
	}
	m.Close()
	s := openAt(t, path, Config{}) // to 5, with the backfill running
	s.stopBackfill()               // ... but not yet: the messages come first
	a := mkAccount(t, s, "ann")
	db := s.DB()
	// Messages as if from before 0005: stored without an index row.
	var old []mail.EntryID
	for range 2*backfillBatch + 3 {
		md, err := s.Deliver(ctx, newMsg("old", []byte("aardvark body")), []mail.NewEntry{{Owner: a.ID, Folder: mail.Inbox}})
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, md[0].ID)
	}
	mustExec(t, db, `DELETE FROM message_search`)
	mustExec(t, db, `UPDATE search_backfill SET below = (SELECT max(id) + 1 FROM messages)`)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path, Config{Logger: zaptest.NewLogger(t)})
	q, _ := mail.ParseQuery("aardvark")
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := s.Search(ctx, a.ID, q, 0, mail.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == len(old) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("found %d of %d after the backfill", len(got), len(old))
		}
		time.Sleep(20 * time.Millisecond)
	}
	var below int64
	if err := s.rdb.QueryRow(`SELECT below FROM search_backfill`).Scan(&below); err != nil || below != 1 {
		t.Errorf("search_backfill.below = %d, %v; want 1", below, err)
	}
}

func mustExec(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
