package client

import (
	"context"
	"fmt"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/mail"
	"mailroom/ports"
)

var _ ports.FolderSession = (*Session)(nil)

// Folders gives the user's folders, the special ones first, with their
// totals (UIDValidity and UIDNext are not on the inbox wire: 0).
func (s *Session) Folders(ctx context.Context) ([]mail.FolderInfo, error) {
	resp, err := s.do(ctx, inboxwire.Request{Op: inboxwire.OpFolders})
	if err != nil {
		return nil, err
	}
	out := make([]mail.FolderInfo, len(resp.Folders))
	for i, f := range resp.Folders {
		out[i] = mail.FolderInfo{Name: mail.Folder(f.Name), Special: mail.SpecialUse(f.Special), Total: f.Total, Unseen: f.Unseen}
	}
	return out, nil
}

// CreateFolder creates a folder (and the levels above it that are
// missing): mail.ErrFolderExists when the name is taken.
func (s *Session) CreateFolder(ctx context.Context, name mail.Folder) error {
	n := string(name)
	_, err := s.do(ctx, inboxwire.Request{Op: inboxwire.OpCreateFolder, Folder: &n})
	return err
}

// RenameFolder renames a folder and the folders inside it.
func (s *Session) RenameFolder(ctx context.Context, from, to mail.Folder) error {
	f, t := string(from), string(to)
	_, err := s.do(ctx, inboxwire.Request{Op: inboxwire.OpRenameFolder, Folder: &f, To: &t})
	return err
}

// DeleteFolder deletes a folder and the messages in it, for good.
func (s *Session) DeleteFolder(ctx context.Context, name mail.Folder) error {
	n := string(name)
	_, err := s.do(ctx, inboxwire.Request{Op: inboxwire.OpDeleteFolder, Folder: &n})
	return err
}

// Move moves an entry to folder to and gives its new id. If the connection
// drops after the server moved it but before it answered, the transparent
// retry reports mail.ErrNotFound.
func (s *Session) Move(ctx context.Context, id mail.EntryID, to mail.Folder) (mail.EntryID, error) {
	n, f := int64(id), string(to)
	resp, err := s.do(ctx, inboxwire.Request{Op: inboxwire.OpMove, ID: &n, Folder: &f})
	if err != nil {
		return 0, err
	}
	if resp.ID == nil {
		return 0, fmt.Errorf("client: move: no id in the response")
	}
	return mail.EntryID(*resp.ID), nil
}

// SetFlags adds, then removes, flags of an entry and gives the flags it
// ends with.
func (s *Session) SetFlags(ctx context.Context, id mail.EntryID, add, remove mail.Flags) (mail.Flags, error) {
	n := int64(id)
	req := inboxwire.Request{Op: inboxwire.OpFlags, ID: &n}
	if add != 0 {
		req.Add = add.Names()
	}
	if remove != 0 {
		req.Remove = remove.Names()
	}
	resp, err := s.do(ctx, req)
	if err != nil {
		return 0, err
	}
	return inboxwire.FlagsOf(resp.Flags), nil
}
