// Package inboxwire owns the inbox protocol's wire types and its line codec:
// one UTF-8 JSON object per line ending in "\n", requests carrying an
// optional tag that the response echoes, and untagged server events. It is
// shared by the inbox server and the client adapter; docs/protocol.md
// describes it for third-party clients.
package inboxwire

import (
	"encoding/json"
	"time"

	"mailroom/domain/mail"
)

// MaxLine bounds one request line (without the "\n"), by default. Responses
// to fetch carry a whole message in base64 and can be longer: see
// ResponseLineLimit; so can an append request: see RequestLineLimit.
const MaxLine = 1 << 20

// MaxLoginLine bounds a request line before login: room for a login with
// a 1024-byte password written as JSON escapes of 6 bytes each
// (\u003c...) and a long user name, and no more, so that a connection
// that has not logged in can make a server hold at most this much.
const MaxLoginLine = 8 << 10

// ResponseLineLimit is the longest response line a server whose messages are
// at most maxMessage bytes can send: the base64 of the message plus room for
// its metadata. Clients size their LineReader with it (25 MiB gives about
// 34 MiB).
func ResponseLineLimit(maxMessage int64) int {
	return int((maxMessage+2)/3*4) + 1<<20
}

// RequestLineLimit is the longest request line a logged-in client may need
// on a server whose messages are at most maxMessage bytes: an append of the
// largest message (its base64) plus room for the folder, the flags and the
// tag. A server allows at least this much after login (25 MiB gives about
// 33.4 MiB).
func RequestLineLimit(maxMessage int64) int {
	return int((maxMessage+2)/3*4) + appendRoom
}

// appendRoom is what an append line holds besides raw's base64: the op, a
// folder of 255 bytes written as JSON escapes (6 bytes each), the flags and a
// tag.
const appendRoom = 64 << 10

// Ops.
const (
	OpPing   = "ping"
	OpLogin  = "login"
	OpList   = "list"
	OpCount  = "count"
	OpFetch  = "fetch"
	OpSeen   = "seen"
	OpDelete = "delete"
	OpWatch  = "watch"
	OpQuit   = "quit"

	// Folders (issue 12).
	OpFolders      = "folders"
	OpCreateFolder = "create_folder"
	OpRenameFolder = "rename_folder"
	OpDeleteFolder = "delete_folder"
	OpMove         = "move"
	OpFlags        = "flags"

	// OpSearch (issue 13) answers like list: query is mail.ParseQuery's
	// language; folder is optional (every folder when absent).
	OpSearch = "search"

	// OpAppend (issue 14) stores a whole message (raw, base64) as a new
	// entry of folder with flags, and answers the entry's meta as
	// Response.Message (without raw): how a client saves a draft.
	OpAppend = "append"
)

// Error codes.
const (
	CodeBadRequest   = "bad_request"
	CodeAuthRequired = "auth_required"
	CodeAuthFailed   = "auth_failed"
	CodeNotFound     = "not_found"
	CodeExists       = "exists" // a folder of that name exists
	CodeTooLarge     = "too_large"
	CodeRateLimited  = "rate_limited"
	CodeBusy         = "busy" // over a connection cap: sent untagged, then close
	CodeInternal     = "internal"
)

// Event names.
const (
	// EventMessage carries a new mailbox entry's metadata.
	EventMessage = "message"
	// EventResync says the server may have missed entries for this watcher
	// (its change feed fell behind and was resubscribed): list again.
	EventResync = "resync"
	// EventRemoved says an entry left its folder (deleted, expunged, moved
	// away; a move's new entry comes as EventMessage): Event.ID, Folder.
	EventRemoved = "removed"
	// EventFlags says an entry's flags changed: Event.ID, Folder, Flags and
	// Seen are its new state.
	EventFlags = "flags"
)

