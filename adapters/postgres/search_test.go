package postgres

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"mailroom/domain/mail"
)

// Messages without a search vector (stored before migration 0004) are
// found once the background backfill at Open has indexed them.
func TestSearchBackfill(t *testing.T) {
	ctx := context.Background()
	dbURL := freshSchema(t)
	s := openAt(t, dbURL)
	a := mkAccount(t, s, "ann")
	const n = 2*backfillBatch + 3
	for range n {
		raw := []byte("Subject: old\r\n\r\naardvark body\r\n")
		if _, err := s.Deliver(ctx, mail.NewMessage{Raw: raw, From: "x@localhost", Received: t0},
			[]mail.NewEntry{{Owner: a.ID, Folder: mail.Inbox}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.pool.Exec(ctx, `UPDATE messages SET search = NULL`); err != nil {
		t.Fatal(err)
	}
	q, _ := mail.ParseQuery("aardvark")
	if got, err := s.Search(ctx, a.ID, q, 0, mail.MaxLimit); err != nil || len(got) != 0 {
		t.Fatalf("before the backfill: %d found, %v", len(got), err)
	}

	s2, err := Open(ctx, Config{URL: dbURL, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := s2.Search(ctx, a.ID, q, 0, mail.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("found %d of %d after the backfill", len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
