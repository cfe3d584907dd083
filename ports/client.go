package ports

import (
	"context"
	"errors"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// Client-side errors. Server refusals come back as the domain's sentinels
// (account.ErrUsernameTaken, account.ErrWeakPassword, account.ErrBadUsername,
// account.ErrBadCredentials, account.ErrNoSuchUser, mail.ErrNoSuchRecipient,
// mail.ErrNotFound, ...) so the UI can put them in words.
var (
	// ErrUnreachable: the server could not be reached (network, refused, timeout).
	ErrUnreachable = errors.New("server unreachable")
	// ErrFingerprintMismatch: the server's certificate is not the pinned one.
	ErrFingerprintMismatch = errors.New("server certificate fingerprint changed")
	// ErrUntrusted: no pin and no CA were given, or the CA does not verify it.
	ErrUntrusted = errors.New("server certificate not trusted")
	// ErrRateLimited: the server asked us to slow down.
	ErrRateLimited = errors.New("rate limited")
	// ErrRegistrationClosed: the server does not accept REG.
	ErrRegistrationClosed = errors.New("registration closed")
)

// Endpoint says where a server is and how the client trusts it.
type Endpoint struct {
	Host      string // host name or IP, no port
	SMTPPort  int    // default 8025
	InboxPort int    // default 9999
	// Fingerprint pins the server certificate: hex SHA-256 of its DER bytes
	// (colons and case are ignored).
	Fingerprint string
	// CAFile, when set, verifies the server against this PEM CA or certificate.
	CAFile string
}

// UserInfo is an account as the servers describe it.
type UserInfo struct {
	ID      account.ID
	Address string
}

// Draft is a message to send.
type Draft struct {
	To          []string
	Subject     string
	Body        string
	Attachments []Attachment
	// InReplyTo is the Message-ID being answered, if any.
	InReplyTo string
}

// Attachment is a file carried by a message.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// Body is a fetched message: its metadata, raw bytes and parsed MIME.
type Body struct {
	Meta        mail.Meta
	Raw         []byte
	MessageID   string
	InReplyTo   string // the first id of In-Reply-To ("" if none)
	Text        string // the text/plain part ("" if none)
	HTML        string // the text/html part ("" if none)
	Attachments []Attachment
}

// RecipientError is one recipient the server refused.
type RecipientError struct {
	Recipient string
	Err       error
}

// SendError lists the refused recipients of a Send that sent nothing.
type SendError struct{ Failed []RecipientError }

func (e *SendError) Error() string {
	s := "send refused for"
	for i, f := range e.Failed {
		if i > 0 {
			s += ","
		}
		s += " " + f.Recipient + " (" + f.Err.Error() + ")"
	}
	return s
}

// WatchEvent is one item of a watch stream: a new entry, or a change of
// connection state (Connected false with Err set while it retries).
type WatchEvent struct {
	Message   *mail.Meta
	Connected bool
	Err       error
	// RetryIn is the backoff before the next attempt when not connected.
	RetryIn time.Duration
	// Removed, when not 0, is an entry that left its folder: deleted,
	// expunged, or moved away (the move's new entry comes as a Message).
	Removed mail.EntryID
	// Flagged, when not nil, is an entry whose flags changed (by this or
	// another client): its id, folder and new flags are set.
	Flagged *mail.Meta
}

// FolderSession is the folder side of a logged-in session (issue 12): the
// inbox protocol's folders, create_folder, rename_folder, delete_folder,
// move and flags ops. *client.Session implements it; it is apart from
// Session so that the UI's fakes need not grow until the UI uses it.
// Refusals come back as mail.ErrFolderExists, mail.ErrNoSuchFolder (an
// mail.ErrNotFound) and mail.ErrNotFound.
type FolderSession interface {
	// Folders gives the user's folders, the special ones first (inbox,
	// sent, drafts, trash), with their totals. UIDValidity and UIDNext
	// are not on the inbox wire: they are 0.
	Folders(ctx context.Context) ([]mail.FolderInfo, error)
	CreateFolder(ctx context.Context, name mail.Folder) error
	RenameFolder(ctx context.Context, from, to mail.Folder) error
	DeleteFolder(ctx context.Context, name mail.Folder) error
	// Move moves an entry to another folder and gives its new id.
	Move(ctx context.Context, id mail.EntryID, to mail.Folder) (mail.EntryID, error)
	// SetFlags adds, then removes, flags of an entry and gives the flags it
	// ends with (add and remove both 0 reads them).
	SetFlags(ctx context.Context, id mail.EntryID, add, remove mail.Flags) (mail.Flags, error)
}

// SearchSession is the search side of a logged-in session (issue 13): the
// inbox protocol's search op. *client.Session implements it; it is apart
// from Session so that the UI's fakes need not grow until the UI uses it.
type SearchSession interface {
	// Search gives one page of the user's entries matching query (the
	// language of mail.ParseQuery), newest first, in folder only unless it
	// is "", paged as List. A query the server refuses is mail.ErrBadQuery;
	// a folder the user lacks mail.ErrNoSuchFolder.
	Search(ctx context.Context, query string, folder mail.Folder, before mail.EntryID, limit int) ([]mail.Meta, error)
}

// DraftSession is the drafts side of a logged-in session (issue 14): the
// inbox protocol's append op. *client.Session implements it; it is apart
// from Session so that the UI's fakes need not grow until the UI uses it.
type DraftSession interface {
	// Append stores raw, a whole RFC 5322 message, as a new entry in
	// folder with flags, and gives the entry's metadata. A folder the user
	// lacks is mail.ErrNoSuchFolder; raw over the server's size limit
	// mail.ErrTooLarge.
	Append(ctx context.Context, folder mail.Folder, raw []byte, flags mail.Flags) (mail.Meta, error)
}

// Client is how the UI reaches a Mailroom server before logging in.
type Client interface {
	// Probe connects without trusting and returns the server's certificate
	// fingerprint (hex SHA-256), for trust on first use.
	Probe(ctx context.Context, ep Endpoint) (string, error)
	Ping(ctx context.Context, ep Endpoint) error
	Register(ctx context.Context, ep Endpoint, username, password string) error
	Login(ctx context.Context, ep Endpoint, username, password string) (Session, error)
}

// Session is a logged-in user's view of their mail.
type Session interface {
	Account() UserInfo
	// Lookup asks the server (GETUSER) whether a user exists:
	// account.ErrNoSuchUser if not.
	Lookup(ctx context.Context, name string) (UserInfo, error)
	List(ctx context.Context, folder mail.Folder, before mail.EntryID, limit int) ([]mail.Meta, error)
	Count(ctx context.Context, folder mail.Folder) (total, unseen int, err error)
	Fetch(ctx context.Context, id mail.EntryID) (Body, error)
	SetSeen(ctx context.Context, id mail.EntryID, seen bool) error
	Delete(ctx context.Context, id mail.EntryID) error
	// Send submits a draft over SMTP with AUTH. Refused recipients give a *SendError.
	Send(ctx context.Context, d Draft) error
	// MaxMessageBytes is the server's advertised SIZE limit (EHLO, RFC
	// 1870), learned at login: the largest message Send can submit. 0 if
	// unknown.
	MaxMessageBytes() int64
	// Watch streams new entries until ctx ends, reconnecting with backoff
	// and resuming without missing entries. The channel closes when ctx ends.
	// It also closes, after a last event with Connected false and Err
	// wrapping account.ErrBadCredentials, when the server refuses the
	// password (changed, or the account deleted): the session is then over
	// and should be ended.
	Watch(ctx context.Context) <-chan WatchEvent
	Close() error
}
