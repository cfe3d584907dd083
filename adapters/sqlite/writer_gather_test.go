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
// only it, and it has arrived. Its next write is sent the moment the last
// one is acknowledged, so it must not be counted as queued as well (that
// race made this test hang, 2 runs in 3 under load). A writer that
// waited would hold each write for GatherWait; the context, shorter,
// turns that into a failure rather than a hang.
func TestGatherNoWaitForALoneClient(t *testing.T) {
	s := openAt(t, dbPath(t), Config{GatherWait: 30 * time.Second})
	// The writer lingers after each acknowledgement, as after a prune,
	// so that the next write is always queued before it looks. (Set
	// before the first write: the writer reads it after each batch.)
	s.afterAck = func() { time.Sleep(5 * time.Millisecond) }
	a, b := mkAccount(t, s, "ann"), mkAccount(t, s, "bob")
	before := s.batches.Load()
	const writes = 20
	for i := range writes {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err := s.Deliver(ctx, newMsg("hi", []byte("x")),
			[]mail.NewEntry{{Owner: b.ID, Folder: mail.Inbox}, {Owner: a.ID, Folder: mail.Sent}})
		cancel()
		if err != nil {
			t.Fatalf("Deliver %d: %v", i, err)
		}
	}
	if got := s.batches.Load() - before; got != writes {
		t.Errorf("%d batches for %d writes one after another, want %d", got, writes, writes)
	}
}
