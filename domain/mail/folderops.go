package mail

import (
	"context"
	"fmt"
	"time"

	"mailroom/domain/account"
)

// FolderStore is the folder side of Store. Each call is one unit of work
// and acts on owner's own folders and entries only: a folder owner lacks
// is ErrNotFound, and ids of other owners' entries are skipped (batch
// calls) or ErrNotFound.
type FolderStore interface {
	// Folders gives owner's folders, special ones first (inbox, sent,
	// drafts, trash), then by name.
	Folders(ctx context.Context, owner account.ID) ([]FolderInfo, error)
	// Folder gives one folder's status.
	Folder(ctx context.Context, owner account.ID, name Folder) (FolderInfo, error)
	// CreateFolder creates name and its missing Ancestors, each with a new
	// UIDValidity of at least now in seconds and above every one owner's
	// folders ever had. ErrFolderExists when name exists.
	CreateFolder(ctx context.Context, owner account.ID, name Folder, now time.Time) (FolderInfo, error)
	// RenameFolder renames from, and every folder Within it, keeping their
	// UIDValidity and entries. ErrNotFound when from is missing,
	// ErrFolderExists when to or a new child name is taken.
	RenameFolder(ctx context.Context, owner account.ID, from, to Folder) error
	// DeleteFolder removes a folder and its entries (each logged as an
	// expunge); messages no entry holds go too. Folders within it stay.
	DeleteFolder(ctx context.Context, owner account.ID, name Folder) error
	// UIDs gives every entry of a folder, ascending UID.
	UIDs(ctx context.Context, owner account.ID, folder Folder) ([]UIDEntry, error)
	// MetasByUID gives the entries of folder among uids, ascending UID.
	MetasByUID(ctx context.Context, owner account.ID, folder Folder, uids []uint32) ([]Meta, error)
	// SetFlags changes the flags of the entries ids (op with flags) and
	// gives their new flags, in the order of ids; missing ids are skipped.
	SetFlags(ctx context.Context, owner account.ID, ids []EntryID, op FlagOp, flags Flags) ([]UIDEntry, error)
	// Transfer copies the entries ids into folder to (each gets to's next
	// UID and a new EntryID, with its flags), and with move removes the
	// originals, all in one unit of work. It gives one Transfer per entry
	// found, in the order of ids.
	Transfer(ctx context.Context, owner account.ID, ids []EntryID, to Folder, move bool) ([]Transfer, error)
	// Append stores msg once and the entry e for it. With dedup and a
	// msg.MessageID that an entry of e.Folder already carries, it stores
	// nothing and gives that entry and true.
	Append(ctx context.Context, msg NewMessage, e NewEntry, dedup bool) (Meta, bool, error)
	// Expunge removes the entries of folder that have FlagDeleted, only
	// among uids when uids is not nil, and gives their UIDs ascending.
	Expunge(ctx context.Context, owner account.ID, folder Folder, uids []uint32) ([]uint32, error)
}

func (s *Service) parseFolder(f Folder) (Folder, error) { return ParseFolder(string(f)) }

// Folders gives owner's folders: special ones first, then by name.
func (s *Service) Folders(ctx context.Context, owner account.ID) ([]FolderInfo, error) {
	return s.store.Folders(ctx, owner)
}

// Folder gives one of owner's folders. Errors: ErrBadFolder, ErrNotFound.
func (s *Service) Folder(ctx context.Context, owner account.ID, name Folder) (FolderInfo, error) {
	name, err := s.parseFolder(name)
	if err != nil {
		return FolderInfo{}, err
	}
	return s.store.Folder(ctx, owner, name)
}

// CreateFolder creates a user folder, and its missing parents. Errors:
// ErrBadFolder; ErrFolderExists (a special name included).
func (s *Service) CreateFolder(ctx context.Context, owner account.ID, name Folder) (FolderInfo, error) {
	name, err := s.parseFolder(name)
	if err != nil {
		return FolderInfo{}, err
	}
	if name.Special() != SpecialNone {
		return FolderInfo{}, fmt.Errorf("%w: %q", ErrFolderExists, name)
	}
	return s.store.CreateFolder(ctx, owner, name, s.now())
}

