package mail

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"mailroom/domain/account"
)

// Envelope is one mail transaction's sender and recipients, each recipient
// resolved to its account once, when it is added (at RCPT time), so that
// DeliverEnvelope looks nothing up again. It holds the recipient rules in
// one place: no relay (only local accounts), duplicates collapse (by
// spelling without a lookup, and by account), and the cap
// (Config.MaxRecipients, at most MaxRecipients).
//
// An Envelope is not safe for concurrent use: the session that fills it
// serialises RCPT, DATA and RSET.
type Envelope struct {
	svc    *Service
	sender account.Account
	rcpts  []account.Account
	byID   map[account.ID]bool
	// byName remembers every name tried: its account, or that there is
	// none, so that repeats cost no lookup.
	byName map[account.Username]resolved
}

type resolved struct {
	acc   account.Account
	found bool
}

// NewEnvelope starts a transaction from sender, an authenticated account.
func (s *Service) NewEnvelope(sender account.Account) *Envelope {
	return &Envelope{
		svc:    s,
		sender: sender,
		byID:   map[account.ID]bool{},
		byName: map[account.Username]resolved{},
	}
}

// Add resolves rcpt (a bare name, name@domain or <name@domain>, in any
// case) and adds its account, unless the envelope holds it already; either
// way it returns the account. Each distinct name costs at most one lookup
// per envelope, found or not.
//
// Errors: ErrNoSuchRecipient (wrapped) when rcpt is no local account
// (malformed, another domain, unknown); ErrTooManyRecipients when a new
// account would pass the cap, or when more than twice the cap distinct
// names have been tried (a flood of lookups); other errors are the store's.
// A refused recipient leaves the envelope as it was.
func (e *Envelope) Add(ctx context.Context, rcpt string) (account.Account, error) {
	spelled := trimAngle(rcpt)
	name, err := e.svc.accounts.ParseName(spelled)
	if err != nil {
		return account.Account{}, fmt.Errorf("%w: %s", ErrNoSuchRecipient, rcpt)
	}
	r, tried := e.byName[name]
	if !tried {
		if len(e.byName) >= 2*e.svc.cfg.MaxRecipients {
			return account.Account{}, ErrTooManyRecipients
		}
		acc, err := e.svc.accounts.Recipient(ctx, string(name))
		switch {
		case errors.Is(err, account.ErrNoSuchUser):
			e.byName[name] = resolved{}
			return account.Account{}, fmt.Errorf("%w: %s", ErrNoSuchRecipient, rcpt)
		case err != nil:
			return account.Account{}, err // ours, not the client's: not remembered
		}
		r = resolved{acc: acc, found: true}
		e.byName[name] = r
	}
	if !r.found {
		return account.Account{}, fmt.Errorf("%w: %s", ErrNoSuchRecipient, rcpt)
	}
	if e.byID[r.acc.ID] {
		return r.acc, nil
	}
	if len(e.rcpts) >= e.svc.cfg.MaxRecipients {
		return account.Account{}, ErrTooManyRecipients
	}
	e.byID[r.acc.ID] = true
	e.rcpts = append(e.rcpts, r.acc)
	return r.acc, nil
}

// trimAngle drops the angle brackets of an RFC 5321 path.
func trimAngle(rcpt string) string {
	return strings.TrimSuffix(strings.TrimPrefix(rcpt, "<"), ">")
}

// Len is the number of distinct recipients.
func (e *Envelope) Len() int { return len(e.rcpts) }

// Sender is the envelope's sender.
func (e *Envelope) Sender() account.Account { return e.sender }

// Recipients gives the distinct recipients in the order first added.
func (e *Envelope) Recipients() []account.Account {
	return append([]account.Account(nil), e.rcpts...)
}

// Addresses gives the recipients' addresses in order (for a transaction's
// log line).
func (e *Envelope) Addresses() []string {
	out := make([]string, len(e.rcpts))
	for i, r := range e.rcpts {
		out[i] = e.svc.accounts.AddressOf(r).String()
	}
	return out
}

// DeliverEnvelope stores raw from env's sender for each of env's
// recipients plus the sender's sent folder, in one unit of work, then
// notifies. It looks no recipient up: env resolved them. The header, the
// preview and the search text are read in one walk of the message
// (ParseMessage), once whatever the recipients. It returns the entries
// created: the inbox copies first, in recipient order, then the sent copy.
//
// Errors: ErrTooLarge when raw is over Config.MaxMessageBytes;
// ErrNoRecipients when env is nil or empty; otherwise the store's error,
// and then nothing was stored.
func (s *Service) DeliverEnvelope(ctx context.Context, env *Envelope, raw []byte) ([]Meta, error) {
	if int64(len(raw)) > s.cfg.MaxMessageBytes {
		return nil, ErrTooLarge
	}
	if env == nil || len(env.rcpts) == 0 {
		return nil, ErrNoRecipients
	}
	from := s.accounts.AddressOf(env.sender).String()
	p := ParseMessage(raw)
	hdr, doc := p.Header, p.SearchDoc(from)
	msg := NewMessage{Raw: raw, From: from, Subject: hdr.Subject, Preview: p.Preview, Received: s.now().UTC(),
		MessageID: hdr.MessageID, Search: &doc}

	entries := make([]NewEntry, 0, len(env.rcpts)+1)
	sentTo := make([]string, 0, len(env.rcpts))
	for _, o := range env.rcpts {
		addr := s.accounts.AddressOf(o).String()
		sentTo = append(sentTo, addr)
		entries = append(entries, NewEntry{Owner: o.ID, Folder: Inbox, To: withAddress(hdr.To, addr)})
	}
	entries = append(entries, NewEntry{Owner: env.sender.ID, Folder: Sent, To: sentTo, Seen: true, Flags: FlagSeen})
	metas, err := s.store.Deliver(ctx, msg, entries)
	if err != nil {
		return nil, err
	}
	if s.notifier != nil {
		s.notifier.Notify(metas)
	}
	return metas, nil
}
