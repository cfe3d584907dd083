// Package mail owns delivery and mailboxes: envelopes, folders (the special
// inbox, sent, drafts and trash, and the owner's own), the per-owner mailbox
// entries in them with their metadata, flags and per-folder UIDs, and the
// use cases with their limits: DeliverEnvelope, List, Fetch, flags, Move,
// Copy, Append, Expunge, Delete and the folder operations (folders.go holds
// the folder API). It is pure: storage and new-mail notification come in
// through Store and Notifier.
package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	netmail "net/mail" // an RFC 5322 parser; it does no IO
	"strings"
	"time"

	"mailroom/domain/account"
)

// Sentinel errors.
var (
	ErrNoSuchRecipient   = errors.New("mail: no such recipient")
	ErrTooManyRecipients = errors.New("mail: too many recipients")
	ErrNoRecipients      = errors.New("mail: no recipients")
	ErrNotFound          = errors.New("mail: not found")
	ErrBadFolder         = errors.New("mail: bad folder")
	ErrBadLimit          = errors.New("mail: limit out of range")
	ErrTooLarge          = errors.New("mail: message too large")
	ErrFolderExists      = errors.New("mail: folder exists")
	ErrSpecialFolder     = errors.New("mail: special folder")
	ErrBadFlags          = errors.New("mail: bad flags")
	// ErrNoSuchFolder is ErrNotFound for a folder (errors.Is matches
	// both), so that a server can say which was missing (IMAP's
	// [TRYCREATE] and [NONEXISTENT]).
	ErrNoSuchFolder = fmt.Errorf("%w: no such folder", ErrNotFound)
)

// Limits.
const (
	// MaxRecipients is the ceiling of Config.MaxRecipients: the one place
	// the recipient cap lives (RFC 5321 §4.5.3.1.8 asks for at least 100).
	MaxRecipients = 100
	DefaultLimit  = 50
	MaxLimit      = 500
	// MaxHeaderBytes bounds how much of a message is read to find its
	// header block (maddy's max_header_size).
	MaxHeaderBytes = 1 << 20
	// MaxToAddresses bounds the header addresses kept in an inbox copy's
	// Meta.To (the owner's own address is added on top when missing).
	MaxToAddresses = 100
	// PreviewRunes bounds Meta.Preview (see Preview).
	PreviewRunes = 160
	// MaxMessageIDBytes bounds Meta.MessageID: RFC 5322's line limit.
	MaxMessageIDBytes = 998
)

// EntryID identifies one mailbox entry (one copy of a message in one
// owner's folder). IDs grow with time, so newest first is id descending.
type EntryID int64

// Meta describes a mailbox entry.
type Meta struct {
	ID     EntryID
	Owner  account.ID
	Folder Folder
	// From is the envelope sender's address.
	From string
	// To: for an inbox copy, the To/Cc header addresses plus the owner if
	// absent (Bcc never leaks); for a sent copy, every envelope recipient.
	To []string
	// Subject is RFC 2047 decoded.
	Subject string
	// Preview is the start of the text body on one line (at most
	// PreviewRunes characters), for message lists; "" when unknown.
	Preview string
	// Date is the time the server received the message.
	Date time.Time
	Size int64
	// Seen is Flags.Has(FlagSeen), kept for the inbox wire.
	Seen bool
	// UID is the entry's UID in its folder.
	UID   uint32
	Flags Flags
	// MessageID is the Message-ID header, angle brackets kept; "" if none.
	MessageID string
}

// Message is an entry with its raw RFC 5322 bytes.
type Message struct {
	Meta
	Raw []byte
}

// NewMessage is one message to store once, however many entries hold it.
type NewMessage struct {
	Raw     []byte
	From    string
	Subject string
	// Preview is Preview(Raw), computed once per message.
	Preview  string
	Received time.Time
	// MessageID is the Message-ID header (see Meta.MessageID).
	MessageID string
	// Search, when not nil, is NewSearchDoc(Raw, From), computed with the
	// rest (ParseMessage); nil leaves it to SearchDoc.
	Search *SearchDoc
}

// SearchDoc is what the index holds for m: m.Search, or when that is nil
// NewSearchDoc(m.Raw, m.From).
func (m NewMessage) SearchDoc() SearchDoc {
	if m.Search != nil {
		return *m.Search
	}
	return NewSearchDoc(m.Raw, m.From)
}

