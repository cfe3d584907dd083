// Package storetest owns the store contract: the behaviour tests that every
// store adapter (adapters/sqlite, adapters/postgres) must pass, written once.
// A store's own test file calls Run with a constructor; tests that depend on
// one engine (SQLite's pragmas and group commit, query plans, PostgreSQL's
// listener reconnection) stay in that store's package.
//
// Every later store feature (search, for one) gets its tests here.
package storetest

import (
	"context"
	"testing"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
)

// FeedBuffer is the subscriber buffer the suite expects: the constructor
// passed to Run must give each change feed subscriber a channel of exactly
// this capacity, so that the slow-subscriber test knows when it is dropped.
const FeedBuffer = 2048

// Store is what the suite drives: the driven ports every store implements
// (accounts, mail, one change feed over the store), and two test hooks.
type Store interface {
	account.Store
	mail.Store
	ports.ChangeFeed
	// Close closes the store; it must be safe to call more than once, and it
	// closes every subscription. Run's constructor registers it with
	// t.Cleanup too.
	Close() error

	// RowCount gives the number of rows in one of the tables "accounts",
	// "messages" (one row per stored message, however many entries hold it)
	// and "entries". Both schemas have these three.
	RowCount(ctx context.Context, table string) (int, error)
	// Reopen opens another Store on the same database, with its own change
	// feed, as another mailroomd host or process would; it is closed when
	// the test ends.
	Reopen(t *testing.T) Store
}

// Interest is the shape of the stores' feed interest (adapters/sqlite's
// Interest, adapters/postgres's Interest).
type Interest = interface {
	Any() bool
	Wants(owner account.ID) bool
}

// Run runs the whole contract against the stores open gives. open must
// give an empty, migrated store of its own for each call, closed when the
// test ends.
func Run(t *testing.T, open func(t *testing.T) Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"accounts", accountTests},
		{"mail", mailTests},
		{"feed", feedTests},
		{"folders", folderTests},
		{"changes", changeTests},
		{"search", searchTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tt := range g.tests {
				t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
			}
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, s Store)
}

// t0 has nanoseconds: a store must give times back exactly.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

func mkAccount(t testing.TB, s Store, name string) account.Account {
	t.Helper()
	a, err := s.CreateAccount(context.Background(), account.Username(name), "hash-"+name, t0)
	if err != nil {
		t.Fatalf("CreateAccount(%q): %v", name, err)
	}
	return a
}

// newMsg builds a message as mail.Service would, preview included.
func newMsg(subject string, body []byte) mail.NewMessage {
	raw := append([]byte("Subject: "+subject+"\r\n\r\n"), body...)
	return mail.NewMessage{Raw: raw, From: "alice@localhost", Subject: subject, Preview: mail.Preview(raw), Received: t0}
}

// deliver stores one message from sender to rcpts (inbox) plus sender's sent copy.
func deliver(t testing.TB, s Store, sender account.Account, subject string, rcpts ...account.Account) []mail.Meta {
	t.Helper()
	var entries []mail.NewEntry
	var to []string
	for _, r := range rcpts {
		addr := string(r.Username) + "@localhost"
		to = append(to, addr)
		entries = append(entries, mail.NewEntry{Owner: r.ID, Folder: mail.Inbox, To: []string{addr}})
	}
	entries = append(entries, mail.NewEntry{Owner: sender.ID, Folder: mail.Sent, To: to})
	metas, err := s.Deliver(context.Background(), newMsg(subject, []byte("hello\r\n")), entries)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	return metas
}

func count(t testing.TB, s Store, table string) int {
	t.Helper()
	n, err := s.RowCount(context.Background(), table)
	if err != nil {
		t.Fatalf("RowCount(%s): %v", table, err)
	}
	return n
}

type rowCounts struct{ accounts, messages, entries int }

func counts(t testing.TB, s Store) rowCounts {
	t.Helper()
	return rowCounts{count(t, s, "accounts"), count(t, s, "messages"), count(t, s, "entries")}
}

func ids(metas []mail.Meta) []mail.EntryID {
	var out []mail.EntryID
	for _, m := range metas {
		out = append(out, m.ID)
	}
	return out
}

func reverse(ids []mail.EntryID) []mail.EntryID {
	out := make([]mail.EntryID, len(ids))
	for i, id := range ids {
		out[len(ids)-1-i] = id
	}
	return out
}
