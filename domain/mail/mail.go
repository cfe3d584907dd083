// Package mail owns delivery and mailboxes: envelopes, the per-owner mailbox
// entries in the inbox and sent folders, their metadata, and the Deliver,
// List, Fetch, SetSeen and Delete use cases with their limits. It is pure:
// storage and new-mail notification come in through Store and Notifier.
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
)

// Folder is a mailbox folder.
type Folder string

// The folders.
const (
	Inbox Folder = "inbox"
	Sent  Folder = "sent"
)

// ParseFolder accepts "inbox" or "sent"; anything else is ErrBadFolder
// (wrapped).
func ParseFolder(s string) (Folder, error) {
	switch f := Folder(s); f {
	case Inbox, Sent:
		return f, nil
	}
	return "", fmt.Errorf("%w: %q", ErrBadFolder, s)
}

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
	Seen bool
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
}

// NewEntry is one mailbox entry to create for a NewMessage.
type NewEntry struct {
	Owner  account.ID
	Folder Folder
	To     []string
	// Seen starts the entry read: the sender's own sent copy is.
	Seen bool
}

// Store is what the service needs from storage. Each call is one unit of work.
type Store interface {
	// Deliver stores msg once and every entry pointing at it, all or
	// nothing, and returns the entries' metadata in the order given.
	Deliver(ctx context.Context, msg NewMessage, entries []NewEntry) ([]Meta, error)
	// List gives the owner's entries in folder with id < before (before 0
	// means no bound), newest first, at most limit of them.
	List(ctx context.Context, owner account.ID, folder Folder, before EntryID, limit int) ([]Meta, error)
	// Fetch, SetSeen and Delete act only on the owner's own entries;
	// anything else is ErrNotFound.
	Fetch(ctx context.Context, owner account.ID, id EntryID) (Message, error)
	SetSeen(ctx context.Context, owner account.ID, id EntryID, seen bool) error
	Delete(ctx context.Context, owner account.ID, id EntryID) error
	// Count gives the number of entries and of unseen entries in a folder.
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
	// Lookup finds an account: account.ErrNoSuchUser if none.
	Lookup(ctx context.Context, name string) (account.Account, error)
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

// ResolveRecipient finds the local account for a recipient given as a bare
// name or name@domain. Anything else is ErrNoSuchRecipient (wrapped): there
// is no relay. Other errors are the store's.
//
// Deprecated: use Envelope.Add, which resolves each recipient once for the
// whole transaction.
func (s *Service) ResolveRecipient(ctx context.Context, rcpt string) (account.Account, error) {
	acc, err := s.accounts.Lookup(ctx, trimAngle(rcpt))
	if errors.Is(err, account.ErrNoSuchUser) {
		return account.Account{}, fmt.Errorf("%w: %s", ErrNoSuchRecipient, rcpt)
	}
	return acc, err
}

// Deliver stores raw from sender for every recipient (deduplicated) plus the
// sender's sent folder, in one unit of work, then notifies. It returns the
// entries created: the inbox copies first, in recipient order, then the sent
// copy. Errors: ErrTooLarge, ErrNoRecipients, then Envelope.Add's and
// DeliverEnvelope's; nothing is stored on any error.
//
// Deprecated: fill an Envelope at RCPT time and call DeliverEnvelope, so
// that each recipient is looked up once, not at RCPT and again here.
func (s *Service) Deliver(ctx context.Context, sender account.Account, rcpts []string, raw []byte) ([]Meta, error) {
	if int64(len(raw)) > s.cfg.MaxMessageBytes {
		return nil, ErrTooLarge
	}
	if len(rcpts) == 0 {
		return nil, ErrNoRecipients
	}
	env := s.NewEnvelope(sender)
	for _, r := range rcpts {
		if _, err := env.Add(ctx, r); err != nil {
			return nil, err
		}
	}
	return s.DeliverEnvelope(ctx, env, raw)
}

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
// MaxLimit or negative, or before is negative; else the store's.
func (s *Service) List(ctx context.Context, owner account.ID, folder Folder, before EntryID, limit int) ([]Meta, error) {
	if _, err := ParseFolder(string(folder)); err != nil {
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
// else the store's.
func (s *Service) Count(ctx context.Context, owner account.ID, folder Folder) (total, unseen int, err error) {
	if _, err := ParseFolder(string(folder)); err != nil {
		return 0, 0, err
	}
	return s.store.Count(ctx, owner, folder)
}

// Header is what Mailroom reads from a message's header block.
type Header struct {
	Subject string
	// To holds the addresses of the To and Cc fields, in order.
	To []string
}

var wordDecoder = mime.WordDecoder{}

// ParseHeader reads the header block of raw (at most MaxHeaderBytes). It is
// lenient: a message without a parseable header gives an empty Header.
func ParseHeader(raw []byte) Header {
	head := raw
	if len(head) > MaxHeaderBytes {
		head = head[:MaxHeaderBytes]
	}
	if i := bytes.Index(head, []byte("\r\n\r\n")); i >= 0 {
		head = head[:i+4]
	} else if i := bytes.Index(head, []byte("\n\n")); i >= 0 {
		head = head[:i+2]
	}
	m, err := netmail.ReadMessage(io.MultiReader(bytes.NewReader(head), strings.NewReader("\r\n")))
	if err != nil {
		return Header{}
	}
	var h Header
	if subj := m.Header.Get("Subject"); subj != "" {
		if dec, err := wordDecoder.DecodeHeader(subj); err == nil {
			h.Subject = dec
		} else {
			h.Subject = subj
		}
	}
	for _, field := range []string{"To", "Cc"} {
		h.To = append(h.To, addresses(m.Header.Get(field))...)
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
