package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

func BenchmarkExp(b *testing.B) {
	n := 10
	s := openAt(b, dbPath(b), Config{})
	for _, q := range strings.Split(os.Getenv("EXP_SQL"), ";;") {
		if q == "" {
			continue
		}
		if _, err := s.DB().Exec(q); err != nil {
			b.Fatal(q, err)
		}
	}
	var accs []account.Account
	for i := range 16 {
		accs = append(accs, mkAccount(b, s, fmt.Sprint("user", i)))
	}
	body := bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n"), 160)
	msg := newMsg("benchmark", body)
	var next atomic.Int64
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
}
