package main

import (
	"mailroom/adapters/argon2"
	"mailroom/domain/account"
)

// newHasher is the password hasher every command uses: argon2id with the
// OWASP parameters, about NumCPU hashes at once.
func newHasher() account.Hasher { return argon2.New(argon2.DefaultParams(), 0) }
