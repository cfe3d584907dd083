package mail

// Folders (issue 12). This comment is the API the IMAP server, the inbox
// server and the stores build on.
//
// Model
//
//   - Folder is a folder's NAME in UTF-8 ("/" separates levels). IMAP's
//     modified UTF-7 exists only on the IMAP wire. ParseFolder validates
//     and normalises (ErrBadFolder).
//   - Every account has the special folders Inbox ("inbox"), Sent ("sent"),
//     Drafts ("drafts") and Trash ("trash"): the store creates them with
//     the account, migrations created them for older accounts, and they
//     can be neither renamed nor deleted (ErrSpecialFolder). Their names
//     match in any case ("INBOX" is inbox), and so does the first level of
//     a name below them ("Sent/2024" is "sent/2024"). Folder.Special gives
//     the RFC 6154 use.
//   - FolderInfo{Name, Special, UIDValidity, UIDNext, Total, Unseen}.
//   - Flags is a bit set: FlagSeen, FlagAnswered, FlagFlagged, FlagDeleted,
//     FlagDraft (AllFlags; IMAP PERMANENTFLAGS are exactly these). Meta
//     carries Flags, UID (its UID in its folder) and MessageID (the
//     Message-ID header with its angle brackets, "" if none); Meta.Seen
//     stays and always equals Flags.Has(FlagSeen).
//   - UIDs (RFC 9051 §2.3.1.1): an entry that enters a folder (delivery,
//     Append, Move, Copy) gets the folder's UIDNext, which then grows by
//     one; UIDs are never reused in a folder. UIDVALIDITY is set when the
//     folder is created, from the time in seconds but above every value
//     the owner's folders ever had, so it is unique per owner; it never
//     changes while the folder exists, RenameFolder keeps it (with its
//     UIDs, as RFC 9051 §6.3.6 allows), and a folder deleted and created
//     again gets a new, greater one.
//   - EntryIDs stay global and growing. Move gives the entry a new EntryID
//     and a new UID in the destination and removes the old one, in one unit
//     of work; Copy adds an entry that shares the stored message bytes.
//     Flags travel with a moved or copied entry.
//
// Service (every call is one store unit of work and acts on owner's own
// folders and entries only: anything else is ErrNotFound, another owner's
// folder names never resolve; a missing folder is ErrNoSuchFolder, which
// is also ErrNotFound)
//
//	Folders(ctx, owner) ([]FolderInfo, error)            special first (inbox, sent, drafts, trash), then by name
//	Folder(ctx, owner, name) (FolderInfo, error)         one folder's status (IMAP STATUS/SELECT)
//	CreateFolder(ctx, owner, name) (FolderInfo, error)   creates missing parents too; ErrFolderExists, ErrBadFolder
//	RenameFolder(ctx, owner, from, to) error             children follow ("a/x" → "b/x"); ErrNotFound, ErrFolderExists, ErrBadFolder, ErrSpecialFolder
//	DeleteFolder(ctx, owner, name) error                 its entries go too (children stay); ErrNotFound, ErrSpecialFolder
//	List(ctx, owner, folder, before, limit) ([]Meta, error)   any folder, newest first; ErrNotFound for a folder owner lacks
//	Count(ctx, owner, folder) (total, unseen int, err error)  any folder; ErrNotFound likewise
//	UIDs(ctx, owner, folder) ([]UIDEntry, error)         every entry as {UID, ID, Flags}, ascending UID (one index range scan)
//	MetasByUID(ctx, owner, folder, uids) ([]Meta, error) the entries among uids, ascending UID; missing UIDs are skipped
//	Fetch(ctx, owner, id) (Message, error)               as before
//	SetFlags(ctx, owner, id, op, flags) (Flags, error)   op FlagsSet/FlagsAdd/FlagsRemove; gives the new flags
//	StoreFlags(ctx, owner, ids, op, flags) ([]UIDEntry, error)  the same for many entries (IMAP STORE), missing ids skipped
//	SetSeen(ctx, owner, id, seen) error                  as before
//	Move(ctx, owner, id, to) (Meta, error)               the entry in its new folder (new ID, new UID)
//	Copy(ctx, owner, id, to) (Meta, error)
//	MoveEntries / CopyEntries(ctx, owner, ids, to) ([]Transfer, error)  batch forms for IMAP MOVE/COPY (COPYUID from Transfer)
//	Append(ctx, owner, folder, raw, flags, date) (Meta, bool, error)    ErrTooLarge; to Sent with a Message-ID already there: nothing stored, the existing entry and true
//	Expunge(ctx, owner, folder, uids) ([]uint32, error)  removes the entries with FlagDeleted (only among uids when uids is not nil); gives the UIDs removed
//	Delete(ctx, owner, id) error                         permanent, as before
//
// Changes
//
// The stores keep a change log written in the same transaction as the
// change: one row per new entry, flag change and removed entry. Their
// feeds stream it as Change{Seq, Kind, UIDValidity, Meta} in Seq order
// (SubscribeChanges(ctx, interest) <-chan Change on adapters/sqlite.Feed
// and adapters/postgres.Feed). Meta is filled completely for ChangeNew
// (unless the entry was already gone when the feed read it); for
// ChangeFlags and ChangeExpunge it holds Owner, Folder, UID, ID and Flags.
// Folder is the folder's name when the change was made; UIDValidity tells
// a folder deleted and created again under the same name apart. The old
// Subscribe/SubscribeInterest streams of new entries stay as they were (a
// moved or copied entry is a new entry there too).

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Folder is a folder's name, in UTF-8 (see ParseFolder).
type Folder string

