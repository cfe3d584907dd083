// Package crashtest holds the kill -9 durability test (issue 9): it builds
// the real mailroomd, runs it as a child process on free loopback ports,
// sends mail to it from a few concurrent senders, kills it with SIGKILL at
// random points (right after a 250, in the middle of DATA, just after the
// final dot), restarts it on the same data, and at the end checks through
// the inbox protocol that every acknowledged message is in each of its
// mailboxes exactly once and byte-exact, and that no unacknowledged message
// is in only some of them. MAILROOM_SOAK_ROUNDS sets the number of rounds
// (default 5; `task soak` runs 200). It has no code outside tests.
package crashtest
