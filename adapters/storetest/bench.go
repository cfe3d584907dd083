package storetest

import (
	"context"
	"sync/atomic"
	"testing"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// DeliverInParallel is the delivery loop of the stores' BenchmarkDeliver:
// b.N deliveries of msg from 4 goroutines per CPU (as from many SMTP
// sessions), each from one of accs to the next one, with the sender's
// copy in Sent. The caller sets the bytes, the timer and what it reports.
func DeliverInParallel(b *testing.B, s mail.Store, accs []account.Account, msg mail.NewMessage) {
	var next atomic.Int64
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			i := int(next.Add(1))
			from, to := accs[i%len(accs)], accs[(i+1)%len(accs)]
			_, err := s.Deliver(ctx, msg, []mail.NewEntry{
				{Owner: to.ID, Folder: mail.Inbox, To: []string{"to@localhost"}},
				{Owner: from.ID, Folder: mail.Sent, To: []string{"to@localhost"}},
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
