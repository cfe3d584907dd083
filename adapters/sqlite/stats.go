package sqlite

import "context"

// WriterStats are the writer's counters since Open, for metrics: Requests
// is the write requests it took, Commits the transactions it began for
// them (Requests/Commits is the mean group-commit batch size), Checkpoints
// the WAL checkpoints it ran.
type WriterStats struct {
	Requests, Commits, Checkpoints int64
}

// WriterStats reads the writer's counters; it is safe at any time.
func (s *Store) WriterStats() WriterStats {
	return WriterStats{Requests: s.taken.Load(), Commits: s.batches.Load(), Checkpoints: s.checkpoints.Load()}
}

// Lag is how many entries the feed has still to push: the newest committed
// entry's id less the newest the feed has fanned out to SubscribeInterest
// and Subscribe subscribers. It is 0 while there are none, since the feed
// then reads nothing by design. Entry ids are global, so entries other
// processes committed count too.
func (f *Feed) Lag(ctx context.Context) (int64, error) {
	f.mu.Lock()
	n, last := len(f.subs), f.last
	f.mu.Unlock()
	if n == 0 {
		return 0, nil
	}
	newest, err := f.s.newestEntry(ctx)
	if err != nil {
		return 0, err
	}
	return max(int64(newest-last), 0), nil
}

// Ping reports whether the database answers a read.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.newestEntry(ctx)
	return err
}
