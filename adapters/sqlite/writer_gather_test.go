package sqlite

import (
	"context"
	"testing"
	"time"

	"mailroom/domain/mail"
)

// gather takes requests until it has as many as the writer expects, and no
// longer waits than it may.
func TestGather(t *testing.T) {
	req := func() *writeReq { return &writeReq{done: make(chan struct{})} }
	first := []*writeReq{req()}
	t.Run("waits for the expected", func(t *testing.T) {
		s := &Store{reqs: make(chan *writeReq)}
		go func() {
			s.reqs <- req()
			s.reqs <- req()
		}()
		// A wait no test run reaches: only the two arrivals end it.
		if got := s.gather(first, 3, time.Hour); len(got) != 3 {
			t.Errorf("gathered %d, want 3", len(got))
		}
	})
	t.Run("gives up after wait", func(t *testing.T) {
		s := &Store{reqs: make(chan *writeReq)}
		if got := s.gather(first, 3, time.Millisecond); len(got) != 1 {
			t.Errorf("gathered %d, want the 1 it had", len(got))
		}
	})
	t.Run("nothing expected", func(t *testing.T) {
		s := &Store{reqs: make(chan *writeReq)}
		if got := s.gather(first, 1, time.Hour); len(got) != 1 {
			t.Errorf("gathered %d, want 1", len(got))
		}
	})
	t.Run("off", func(t *testing.T) {
		s := &Store{reqs: make(chan *writeReq)}
		if got := s.gather(first, 3, -1); len(got) != 1 {
			t.Errorf("gathered %d, want 1", len(got))
		}
	})
	t.Run("queue closed", func(t *testing.T) {
		s := &Store{reqs: make(chan *writeReq)}
		close(s.reqs)
		if got := s.gather(first, 3, time.Hour); len(got) != 1 {
			t.Errorf("gathered %d, want 1", len(got))
		}
	})
}

// A lone client is never kept waiting: after its write, the writer expects
// only it, and it has arrived. (With a wait of an hour, a writer that waited
// would hang this test.)
func TestGatherNoWaitForALoneClient(t *testing.T) {
	s := openAt(t, dbPath(t), Config{GatherWait: time.Hour})
	a, b := mkAccount(t, s, "ann"), mkAccount(t, s, "bob")
	before := s.batches.Load()
	for i := range 3 {
		if _, err := s.Deliver(context.Background(), newMsg("hi", []byte("x")),
			[]mail.NewEntry{{Owner: b.ID, Folder: mail.Inbox}, {Owner: a.ID, Folder: mail.Sent}}); err != nil {
			t.Fatalf("Deliver %d: %v", i, err)
		}
	}
	if got := s.batches.Load() - before; got != 3 {
		t.Errorf("%d batches for 3 writes one after another, want 3", got)
	}
}
