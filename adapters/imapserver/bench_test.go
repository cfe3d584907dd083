package imapserver

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"go.uber.org/zap"

	"mailroom/adapters/sqlite"
	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/domain/throttle"
)

// benchMailbox is how many messages bob's INBOX holds in the benchmarks.
const benchMailbox = 100_000

var (
	bigOnce sync.Once
	bigPath string
	bigErr  error
)

// bigDB builds (once per test binary) a database where bob's INBOX holds
// benchMailbox short messages, not indexed for search.
func bigDB(b *testing.B) string {
	b.Helper()
	bigOnce.Do(func() {
		bigPath, bigErr = populateTemp(mailboxSpec{n: benchMailbox, msg: func(i int) (string, string) {
			return fmt.Sprintf("Message number %d about things", i),
				strings.Repeat("Some text of a typical short message, wrapped at a sane width.\r\n", 12)
		}})
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigPath
}

// mailboxSpec is what populate builds: n messages from alice in bob's
// INBOX, the i-th with the subject and body msg gives; with index, their
// search index rows too, as the store writes them at delivery.
type mailboxSpec struct {
	n     int
	index bool
	msg   func(i int) (subject, body string)
}

// benchDirs are the directories populateTemp made; TestMain removes them
// when the test binary is done.
var benchDirs struct {
	sync.Mutex
	list []string
}

// populateTemp builds spec's database in a directory of its own that
// lives as long as the test binary: building takes long enough that
// benchmarks share one.
func populateTemp(spec mailboxSpec) (string, error) {
	dir, err := os.MkdirTemp("", "imapbench")
	if err != nil {
		return "", err
	}
	benchDirs.Lock()
	benchDirs.list = append(benchDirs.list, dir)
	benchDirs.Unlock()
	path := filepath.Join(dir, "mail.db")
	return path, populate(path, spec)
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range benchDirs.list {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// populate puts the rows in with plain SQL in one transaction (delivering
// them one by one would take minutes of fsyncs); the schema's triggers
// keep the folder counts and the change log as the store would.
func populate(path string, spec mailboxSpec) error {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		return err
	}
	defer st.Close()
	acc := account.NewService(st, testHasher(), account.Config{Domain: testDomain, AuthFailRate: throttle.Rate{N: -1}}, nil)
	bob, err := acc.Register(ctx, "bob", testPassword)
	if err != nil {
		return err
	}
	tx, err := st.DB().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var folder int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM folders WHERE owner = ? AND name = 'inbox'`, int64(bob.ID)).Scan(&folder); err != nil {
		return err
	}
	msgStmt, err := tx.PrepareContext(ctx, `INSERT INTO messages (size, from_addr, subject, received, raw) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	entStmt, err := tx.PrepareContext(ctx, `INSERT INTO entries (owner, folder_id, uid, message_id, rcpts, flags, received)
		VALUES (?, ?, ?, ?, '["bob@example.test"]', ?, ?)`)
	if err != nil {
		return err
	}
	// The Message-ID is kept beside the preview (SQLite migration 0009).
	idStmt, err := tx.PrepareContext(ctx, `INSERT INTO message_previews (message_id, preview, msgid) VALUES (?, '', ?)`)
	if err != nil {
		return err
	}
	docs := map[int64]mail.SearchDoc{}
	var last int64
	start := time.Now().Add(-time.Duration(spec.n) * time.Minute)
	for i := range spec.n {
		subject, body := spec.msg(i)
		msgid := fmt.Sprintf("<%d@example.test>", i)
		raw := fmt.Sprintf("From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: %s\r\nMessage-ID: %s\r\n"+
			"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s", subject, msgid, body)
		at := start.Add(time.Duration(i) * time.Minute).UnixNano()
		res, err := msgStmt.ExecContext(ctx, len(raw), "alice@example.test", subject, at, []byte(raw))
		if err != nil {
			return err
		}
		mid, _ := res.LastInsertId()
		last = mid
		if _, err := entStmt.ExecContext(ctx, int64(bob.ID), folder, i+1, mid, i%3 == 0, at); err != nil {
			return err
		}
		if _, err := idStmt.ExecContext(ctx, mid, msgid); err != nil {
			return err
		}
		if spec.index {
			docs[mid] = mail.NewSearchDoc([]byte(raw), "alice@example.test")
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE folders SET uidnext = ? WHERE id = ?`, spec.n+1, folder); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE message_seq SET next = (SELECT max(id) + 1 FROM messages)`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM changes`); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	return populateIndex(ctx, sqlite.IndexFile(path), docs, last)
}

// populateIndex writes docs into the store's search index file (which
// the store made at Open) and marks every message indexed, so that the
// store does not index them again (without docs: unsearched): every
// message up to last.
func populateIndex(ctx context.Context, path string, docs map[int64]mail.SearchDoc, last int64) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for id, d := range docs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO message_search (rowid, subject, sender, rcpts, body, files, tags) VALUES (?, ?, ?, ?, ?, ?, '')`,
			id, d.Subject, d.From, d.To, d.Body, d.Files); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE index_state SET upto = ?`, last); err != nil {
		return err
	}
	return tx.Commit()
}

// benchEnv serves the big database over real TLS.
func benchEnv(b *testing.B) *env {
	b.Helper()
	return newEnv(b, envOpts{dbPath: bigDB(b), log: zap.NewNop()})
}

// BenchmarkSelectFetch50Envelopes: SELECT INBOX (100,000 messages) and
// FETCH ENVELOPE, FLAGS, UID and RFC822.SIZE of the newest 50, what a
// client does when it opens the folder; one op is both commands.
func BenchmarkSelectFetch50Envelopes(b *testing.B) {
	e := benchEnv(b)
	c := e.login("bob", nil)
	lat := make([]time.Duration, 0, b.N)
	opts := &imap.FetchOptions{Envelope: true, Flags: true, UID: true, RFC822Size: true}
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		sel, err := c.Select("INBOX", nil).Wait()
		if err != nil {
			b.Fatal(err)
		}
		var set imap.SeqSet
		set.AddRange(sel.NumMessages-49, sel.NumMessages)
		msgs, err := c.Fetch(set, opts).Collect()
		if err != nil || len(msgs) != 50 || msgs[49].Envelope == nil {
			b.Fatalf("FETCH: %d messages, %v", len(msgs), err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportPercentiles(b, lat, "")
}

// BenchmarkIdleLatency: from DeliverEnvelope's return (in a second store
// instance, as another process) to the IDLE client's EXISTS.
func BenchmarkIdleLatency(b *testing.B) {
	e := benchEnv(b)
	u := newUpdates()
	c := e.login("bob", u.handler())
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		b.Fatal(err)
	}
	defer idle.Close()
	other := openNode(b, e.dbPath, account.Config{Domain: testDomain, AuthFailRate: throttle.Rate{N: -1}})
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		u.mu.Lock()
		seen := len(u.exists)
		u.mu.Unlock()
		other.deliver(b, "alice", []string{"bob"}, "idle bench")
		t0 := time.Now()
		deadline := time.After(5 * time.Second)
		for done := false; !done; {
			select {
			case <-u.ch:
				u.mu.Lock()
				done = len(u.exists) > seen
				u.mu.Unlock()
			case <-deadline:
				b.Fatal("no EXISTS within 5s")
			}
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportPercentiles(b, lat, "")
}

func reportPercentiles(b *testing.B, lat []time.Duration, prefix string) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), prefix+"p50-ms")
	b.ReportMetric(pct(0.99), prefix+"p99-ms")
}

// searchMailbox is how many messages bob's INBOX holds in
// BenchmarkSearchText.
const searchMailbox = 10_000

var (
	searchOnce sync.Once
	searchPath string
	searchErr  error
)

// searchMessage is the i-th message of BenchmarkSearchText: about 10 KB
// of words drawn from a vocabulary of 5,000, with "project<i%100>" in the
// middle (one message in a hundred) and "things" in every subject.
func searchMessage(i int) (subject, body string) {
	r := rand.New(rand.NewPCG(uint64(i), 13))
	var sb strings.Builder
	for line := 0; sb.Len() < 10<<10; line++ {
		for w := range 10 {
			if w > 0 {
				sb.WriteByte(' ')
			}
			fmt.Fprintf(&sb, "w%04d", r.IntN(5000))
		}
		if line == 60 {
			fmt.Fprintf(&sb, " project%03d", i%100)
		}
		sb.WriteString("\r\n")
	}
	return fmt.Sprintf("Message number %d about things", i), sb.String()
}

// BenchmarkSearchText: SEARCH TEXT over a 10,000-message INBOX of 10 KB
// messages, through the index and by the scan (a server without one, as
// before issue 13), for a word in one message in a hundred and for one in
// every message. One op is one SEARCH.
func BenchmarkSearchText(b *testing.B) {
	searchOnce.Do(func() {
		searchPath, searchErr = populateTemp(mailboxSpec{n: searchMailbox, index: true, msg: searchMessage})
	})
	if searchErr != nil {
		b.Fatal(searchErr)
	}
	path := searchPath
	for _, mode := range []string{"index", "scan"} {
		for _, q := range []struct {
			name, word string
			hits       int
		}{{"rare", "project042", searchMailbox / 100}, {"common", "things", searchMailbox}} {
			b.Run(mode+"-"+q.name, func(b *testing.B) {
				e := newEnv(b, envOpts{dbPath: path, log: zap.NewNop(), cfg: func(c *Config) {
					if mode == "scan" {
						c.Index = nil
					}
				}})
				c := e.login("bob", nil)
				if _, err := c.Select("INBOX", nil).Wait(); err != nil {
					b.Fatal(err)
				}
				lat := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for range b.N {
					t0 := time.Now()
					data, err := c.Search(&imap.SearchCriteria{Text: []string{q.word}}, nil).Wait()
					if err != nil || len(data.AllSeqNums()) != q.hits {
						b.Fatalf("SEARCH TEXT %s: %d hits, %v", q.word, len(data.AllSeqNums()), err)
					}
					lat = append(lat, time.Since(t0))
				}
				b.StopTimer()
				reportPercentiles(b, lat, "")
			})
		}
	}
}