// NewEntry is one mailbox entry to create for a NewMessage.
type NewEntry struct {
	Owner  account.ID
	Folder Folder
	To     []string
	// Seen starts the entry read: the sender's own sent copy is. The
	// entry's flags are Flags with FlagSeen added when Seen.
	Seen  bool
	Flags Flags
}

// Store is what the service needs from storage. Each call is one unit of work.
// Every account has the special folders: the store creates them with the
// account. Entries get their folder's next UID as they enter it.
type Store interface {
	FolderStore
	SearchStore
	// Deliver stores msg once and every entry pointing at it, all or
	// nothing, and returns the entries' metadata in the order given. A
	// missing owner is ErrNoSuchRecipient, a folder the owner lacks
	// ErrBadFolder.
	Deliver(ctx context.Context, msg NewMessage, entries []NewEntry) ([]Meta, error)
	// List gives the owner's entries in folder with id < before (before 0
	// means no bound), newest first, at most limit of them. ErrNotFound
	// when owner has no such folder.
	List(ctx context.Context, owner account.ID, folder Folder, before EntryID, limit int) ([]Meta, error)
	// Fetch, SetSeen and Delete act only on the owner's own entries;
	// anything else is ErrNotFound.
	Fetch(ctx context.Context, owner account.ID, id EntryID) (Message, error)
	SetSeen(ctx context.Context, owner account.ID, id EntryID, seen bool) error
	Delete(ctx context.Context, owner account.ID, id EntryID) error
	// Count gives the number of entries and of unseen entries in a folder
	// (ErrNotFound as List).
	Count(ctx context.Context, owner account.ID, folder Folder) (total, unseen int, err error)
}

// Notifier hears about entries once they are committed.
type Notifier interface {
	Notify(metas []Meta)
}

// Accounts is what the service needs from the account side (implemented by
// *account.Service).
type Accounts interface {
	// ParseName turns a bare name or name@domain into an account name:
	// account.ErrBadUsername when it names no local account.
	ParseName(name string) (account.Username, error)
	// Recipient finds an account to deliver to: account.ErrNoSuchUser if
	// none. It may answer from a recent lookup (an account deleted since
	// is refused by the store at delivery).
	Recipient(ctx context.Context, name string) (account.Account, error)
	AddressOf(a account.Account) account.Address
}

// Config configures the service.
type Config struct {
	// MaxMessageBytes bounds a message. Default 25 MiB.
	MaxMessageBytes int64
	// MaxRecipients bounds the distinct recipients of one message (then
	// ErrTooManyRecipients, SMTP 452 4.5.3). Default MaxRecipients, which
	// is also its ceiling: a larger value is lowered to it.
	MaxRecipients int
}

// Service implements the mail use cases.
type Service struct {
	store    Store
	accounts Accounts
	notifier Notifier
	cfg      Config
	now      func() time.Time
}

// NewService wires a Service. notifier may be nil; now defaults to time.Now.
// A nil store or accounts panics (a wiring error).
func NewService(store Store, accounts Accounts, notifier Notifier, cfg Config, now func() time.Time) *Service {
	if store == nil || accounts == nil {
		panic("mail: nil dependency")
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 25 << 20
	}
	if cfg.MaxRecipients <= 0 || cfg.MaxRecipients > MaxRecipients {
		cfg.MaxRecipients = MaxRecipients
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, accounts: accounts, notifier: notifier, cfg: cfg, now: now}
}

// MaxMessageBytes is the configured message size limit.
func (s *Service) MaxMessageBytes() int64 { return s.cfg.MaxMessageBytes }

// MaxRecipients is the configured recipient cap of one message.
func (s *Service) MaxRecipients() int { return s.cfg.MaxRecipients }

// withAddress gives list plus addr when addr is not in it (case-insensitive),
// keeping at most MaxToAddresses header addresses: the To/Cc fields are the
// sender's to write, and an unbounded list would bloat every list page and
// event of the recipient (a 1 MiB header holds ~90,000 addresses).
func withAddress(list []string, addr string) []string {
	out := make([]string, 0, min(len(list), MaxToAddresses)+1)
	found := false
	for _, a := range list {
		if strings.EqualFold(a, addr) {
			found = true
		}
		if len(out) < MaxToAddresses {
			out = append(out, a)
		}
	}
	if !found {
		out = append(out, addr)
	}
	return out
}

