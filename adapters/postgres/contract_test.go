package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"mailroom/adapters/storetest"
	"mailroom/domain/mail"
)

// TestContract runs the store contract, each test in a fresh schema.
func TestContract(t *testing.T) {
	serverURL(t)
	storetest.Run(t, func(t *testing.T) storetest.Store { return openContract(t, freshSchema(t)) })
}

// contractStore is a Store with one change feed, as mailroomd wires it.
type contractStore struct {
	*Store
	feed *Feed
	url  string
}

func openContract(t *testing.T, dbURL string) storetest.Store {
	s := openAt(t, dbURL)
	return contractStore{Store: s, feed: s.Feed(FeedConfig{Buffer: storetest.FeedBuffer}), url: dbURL}
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
	err := c.pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n)
	return n, err
}

func (c contractStore) Reopen(t *testing.T) storetest.Store { return openContract(t, c.url) }