// The special folders every account has.
const (
	Inbox  Folder = "inbox"
	Sent   Folder = "sent"
	Drafts Folder = "drafts"
	Trash  Folder = "trash"
)

// FolderDelimiter separates the levels of a folder name.
const FolderDelimiter = "/"

// MaxFolderBytes bounds a folder name.
const MaxFolderBytes = 255

// SpecialFolders gives the special folders in their listing order.
func SpecialFolders() []Folder { return []Folder{Inbox, Sent, Drafts, Trash} }

// SpecialUse is a folder's RFC 6154 role; "" for a user folder.
type SpecialUse string

// The special uses (IMAP: INBOX, \Sent, \Drafts, \Trash).
const (
	SpecialNone   SpecialUse = ""
	SpecialInbox  SpecialUse = "inbox"
	SpecialSent   SpecialUse = "sent"
	SpecialDrafts SpecialUse = "drafts"
	SpecialTrash  SpecialUse = "trash"
)

// Special gives f's special use, SpecialNone for a user folder (children
// of a special folder included).
func (f Folder) Special() SpecialUse {
	switch f {
	case Inbox, Sent, Drafts, Trash:
		return SpecialUse(f)
	}
	return SpecialNone
}

// Ancestors gives the names above f, top first: "a/b/c" gives "a", "a/b".
func (f Folder) Ancestors() []Folder {
	var out []Folder
	s := string(f)
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			out = append(out, Folder(s[:i]))
		}
	}
	return out
}

// Within reports whether f is parent or below it ("a/x" is within "a",
// "ab" is not).
func (f Folder) Within(parent Folder) bool {
	return f == parent || strings.HasPrefix(string(f), string(parent)+FolderDelimiter)
}

// ParseFolder validates a folder name and normalises it: a special name in
// any case becomes the special folder ("INBOX" is Inbox), and so does the
// first level of a longer name ("Sent/2024" is "sent/2024"). A name is 1
// to MaxFolderBytes bytes of UTF-8 without control characters or the IMAP
// wildcards "*" and "%", with no empty level ("/a", "a/", "a//b").
// Anything else is ErrBadFolder (wrapped).
func ParseFolder(s string) (Folder, error) {
	bad := func(why string) (Folder, error) {
		return "", fmt.Errorf("%w: %q: %s", ErrBadFolder, s, why)
	}
	if s == "" || len(s) > MaxFolderBytes {
		return bad(fmt.Sprintf("must be 1 to %d bytes", MaxFolderBytes))
	}
	if !utf8.ValidString(s) {
		return bad("not UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '*' || r == '%' {
			return bad("control character or wildcard")
		}
	}
	levels := strings.Split(s, FolderDelimiter)
	for _, l := range levels {
		if l == "" {
			return bad("empty level")
		}
	}
	for _, sp := range SpecialFolders() {
		if strings.EqualFold(levels[0], string(sp)) {
			levels[0] = string(sp)
		}
	}
	return Folder(strings.Join(levels, FolderDelimiter)), nil
}

