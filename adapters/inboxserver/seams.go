package inboxserver

import (
	"context"
	"time"

	"mailroom/ports"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// The inbox server's seams, declared where they are consumed: the few
// methods it calls, nothing more (*account.Service, *mail.Service and
// *sqlite.Feed satisfy them).

// Accounts is what the inbox server asks of the account service.
type Accounts interface {
	// Login checks a login under the failed-login budget of client (a
	// throttle.ClientKey), one budget shared with every other server.
	// Errors: account.ErrThrottled (wrapped) when client's budget is
	// spent, before any password check; account.ErrBadCredentials for a
	// wrong password or an unknown or malformed user; ctx's error;
	// anything else is the service's own failure.
	Login(ctx context.Context, client, username, password string) (account.Account, error)
	// ParseName turns a login's user field into an account name (bare,
	// or in the configured domain). Errors: account.ErrBadUsername.
	ParseName(name string) (account.Username, error)
	// AddressOf gives an account's address.
	AddressOf(a account.Account) account.Address
}

// Mailboxes is what the inbox server asks of the mail service. Every call
// acts on owner's own entries: another owner's id is mail.ErrNotFound.
type Mailboxes interface {
	// List gives one page of a folder, newest first. Errors:
	// mail.ErrBadFolder, mail.ErrBadLimit; else the store's.
	List(ctx context.Context, owner account.ID, folder mail.Folder, before mail.EntryID, limit int) ([]mail.Meta, error)
	// Count gives a folder's totals. Errors: mail.ErrBadFolder; else the
	// store's.
	Count(ctx context.Context, owner account.ID, folder mail.Folder) (total, unseen int, err error)
	// Fetch gives an entry with its raw bytes. Errors: mail.ErrNotFound;
	// else the store's.
	Fetch(ctx context.Context, owner account.ID, id mail.EntryID) (mail.Message, error)
	// SetSeen flags an entry. Errors: mail.ErrNotFound; else the store's.
	SetSeen(ctx context.Context, owner account.ID, id mail.EntryID, seen bool) error
	// Delete removes an entry. Errors: mail.ErrNotFound; else the store's.
	Delete(ctx context.Context, owner account.ID, id mail.EntryID) error
	// Folders gives the owner's folders, special ones first.
	Folders(ctx context.Context, owner account.ID) ([]mail.FolderInfo, error)
	// CreateFolder, RenameFolder and DeleteFolder: errors
	// mail.ErrBadFolder, mail.ErrFolderExists, mail.ErrSpecialFolder,
	// mail.ErrNoSuchFolder; else the store's.
	CreateFolder(ctx context.Context, owner account.ID, name mail.Folder) (mail.FolderInfo, error)
	RenameFolder(ctx context.Context, owner account.ID, from, to mail.Folder) error
	DeleteFolder(ctx context.Context, owner account.ID, name mail.Folder) error
	// Move moves an entry to a folder and gives it there (a new id).
	// Errors: mail.ErrNotFound, mail.ErrNoSuchFolder, mail.ErrBadFolder.
	Move(ctx context.Context, owner account.ID, id mail.EntryID, to mail.Folder) (mail.Meta, error)
	// SetFlags changes an entry's flags and gives the new ones. Errors:
	// mail.ErrNotFound, mail.ErrBadFlags.
	SetFlags(ctx context.Context, owner account.ID, id mail.EntryID, op mail.FlagOp, flags mail.Flags) (mail.Flags, error)
	// Search gives one page of the owner's entries matching query (in
	// folder only, unless it is ""), newest first. Errors:
	// mail.ErrBadQuery, mail.ErrBadFolder, mail.ErrBadLimit,
	// mail.ErrNoSuchFolder; else the store's.
	Search(ctx context.Context, owner account.ID, query string, folder mail.Folder, before mail.EntryID, limit int) ([]mail.Meta, error)
	// Append stores raw as a new entry of owner's folder with flags,
	// received at date (now when zero), and gives the entry (with existed
	// true, and nothing stored, when folder is Sent and an entry of it has
	// raw's Message-ID). Errors: mail.ErrTooLarge, mail.ErrBadFolder,
	// mail.ErrBadFlags, mail.ErrNoSuchFolder; else the store's.
	Append(ctx context.Context, owner account.ID, folder mail.Folder, raw []byte, flags mail.Flags, date time.Time) (meta mail.Meta, existed bool, err error)
	// MaxMessageBytes bounds a stored message: what a fetch reserves of
	// Config.MaxInflightBytes before it knows the message's size, what
	// append takes, and so how long a request line may be after login.
	MaxMessageBytes() int64
}

// Interest is what the change feed asks before it reads entries back: is
// anyone watching, and is anyone watching this owner. The hub answers.
// It is an alias of an interface literal, so that a store's feed can
// declare the same parameter type without importing this package.
type Interest = ports.Interest

// ChangeFeed streams the mailboxes' change log (new entries, flag changes,
// removals), of this process and of others sharing the store, in commit
// order.
type ChangeFeed interface {
	// SubscribeChanges delivers the changes after the newest at the time
	// of the call whose owner in.Wants, asking in as changes are read, so
	// that while nobody watches nothing is read back. A new entry's Meta
	// is complete unless it was gone when the feed read it (then its Date
	// is zero); a flag change's and a removal's hold Owner, Folder, ID
	// and Flags. The channel is closed when ctx ends or the subscriber
	// falls too far behind (then the server tells its watchers to
	// resync).
	SubscribeChanges(ctx context.Context, in Interest) <-chan mail.Change
}