// List gives one page of the owner's folder, newest first. limit 0 means
// DefaultLimit. Errors: ErrBadFolder; ErrBadLimit when limit is over
// MaxLimit or negative, or before is negative; ErrNotFound for a folder
// owner lacks; else the store's.
func (s *Service) List(ctx context.Context, owner account.ID, folder Folder, before EntryID, limit int) ([]Meta, error) {
	folder, err := ParseFolder(string(folder))
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 0 || limit > MaxLimit || before < 0 {
		return nil, ErrBadLimit
	}
	return s.store.List(ctx, owner, folder, before, limit)
}

// Fetch gives one of the owner's entries with its raw bytes: ErrNotFound
// when owner has no such entry (another owner's entry included).
func (s *Service) Fetch(ctx context.Context, owner account.ID, id EntryID) (Message, error) {
	return s.store.Fetch(ctx, owner, id)
}

// SetSeen flags one of the owner's entries: ErrNotFound as Fetch.
func (s *Service) SetSeen(ctx context.Context, owner account.ID, id EntryID, seen bool) error {
	return s.store.SetSeen(ctx, owner, id, seen)
}

// Delete removes one of the owner's entries: ErrNotFound as Fetch.
func (s *Service) Delete(ctx context.Context, owner account.ID, id EntryID) error {
	return s.store.Delete(ctx, owner, id)
}

// Count gives a folder's total and unseen counts. Errors: ErrBadFolder,
// ErrNotFound for a folder owner lacks, else the store's.
func (s *Service) Count(ctx context.Context, owner account.ID, folder Folder) (total, unseen int, err error) {
	if folder, err = ParseFolder(string(folder)); err != nil {
		return 0, 0, err
	}
	return s.store.Count(ctx, owner, folder)
}

// Header is what Mailroom reads from a message's header block.
type Header struct {
	Subject string
	// To holds the addresses of the To and Cc fields, in order.
	To []string
	// From is the first address of the From field, lower-cased.
	From string
	// MessageID is the Message-ID field, angle brackets kept.
	MessageID string
}

var wordDecoder = mime.WordDecoder{}

// ParseHeader reads the header block of raw (at most MaxHeaderBytes). It is
// lenient: a message without a parseable header gives an empty Header.
func ParseHeader(raw []byte) Header {
	m, err := netmail.ReadMessage(io.MultiReader(bytes.NewReader(headBlock(raw)), strings.NewReader("\r\n")))
	if err != nil {
		return Header{}
	}
	return headerFields(m.Header, nil)
}

// headBlock is the start of raw that ParseHeader reads: up to the first
// blank line, within MaxHeaderBytes.
func headBlock(raw []byte) []byte {
	head := raw
	if len(head) > MaxHeaderBytes {
		head = head[:MaxHeaderBytes]
	}
	if i := bytes.Index(head, []byte("\r\n\r\n")); i >= 0 {
		head = head[:i+4]
	} else if i := bytes.Index(head, []byte("\n\n")); i >= 0 {
		head = head[:i+2]
	}
	return head
}

// headerFields is ParseHeader's reading of a parsed header. parse, when
// not nil, is addresses(m.Get(key)), from a parse made already.
func headerFields(m netmail.Header, parse func(m netmail.Header, key string) []string) Header {
	if parse == nil {
		parse = func(m netmail.Header, key string) []string { return addresses(m.Get(key)) }
	}
	var h Header
	if subj := m.Get("Subject"); subj != "" {
		if dec, err := wordDecoder.DecodeHeader(subj); err == nil {
			h.Subject = dec
		} else {
			h.Subject = subj
		}
	}
	for _, field := range []string{"To", "Cc"} {
		h.To = append(h.To, parse(m, field)...)
	}
	if from := parse(m, "From"); len(from) > 0 {
		h.From = from[0]
	}
	// A Message-ID longer than a header line may be (RFC 5322 §2.1.1) is
	// nobody's real one: dropping it keeps the stored field small.
	if id := strings.TrimSpace(m.Get("Message-Id")); len(id) <= MaxMessageIDBytes {
		h.MessageID = id
	}
	return h
}

// addresses parses an address-list field. When the whole list does not
// parse (one malformed address), it falls back to parsing each
// comma-separated item alone, so one bad address does not hide the rest.
func addresses(field string) []string {
	if strings.TrimSpace(field) == "" {
		return nil
	}
	var out []string
	if list, err := netmail.ParseAddressList(field); err == nil {
		for _, a := range list {
			out = append(out, strings.ToLower(a.Address))
		}
		return out
	}
	for _, item := range strings.Split(field, ",") {
		if a, err := netmail.ParseAddress(item); err == nil {
			out = append(out, strings.ToLower(a.Address))
		}
	}
	return out
}