// FolderInfo is a folder's status.
type FolderInfo struct {
	Name    Folder
	Special SpecialUse
	// UIDValidity is fixed at creation (see the package's folder notes).
	UIDValidity uint32
	// UIDNext is the UID the next entry to enter the folder gets.
	UIDNext uint32
	Total   int
	Unseen  int
}

// Flags is a set of message flags; the values are stored, never change them.
type Flags uint8

// The flags (IMAP \Seen, \Answered, \Flagged, \Deleted, \Draft).
const (
	FlagSeen Flags = 1 << iota
	FlagAnswered
	FlagFlagged
	FlagDeleted
	FlagDraft

	AllFlags = FlagSeen | FlagAnswered | FlagFlagged | FlagDeleted | FlagDraft
)

var flagNames = []struct {
	f    Flags
	name string
}{{FlagSeen, "seen"}, {FlagAnswered, "answered"}, {FlagFlagged, "flagged"}, {FlagDeleted, "deleted"}, {FlagDraft, "draft"}}

// Has reports whether every flag of x is set in f.
func (f Flags) Has(x Flags) bool { return f&x == x }

// Names gives f's flags as lower-case names ("seen", "answered",
// "flagged", "deleted", "draft"), in that order: the inbox protocol's
// spelling. Never nil.
func (f Flags) Names() []string {
	out := []string{}
	for _, n := range flagNames {
		if f&n.f != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// ParseFlags reads flag names as Names writes them, in any case, with or
// without IMAP's leading backslash. An unknown name is ErrBadFlags.
func ParseFlags(names []string) (Flags, error) {
	var f Flags
next:
	for _, s := range names {
		t := strings.TrimPrefix(s, `\`)
		for _, n := range flagNames {
			if strings.EqualFold(t, n.name) {
				f |= n.f
				continue next
			}
		}
		return 0, fmt.Errorf("%w: %q", ErrBadFlags, s)
	}
	return f, nil
}

// FlagOp says how SetFlags combines flags with an entry's.
type FlagOp uint8

// The flag operations (IMAP STORE FLAGS, +FLAGS, -FLAGS).
const (
	FlagsSet FlagOp = iota
	FlagsAdd
	FlagsRemove
)

// Apply gives old changed by op with f.
func (op FlagOp) Apply(old, f Flags) Flags {
	switch op {
	case FlagsAdd:
		return old | f
	case FlagsRemove:
		return old &^ f
	}
	return f
}

// UIDEntry is one entry of a folder as an IMAP session maps it.
type UIDEntry struct {
	UID   uint32
	ID    EntryID
	Flags Flags
}

// Transfer is one entry moved or copied: where it came from, and the entry
// in its destination.
type Transfer struct {
	From    EntryID
	FromUID uint32
	To      Meta
}

// ChangeKind is what a Change records.
type ChangeKind uint8

// The change kinds.
const (
	ChangeNew     ChangeKind = 1 // an entry entered a folder
	ChangeFlags   ChangeKind = 2 // an entry's flags changed
	ChangeExpunge ChangeKind = 3 // an entry left its folder (deleted, expunged, moved away)
)

func (k ChangeKind) String() string {
	switch k {
	case ChangeNew:
		return "new"
	case ChangeFlags:
		return "flags"
	case ChangeExpunge:
		return "expunge"
	}
	return fmt.Sprintf("ChangeKind(%d)", uint8(k))
}

// Change is one row of a store's change log (see the folder notes above).
type Change struct {
	// Seq grows with every change committed, across owners.
	Seq         int64
	Kind        ChangeKind
	UIDValidity uint32
	Meta        Meta
}
