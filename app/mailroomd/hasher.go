package main

import (
	"runtime/debug"
	"time"

	"mailroom/adapters/argon2"
	"mailroom/domain/account"
)

// hashIdleRelease is how long password hashing must have been idle after
// a burst before the daemon hands the freed memory back to the system.
// Each hash allocates m KiB (19 MiB by default) that becomes garbage at
// once; with no further allocation the runtime neither collects it nor
// returns it for minutes, so 200 logins left RSS at 2.7 times its
// baseline (issue 9). A few seconds let a burst end first: the release
// is a full collection, too costly to run after every hash.
const hashIdleRelease = 3 * time.Second

// newHasher is the password hasher every command uses: argon2id with
// --argon2's parameters (zero fields take argon2.DefaultParams'), at most
// --hash-concurrency hashes at once. Hashes already stored keep verifying
// whatever --argon2 says, since each carries its own parameters. Once
// hashing goes idle after a burst, the memory it freed is returned.
func newHasher(cfg config) account.Hasher {
	h := argon2.New(cfg.Argon2, cfg.HashConcurrency)
	h.OnIdle(hashIdleRelease, debug.FreeOSMemory)
	return h
}
