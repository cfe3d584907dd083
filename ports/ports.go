// Package ports holds Mailroom's seams in one place: the driving interfaces
// the server adapters call (Accounts, Mailboxes), the driven interfaces the
// domain and servers consume (stores, password hasher, notifier, change
// feed), and the client interfaces the UI calls (Client, Session).
package ports

import (
	"context"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// ---- driving: what the SMTP and inbox adapters call ----

// Accounts is the account use cases (implemented by *account.Service).
type Accounts interface {
	Register(ctx context.Context, username, password string) (account.Account, error)
	Authenticate(ctx context.Context, username, password string) (account.Account, error)
	Lookup(ctx context.Context, name string) (account.Account, error)
	ByID(ctx context.Context, id account.ID) (account.Account, error)
	AddressOf(a account.Account) account.Address
	Domain() string
}

// Mailboxes is the mail use cases (implemented by *mail.Service).
type Mailboxes interface {
	List(ctx context.Context, owner account.ID, folder mail.Folder, before mail.EntryID, limit int) ([]mail.Meta, error)
	Fetch(ctx context.Context, owner account.ID, id mail.EntryID) (mail.Message, error)
	SetSeen(ctx context.Context, owner account.ID, id mail.EntryID, seen bool) error
	Delete(ctx context.Context, owner account.ID, id mail.EntryID) error
	Count(ctx context.Context, owner account.ID, folder mail.Folder) (total, unseen int, err error)
	MaxMessageBytes() int64
}

var (
	_ Accounts  = (*account.Service)(nil)
	_ Mailboxes = (*mail.Service)(nil)
)

// ---- driven: what the domain and the servers consume ----

// AccountStore is account storage.
type AccountStore interface{ account.Store }

// MailStore is mailbox storage.
type MailStore interface{ mail.Store }

// PasswordHasher hashes and verifies passwords.
type PasswordHasher interface{ account.Hasher }

// Notifier hears about committed entries (in-process fast path).
type Notifier interface{ mail.Notifier }

// ChangeFeed streams every committed mailbox entry, in id order, to its
// subscribers, including entries committed by other processes sharing the
// database. The inbox server uses it for watch.
type ChangeFeed interface {
	// Subscribe delivers entries with id greater than the newest one at the
	// time of the call. The channel is closed when ctx ends or the
	// subscriber falls too far behind (it must then resync by listing).
	Subscribe(ctx context.Context) <-chan mail.Meta
}
