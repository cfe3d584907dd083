package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// deliverText delivers body (a message's text, after a blank line) to
// owner's inbox and gives the entry.
func deliverText(t *testing.T, s *Store, owner account.ID, body string) mail.EntryID {
	t.Helper()
	md, err := s.Deliver(context.Background(), newMsg("x", []byte(body+"\r\n")), []mail.NewEntry{{Owner: owner, Folder: mail.Inbox}})
	if err != nil {
		t.Fatal(err)
	}
	return md[0].ID
}

// searchIDs gives the entries query finds for owner.
func searchIDs(t *testing.T, s *Store, owner account.ID, query string) []mail.EntryID {
	t.Helper()
	q, err := mail.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Search(context.Background(), owner, q, 0, mail.MaxLimit)
	if err != nil {
		t.Fatalf("search %q: %v", query, err)
	}
	var ids []mail.EntryID
	for _, m := range got {
		ids = append(ids, m.ID)
	}
	return ids
}

// indexRows counts the index file's rows with the message ids given.
func indexRows(t *testing.T, s *Store, where string) int {
	t.Helper()
	var n int
	if err := s.rdb.QueryRow(`SELECT count(*) FROM search.message_search_docsize WHERE ` + where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Every Deliver that returned is found by the next search, however many
// arrive at once: the search waits for the indexer, which writes in the
// background (IndexWait long, so that only the wait's hurry makes it
// quick).
func TestSearchFindsWhatWasAcknowledged(t *testing.T) {
	s := openAt(t, dbPath(t), Config{IndexWait: time.Hour})
	a := mkAccount(t, s, "ann")
	for i := range 20 {
		id := deliverText(t, s, a.ID, "kiwi")
		if got := searchIDs(t, s, a.ID, "kiwi"); len(got) != i+1 || got[0] != id {
			t.Fatalf("after %d deliveries: %v, want %d, newest %d first", i+1, got, i+1, id)
		}
	}
}

// A deleted message is never a result, and its index row and its
// search_gone row go soon after.
func TestSearchDeletedRowPurged(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, dbPath(t), Config{})
	a := mkAccount(t, s, "ann")
	keep := deliverText(t, s, a.ID, "plum kept")
	gone := deliverText(t, s, a.ID, "plum gone")
	if err := s.Delete(ctx, a.ID, gone); err != nil {
		t.Fatal(err)
	}
	if got := searchIDs(t, s, a.ID, "plum"); len(got) != 1 || got[0] != keep {
		t.Fatalf("after the delete: %v, want [%d]", got, keep)
	}
	deadline := time.Now().Add(10 * time.Second)
	for indexRows(t, s, "1") != 1 || countIn(t, s.rdb, `SELECT count(*) FROM search_gone`) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("index rows %d, search_gone %d; want 1, 0", indexRows(t, s, "1"), countIn(t, s.rdb, `SELECT count(*) FROM search_gone`))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countIn(t *testing.T, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// A message id is never given twice, even after the newest message was
// deleted and the store reopened: the index may still hold the old row.
func TestMessageIDsNotReused(t *testing.T) {
	path := dbPath(t)
	s := openAt(t, path, Config{})
	a := mkAccount(t, s, "ann")
	deliverText(t, s, a.ID, "first")
	gone := deliverText(t, s, a.ID, "secretword")
	var goneMsg int64
	if err := s.rdb.QueryRow(`SELECT message_id FROM entries WHERE id = ?`, int64(gone)).Scan(&goneMsg); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Deleted while the store is down: at the next Open, the newest
	// message id is below it, and the index still has its row.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM entries WHERE id = ?`, int64(gone)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s = openAt(t, path, Config{})
	id := deliverText(t, s, a.ID, "other")
	var msg int64
	if err := s.rdb.QueryRow(`SELECT message_id FROM entries WHERE id = ?`, int64(id)).Scan(&msg); err != nil {
		t.Fatal(err)
	}
	if msg <= goneMsg {
		t.Fatalf("new message id %d, want above the deleted %d", msg, goneMsg)
	}
	if got := searchIDs(t, s, a.ID, "secretword"); len(got) != 0 {
		t.Fatalf("the deleted message's word finds %v", got)
	}
}

// What the index lacks at start (a crash lost the queue, a power cut its
// last commits) is read from the database: upto set back and the rows
// gone, the messages are found again.
func TestSearchCatchesUpAtStart(t *testing.T) {
	path := dbPath(t)
	s := openAt(t, path, Config{})
	a := mkAccount(t, s, "ann")
	var ids []mail.EntryID
	for range catchUpBatch + 5 {
		ids = append(ids, deliverText(t, s, a.ID, "mango"))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", IndexFile(path))
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `DELETE FROM message_search`)
	mustExec(t, db, `UPDATE index_state SET upto = 0`)
	db.Close()
	s = openAt(t, path, Config{})
	if got := searchIDs(t, s, a.ID, "mango"); len(got) != len(ids) {
		t.Fatalf("found %d after the restart, want %d", len(got), len(ids))
	}
}

// Messages stored before the index file existed (it was deleted, or the
// database comes from before migration 0011, or from a backup) are found
// once the backfill has indexed them, words of every script included,
// and new mail is found at once meanwhile.
func TestSearchBackfill(t *testing.T) {
	path := dbPath(t)
	words := []string{"Überweisung", "東京", "مرحبا", "naïve", "ZEBRA"}
	s := openAt(t, path, Config{})
	a := mkAccount(t, s, "ann")
	var old []mail.EntryID
	for range 2*backfillBatch + 3 {
		old = append(old, deliverText(t, s, a.ID, strings.Join(words, " ")))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := removeIndex(IndexFile(path)); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, Config{Logger: zaptest.NewLogger(t)})
	id := deliverText(t, s, a.ID, "ÜBERWEISUNG heute")
	if got := searchIDs(t, s, a.ID, "überweisung heute"); len(got) != 1 || got[0] != id {
		t.Fatalf("new mail by a non-ASCII word: %v, want [%d]", got, id)
	}
	for i, w := range words {
		want := len(old)
		if i == 0 { // the new mail has it too
			want++
		}
		waitFound(t, s, a.ID, w, want)
	}
	if got := searchIDs(t, s, a.ID, "überw"); len(got) != len(old)+1 { // typed: a prefix
		t.Fatalf("a non-ASCII prefix found %d, want %d", len(got), len(old)+1)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The progress is kept: done, it does not start again.
	db, err := sql.Open("sqlite", IndexFile(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := countIn(t, db, `SELECT below FROM index_state`); n != 1 {
		t.Errorf("index_state.below = %d, want 1", n)
	}
}

// An index built for another state of the database is built again. Here
// a snapshot of the database file taken while the store ran (VACUUM INTO,
// as a file system snapshot would) is put back after some mail went (the
// index has purged a message the copy holds), or went and the index was
// built again (it skipped that message), or more came (the index has
// indexed ids the copy gives out again). Then an index file of another
// database. Segments merge at 8 per level.
func TestSearchIndexOfAnotherFile(t *testing.T) {
	for _, since := range []string{"deleted", "deleted-rebuilt", "delivered"} {
		t.Run(since, func(t *testing.T) { testRestoredSnapshot(t, since) })
	}
}

func testRestoredSnapshot(t *testing.T, since string) {
	ctx := context.Background()
	path := dbPath(t)
	s := openAt(t, path, Config{})
	a := mkAccount(t, s, "ann")
	alpha := deliverText(t, s, a.ID, "alpha")
	snap := filepath.Join(t.TempDir(), "snap.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`VACUUM INTO ?`, snap); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if since != "delivered" {
		if err := s.Delete(ctx, a.ID, alpha); err != nil {
			t.Fatal(err)
		}
		waitPurged(t, s)
	}
	if since == "deleted-rebuilt" {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := removeIndex(IndexFile(path)); err != nil {
			t.Fatal(err)
		}
		s = openAt(t, path, Config{})
		searchIDs(t, s, a.ID, "alpha") // the backfill is done (nothing to do)
	}
	if since == "delivered" {
		for range 5 {
			deliverText(t, s, a.ID, "beta")
		}
		searchIDs(t, s, a.ID, "beta") // indexed
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, side := range []string{"-wal", "-shm"} {
		os.Remove(path + side)
	}
	if err := os.Rename(snap, path); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, Config{Logger: zaptest.NewLogger(t)})
	gamma := deliverText(t, s, a.ID, "gamma")
	waitFound(t, s, a.ID, "alpha", 1)
	if got := searchIDs(t, s, a.ID, "gamma"); len(got) != 1 || got[0] != gamma {
		t.Errorf("gamma: %v, want [%d]", got, gamma)
	}
	if got := searchIDs(t, s, a.ID, "beta"); len(got) != 0 {
		t.Errorf("beta (not in the copy): %v", got)
	}
	if n := countIn(t, s.rdb, `SELECT v FROM search.message_search_config WHERE k = 'automerge'`); n != 8 {
		t.Errorf("automerge = %d, want 8", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Another database's index file, copied in: built again too.
	other := dbPath(t)
	o := openAt(t, other, Config{})
	b := mkAccount(t, o, "bob")
	deliverText(t, o, b.ID, "alpha")
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(IndexFile(other))
	if err != nil {
		t.Fatal(err)
	}
	if err := removeIndex(IndexFile(path)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(IndexFile(path), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, Config{Logger: zaptest.NewLogger(t)})
	waitFound(t, s, a.ID, "gamma", 1)
	waitFound(t, s, a.ID, "alpha", 1)
}

// A damaged index file is built again, not a reason to refuse to start.
func TestSearchIndexDamaged(t *testing.T) {
	rebuiltFrom(t, func(file string) {
		junk := []byte(strings.Repeat("not a database at all. ", 400))
		if err := os.WriteFile(file, junk, 0o600); err != nil {
			t.Fatal(err)
		}
	})
}

// An index file whose schema migration was cut short (golang-migrate left
// it dirty: killed, or the disk was full, while the file was made) is
// made again at the next start, not an error every start until someone
// deletes it.
func TestSearchIndexDirty(t *testing.T) {
	rebuiltFrom(t, func(file string) {
		// What a kill leaves between golang-migrate marking version 1
		// dirty and running it: the version table alone.
		db, err := sql.Open("sqlite", file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`CREATE TABLE schema_migrations (version uint64, dirty bool);
INSERT INTO schema_migrations VALUES (1, 1)`); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// rebuiltFrom stores a message, closes the store, puts what spoil writes
// in place of the index file, and checks that the next Open builds the
// index again: the message is found.
func rebuiltFrom(t *testing.T, spoil func(file string)) {
	t.Helper()
	path := dbPath(t)
	s := openAt(t, path, Config{})
	a := mkAccount(t, s, "ann")
	deliverText(t, s, a.ID, "walnut")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := removeIndex(IndexFile(path)); err != nil {
		t.Fatal(err)
	}
	spoil(IndexFile(path))
	s = openAt(t, path, Config{Logger: zaptest.NewLogger(t)})
	waitFound(t, s, a.ID, "walnut", 1)
}

// waitPurged waits until the index has no row of a deleted message.
func waitPurged(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for countIn(t, s.rdb, `SELECT count(*) FROM search_gone`) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("search_gone not purged")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Migration 0011's down puts an empty index back into the database file
// (the version before it backfills it); up again, the database gets a new
// token, so the index file is built again, and the message is found.
func TestSearchIndexMigration(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	s := openAt(t, path, Config{})
	a := mkAccount(t, s, "ann")
	deliverText(t, s, a.ID, "zebra")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, path, Down); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if n := countIn(t, db, `SELECT below FROM search_backfill`); n < 2 {
		t.Errorf("search_backfill.below = %d after down, want above the message", n)
	}
	db.Close()
	if err := Migrate(ctx, path, Up); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, Config{})
	waitFound(t, s, a.ID, "zebra", 1)
}

// waitFound waits up to 10 s for the background backfill to make query
// find want of owner's entries.
func waitFound(t *testing.T, s *Store, owner account.ID, query string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := searchIDs(t, s, owner, query)
		if len(got) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q: found %d of %d after the backfill", query, len(got), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Mail another Store on the same file stored (another process: an import
// while the daemon runs) is found by this one's next search too, however
// the two indexers share the work.
func TestSearchFindsAnotherStoresMail(t *testing.T) {
	path := dbPath(t)
	a := openAt(t, path, Config{})
	b := openAt(t, path, Config{})
	ann := mkAccount(t, a, "ann")
	for i := range 30 {
		via := []*Store{a, b}[i%2]
		id := deliverText(t, via, ann.ID, "fig")
		for _, s := range []*Store{a, b} {
			start := time.Now()
			if got := searchIDs(t, s, ann.ID, "fig"); len(got) != i+1 || got[0] != id {
				t.Fatalf("after %d deliveries: %v, want %d, newest %d first", i+1, got, i+1, id)
			}
			// Found by waiting for the indexers, not by the wait's bound
			// running out (a lost hurry did that).
			if d := time.Since(start); d > awaitMax/2 {
				t.Fatalf("after %d deliveries: the search took %v", i+1, d)
			}
		}
	}
	if n := indexRows(t, a, "1"); n != 30 {
		t.Errorf("index rows %d, want 30", n)
	}
}

// With a queue that overflows all the time (two items), the writer drops
// most messages and the indexer reads them from the database: every
// acknowledged message is still found by the next search, and the index
// has one row per message (FTS5's docsize table; a rowid written twice
// would still count once there).
func TestSearchQueueOverflow(t *testing.T) {
	defer func(n int) { indexQueueItems = n }(indexQueueItems)
	indexQueueItems = 2
	s := openAt(t, dbPath(t), Config{})
	a := mkAccount(t, s, "ann")
	const senders, each = 6, 15
	errs := make(chan error, senders)
	for w := range senders {
		go func() {
			ctx := context.Background()
			q, _ := mail.ParseQuery("lime")
			for i := range each {
				md, err := s.Deliver(ctx, newMsg(fmt.Sprint(w, i), []byte("lime\r\n")), []mail.NewEntry{{Owner: a.ID, Folder: mail.Inbox}})
				if err != nil {
					errs <- err
					return
				}
				got, err := s.Search(ctx, a.ID, q, 0, mail.MaxLimit)
				if err != nil {
					errs <- err
					return
				}
				if !slices.ContainsFunc(got, func(m mail.Meta) bool { return m.ID == md[0].ID }) {
					errs <- fmt.Errorf("sender %d: message %d not found right after its Deliver", w, i)
					return
				}
			}
			errs <- nil
		}()
	}
	for range senders {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := indexRows(t, s, "1"); n != senders*each {
		t.Errorf("index rows %d, want %d", n, senders*each)
	}
}

// While the index file cannot be written (another connection holds its
// write lock past the busy timeout), mail is stored and acknowledged, a
// search answers at once from what is indexed, and once the lock goes
// the indexer catches up: everything is found.
func TestSearchIndexUnwritable(t *testing.T) {
	path := dbPath(t)
	s := openAt(t, path, Config{BusyTimeout: 100 * time.Millisecond})
	a := mkAccount(t, s, "ann")
	deliverText(t, s, a.ID, "pear")
	waitFound(t, s, a.ID, "pear", 1) // indexed
	lock, err := sql.Open("sqlite", IndexFile(path)+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	tx, err := lock.Begin()
	if err != nil {
		t.Fatal(err)
	}
	// Its index write fails after the busy timeout; the search that
	// waits for it stops waiting then, not after awaitMax.
	deliverText(t, s, a.ID, "pear")
	start := time.Now()
	if got := searchIDs(t, s, a.ID, "pear"); len(got) != 1 || time.Since(start) > awaitMax/2 {
		t.Errorf("while the index is locked: %d found after %v; want the 1 indexed, without waiting awaitMax", len(got), time.Since(start))
	}
	if !s.idx.failing.Load() {
		t.Error("the indexer is not failing on the locked file")
	}
	for range 3 {
		deliverText(t, s, a.ID, "pear")
	}
	start = time.Now()
	if got := searchIDs(t, s, a.ID, "pear"); len(got) != 1 || time.Since(start) > awaitMax/2 {
		t.Errorf("while failing: %d found after %v; want the 1 indexed, at once", len(got), time.Since(start))
	}
	tx.Rollback()
	waitFound(t, s, a.ID, "pear", 5)
}
