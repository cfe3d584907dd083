package sqlite

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"mailroom/domain/mail"
)

// TestBatchIndexesOnlyWhatItStored: a batch hands the indexer the
// messages of its successful requests only; a failed request's message
// went with its savepoint, and so does its index item.
func TestBatchIndexesOnlyWhatItStored(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	errNo := errors.New("refused")
	got := make([]int64, 3)
	var taken []*writeReq
	for i := range 3 {
		taken = append(taken, &writeReq{fn: func(w *wtx) error {
			raw := []byte("Subject: x\r\n\r\nbody\r\n")
			msg := mail.NewMessage{Raw: raw, From: "a@localhost", Subject: "x", Received: time.Now()}
			id, err := s.insertMessage(w, msg, raw, msg.Received, mail.NewSearchDoc(raw, msg.From))
			got[i] = id
			if err == nil && i == 1 {
				err = errNo
			}
			return err
		}})
	}
	// Straight to commitBatch, as the writer runs it (the writer is idle:
	// nothing else was written).
	items, err := s.commitBatch(ctx, taken)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(taken[1].err, errNo) || taken[0].err != nil || taken[2].err != nil {
		t.Fatalf("request errors %v, %v, %v", taken[0].err, taken[1].err, taken[2].err)
	}
	var ids []int64
	for _, it := range items {
		ids = append(ids, it.id)
	}
	if want := []int64{got[0], got[2]}; !slices.Equal(ids, want) {
		t.Errorf("index items %v, want the stored messages %v", ids, want)
	}
	if n := countIn(t, s.rdb, `SELECT count(*) FROM messages`); n != 2 {
		t.Errorf("%d messages stored, want 2", n)
	}
}
