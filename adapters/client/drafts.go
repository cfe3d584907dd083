package client

import (
	"context"
	"fmt"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/mail"
	"mailroom/ports"
)

var _ ports.DraftSession = (*Session)(nil)

// Append stores raw, a whole RFC 5322 message, as a new entry of folder
// with flags (the inbox protocol's append op) and gives the entry. A
// folder the user lacks is mail.ErrNoSuchFolder; raw over the SIZE the
// server advertised at login is mail.ErrTooLarge without a request (and
// over the server's limit otherwise, from its too_large). If the
// connection drops after the server stored the message but before it
// answered, the transparent retry stores it again: a draft saver that
// replaces its previous draft by id should expect a spare copy then.
func (s *Session) Append(ctx context.Context, folder mail.Folder, raw []byte, flags mail.Flags) (mail.Meta, error) {
	if s.maxMessage > 0 && int64(len(raw)) > s.maxMessage {
		return mail.Meta{}, fmt.Errorf("client: append: %w: %d bytes, the server takes at most %d",
			mail.ErrTooLarge, len(raw), s.maxMessage)
	}
	f := string(folder)
	req := inboxwire.Request{Op: inboxwire.OpAppend, Folder: &f, Raw: raw}
	if raw == nil {
		req.Raw = []byte{} // an empty message, not a missing one
	}
	if flags != 0 {
		req.Flags = flags.Names()
	}
	resp, err := s.do(ctx, req)
	if err != nil {
		return mail.Meta{}, err
	}
	if resp.Message == nil {
		return mail.Meta{}, fmt.Errorf("client: append: no message in the response")
	}
	return s.meta(resp.Message.Meta)
}
