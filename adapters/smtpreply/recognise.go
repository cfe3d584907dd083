package smtpreply

import (
	"strings"

	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
)

// The commands a meaning is tied to. Mailroom's own verbs (PING, REG,
// GETUSER) are named here so that server and client spell them alike.
const (
	VerbAny     = "" // every command
	VerbPing    = "PING"
	VerbReg     = "REG"
	VerbGetUser = "GETUSER"
	VerbAuth    = "AUTH"
	VerbMail    = "MAIL"
	VerbRcpt    = "RCPT"
	VerbData    = "DATA"
)

// Meaning is what one reply to one command means to a client: the sentinel
// error it stands for.
type Meaning struct {
	Verb string // the command answered, or VerbAny
	// Reply is matched by Code and Enh only; the text is the server's to
	// word. A Code below 10 is a class (4 matches every 4xx), and a zero
	// Enh matches any enhanced code.
	Reply Reply
	Err   error
}

// Meanings is the client's half of the reply table, first match wins. The
// server's half (sentinel to reply) lives in smtpserver, built from the same
// replies; a test there checks that every reply it sends for a sentinel
// comes back here as that sentinel.
var Meanings = []Meaning{
	{VerbReg, UsernameTaken, account.ErrUsernameTaken},
	{VerbReg, BadUsername, account.ErrBadUsername},
	{VerbReg, WeakPassword, account.ErrWeakPassword},
	{VerbReg, RegClosed, ports.ErrRegistrationClosed},
	// Throttled, and any other transient refusal: try again later.
	{VerbReg, Reply{Code: 4}, ports.ErrRateLimited},
	{VerbGetUser, NoSuchUser, account.ErrNoSuchUser},
	// AuthFailed and AuthzidRefused alike.
	{VerbAuth, Reply{Code: CodeAuthInvalid}, account.ErrBadCredentials},
	{VerbRcpt, NoSuchRecipient, mail.ErrNoSuchRecipient},
	{VerbRcpt, TooManyRcpts, mail.ErrTooManyRecipients},
	{VerbData, NoValidRcpts, mail.ErrNoRecipients},
	// MAIL (a declared SIZE) or DATA; the text is go-smtp's or ours.
	{VerbAny, MessageTooBig, mail.ErrTooLarge},
	// 421 or 454 with 4.7.0: the per-IP budgets (Throttled, TooManyAuth,
	// Busy, BusyIP).
	{VerbAny, Reply{Code: 4, Enh: EnhTempSecurity}, ports.ErrRateLimited},
}

// Recognise gives the sentinel a reply to verb stands for, or nil when no
// meaning matches. msg is the reply's text as a client reads it, starting
// with the enhanced code when there is one.
func Recognise(verb string, code int, msg string) error {
	enh, _, _ := strings.Cut(msg, " ")
	if _, ok := ParseEnhanced(enh); !ok {
		enh = ""
	}
	for _, m := range Meanings {
		if m.Verb != VerbAny && m.Verb != verb {
			continue
		}
		if c := m.Reply.Code; c >= 10 && c != code || c < 10 && c != code/100 {
			continue
		}
		// Compared as text, as the client always has: "5.7.1" only.
		if m.Reply.Enh != (Enhanced{}) && m.Reply.Enh.String() != enh {
			continue
		}
		return m.Err
	}
	return nil
}
