package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"mailroom/adapters/sqlite"
	"mailroom/adapters/storetest"
	"mailroom/domain/mail"
)

// TestContract runs the store contract, each test on a fresh database file.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return openContract(t, filepath.Join(t.TempDir(), "mailroom.db"))
	})
}

// contractStore is a Store with one change feed, as mailroomd wires it.
type contractStore struct {
	*sqlite.Store
	feed *sqlite.Feed
	path string
}

func openContract(t *testing.T, path string) storetest.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: path})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	// A short poll: the contract wants another store's commits seen well
	// within a second, and the suite does not call Notify.
	feed := s.Feed(sqlite.FeedConfig{PollInterval: 10 * time.Millisecond, Buffer: storetest.FeedBuffer})
	return contractStore{Store: s, feed: feed, path: path}
}

func (c contractStore) Subscribe(ctx context.Context) <-chan mail.Meta { return c.feed.Subscribe(ctx) }

func (c contractStore) SubscribeInterest(ctx context.Context, in storetest.Interest) <-chan mail.Meta {
	return c.feed.SubscribeInterest(ctx, in)
}

func (c contractStore) SubscribeChanges(ctx context.Context, in storetest.Interest) <-chan mail.Change {
	return c.feed.SubscribeChanges(ctx, in)
}

func (c contractStore) RowCount(ctx context.Context, table string) (int, error) {
	var n int
	// table is one of the suite's three names, never input.
	err := c.DB().QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n)
	return n, err
}

func (c contractStore) Reopen(t *testing.T) storetest.Store { return openContract(t, c.path) }
