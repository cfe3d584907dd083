package postgres

import (
	"context"
	"errors"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// Placeholders until the folder store lands (issue 12): they keep the
// package building against the new mail.Store.

var errFoldersPending = errors.New("postgres: folders not implemented yet")

func (s *Store) Folders(context.Context, account.ID) ([]mail.FolderInfo, error) {
	return nil, errFoldersPending
}
func (s *Store) Folder(context.Context, account.ID, mail.Folder) (mail.FolderInfo, error) {
	return mail.FolderInfo{}, errFoldersPending
}
func (s *Store) CreateFolder(context.Context, account.ID, mail.Folder, time.Time) (mail.FolderInfo, error) {
	return mail.FolderInfo{}, errFoldersPending
}
func (s *Store) RenameFolder(context.Context, account.ID, mail.Folder, mail.Folder) error {
	return errFoldersPending
}
func (s *Store) DeleteFolder(context.Context, account.ID, mail.Folder) error {
	return errFoldersPending
}
func (s *Store) UIDs(context.Context, account.ID, mail.Folder) ([]mail.UIDEntry, error) {
	return nil, errFoldersPending
}
func (s *Store) MetasByUID(context.Context, account.ID, mail.Folder, []uint32) ([]mail.Meta, error) {
	return nil, errFoldersPending
}
func (s *Store) SetFlags(context.Context, account.ID, []mail.EntryID, mail.FlagOp, mail.Flags) ([]mail.UIDEntry, error) {
	return nil, errFoldersPending
}
func (s *Store) Transfer(context.Context, account.ID, []mail.EntryID, mail.Folder, bool) ([]mail.Transfer, error) {
	return nil, errFoldersPending
}
func (s *Store) Append(context.Context, mail.NewMessage, mail.NewEntry, bool) (mail.Meta, bool, error) {
	return mail.Meta{}, false, errFoldersPending
}
func (s *Store) Expunge(context.Context, account.ID, mail.Folder, []uint32) ([]uint32, error) {
	return nil, errFoldersPending
}

// SubscribeChanges is a placeholder: a closed channel.
func (f *Feed) SubscribeChanges(context.Context, Interest) <-chan mail.Change {
	ch := make(chan mail.Change)
	close(ch)
	return ch
}
