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

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

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
	// As Search does: the index holds every message stored so far (it
	// is written beside the deliveries). The plans tested directly below
	// it read the index after this.
	if err := s.awaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
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
