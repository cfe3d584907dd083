package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
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

// searchCorpus fills a store with n messages of about 10 KB of text in one
// owner's inbox, indexed as Deliver indexes them, in one transaction.
func searchCorpus(b *testing.B, s *Store, owner account.ID, n int, vocab []string) {
	b.Helper()
	z := rand.NewZipf(rand.New(rand.NewPCG(3, 4)), 1.1, 2, uint64(len(vocab)-1))
	err := s.write(context.Background(), func(w *wtx) error {
		for i := range n {
			raw := benchRaw(z, vocab, i, 10<<10)
			msg := mail.NewMessage{Raw: raw, From: "bounce@example.com", Subject: "s", Received: t0.Add(time.Duration(i) * time.Second)}
			id, err := s.insertMessage(w, msg, raw, msg.Received, mail.NewSearchDoc(raw, msg.From))
			if err != nil {
				return err
			}
			rows := []entryRow{{owner: owner, folder: mail.Inbox, msgID: id, rcpts: "[]", received: msg.Received.UnixNano()}}
			if err := s.insertEntries(w, rows); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSearch: queries over a 100,000-message mailbox of 10 KB
// messages (another owner's 10,000 beside it). Query words are drawn from
// the vocabulary uniformly, so from the rare to the most common; p50 and
// p99 are over the run's queries.
func BenchmarkSearch(b *testing.B) {
	n := 100_000
	if testing.Short() {
		n = 10_000 // building 110,000 indexed messages takes minutes
	}
	vocab := benchVocab(20_000)
	s := openAt(b, dbPath(b), Config{})
	owner, other := mkAccount(b, s, "owner"), mkAccount(b, s, "other")
	start := time.Now()
	searchCorpus(b, s, other.ID, n/10, vocab)
	searchCorpus(b, s, owner.ID, n, vocab)
	b.Logf("corpus of %d messages in %v", n+n/10, time.Since(start))
	var idx, pages int64
	if err := s.rdb.QueryRow(`SELECT sum(pgsize), count(*) FROM dbstat WHERE name LIKE 'message_search%'`).Scan(&idx, &pages); err == nil {
		b.Logf("index: %d bytes, %d bytes per message", idx, idx/int64(n+n/10))
	} else {
		b.Logf("dbstat: %v", err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	run := func(b *testing.B, query func() string) {
		var lat []time.Duration
		var found atomic.Int64
		ctx := context.Background()
		b.ResetTimer()
		for b.Loop() {
			q, err := mail.ParseQuery(query())
			if err != nil {
				b.Fatal(err)
			}
			t := time.Now()
			got, err := s.Search(ctx, owner.ID, q, 0, mail.DefaultLimit)
			lat = append(lat, time.Since(t))
			if err != nil {
				b.Fatal(err)
			}
			found.Add(int64(len(got)))
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(found.Load())/float64(len(lat)), "results/op")
	}
	b.Run("word", func(b *testing.B) { run(b, func() string { return `"` + vocab[r.IntN(len(vocab))] + `"` }) })
	b.Run("word-prefix", func(b *testing.B) { run(b, func() string { w := vocab[r.IntN(len(vocab))]; return w[:3] }) })
	b.Run("common-word", func(b *testing.B) { run(b, func() string { return `"` + vocab[2+r.IntN(3)] + `"` }) })
	b.Run("phrase", func(b *testing.B) {
		run(b, func() string { return `"` + vocab[r.IntN(len(vocab))] + " " + vocab[r.IntN(200)] + `"` })
	})
	b.Run("phrase-common", func(b *testing.B) {
		run(b, func() string { return `"` + vocab[2+r.IntN(20)] + " " + vocab[2+r.IntN(20)] + `"` })
	})
}

// BenchmarkDeliverIndexed prices the index at 10 KB × 8 recipients (plus
// the sent copy) with a text body of varied words: index=off is the store
// without it (no decoding, no index row).
func BenchmarkDeliverIndexed(b *testing.B) {
	vocab := benchVocab(20_000)
	z := rand.NewZipf(rand.New(rand.NewPCG(7, 8)), 1.1, 2, uint64(len(vocab)-1))
	var raws [][]byte
	for i := range 64 {
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
