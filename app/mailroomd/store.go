package main

import (
	"context"

	"go.uber.org/zap"

	"mailroom/adapters/sqlite"
)

// openStore opens the database in cfg.DataDir with cfg's settings. Every
// command that reads or writes accounts or mail opens it here.
func openStore(ctx context.Context, cfg config) (*sqlite.Store, error) {
	return sqlite.Open(ctx, sqlite.Config{Path: cfg.DBPath(), BusyTimeout: cfg.DBBusyTimeout})
}

// storeWiring is the database of a serve run and the change feed that the
// inbox server and the mail service share.
type storeWiring struct {
	store *sqlite.Store
	feed  *sqlite.Feed
	log   *zap.Logger
}

func newStoreWiring(store *sqlite.Store, log *zap.Logger) *storeWiring {
	return &storeWiring{store: store, feed: store.Feed(sqlite.FeedConfig{}), log: log}
}

// close stops the feed before the database it reads from.
func (w *storeWiring) close() {
	w.feed.Close()
	if err := w.store.Close(); err != nil {
		w.log.Error("closing the database", zap.Error(err))
	}
}
