package sqlite

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// TestLaterRunsOnlyForSuccessfulRequests: work a request queues with
// wtx.later runs once, after the batch's requests, and only when that
// request succeeded; a failed request's queued work is dropped with its
// savepoint. Many concurrent writes make batches of several requests.
func TestLaterRunsOnlyForSuccessfulRequests(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	errNo := errors.New("refused")
	var mu sync.Mutex
	ran := map[int]int{}
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.write(ctx, func(w *wtx) error {
				w.later(func(*wtx) error {
					mu.Lock()
					ran[i]++
					mu.Unlock()
					return nil
				})
				if i%2 == 1 {
					return errNo
				}
				return nil
			})
			if want := i%2 == 1; errors.Is(err, errNo) != want {
				t.Errorf("write %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	for i := range 64 {
		want := 1 - i%2
		if ran[i] != want {
			t.Errorf("request %d: later work ran %d times, want %d", i, ran[i], want)
		}
	}
}

// TestLaterFailureFailsTheBatch: when queued work fails, nothing of the
// batch is committed and its requests get the error.
func TestLaterFailureFailsTheBatch(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.write(ctx, func(w *wtx) error {
		if _, err := w.tx.ExecContext(w.ctx, `CREATE TABLE later_probe (x INTEGER)`); err != nil {
			return err
		}
		w.later(func(*wtx) error { return boom })
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("write = %v, want boom", err)
	}
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'later_probe'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("the batch committed although its later work failed")
	}
}
