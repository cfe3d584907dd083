package main

import (
	"mailroom/adapters/argon2"
	"mailroom/domain/account"
)

// newHasher is the password hasher every command uses: argon2id with
// --argon2's parameters (zero fields take argon2.DefaultParams'), at most
// --hash-concurrency hashes at once. Hashes already stored keep verifying
// whatever --argon2 says, since each carries its own parameters.
func newHasher(cfg config) account.Hasher { return argon2.New(cfg.Argon2, cfg.HashConcurrency) }
