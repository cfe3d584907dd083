package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"

	"mailroom/adapters/mbox"
	"mailroom/domain/account"
	mailpkg "mailroom/domain/mail"
)

// exportPage is how many entries one List call of export reads.
const exportPage = 500

// mailCommand is an open store with the services export and import use,
// and the user and folder they act on.
type mailCommand struct {
	st     store
	acc    *account.Service
	mb     *mailpkg.Service
	owner  account.Account
	folder mailpkg.Folder
}

// openMailCommand opens the store and resolves --user and --folder.
func (c *cli) openMailCommand(ctx context.Context, cfg config, opts cmdFlags, cmd string) (*mailCommand, error) {
	if opts.User == "" {
		return nil, usagef("%s wants --user NAME", cmd)
	}
	folder := mailpkg.Inbox
	if opts.Folder != "" {
		f, err := mailpkg.ParseFolder(opts.Folder)
		if err != nil {
			return nil, usagef("%s: --folder %q: %v", cmd, opts.Folder, err)
		}
		folder = f
	}
	st, err := c.openForCommand(ctx, cfg)
	if err != nil {
		return nil, err
	}
	acc := account.NewService(st, newHasher(cfg), account.Config{Domain: cfg.Domain}, nil)
	// No notifier: a daemon running on this database sees new entries by
	// polling it, as it sees those of another process.
	mb := mailpkg.NewService(st, acc, nil, mailpkg.Config{MaxMessageBytes: cfg.MaxMessage}, nil)
	owner, err := acc.Lookup(ctx, stripDomain(opts.User, cfg.Domain))
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("%s: user %q: %w", cmd, opts.User, err)
	}
	if _, err := mb.Folder(ctx, owner.ID, folder); err != nil {
		st.Close()
		return nil, fmt.Errorf("%s: folder %q of %s: %w", cmd, folder, opts.User, err)
	}
	return &mailCommand{st: st, acc: acc, mb: mb, owner: owner, folder: folder}, nil
}

// export writes one folder of a user as mboxrd, oldest first.
func (c *cli) export(ctx context.Context, cfg config, opts cmdFlags) int {
	mc, err := c.openMailCommand(ctx, cfg, opts, "export")
	if err != nil {
		return c.fail(err)
	}
	defer mc.st.Close()
	out, closeOut, err := c.exportTarget(opts.Out)
	if err != nil {
		return c.fail(err)
	}
	n, err := mc.writeMbox(ctx, out)
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil {
		if opts.Out != "" {
			os.Remove(opts.Out) // half a file is no export
		}
		return c.fail(fmt.Errorf("export: %w", err))
	}
	fmt.Fprintf(c.stderr, "mailroomd: exported %d messages of %s/%s\n", n, mc.owner.Username, mc.folder)
	return exitOK
}

// exportTarget is stdout, or a new private file: an export holds a
// user's mail, and an old file is never overwritten.
func (c *cli) exportTarget(path string) (io.Writer, func() error, error) {
	if path == "" {
		return c.stdout, func() error { return nil }, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, nil, fmt.Errorf("export: %s exists; give a new file", path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("export: %w", err)
	}
	return f, func() error {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}, nil
}

// writeMbox lists the folder newest first, page by page, then fetches and
// writes each entry oldest first.
func (mc *mailCommand) writeMbox(ctx context.Context, out io.Writer) (int, error) {
	var ids []mailpkg.EntryID
	var before mailpkg.EntryID
	for {
		page, err := mc.mb.List(ctx, mc.owner.ID, mc.folder, before, exportPage)
		if err != nil {
			return 0, err
		}
		for _, m := range page {
			ids = append(ids, m.ID)
		}
		if len(page) < exportPage {
			break
		}
		before = page[len(page)-1].ID
	}
	slices.Reverse(ids)
	w := mbox.NewWriter(out)
	for _, id := range ids {
		msg, err := mc.mb.Fetch(ctx, mc.owner.ID, id)
		if errors.Is(err, mailpkg.ErrNotFound) {
			continue // deleted since the list
		}
		if err != nil {
			return 0, err
		}
		if err := w.Write(mbox.Message{Sender: msg.From, Date: msg.Date, Raw: msg.Raw}); err != nil {
			return 0, err
		}
	}
	return len(ids), w.Flush()
}

// messageIDs gives the Message-IDs the folder holds.
func (mc *mailCommand) messageIDs(ctx context.Context) (map[string]bool, error) {
	have := map[string]bool{}
	var before mailpkg.EntryID
	for {
		page, err := mc.mb.List(ctx, mc.owner.ID, mc.folder, before, exportPage)
		if err != nil {
			return nil, err
		}
		for _, m := range page {
			if m.MessageID != "" {
				have[m.MessageID] = true
			}
		}
		if len(page) < exportPage {
			return have, nil
		}
		before = page[len(page)-1].ID
	}
}
