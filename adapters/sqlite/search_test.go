package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"mailroom/domain/account"
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
	waitFound(t, s, a.ID, "aardvark", len(old))
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

// The index plan (searchIndex) reads the newest matches by message and then
// looks for entries younger than their messages (moved, copied) in one of
// two ways. Both must give exactly what the plain plan gives: every entry
// whose message matches, filtered, ordered by id, one page at a time. The
// mailbox has moves and copies of old messages, deletions, flags, two
// folders and another user sharing some messages.
func TestSearchPlans(t *testing.T) {
	if raceEnabled {
		// One goroutine comparing answers: nothing for the race detector,
		// which makes it take minutes. The plain test run covers it.
		t.Skip("no concurrency to check; runs without -race")
	}
	ctx := context.Background()
	s := newStore(t)
	ann, bob := mkAccount(t, s, "ann"), mkAccount(t, s, "bob")
	if _, err := s.CreateFolder(ctx, ann.ID, "archive", t0); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var mine []mail.EntryID
	for i := range 300 {
		var words []string
		for w, p := range map[string]int{"common": 90, "middle": 20, "rare": 3, "alpha": 30, "beta": 30} {
			if r.IntN(100) < p {
				words = append(words, w)
			}
		}
		body := strings.Join(words, " ") + fmt.Sprintf(" n%d", i)
		var entries []mail.NewEntry
		if i%7 != 6 {
			entries = append(entries, mail.NewEntry{Owner: ann.ID, Folder: []mail.Folder{mail.Inbox, "archive"}[r.IntN(2)], Seen: r.IntN(2) == 0})
		}
		if i%7 == 6 || i%5 == 0 {
			entries = append(entries, mail.NewEntry{Owner: bob.ID, Folder: mail.Inbox})
		}
		md, err := s.Deliver(ctx, newMsg(fmt.Sprint("s", i), []byte(body)), entries)
		if err != nil {
			t.Fatal(err)
		}
		if md[0].Owner == ann.ID {
			mine = append(mine, md[0].ID)
		}
	}
	// Flags, then new entries of old messages (moves and copies), then
	// holes (deletions).
	for _, id := range everyNth(mine, 0, 7) {
		if _, err := s.SetFlags(ctx, ann.ID, []mail.EntryID{id}, mail.FlagsAdd, mail.FlagFlagged); err != nil {
			t.Fatal(err)
		}
	}
	for k, id := range mine[:len(mine)/2] {
		if k%4 == 0 {
			if _, err := s.Transfer(ctx, ann.ID, []mail.EntryID{id}, "archive", k%8 == 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, id := range everyNth(mine, len(mine)/2, 9) {
		if err := s.Delete(ctx, ann.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	queries := []string{"common", `"common"`, "middle", "rare", "alpha beta", `"alpha beta"`, "common -middle",
		"middle in:archive", "common in:inbox", "is:flagged", "is:unread common", "-rare", "-common is:unread",
		"comm", "common is:flagged", "n1", "nothing"}
	for _, query := range queries {
		q, err := mail.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		for _, limit := range []int{1, 3, 10, 50, 500} {
			want := pages(t, limit, func(before mail.EntryID) []int64 { return plainSearch(t, s, ann.ID, q, before, limit) })
			got := pages(t, limit, func(before mail.EntryID) []int64 {
				ms, err := s.Search(ctx, ann.ID, q, before, limit)
				if err != nil {
					t.Fatal(err)
				}
				var ids []int64
				for _, m := range ms {
					ids = append(ids, int64(m.ID))
				}
				return ids
			})
			if !slices.Equal(got, want) {
				t.Errorf("Search(%q) by %d: %v, want %v", query, limit, got, want)
			}
			match, _ := ftsMatch(q)
			if match == "" {
				continue
			}
			// lateByIndex; lateByEntries with tests, or with one pass
			// over the doclist (no test allowed).
			for _, costs := range []searchCosts{{0, 1}, {math.Inf(1), 0}, {math.Inf(1), math.Inf(1)}} {
				got := pages(t, limit, func(before mail.EntryID) []int64 {
					f, err := s.entryFilter(ctx, ann.ID, q, before)
					if err != nil {
						t.Fatal(err)
					}
					tx, err := s.rdb.BeginTx(ctx, nil)
					if err != nil {
						t.Fatal(err)
					}
					defer tx.Rollback()
					ids, err := searchIndex(ctx, tx, f, match, hasPrefix(q), limit, costs)
					if err != nil {
						t.Fatal(err)
					}
					return ids
				})
				if !slices.Equal(got, want) {
					t.Errorf("searchIndex(%q, costs %v) by %d: %v, want %v", query, costs, limit, got, want)
				}
			}
		}
	}
}

// pages gives every id that page gives, following before from page to
// page until one is short.
func pages(t *testing.T, limit int, page func(before mail.EntryID) []int64) []int64 {
	t.Helper()
	var all []int64
	before := mail.EntryID(0)
	for {
		ids := page(before)
		if len(ids) > limit {
			t.Fatalf("page of %d, limit %d", len(ids), limit)
		}
		all = append(all, ids...)
		if len(ids) < limit {
			return all
		}
		before = mail.EntryID(ids[len(ids)-1])
	}
}

// plainSearch is search in one statement, the plan of the first version:
// every match of the index read into an IN list, then the owner's entries.
func plainSearch(t *testing.T, s *Store, owner account.ID, q mail.Query, before mail.EntryID, limit int) []int64 {
	t.Helper()
	f, err := s.entryFilter(context.Background(), owner, q, before)
	if err != nil {
		t.Fatal(err)
	}
	var pos, neg []string
	for _, term := range q.Terms {
		pos = append(pos, ftsTerm(term))
	}
	if q.HasAttachment {
		pos = append(pos, `tags : "attachment"`)
	}
	for _, term := range q.Not {
		neg = append(neg, ftsTerm(term))
	}
	query, args := `SELECT e.id FROM entries e WHERE `+f.cond, f.args
	if len(pos) > 0 {
		query += ` AND e.message_id IN (SELECT rowid FROM message_search WHERE message_search MATCH ?)`
		args = append(args, strings.Join(pos, " AND "))
	}
	if len(neg) > 0 {
		query += ` AND e.message_id NOT IN (SELECT rowid FROM message_search WHERE message_search MATCH ?)`
		args = append(args, strings.Join(neg, " OR "))
	}
	rows, err := s.rdb.Query(query+` ORDER BY e.id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

func everyNth(ids []mail.EntryID, from, n int) []mail.EntryID {
	var out []mail.EntryID
	for i := from; i < len(ids); i += n {
		out = append(out, ids[i])
	}
	return out
}

// TestSearchAfterTokenizerMigration: 0007 makes the index again with the
// ascii tokenizer; messages stored before it are found again once the
// backfill has run, with words of every script, and new mail at once.
func TestSearchAfterTokenizerMigration(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	words := []string{"Überweisung", "東京", "مرحبا", "naïve", "ZEBRA"}
	body := []byte("Subject: x\r\n\r\n" + strings.Join(words, " ") + "\r\n")
	s := openAt(t, path, Config{})
	s.stopBackfill()
	a := mkAccount(t, s, "ann")
	var old []mail.EntryID
	for range 5 {
		md, err := s.Deliver(ctx, newMsg("old", body), []mail.NewEntry{{Owner: a.ID, Folder: mail.Inbox}})
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, md[0].ID)
	}
	// Down to 6 and up again: the index is made anew, empty, as 0007
	// leaves a file it upgrades, and the backfill has every message to do.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, path, Down); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, path, Up); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, Config{Logger: zaptest.NewLogger(t)})
	for _, w := range words {
		waitFound(t, s, a.ID, w, len(old))
	}
	md, err := s.Deliver(ctx, newMsg("new", []byte("Subject: y\r\n\r\nÜBERWEISUNG heute\r\n")), []mail.NewEntry{{Owner: a.ID, Folder: mail.Inbox}})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := mail.ParseQuery("überweisung heute")
	if got, err := s.Search(ctx, a.ID, q, 0, mail.MaxLimit); err != nil || len(got) != 1 || got[0].ID != md[0].ID {
		t.Fatalf("new mail by a non-ASCII word: %+v, %v", got, err)
	}
	q, _ = mail.ParseQuery("überw") // typed: the last word is a prefix
	if got, err := s.Search(ctx, a.ID, q, 0, mail.MaxLimit); err != nil || len(got) != len(old)+1 {
		t.Fatalf("a non-ASCII prefix found %d, %v; want %d", len(got), err, len(old)+1)
	}
}

// waitFound waits up to 10 s for the background backfill to make query
// find want of owner's entries.
func waitFound(t *testing.T, s *Store, owner account.ID, query string, want int) {
	t.Helper()
	q, err := mail.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := s.Search(context.Background(), owner, q, 0, mail.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q: found %d of %d after the backfill", query, len(got), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Migration 0008 sets FTS5's automerge to 8 in the index's stored
// settings, and its down migration back to the default 4; no message needs
// indexing again, so a message is found across both.
func TestSearchAutomergeMigration(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	automerge := func(db *sql.DB) int {
		t.Helper()
		var v int
		if err := db.QueryRow(`SELECT v FROM message_search_config WHERE k = 'automerge'`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	s := openAt(t, path, Config{})
	if got := automerge(s.rdb); got != 8 {
		t.Errorf("automerge after Open = %d, want 8", got)
	}
	a := mkAccount(t, s, "ann")
	if _, err := s.Deliver(ctx, newMsg("kept", []byte("zebra body")), []mail.NewEntry{{Owner: a.ID, Folder: mail.Inbox}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range 3 { // 0010, 0009, then 0008
		if err := Migrate(ctx, path, Down); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if got := automerge(db); got != 4 {
		t.Errorf("automerge after down = %d, want 4", got)
	}
	db.Close()
	s = openAt(t, path, Config{})
	waitFound(t, s, a.ID, "zebra", 1)
}
