package main

import (
	"context"

	"mailroom/adapters/argon2"
	"mailroom/adapters/sqlite"
	"mailroom/domain/account"
)

// newHasher is the password hasher every command uses: argon2id with
// --argon2's parameters (zero fields take argon2.DefaultParams'), at most
// --hash-concurrency hashes at once. Hashes already stored keep verifying
// whatever --argon2 says, since each carries its own parameters.
func newHasher(cfg config) account.Hasher { return argon2.New(cfg.Argon2, cfg.HashConcurrency) }

// openStore opens the database in cfg.DataDir with cfg's settings.
func openStore(ctx context.Context, cfg config) (*sqlite.Store, error) {
	return sqlite.Open(ctx, sqlite.Config{Path: cfg.DBPath(), BusyTimeout: cfg.DBBusyTimeout})
}
