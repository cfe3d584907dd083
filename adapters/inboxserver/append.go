package inboxserver

// The append op (issue 14): a client saves a draft, or files any message,
// in one of the user's folders.

import (
	"fmt"
	"time"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/mail"
)

// append stores req.Raw in req.Folder with req.Flags and answers the new
// entry's meta (without raw) as resp.Message. A raw that is not base64 is
// refused by the decoder already (bad_request); one over the message size
// limit is too_large with the limit in its words, and the connection stays
// open: its line fitted (see Config.MaxLine).
func (c *conn) append(req inboxwire.Request, resp *inboxwire.Response) error {
	switch {
	case req.Folder == nil:
		return missing("folder")
	case req.Raw == nil:
		return missing("raw")
	}
	flags, err := mail.ParseFlags(req.Flags)
	if err != nil {
		return err
	}
	mb := c.s.mailboxes
	if limit := mb.MaxMessageBytes(); int64(len(req.Raw)) > limit {
		return fmt.Errorf("%w: %d bytes, the limit is %d", mail.ErrTooLarge, len(req.Raw), limit)
	}
	m, _, err := mb.Append(c.ctx, c.acc.ID, mail.Folder(*req.Folder), req.Raw, flags, time.Time{})
	if err != nil {
		return err
	}
	resp.Message = &inboxwire.Message{Meta: inboxwire.MetaFrom(m)}
	return nil
}