// Request is every request shape in one struct; which fields matter depends
// on Op. Pointer fields tell "absent" from zero.
type Request struct {
	Tag      json.RawMessage `json:"tag,omitempty"`
	Op       string          `json:"op"`
	User     *string         `json:"user,omitempty"`
	Password *string         `json:"password,omitempty"`
	Folder   *string         `json:"folder,omitempty"`
	Before   *int64          `json:"before,omitempty"`
	Limit    *int            `json:"limit,omitempty"`
	ID       *int64          `json:"id,omitempty"`
	Seen     *bool           `json:"seen,omitempty"`
	// To is rename_folder's new name.
	To *string `json:"to,omitempty"`
	// Add and Remove are flags' flag names (Meta.Flags).
	Add    []string `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
	// Query is search's query text.
	Query *string `json:"query,omitempty"`
	// Raw is append's message (base64 on the wire, as fetch's raw).
	Raw []byte `json:"raw,omitzero"`
	// Flags are append's flag names (as Add).
	Flags []string `json:"flags,omitempty"`
}

// Error is the error object of a failed response.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Account is the account object of a login response.
type Account struct {
	ID      int64  `json:"id"`
	Address string `json:"address"`
}

// Meta is a mailbox entry's metadata on the wire.
type Meta struct {
	ID      int64    `json:"id"`
	Folder  string   `json:"folder"`
	From    string   `json:"from"`
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	Preview string   `json:"preview"`
	Date    string   `json:"date"` // RFC 3339 with offset
	Size    int64    `json:"size"`
	Seen    bool     `json:"seen"`
	// Flags names the entry's flags: "seen", "answered", "flagged",
	// "deleted", "draft" (mail.Flags.Names). Never null.
	Flags []string `json:"flags"`
}

// Folder is one folder of a folders response.
type Folder struct {
	Name string `json:"name"`
	// Special is "inbox", "sent", "drafts" or "trash"; absent for the
	// user's own folders.
	Special string `json:"special,omitempty"`
	Total   int    `json:"total"`
	Unseen  int    `json:"unseen"`
}

// Message is Meta plus the base64 raw bytes (fetch). An append answers one
// with a nil Raw, which is left out: fetch's raw is never nil ("" for an
// empty message).
type Message struct {
	Meta
	Raw []byte `json:"raw,omitzero"` // encoding/json writes []byte as base64
}

// Response is every response shape in one struct. Messages uses omitzero,
// not omitempty, so that an empty page is written as "messages":[].
type Response struct {
	Tag      json.RawMessage `json:"tag,omitempty"`
	OK       bool            `json:"ok"`
	Error    *Error          `json:"error,omitempty"`
	Account  *Account        `json:"account,omitempty"`
	Messages []Meta          `json:"messages,omitzero"`
	Message  *Message        `json:"message,omitempty"`
	Total    *int            `json:"total,omitempty"`
	Unseen   *int            `json:"unseen,omitempty"`
	Folders  []Folder        `json:"folders,omitzero"`
	// ID is the entry a move made.
	ID *int64 `json:"id,omitempty"`
	// Flags are an entry's flags after a flags request.
	Flags []string `json:"flags,omitzero"`
}

// Event is a server-pushed line: no tag, no ok. A message event has
// Message; removed has ID and Folder; flags has ID, Folder, Flags (never
// null) and Seen.
type Event struct {
	Event   string   `json:"event"`
	Message *Meta    `json:"message,omitempty"`
	ID      *int64   `json:"id,omitempty"`
	Folder  string   `json:"folder,omitempty"`
	Flags   []string `json:"flags,omitzero"`
	Seen    *bool    `json:"seen,omitempty"`
}

// MetaFrom converts a domain Meta to its wire form.
func MetaFrom(m mail.Meta) Meta {
	to := m.To
	if to == nil {
		to = []string{}
	}
	flags := m.Flags
	if m.Seen {
		flags |= mail.FlagSeen
	}
	return Meta{
		ID: int64(m.ID), Folder: string(m.Folder), From: m.From, To: to,
		Subject: m.Subject, Preview: m.Preview, Date: m.Date.Format(time.RFC3339), Size: m.Size, Seen: m.Seen,
		Flags: flags.Names(),
	}
}

// ToDomain converts a wire Meta back (the owner, the UID and the
// Message-ID are not on the wire). Flag names it does not know are skipped:
// a newer server may have more.
func (m Meta) ToDomain() (mail.Meta, error) {
	d, err := time.Parse(time.RFC3339, m.Date)
	if err != nil {
		return mail.Meta{}, err
	}
	flags := FlagsOf(m.Flags)
	if m.Seen {
		flags |= mail.FlagSeen
	}
	return mail.Meta{
		ID: mail.EntryID(m.ID), Folder: mail.Folder(m.Folder), From: m.From, To: m.To,
		Subject: m.Subject, Preview: m.Preview, Date: d, Size: m.Size, Seen: m.Seen, Flags: flags,
	}, nil
}

// FlagsOf reads flag names, skipping those it does not know.
func FlagsOf(names []string) mail.Flags {
	var f mail.Flags
	for _, n := range names {
		if one, err := mail.ParseFlags([]string{n}); err == nil {
			f |= one
		}
	}
	return f
}
