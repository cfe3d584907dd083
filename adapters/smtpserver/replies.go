package smtpserver

import (
	"errors"

	"github.com/emersion/go-smtp"

	"mailroom/adapters/smtpreply"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// The reply codes this package names itself; every other code and reply
// comes from smtpreply, which the client recognises replies by.
const (
	codeOK           = smtpreply.CodeOK
	codeTempAuthFail = smtpreply.CodeTempAuthFail
	codeClosing      = smtpreply.CodeClosing
)

var (
	enhOK           = smtpreply.EnhOK
	enhTempSecurity = smtpreply.EnhTempSecurity
)

// reply is one SMTP reply (smtpreply.Reply) as go-smtp is handed it.
type reply smtpreply.Reply

// err gives r as the error type go-smtp writes verbatim.
func (r reply) err() *smtp.SMTPError {
	return &smtp.SMTPError{Code: r.Code, EnhancedCode: smtp.EnhancedCode(r.Enh), Message: r.Text}
}

// String is the wire form without CRLF.
func (r reply) String() string { return smtpreply.Reply(r).String() }

// Replies used by the verb shim and the session.
var (
	replyPong             = reply(smtpreply.Pong)
	replyRegClosed        = reply(smtpreply.RegClosed)
	replyThrottled        = reply(smtpreply.Throttled)
	replyAuthRequired     = reply(smtpreply.AuthRequired)
	replyAuthFailed       = reply(smtpreply.AuthFailed)
	replyTooManyAuth      = reply(smtpreply.TooManyAuth)
	replyUnknownCommand   = reply(smtpreply.UnknownCommand)
	replyBadChars         = reply(smtpreply.BadChars)
	replyLineTooLong      = reply(smtpreply.LineTooLong)
	replyTooManyErrors    = reply(smtpreply.TooManyErrors)
	replyRegUsage         = reply(smtpreply.RegUsage)
	replyGetUserUsage     = reply(smtpreply.GetUserUsage)
	replyBadSender        = reply(smtpreply.BadSender)
	replyShuttingDown     = reply(smtpreply.ShuttingDown)
	replyDataTimeout      = reply(smtpreply.DataTimeout)
	replyAuthTimeout      = reply(smtpreply.AuthTimeout)
	replyBusy             = reply(smtpreply.Busy)
	replyBusyIP           = reply(smtpreply.BusyIP)
	replyInternal         = reply(smtpreply.Internal)
	replyMessageTooBig    = reply(smtpreply.MessageTooBig)
	replyAuthzidRefused   = reply(smtpreply.AuthzidRefused)
	replyBadSASLResponse  = reply(smtpreply.BadSASLResponse)
	replyTooManyRcptsFull = reply(smtpreply.TooManyRcpts)
	replyLowStorage       = reply(smtpreply.LowStorage)
	replyTempAuthFailure  = reply(smtpreply.TempAuthFailure)
)

// Replies of this package's own wording, with codes from smtpreply.
var (
	// replyBareLF: RFC 5321 §2.3.8, commands end with CRLF.
	replyBareLF = reply{smtpreply.CodeSyntax, smtpreply.EnhBadCommand, "Bare LF: command lines end with CRLF"}
	// replyBadBase64: RFC 4954 §4, a response that cannot be decoded.
	replyBadBase64 = reply{smtpreply.CodeParamSyntax, smtpreply.EnhBadCommand, "Invalid base64 data"}
	// replyPanicked is the last words of a connection whose handler
	// panicked: ours to fix, so transient (4.3.0).
	replyPanicked = reply{codeClosing, smtpreply.EnhLocalErr, "Local error in processing, closing connection"}
	// replyImplicitTLS is written in clear to a client that speaks plain
	// text to the port: it must start with TLS (RFC 8314 §3.3).
	replyImplicitTLS = reply{codeClosing, smtpreply.EnhTempSecurity, "This port speaks implicit TLS (RFC 8314): connect with TLS"}
)

// errorReplies is the one table from domain sentinels to SMTP replies (the
// client reads them back through smtpreply.Meanings; TestReplyTableBothWays
// holds the two together). The first match (errors.Is) wins; anything
// unlisted is replyInternal and its detail goes only to the log.
var errorReplies = []struct {
	err   error
	reply reply
}{
	{account.ErrThrottled, replyThrottled},
	{account.ErrRegistrationClosed, replyRegClosed},
	{account.ErrAuthzRefused, replyAuthzidRefused},
	{account.ErrBadUsername, reply(smtpreply.BadUsername)},
	{account.ErrUsernameTaken, reply(smtpreply.UsernameTaken)},
	{account.ErrWeakPassword, reply(smtpreply.WeakPassword)},
	{account.ErrBadCredentials, replyAuthFailed},
	{account.ErrNoSuchUser, reply(smtpreply.NoSuchUser)},
	{mail.ErrNoSuchRecipient, reply(smtpreply.NoSuchRecipient)},
	{mail.ErrTooManyRecipients, replyTooManyRcptsFull},
	{mail.ErrNoRecipients, reply(smtpreply.NoValidRcpts)},
	{mail.ErrTooLarge, replyMessageTooBig},
	{smtp.ErrDataTooLarge, replyMessageTooBig},
}

// replyFor maps err to its reply. known is false for errors outside the
// table (the caller logs them); those become 451 4.3.0.
func replyFor(err error) (r reply, known bool) {
	for _, e := range errorReplies {
		if errors.Is(err, e.err) {
			return e.reply, true
		}
	}
	return replyInternal, false
}