// RenameFolder renames a user folder and the folders within it. Errors:
// ErrBadFolder (to within from, too); ErrSpecialFolder when from is
// special; ErrFolderExists when to is taken (a special name included);
// ErrNotFound when from is missing.
func (s *Service) RenameFolder(ctx context.Context, owner account.ID, from, to Folder) error {
	from, err := s.parseFolder(from)
	if err != nil {
		return err
	}
	if to, err = s.parseFolder(to); err != nil {
		return err
	}
	switch {
	case from.Special() != SpecialNone:
		return fmt.Errorf("%w: %q", ErrSpecialFolder, from)
	case to.Special() != SpecialNone || to == from:
		return fmt.Errorf("%w: %q", ErrFolderExists, to)
	case to.Within(from):
		return fmt.Errorf("%w: %q is within %q", ErrBadFolder, to, from)
	}
	return s.store.RenameFolder(ctx, owner, from, to)
}

// DeleteFolder deletes a user folder and its entries for good. Errors:
// ErrBadFolder, ErrSpecialFolder, ErrNotFound.
func (s *Service) DeleteFolder(ctx context.Context, owner account.ID, name Folder) error {
	name, err := s.parseFolder(name)
	if err != nil {
		return err
	}
	if name.Special() != SpecialNone {
		return fmt.Errorf("%w: %q", ErrSpecialFolder, name)
	}
	return s.store.DeleteFolder(ctx, owner, name)
}

// UIDs gives a folder's entries, ascending UID. Errors: ErrBadFolder,
// ErrNotFound.
func (s *Service) UIDs(ctx context.Context, owner account.ID, folder Folder) ([]UIDEntry, error) {
	folder, err := s.parseFolder(folder)
	if err != nil {
		return nil, err
	}
	return s.store.UIDs(ctx, owner, folder)
}

// MetasByUID gives the entries of folder among uids, ascending UID.
// Errors: ErrBadFolder, ErrNotFound (the folder).
func (s *Service) MetasByUID(ctx context.Context, owner account.ID, folder Folder, uids []uint32) ([]Meta, error) {
	folder, err := s.parseFolder(folder)
	if err != nil {
		return nil, err
	}
	if len(uids) == 0 {
		return nil, nil
	}
	return s.store.MetasByUID(ctx, owner, folder, uids)
}

func checkFlags(op FlagOp, flags Flags) error {
	if op > FlagsRemove || flags&^AllFlags != 0 {
		return fmt.Errorf("%w: op %d, flags %#x", ErrBadFlags, op, uint8(flags))
	}
	return nil
}

// SetFlags changes one entry's flags and gives the new ones. Errors:
// ErrBadFlags, ErrNotFound.
func (s *Service) SetFlags(ctx context.Context, owner account.ID, id EntryID, op FlagOp, flags Flags) (Flags, error) {
	got, err := s.StoreFlags(ctx, owner, []EntryID{id}, op, flags)
	if err != nil {
		return 0, err
	}
	if len(got) == 0 {
		return 0, fmt.Errorf("%w: entry %d", ErrNotFound, id)
	}
	return got[0].Flags, nil
}

// StoreFlags changes the flags of many entries, in one unit of work, and
// gives their new flags in the order of ids; ids owner lacks are skipped.
// Errors: ErrBadFlags.
func (s *Service) StoreFlags(ctx context.Context, owner account.ID, ids []EntryID, op FlagOp, flags Flags) ([]UIDEntry, error) {
	if err := checkFlags(op, flags); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return s.store.SetFlags(ctx, owner, ids, op, flags)
}

// Move moves one entry to folder to and gives it there (a new ID and UID).
// Errors: ErrBadFolder, ErrNotFound (the entry or the folder).
func (s *Service) Move(ctx context.Context, owner account.ID, id EntryID, to Folder) (Meta, error) {
	return s.transferOne(ctx, owner, id, to, true)
}

// Copy copies one entry to folder to and gives the copy. Errors as Move.
func (s *Service) Copy(ctx context.Context, owner account.ID, id EntryID, to Folder) (Meta, error) {
	return s.transferOne(ctx, owner, id, to, false)
}

