package inboxserver

// The folder ops (issue 12): folders, create_folder, rename_folder,
// delete_folder, move and flags.

import (
	"mailroom/adapters/inboxwire"
	"mailroom/domain/mail"
)

// folderOp runs one of the folder ops, filling resp's result fields.
func (c *conn) folderOp(req inboxwire.Request, resp *inboxwire.Response) error {
	owner := c.acc.ID
	mb := c.s.mailboxes
	switch req.Op {
	case inboxwire.OpFolders:
		fs, err := mb.Folders(c.ctx, owner)
		if err != nil {
			return err
		}
		resp.Folders = make([]inboxwire.Folder, len(fs))
		for i, f := range fs {
			resp.Folders[i] = inboxwire.Folder{Name: string(f.Name), Special: string(f.Special), Total: f.Total, Unseen: f.Unseen}
		}
	case inboxwire.OpCreateFolder:
		if req.Folder == nil {
			return missing("folder")
		}
		_, err := mb.CreateFolder(c.ctx, owner, mail.Folder(*req.Folder))
		return err
	case inboxwire.OpRenameFolder:
		switch {
		case req.Folder == nil:
			return missing("folder")
		case req.To == nil:
			return missing("to")
		}
		return mb.RenameFolder(c.ctx, owner, mail.Folder(*req.Folder), mail.Folder(*req.To))
	case inboxwire.OpDeleteFolder:
		if req.Folder == nil {
			return missing("folder")
		}
		return mb.DeleteFolder(c.ctx, owner, mail.Folder(*req.Folder))
	case inboxwire.OpMove:
		switch {
		case req.ID == nil:
			return missing("id")
		case req.Folder == nil:
			return missing("folder")
		}
		m, err := mb.Move(c.ctx, owner, mail.EntryID(*req.ID), mail.Folder(*req.Folder))
		if err != nil {
			return err
		}
		id := int64(m.ID)
		resp.ID = &id
	case inboxwire.OpFlags:
		return c.flags(req, resp)
	}
	return nil
}

// flags adds, then removes, flags of one entry and answers the flags it
// ends with. Neither list given only reads them.
func (c *conn) flags(req inboxwire.Request, resp *inboxwire.Response) error {
	if req.ID == nil {
		return missing("id")
	}
	add, err := mail.ParseFlags(req.Add)
	if err != nil {
		return err
	}
	remove, err := mail.ParseFlags(req.Remove)
	if err != nil {
		return err
	}
	id := mail.EntryID(*req.ID)
	mb := c.s.mailboxes
	// Adding nothing is how a bare flags request reads the entry's flags:
	// it changes nothing and logs no change. A request that only removes
	// skips it (each call is a write of the store's).
	var got mail.Flags
	if add != 0 || remove == 0 {
		got, err = mb.SetFlags(c.ctx, c.acc.ID, id, mail.FlagsAdd, add)
	}
	if err == nil && remove != 0 {
		got, err = mb.SetFlags(c.ctx, c.acc.ID, id, mail.FlagsRemove, remove)
	}
	if err != nil {
		return err
	}
	resp.Flags = got.Names()
	return nil
}
