package imapserver

import (
	"context"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
)

// The IMAP server's seams, declared where they are consumed: the methods
// it calls, nothing more (*account.Service, *mail.Service, the stores and
// their change feeds satisfy them).

// Accounts is what the server asks of the account service.
type Accounts interface {
	// LoginAs checks one LOGIN or AUTHENTICATE PLAIN under the client's
	// failed-login budget (client is a throttle.ClientKey), one budget
	// shared with SMTP and the inbox protocol. authzid is SASL's, "" for
	// LOGIN. Errors: account.ErrThrottled (wrapped) before any password
	// check, account.ErrBadCredentials, account.ErrAuthzRefused, ctx's
	// error; anything else is the service's own failure.
	LoginAs(ctx context.Context, client, authzid, username, password string) (account.Account, error)
}

// Mailboxes is what the server asks of the mail service. Every call acts
// on owner's own folders and entries: anything else is mail.ErrNotFound.
type Mailboxes interface {
	// Folders lists the owner's folders, special ones first; Folder gives
	// one (mail.ErrNotFound when the owner has none of that name).
	Folders(ctx context.Context, owner account.ID) ([]mail.FolderInfo, error)
	Folder(ctx context.Context, owner account.ID, name mail.Folder) (mail.FolderInfo, error)
	// CreateFolder, RenameFolder and DeleteFolder manage user folders.
	// Errors: mail.ErrFolderExists, mail.ErrBadFolder,
	// mail.ErrSpecialFolder, mail.ErrNotFound.
	CreateFolder(ctx context.Context, owner account.ID, name mail.Folder) (mail.FolderInfo, error)
	RenameFolder(ctx context.Context, owner account.ID, from, to mail.Folder) error
	DeleteFolder(ctx context.Context, owner account.ID, name mail.Folder) error
	// UIDs gives a folder's entries in ascending UID order, with their
	// flags: what SELECT builds its sequence map from.
	UIDs(ctx context.Context, owner account.ID, folder mail.Folder) ([]mail.UIDEntry, error)
	// MetasByUID gives the metadata of the entries among uids that still
	// exist, in ascending UID order.
	MetasByUID(ctx context.Context, owner account.ID, folder mail.Folder, uids []uint32) ([]mail.Meta, error)
	// Fetch gives an entry with its raw bytes.
	Fetch(ctx context.Context, owner account.ID, id mail.EntryID) (mail.Message, error)
	// SetFlags changes one entry's flags (FETCH BODY[] sets \Seen);
	// StoreFlags many, in one unit of work (STORE), skipping missing ids.
	SetFlags(ctx context.Context, owner account.ID, id mail.EntryID, op mail.FlagOp, flags mail.Flags) (mail.Flags, error)
	StoreFlags(ctx context.Context, owner account.ID, ids []mail.EntryID, op mail.FlagOp, flags mail.Flags) ([]mail.UIDEntry, error)
	// CopyEntries and MoveEntries transfer entries to folder to in one unit
	// of work, each with a new UID there (COPYUID).
	CopyEntries(ctx context.Context, owner account.ID, ids []mail.EntryID, to mail.Folder) ([]mail.Transfer, error)
	MoveEntries(ctx context.Context, owner account.ID, ids []mail.EntryID, to mail.Folder) ([]mail.Transfer, error)
	// Append stores a message in folder (mail.ErrTooLarge past
	// MaxMessageBytes; a zero date is now). existed reports a copy already
	// in Sent with the same Message-ID, which is returned and nothing
	// stored.
	Append(ctx context.Context, owner account.ID, folder mail.Folder, raw []byte, flags mail.Flags, date time.Time) (meta mail.Meta, existed bool, err error)
	// Expunge deletes for good the entries of folder flagged \Deleted,
	// only among uids when uids is not nil, and gives their UIDs.
	Expunge(ctx context.Context, owner account.ID, folder mail.Folder, uids []uint32) ([]uint32, error)
	// MaxMessageBytes bounds a message: APPENDLIMIT.
	MaxMessageBytes() int64
}

// Index is the full-text index that SEARCH's text keys go through
// (search_index.go): a store's Search, the domain's mail.SearchStore.
type Index interface {
	// Search gives owner's entries that match q, with id < before (0 is
	// no bound), newest first, at most limit of them; each Meta carries
	// its UID, flags, date, size and envelope sender. Errors:
	// mail.ErrNoSuchFolder for a q.Folder the owner lacks, ctx's error;
	// anything else is the store's own failure.
	Search(ctx context.Context, owner account.ID, q mail.Query, before mail.EntryID, limit int) ([]mail.Meta, error)
}

// Interest is what the change feed asks before it reads changes back: is
// anyone watching, and is anyone watching this owner. The server's hub
// answers. An alias of an interface literal, so that a store's feed
// declares the same parameter type without importing this package.
type Interest = ports.Interest

// ChangeFeed streams committed mailbox changes (new entries, flag
// changes, expunges), of this process and of others sharing the store, in
// order.
type ChangeFeed interface {
	// SubscribeChanges delivers the changes after the newest at the time
	// of the call whose owner in.Wants. The channel is closed when ctx
	// ends or the subscriber falls too far behind (then every selected
	// session re-reads its folder).
	SubscribeChanges(ctx context.Context, in Interest) <-chan mail.Change
}

var (
	_ Accounts  = (*account.Service)(nil)
	_ Mailboxes = (*mail.Service)(nil)
	_ Index     = mail.SearchStore(nil)
)
