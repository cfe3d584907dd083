// Package ports holds the seams that are not declared by one consumer: the
// change feed every store offers (the inbox and IMAP servers and the daemon
// consume it), and the client interfaces the UI calls (Client, Session, in
// client.go). The driving interfaces live with their consumers (each server's
// seams.go), and the driven interfaces the domain consumes live in the
// domain (account.Store, account.Hasher, mail.Store, mail.Notifier).
package ports

import (
	"context"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// Interest tells a change feed whose changes anyone is waiting for, so that
// it reads nothing back while nobody is. The feed asks it as each commit is
// fanned out, while holding its own lock: an Interest must answer from its
// own state and never call the feed. It is an alias of an unnamed interface
// so that the stores' methods that take one match it exactly.
type Interest = interface {
	// Any reports whether some subscriber wants anything at all.
	Any() bool
	// Wants reports whether some subscriber wants owner's changes.
	Wants(owner account.ID) bool
}

// ChangeFeed streams what committed in the mailboxes, in commit order, to
// its subscribers, including what other processes or hosts sharing the
// database committed. Every channel is closed when ctx ends or when its
// subscriber falls too far behind (it must then resync by listing).
type ChangeFeed interface {
	// Subscribe delivers new entries with an id greater than the newest one
	// at the time of the call.
	Subscribe(ctx context.Context) <-chan mail.Meta
	// SubscribeInterest is Subscribe for the owners in (asked as each
	// entry is fanned out): with no interest nothing is read back, and
	// when interest appears delivery resumes with no gap.
	SubscribeInterest(ctx context.Context, in Interest) <-chan mail.Meta
	// SubscribeChanges streams the change log (new entries, flag changes,
	// expunges) from the newest change on, for the owners in (nil: every
	// owner), in Seq order.
	SubscribeChanges(ctx context.Context, in Interest) <-chan mail.Change
}
