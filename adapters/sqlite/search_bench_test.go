package sqlite

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/migrations"
)

// benchVocab is a vocabulary of made-up words whose frequencies in
// benchText follow Zipf's law, as a language's do: a few words are in
// every message, most in few.
func benchVocab(n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	const letters = "abcdefghijklmnopqrstuvwxyz"
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for range 3 + r.IntN(7) {
			b.WriteByte(letters[r.IntN(len(letters))])
		}
		out[i] = b.String()
	}
	return out
}

// benchText writes about size bytes of lines of Zipf-distributed words.
func benchText(z *rand.Zipf, vocab []string, size int) string {
	var b strings.Builder
	line := 0
	for b.Len() < size {
		w := vocab[z.Uint64()]
		b.WriteString(w)
		line += len(w) + 1
		if line > 70 {
			b.WriteString("\r\n")
			line = 0
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

func benchRaw(z *rand.Zipf, vocab []string, i, size int) []byte {
	return []byte(fmt.Sprintf("From: Sender %d <sender%d@example.com>\r\nTo: owner@localhost\r\nSubject: %s\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\n%s", i%500, i%500, benchText(z, vocab, 40), benchText(z, vocab, size)))
}

// The search benchmark's mailbox: benchMessages messages of the owner (90%
// inbox, 10% in "archive", 2% flagged, a third unread; 1% of the inbox moved
// to archive afterwards, so that old messages have new entries), with one
// message of another user after every ten and one in twenty of the owner's
// delivered to both (a shared message). Bodies are 10 KB of Zipf text plus
// two "ref" tokens of 50,000, so that some words are in nearly every message,
// most in hundreds and the ref tokens in a handful.
const (
	benchCorpusVersion = 2 // change it when the corpus changes: it names the cached file
	benchRefs          = 50_000
	benchSenders       = 500
	benchArchive       = mail.Folder("archive")
)

// searchCorpus gives the path of a database holding a corpus of n owner
// messages, built once and kept in the temporary directory (building 110,000
// indexed messages takes minutes), keyed by the corpus and the schema
// version so that an older checkout does not open a newer schema. The
// benchmark only reads it.
func searchCorpus(b *testing.B, n int, vocab []string) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "mailroom-search-bench")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("corpus-c%d-n%d-m%d.db", benchCorpusVersion, n, latestMigration(b)))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := strings.TrimSuffix(path, ".db") + "-building.db"
	for _, f := range []string{tmp, tmp + "-wal", tmp + "-shm", IndexFile(tmp), IndexFile(tmp) + "-wal", IndexFile(tmp) + "-shm"} {
		os.Remove(f)
	}
	start := time.Now()
	s, err := Open(context.Background(), Config{Path: tmp, SkipQuickCheck: true, MaxWAL: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	buildCorpus(b, s, n, vocab)
	waitIndexed(b, s)
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(IndexFile(tmp), IndexFile(path)); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %s (%d owner messages) in %v", path, n, time.Since(start).Round(time.Second))
	return path
}

// waitIndexed waits until the indexer has every stored message.
func waitIndexed(tb testing.TB, s *Store) {
	for {
		var newest int64
		if err := s.rdb.QueryRow(`SELECT coalesce(max(id), 0) FROM messages`).Scan(&newest); err != nil {
			tb.Fatal(err)
		}
		if s.idx.upto.Load() >= newest && !s.idx.overflow.Load() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// latestMigration is the newest schema version this checkout knows.
func latestMigration(b *testing.B) int {
	ents, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		b.Fatal(err)
	}
	v := 0
	for _, e := range ents {
		var n int
		if _, err := fmt.Sscanf(e.Name(), "%d_", &n); err == nil {
			v = max(v, n)
		}
	}
	return v
}

// benchMsg is one corpus message, made from its number alone so that
// workers can make them in any order.
type benchMsg struct {
	msg mail.NewMessage
	doc mail.SearchDoc
}

func makeBenchMsg(vocab []string, i int) benchMsg {
	r := rand.New(rand.NewPCG(uint64(i), 11))
	z := rand.NewZipf(r, 1.1, 2, uint64(len(vocab)-1))
	s := r.IntN(benchSenders)
	raw := []byte(fmt.Sprintf("From: Sender %d <sender%d@example.com>\r\nTo: owner@localhost\r\nSubject: %s\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\nref%d ref%d\r\n%s", s, s, benchText(z, vocab, 40),
		r.IntN(benchRefs), r.IntN(benchRefs), benchText(z, vocab, 10<<10)))
	msg := mail.NewMessage{Raw: raw, From: "bounce@example.com", Subject: "s", Preview: mail.Preview(raw),
		Received: t0.Add(time.Duration(i) * time.Second)}
	return benchMsg{msg, mail.NewSearchDoc(raw, msg.From)}
}

// buildCorpus fills s: messages are made (decoded for the index) on every
// core and written a few thousand per transaction, as Deliver writes them.
func buildCorpus(b *testing.B, s *Store, n int, vocab []string) {
	ctx := context.Background()
	owner, other := mkAccount(b, s, "owner"), mkAccount(b, s, "other")
	if _, err := s.CreateFolder(ctx, owner.ID, benchArchive, t0); err != nil {
		b.Fatal(err)
	}
	total := n + n/10
	const batch = 2000
	var inbox []mail.EntryID
	for lo := 0; lo < total; lo += batch {
		msgs := make([]benchMsg, min(batch, total-lo))
		var wg sync.WaitGroup
		workers := runtime.GOMAXPROCS(0)
		for w := range workers {
			wg.Go(func() {
				for j := w; j < len(msgs); j += workers {
					msgs[j] = makeBenchMsg(vocab, lo+j)
				}
			})
		}
		wg.Wait()
		err := s.write(ctx, func(w *wtx) error {
			for j, m := range msgs {
				i := lo + j
				id, err := s.insertMessage(w, m.msg, m.msg.Raw, m.msg.Received, m.doc)
				if err != nil {
					return err
				}
				rows := benchEntries(owner.ID, other.ID, i, id, m.msg.Received.UnixNano())
				if err := s.insertEntries(w, rows); err != nil {
					return err
				}
				if rows[0].owner == owner.ID && rows[0].folder == mail.Inbox {
					inbox = append(inbox, rows[0].id)
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	// Move 1% of the inbox, oldest half first, to archive: new entries on
	// old messages.
	var moved []mail.EntryID
	for k := 0; k < len(inbox)/2; k += 50 {
		moved = append(moved, inbox[k])
	}
	for lo := 0; lo < len(moved); lo += 500 {
		if _, err := s.Transfer(ctx, owner.ID, moved[lo:min(lo+500, len(moved))], benchArchive, true); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEntries gives message i's entries (see the corpus above).
func benchEntries(owner, other account.ID, i int, msgID, received int64) []entryRow {
	if i%11 == 10 {
		return []entryRow{{owner: other, folder: mail.Inbox, msgID: msgID, rcpts: "[]", received: received}}
	}
	e := entryRow{owner: owner, folder: mail.Inbox, msgID: msgID, rcpts: "[]", received: received}
	if i%10 == 3 {
		e.folder = benchArchive
	}
	if i%3 != 0 {
		e.flags |= mail.FlagSeen
	}
	if i%50 == 7 {
		e.flags |= mail.FlagFlagged
	}
	rows := []entryRow{e}
	if i%20 == 1 {
		rows = append(rows, entryRow{owner: other, folder: mail.Inbox, msgID: msgID, rcpts: "[]", received: received})
	}
	return rows
}

// BenchmarkSearch: queries over a mailbox of 100,000 10 KB messages (see
// searchCorpus; -short: 10,000). Each sub-benchmark is one kind of query,
// its words drawn at random each time; p50 and p99 are over the run's
// queries, results/op is how many entries a query found (at most 50, one
// page). "index" reports the size of the FTS5 index per stored message.
func BenchmarkSearch(b *testing.B) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	vocab := benchVocab(20_000)
	path := searchCorpus(b, n, vocab)
	s := openAt(b, path, Config{SkipQuickCheck: true})
	var owner int64
	if err := s.rdb.QueryRow(`SELECT id FROM accounts WHERE username = 'owner'`).Scan(&owner); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	word := func() string { return vocab[r.IntN(len(vocab))] }
	common := func() string { return vocab[2+r.IntN(3)] }
	kinds := []struct {
		name  string
		query func() string
	}{
		{"rare-word", func() string { return fmt.Sprint("ref", r.IntN(benchRefs)) }},
		{"word", func() string { return `"` + word() + `"` }},
		{"word-typed", word}, // the last word of a query is also a prefix
		{"common-word", func() string { return `"` + common() + `"` }},
		{"common-typed", common},
		{"prefix3", func() string { return word()[:3] }},
		{"phrase", func() string { return `"` + word() + " " + vocab[r.IntN(200)] + `"` }},
		{"phrase-common", func() string { return `"` + vocab[2+r.IntN(20)] + " " + vocab[2+r.IntN(20)] + `"` }},
		{"two-words", func() string { return `"` + word() + `" "` + word() + `"` }},
		{"from", func() string { return fmt.Sprint("from:sender", r.IntN(benchSenders)) }},
		{"is-flagged", func() string { return "is:flagged" }},
		{"word-in-folder", func() string { return `"` + word() + `" in:archive` }},
		{"common-in-folder", func() string { return `"` + common() + `" in:archive` }},
		{"common-not-word", func() string { return `"` + common() + `" -"` + word() + `"` }},
	}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) { benchQueries(b, s, account.ID(owner), k.query) })
	}
	b.Run("index", func(b *testing.B) {
		// Measured once: dbstat reads the whole index file (seconds at
		// 100,000 messages), however many iterations -benchtime asks.
		var idx, msgs int64
		if err := s.rdb.QueryRow(`SELECT sum(pgsize) FROM dbstat('search') WHERE name LIKE 'message_search%'`).Scan(&idx); err != nil {
			b.Skipf("dbstat: %v", err)
		}
		if err := s.rdb.QueryRow(`SELECT count(*) FROM messages`).Scan(&msgs); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
		}
		b.ReportMetric(float64(idx)/float64(msgs), "index-bytes/msg")
		b.ReportMetric(float64(msgs), "messages")
	})
}

// benchQueries runs query's queries and reports their latency percentiles.
func benchQueries(b *testing.B, s *Store, owner account.ID, query func() string) {
	var lat []time.Duration
	var found int64
	ctx := context.Background()
	for b.Loop() {
		q, err := mail.ParseQuery(query())
		if err != nil {
			b.Fatal(err)
		}
		t := time.Now()
		got, err := s.Search(ctx, owner, q, 0, mail.DefaultLimit)
		lat = append(lat, time.Since(t))
		if err != nil {
			b.Fatal(err)
		}
		found += int64(len(got))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(found)/float64(len(lat)), "results/op")
}

// BenchmarkDeliverIndexed prices the index at 10 KB × 8 recipients (plus
// the sent copy) with a text body of varied words: index=off is the store
// without it (no decoding, no index row).
func BenchmarkDeliverIndexed(b *testing.B) {
	vocab := benchVocab(20_000)
	z := rand.NewZipf(rand.New(rand.NewPCG(7, 8)), 1.1, 2, uint64(len(vocab)-1))
	// Distinct texts, enough that the index's terms and doclists grow as
	// with real mail rather than repeating a few bodies' (64 before:
	// segment merges were cheaper than they are).
	var raws [][]byte
	for i := range 1024 {
		raws = append(raws, benchRaw(z, vocab, i, 10<<10))
	}
	for _, off := range []bool{true, false} {
		b.Run(fmt.Sprint("index=", map[bool]string{true: "off", false: "on"}[off]), func(b *testing.B) {
			s := openAt(b, dbPath(b), Config{})
			s.noIndex = off
			var accs []account.Account
			for i := range 16 {
				accs = append(accs, mkAccount(b, s, fmt.Sprint("user", i)))
			}
			var next atomic.Int64
			b.SetBytes(int64(len(raws[0])))
			b.SetParallelism(4)
			b.ResetTimer()
			cpu := startCPU()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				entries := make([]mail.NewEntry, 9)
				for pb.Next() {
					i := int(next.Add(1))
					for j := range 8 {
						entries[j] = mail.NewEntry{Owner: accs[(i+1+j)%16].ID, Folder: mail.Inbox, To: []string{"to@localhost"}}
					}
					entries[8] = mail.NewEntry{Owner: accs[i%16].ID, Folder: mail.Sent, To: []string{"to@localhost"}}
					raw := raws[i%len(raws)]
					msg := mail.NewMessage{Raw: raw, From: "a@localhost", Subject: "s", Preview: "p", Received: t0}
					if _, err := s.Deliver(ctx, msg, entries); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			cpu.report(b)
		})
	}
}
