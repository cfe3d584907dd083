package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"mailroom/adapters/storetest"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

func BenchmarkDeliver(b *testing.B) {
	for _, batch := range []int{1, DefaultMaxBatch} {
		b.Run(fmt.Sprint("maxbatch=", batch), func(b *testing.B) {
			s := openAt(b, dbPath(b), Config{MaxBatch: batch})
			var accs []account.Account
			for i := range 16 {
				accs = append(accs, mkAccount(b, s, fmt.Sprint("user", i)))
			}
			body := bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n"), 160) // 10 KiB
			msg := newMsg("benchmark", body)
			taken0, batches0 := s.taken.Load(), s.batches.Load()
			b.SetBytes(int64(len(msg.Raw)))
			b.ResetTimer()
			cpu := startCPU()
			storetest.DeliverInParallel(b, s, accs, msg)
			b.StopTimer()
			cpu.report(b)
			if n := s.batches.Load() - batches0; n > 0 {
				b.ReportMetric(float64(s.taken.Load()-taken0)/float64(n), "delivers/commit")
			}
		})
	}
}

// bulkMailbox gives owner n inbox entries, each with its own 2 KiB message
// and a full-length preview, inserted in one transaction; it returns their
// ids, oldest first.
func bulkMailbox(b *testing.B, s *Store, owner account.ID, n int) []mail.EntryID {
	return bulkMailboxSized(b, s, owner, n, 2048)
}

func bulkMailboxSized(b *testing.B, s *Store, owner account.ID, n, rawSize int) []mail.EntryID {
	b.Helper()
	tx, err := s.DB().Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	msgStmt, err := tx.Prepare(`INSERT INTO messages (size, from_addr, subject, received, raw) VALUES (?, 'someone@localhost', ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	prevStmt, err := tx.Prepare(`INSERT INTO message_previews (message_id, preview) VALUES (?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	var inbox int64
	var next uint32
	if err := tx.QueryRow(`SELECT id, uidnext FROM folders WHERE owner = ? AND name = 'inbox'`, owner).Scan(&inbox, &next); err != nil {
		b.Fatal(err)
	}
	entStmt, err := tx.Prepare(`INSERT INTO entries (owner, folder_id, uid, message_id, rcpts, flags, received) VALUES (?, ?, ?, ?, '["owner@localhost"]', ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	raw := bytes.Repeat([]byte("x"), rawSize)
	preview := strings.Repeat("p", mail.PreviewRunes)
	ids := make([]mail.EntryID, 0, n)
	for i := range n {
		at := t0.UnixNano() + int64(i)
		res, err := msgStmt.Exec(len(raw), fmt.Sprint("subject ", i), at, raw)
		if err != nil {
			b.Fatal(err)
		}
		msgID, _ := res.LastInsertId()
		if _, err := prevStmt.Exec(msgID, preview); err != nil {
			b.Fatal(err)
		}
		res, err = entStmt.Exec(owner, inbox, next+uint32(i), msgID, i%3 == 0, at)
		if err != nil {
			b.Fatal(err)
		}
		id, _ := res.LastInsertId()
		ids = append(ids, mail.EntryID(id))
	}
	if _, err := tx.Exec(`UPDATE folders SET uidnext = ?, total = total + ?, unseen = unseen + ? WHERE id = ?`, next+uint32(n), n, n-(n+2)/3, inbox); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return ids
}

func BenchmarkList(b *testing.B) {
	const n = 100_000
	s := openAt(b, dbPath(b), Config{})
	owner := mkAccount(b, s, "owner")
	other := mkAccount(b, s, "other")
	bulkMailbox(b, s, other.ID, n/10) // noise from another owner
	ids := bulkMailbox(b, s, owner.ID, n)
	ctx := context.Background()

	cases := []struct {
		name   string
		before mail.EntryID
	}{
		{"newest50", 0},
		{"page1000", ids[n-1000]}, // 1000 entries deep
		{"deep50", ids[1000]},     // 99,000 entries deep
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			cpu := startCPU()
			for b.Loop() {
				metas, err := s.List(ctx, owner.ID, mail.Inbox, c.before, mail.DefaultLimit)
				if err != nil || len(metas) != mail.DefaultLimit {
					b.Fatalf("List = %d, %v", len(metas), err)
				}
			}
			cpu.report(b)
		})
	}
	b.Run("count", func(b *testing.B) {
		cpu := startCPU()
		for b.Loop() {
			total, _, err := s.Count(ctx, owner.ID, mail.Inbox)
			if err != nil || total != n {
				b.Fatalf("Count = %d, %v", total, err)
			}
		}
		cpu.report(b)
	})
	b.Run("fetch", func(b *testing.B) {
		i := 0
		cpu := startCPU()
		for b.Loop() {
			if _, err := s.Fetch(ctx, owner.ID, ids[i%n]); err != nil {
				b.Fatal(err)
			}
			i += 7919
		}
		cpu.report(b)
	})
}

// BenchmarkListLargeRaw lists messages whose raw bytes spill into overflow
// pages (BenchmarkList's 2 KiB messages fit in one page), to show that a
// page of metadata never walks a blob.
func BenchmarkListLargeRaw(b *testing.B) {
	for _, c := range []struct {
		name    string
		n, size int
	}{{"raw=16KiB", 2000, 16 << 10}, {"raw=1MiB", 100, 1 << 20}} {
		b.Run(c.name, func(b *testing.B) {
			s := openAt(b, dbPath(b), Config{})
			owner := mkAccount(b, s, "owner")
			bulkMailboxSized(b, s, owner.ID, c.n, c.size)
			ctx := context.Background()
			for b.Loop() {
				metas, err := s.List(ctx, owner.ID, mail.Inbox, 0, mail.DefaultLimit)
				if err != nil || len(metas) != mail.DefaultLimit {
					b.Fatalf("List = %d, %v", len(metas), err)
				}
			}
		})
	}
}

// BenchmarkDeliverRecipients delivers a 10 KiB message to 1 and to 10
// inboxes (plus the sender's sent copy), from 4×GOMAXPROCS goroutines as
// from many SMTP sessions, with the default group commit.
func BenchmarkDeliverRecipients(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprint("rcpts=", n), func(b *testing.B) {
			s := openAt(b, dbPath(b), Config{})
			var accs []account.Account
			for i := range 16 {
				accs = append(accs, mkAccount(b, s, fmt.Sprint("user", i)))
			}
			body := bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n"), 160) // 10 KiB
			msg := newMsg("benchmark", body)
			var next atomic.Int64
			b.SetBytes(int64(len(msg.Raw)))
			b.SetParallelism(4)
			b.ResetTimer()
			cpu := startCPU()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				entries := make([]mail.NewEntry, n+1)
				for pb.Next() {
					i := int(next.Add(1))
					for j := range n {
						entries[j] = mail.NewEntry{Owner: accs[(i+1+j)%16].ID, Folder: mail.Inbox, To: []string{"to@localhost"}}
					}
					entries[n] = mail.NewEntry{Owner: accs[i%16].ID, Folder: mail.Sent, To: []string{"to@localhost"}}
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
