package postgres

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"mailroom/adapters/storetest"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// BenchmarkDeliver is adapters/sqlite's BenchmarkDeliver against
// PostgreSQL: a 10 KiB message to one recipient plus the sender's sent
// copy, from 4×GOMAXPROCS goroutines at once, over 16 accounts. It
// reports how many deliveries the writers committed together on average,
// and the CPU time per delivery of this process and of its PostgreSQL
// backends.
func BenchmarkDeliver(b *testing.B) {
	for _, conns := range []int32{4, 16} {
		b.Run(fmt.Sprint("maxconns=", conns), func(b *testing.B) {
			body := bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n"), 160) // 10 KiB
			raw := append([]byte("Subject: benchmark\r\n\r\n"), body...)
			benchDeliver(b, conns, mail.NewMessage{Raw: raw, From: "alice@localhost", Subject: "benchmark",
				Preview: mail.Preview(raw), Received: t0})
		})
	}
}

// benchDeliver delivers msg, each time from one of 16 accounts to the
// next, from 4 goroutines per CPU (as from many SMTP sessions) through a
// store with conns connections on a fresh schema, and reports the CPU per
// delivery of this process and of its PostgreSQL backends, and the
// deliveries per batch.
func benchDeliver(b *testing.B, conns int32, msg mail.NewMessage) {
	dbURL, app := withAppName(b, freshSchema(b))
	s, err := Open(context.Background(), Config{URL: dbURL, MaxConns: conns})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	var accs []account.Account
	for i := range 16 {
		accs = append(accs, mkAccount(b, s, fmt.Sprint("user", i)))
	}
	b.SetBytes(int64(len(msg.Raw)))
	b.ResetTimer()
	cpu := startCPU(s, app)
	storetest.DeliverInParallel(b, s, accs, msg)
	b.StopTimer()
	cpu.report(b, s)
	if n := s.dq.batches.Load(); n > 0 {
		b.ReportMetric(float64(s.dq.delivered.Load())/float64(n), "deliveries/batch")
	}
}

// BenchmarkUIDs is an IMAP SELECT's UID map of a 100,000-entry folder.
func BenchmarkUIDs(b *testing.B) {
	const n = 100_000
	s := newStore(b)
	owner := mkAccount(b, s, "owner")
	ctx := context.Background()
	_, err := s.pool.Exec(ctx, `WITH m AS (
    INSERT INTO messages (size, from_addr, subject, received, raw) VALUES (1, 'a', 's', 0, 'x') RETURNING id)
INSERT INTO entries (owner, folder_id, uid, message_id, rcpts, received)
SELECT $1, f.id, g, m.id, '[]', g FROM m, folders f, generate_series(1, $2) g WHERE f.owner = $1 AND f.name = 'inbox'`,
		int64(owner.ID), n)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE folders SET uidnext = $2 + 1 WHERE owner = $1 AND name = 'inbox'`, int64(owner.ID), n); err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `VACUUM ANALYZE entries`); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		u, err := s.UIDs(ctx, owner.ID, mail.Inbox)
		if err != nil || len(u) != n {
			b.Fatalf("UIDs = %d, %v", len(u), err)
		}
	}
}
