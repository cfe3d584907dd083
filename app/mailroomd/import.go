package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"time"

	"mailroom/adapters/mbox"
	mailpkg "mailroom/domain/mail"
)

// importStats counts what an import did.
type importStats struct {
	added, skipped, tooLarge int
}

// importMail adds the messages of an mbox file or a Maildir to a user's
// folder, skipping every Message-ID the folder already holds (or that came
// earlier in the same input), so that a second run adds nothing. It exits
// 1 when a message was too large to store (the others are stored).
func (c *cli) importMail(ctx context.Context, cfg config, opts cmdFlags, src string) int {
	fi, err := os.Stat(src)
	if err != nil {
		return c.fail(fmt.Errorf("import: %w", err))
	}
	mc, err := c.openMailCommand(ctx, cfg, opts, "import")
	if err != nil {
		return c.fail(err)
	}
	defer mc.st.Close()
	have, err := mc.messageIDs(ctx)
	if err != nil {
		return c.fail(fmt.Errorf("import: %w", err))
	}
	var st importStats
	add := func(name string, m mbox.Message, err error) error {
		if errors.Is(err, mbox.ErrTooLarge) {
			st.tooLarge++
			c.warn(fmt.Sprintf("import: %s: %v (--max-message is %s)", name, err, formatSize(cfg.MaxMessage)))
			return nil
		}
		if err != nil {
			return err
		}
		return mc.importOne(ctx, name, m, have, &st, c.warn)
	}
	if fi.IsDir() {
		err = mbox.ReadMaildir(src, cfg.MaxMessage, add)
	} else {
		err = readMboxFile(src, int(cfg.MaxMessage), add)
	}
	if err != nil {
		return c.fail(fmt.Errorf("import %s: %w (%d messages added before it; running the import again skips them)", src, err, st.added))
	}
	fmt.Fprintf(c.stdout, "imported %d messages into %s/%s; skipped %d whose Message-ID was there already; %d too large\n",
		st.added, mc.owner.Username, mc.folder, st.skipped, st.tooLarge)
	if st.tooLarge > 0 {
		return exitError
	}
	return exitOK
}

// importOne appends one message unless its Message-ID is in have.
func (mc *mailCommand) importOne(ctx context.Context, name string, m mbox.Message, have map[string]bool, st *importStats, warn func(string)) error {
	id := mailpkg.ParseHeader(m.Raw).MessageID
	if id != "" && have[id] {
		st.skipped++
		return nil
	}
	var flags mailpkg.Flags
	if m.Seen {
		flags = mailpkg.FlagSeen
	}
	_, existed, err := mc.mb.Append(ctx, mc.owner.ID, mc.folder, m.Raw, flags, receivedAt(m))
	if errors.Is(err, mailpkg.ErrTooLarge) {
		st.tooLarge++
		warn(fmt.Sprintf("import: %s: message too large (%d bytes)", name, len(m.Raw)))
		return nil
	}
	if err != nil {
		return err
	}
	if id != "" {
		have[id] = true
	}
	if existed {
		st.skipped++
	} else {
		st.added++
	}
	return nil
}

// readMboxFile calls add with each message of the mbox file at path, named
// path#N. A message over max stops the reading: the rest of the file
// cannot be told apart from it.
func readMboxFile(path string, max int, add func(string, mbox.Message, error) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := mbox.NewReader(f, max)
	for n := 1; ; n++ {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("message %d: %w", n, err)
		}
		if err := add(fmt.Sprintf("%s#%d", path, n), m, nil); err != nil {
			return err
		}
	}
}

// receivedAt is when an imported message was received: the mbox From
// line's or the Maildir file's time, else its Date header, else zero
// (Append then takes now).
func receivedAt(m mbox.Message) time.Time {
	if m.Date.Unix() > 0 {
		return m.Date
	}
	if msg, err := mail.ReadMessage(bytes.NewReader(m.Raw)); err == nil {
		if d, err := msg.Header.Date(); err == nil {
			return d
		}
	}
	return time.Time{}
}