func (s *Service) transferOne(ctx context.Context, owner account.ID, id EntryID, to Folder, move bool) (Meta, error) {
	ts, err := s.transfer(ctx, owner, []EntryID{id}, to, move)
	if err != nil {
		return Meta{}, err
	}
	if len(ts) == 0 {
		return Meta{}, fmt.Errorf("%w: entry %d", ErrNotFound, id)
	}
	return ts[0].To, nil
}

// MoveEntries moves entries to folder to in one unit of work; ids owner
// lacks are skipped. Errors: ErrBadFolder, ErrNotFound (the folder).
func (s *Service) MoveEntries(ctx context.Context, owner account.ID, ids []EntryID, to Folder) ([]Transfer, error) {
	return s.transfer(ctx, owner, ids, to, true)
}

// CopyEntries is MoveEntries that keeps the originals.
func (s *Service) CopyEntries(ctx context.Context, owner account.ID, ids []EntryID, to Folder) ([]Transfer, error) {
	return s.transfer(ctx, owner, ids, to, false)
}

func (s *Service) transfer(ctx context.Context, owner account.ID, ids []EntryID, to Folder, move bool) ([]Transfer, error) {
	to, err := s.parseFolder(to)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	ts, err := s.store.Transfer(ctx, owner, ids, to, move)
	if err != nil {
		return nil, err
	}
	if s.notifier != nil && len(ts) > 0 {
		metas := make([]Meta, len(ts))
		for i, t := range ts {
			metas[i] = t.To
		}
		s.notifier.Notify(metas)
	}
	return ts, nil
}

// Append stores raw in owner's folder with flags, received at date (now
// when zero), as IMAP APPEND does. Appending to Sent a message whose
// Message-ID an entry of Sent already has stores nothing and gives that
// entry with existed true: a mail program saving a copy of what it sent
// through Mailroom, which filed it in Sent already. Errors: ErrTooLarge,
// ErrBadFolder, ErrBadFlags, ErrNotFound (the folder).
func (s *Service) Append(ctx context.Context, owner account.ID, folder Folder, raw []byte, flags Flags, date time.Time) (meta Meta, existed bool, err error) {
	if int64(len(raw)) > s.cfg.MaxMessageBytes {
		return Meta{}, false, ErrTooLarge
	}
	if folder, err = s.parseFolder(folder); err != nil {
		return Meta{}, false, err
	}
	if err := checkFlags(FlagsSet, flags); err != nil {
		return Meta{}, false, err
	}
	if date.IsZero() {
		date = s.now()
	}
	p := ParseMessage(raw)
	hdr := p.Header
	doc := p.SearchDoc(hdr.From)
	msg := NewMessage{Raw: raw, From: hdr.From, Subject: hdr.Subject, Preview: p.Preview,
		Received: date.UTC(), MessageID: hdr.MessageID, Search: &doc}
	e := NewEntry{Owner: owner, Folder: folder, To: hdr.To, Flags: flags, Seen: flags.Has(FlagSeen)}
	if e.To == nil {
		e.To = []string{}
	}
	if len(e.To) > MaxToAddresses {
		e.To = e.To[:MaxToAddresses]
	}
	dedup := folder == Sent && hdr.MessageID != ""
	meta, existed, err = s.store.Append(ctx, msg, e, dedup)
	if err != nil {
		return Meta{}, false, err
	}
	if !existed && s.notifier != nil {
		s.notifier.Notify([]Meta{meta})
	}
	return meta, existed, nil
}

// Expunge removes the entries of folder flagged FlagDeleted (only among
// uids when uids is not nil) for good, and gives their UIDs ascending.
// Errors: ErrBadFolder, ErrNotFound (the folder).
func (s *Service) Expunge(ctx context.Context, owner account.ID, folder Folder, uids []uint32) ([]uint32, error) {
	folder, err := s.parseFolder(folder)
	if err != nil {
		return nil, err
	}
	if uids != nil && len(uids) == 0 {
		return nil, nil
	}
	return s.store.Expunge(ctx, owner, folder, uids)
}
