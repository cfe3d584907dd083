package smtpserver

import (
	"context"
	"time"

	"mailroom/adapters/listener"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// Accounts is what the server needs of the account side (implemented by
// *account.Service).
type Accounts interface {
	// LoginAs checks one AUTH under the client's failed-login budget, one
	// budget per client key across every server. Errors:
	// account.ErrBadCredentials, account.ErrAuthzRefused,
	// account.ErrThrottled (wrapped, before any password is checked), ctx's
	// error; anything else is the service's own failure.
	LoginAs(ctx context.Context, client, authzid, username, password string) (account.Account, error)
	// SignUp registers for REG under the registration policy. Errors:
	// account.ErrRegistrationClosed, account.ErrThrottled (wrapped),
	// account.ErrBadUsername, account.ErrWeakPassword,
	// account.ErrUsernameTaken; anything else is the service's own failure.
	SignUp(ctx context.Context, client, username, password string) (account.Account, error)
	// RegistrationOpen reports whether EHLO and HELP offer REG.
	RegistrationOpen() bool
	// Lookup finds an account for GETUSER: account.ErrNoSuchUser (wrapped)
	// when there is none.
	Lookup(ctx context.Context, name string) (account.Account, error)
	// AddressOf gives an account's address; Domain the mail domain.
	AddressOf(a account.Account) account.Address
	Domain() string
}

// Mailboxes is what the server needs of the mail side (implemented by
// *mail.Service).
type Mailboxes interface {
	// NewEnvelope starts a transaction (at MAIL); the session adds each
	// RCPT to it (mail.Envelope.Add resolves the recipient, once).
	NewEnvelope(sender account.Account) *mail.Envelope
	// DeliverEnvelope stores a message for the envelope's recipients and
	// the sender's sent folder in one unit of work, looking nothing up.
	// Errors: mail.ErrTooLarge, mail.ErrNoRecipients, or the store's.
	DeliverEnvelope(ctx context.Context, env *mail.Envelope, raw []byte) ([]mail.Meta, error)
	// MaxMessageBytes and MaxRecipients are the service's limits, which
	// the server advertises and enforces on the wire.
	MaxMessageBytes() int64
	MaxRecipients() int
}

var (
	_ Accounts  = (*account.Service)(nil)
	_ Mailboxes = (*mail.Service)(nil)
)

// peer is what the shim knows of its connection beyond the socket: who the
// client is, and the listener core's context, shutdown flag and panic
// report (plain values, so that tests build a shim without a listener).
type peer struct {
	ip    string
	key   string // throttle.ClientKey(ip): what per-client budgets count
	start time.Time
	// ctx is the per-connection context: every domain call takes it.
	ctx          context.Context
	shuttingDown func() bool
	// panicked reports a recovered panic (the core logs it, says the last
	// words and closes the socket); nil re-panics.
	panicked func(v any)
}

func peerOf(lc *listener.Conn) peer {
	return peer{
		ip: lc.IP, key: lc.Key, start: lc.Start, ctx: lc.Context(),
		shuttingDown: lc.ShuttingDown, panicked: lc.Panicked,
	}
}
