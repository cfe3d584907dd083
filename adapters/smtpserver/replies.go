package smtpserver

import (
	"errors"
	"fmt"

	"github.com/emersion/go-smtp"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// Basic reply codes, RFC 5321 §4.2.2 and §4.2.3 unless noted.
const (
	codeOK                = 250 // requested mail action okay, completed
	codeClosing           = 421 // service not available, closing transmission channel
	codeLocalError        = 451 // requested action aborted: local error in processing
	codeInsufficient      = 452 // insufficient system storage (and too many recipients, §4.5.3.1.10)
	codeTempAuthFail      = 454 // RFC 4954 §6: temporary authentication failure
	codeSyntax            = 500 // syntax error, command unrecognised (also "line too long", §4.5.3.1.4)
	codeParamSyntax       = 501 // syntax error in parameters or arguments
	codeAuthRequired      = 530 // RFC 4954 §6: authentication required
	codeAuthInvalid       = 535 // RFC 4954 §6: authentication credentials invalid
	codeUnavailable       = 550 // mailbox unavailable / action not taken
	codeExceededStorage   = 552 // exceeded storage allocation
	codeNameNotAllowed    = 553 // mailbox name not allowed
	codeTransactionFailed = 554 // transaction failed (RFC 5321 §3.3: "no valid recipients")
)

// Enhanced status codes, RFC 3463 (class.subject.detail) unless noted.
var (
	enhOK              = smtp.EnhancedCode{2, 0, 0} // X.0.0 other undefined status
	enhAddrOther       = smtp.EnhancedCode{2, 1, 0} // X.1.0 other address status
	enhDestValid       = smtp.EnhancedCode{2, 1, 5} // X.1.5 destination address valid
	enhBadMailbox      = smtp.EnhancedCode{5, 1, 1} // X.1.1 bad destination mailbox address
	enhBadSyntax       = smtp.EnhancedCode{5, 1, 3} // X.1.3 bad destination mailbox address syntax
	enhTooBig          = smtp.EnhancedCode{5, 3, 4} // X.3.4 message too big for system
	enhTooManyRcpts    = smtp.EnhancedCode{4, 5, 3} // X.5.3 too many recipients
	enhNoValidRcpts    = smtp.EnhancedCode{5, 5, 0} // X.5.0 other protocol status
	enhBadCommand      = smtp.EnhancedCode{5, 5, 2} // X.5.2 syntax error
	enhBadArgs         = smtp.EnhancedCode{5, 5, 4} // X.5.4 invalid command arguments
	enhLocalErr        = smtp.EnhancedCode{4, 3, 0} // X.3.0 other mail system status
	enhSystemFull      = smtp.EnhancedCode{4, 3, 1} // X.3.1 mail system full
	enhShuttingDown    = smtp.EnhancedCode{4, 3, 2} // X.3.2 system not accepting network messages
	enhTimeout         = smtp.EnhancedCode{4, 4, 2} // X.4.2 bad connection
	enhSecurity        = smtp.EnhancedCode{5, 7, 0} // X.7.0 other security status
	enhTempSecurity    = smtp.EnhancedCode{4, 7, 0} // X.7.0, transient
	enhDelivNotAuth    = smtp.EnhancedCode{5, 7, 1} // X.7.1 delivery not authorized, message refused
	enhAuthCredInvalid = smtp.EnhancedCode{5, 7, 8} // RFC 4954 §6: authentication credentials invalid
)

// reply is one SMTP reply: basic code, enhanced code and text.
type reply struct {
	Code int
	Enh  smtp.EnhancedCode
	Text string
}

// err gives r as the error type go-smtp writes verbatim.
func (r reply) err() *smtp.SMTPError {
	return &smtp.SMTPError{Code: r.Code, EnhancedCode: r.Enh, Message: r.Text}
}

// String is the wire form without CRLF.
func (r reply) String() string {
	return fmt.Sprintf("%d %d.%d.%d %s", r.Code, r.Enh[0], r.Enh[1], r.Enh[2], r.Text)
}

// Replies used by the verb shim and the session.
var (
	replyPong             = reply{codeOK, enhOK, "PONG"}
	replyRegClosed        = reply{codeTransactionFailed, enhSecurity, "Registration is closed"}
	replyThrottled        = reply{codeTempAuthFail, enhTempSecurity, "Too many attempts from your address, try again later"}
	replyAuthRequired     = reply{codeAuthRequired, enhSecurity, "Authentication required"}
	replyAuthFailed       = reply{codeAuthInvalid, enhAuthCredInvalid, "Authentication credentials invalid"}
	replyTooManyAuth      = reply{codeClosing, enhTempSecurity, "Too many authentication failures, closing connection"}
	replyUnknownCommand   = reply{codeSyntax, enhBadCommand, "Syntax error, command unrecognized"}
	replyBadChars         = reply{codeSyntax, enhBadCommand, "Bare CR or NUL in command line"}
	replyLineTooLong      = reply{codeSyntax, enhBadCommand, "Line too long, closing connection"}
	replyTooManyErrors    = reply{codeClosing, enhTempSecurity, "Too many protocol errors, closing connection"}
	replyRegUsage         = reply{codeParamSyntax, enhBadArgs, "Usage: REG <username> <password>"}
	replyGetUserUsage     = reply{codeParamSyntax, enhBadArgs, "Usage: GETUSER [<username>]"}
	replyBadSender        = reply{codeNameNotAllowed, enhDelivNotAuth, "Sender must be your own address"}
	replyShuttingDown     = reply{codeClosing, enhShuttingDown, "Server shutting down, try again later"}
	replyDataTimeout      = reply{codeClosing, enhTimeout, "Timeout reading message, closing connection"}
	replyAuthTimeout      = reply{codeClosing, enhTempSecurity, "Not authenticated in time, closing connection"}
	replyBusy             = reply{codeClosing, enhTempSecurity, "Too many connections, try again later"}
	replyBusyIP           = reply{codeClosing, enhTempSecurity, "Too many connections from your address, try again later"}
	replyInternal         = reply{codeLocalError, enhLocalErr, "Local error in processing, try again later"}
	replyMessageTooBig    = reply{codeExceededStorage, enhTooBig, "Message too big"}
	replyAuthzidRefused   = reply{codeAuthInvalid, enhAuthCredInvalid, "Authorization identity must be your own"}
	replyBadSASLResponse  = reply{codeParamSyntax, enhBadArgs, "Malformed authentication response"}
	replyTooManyRcptsFull = reply{codeInsufficient, enhTooManyRcpts, "Too many recipients"}
	// replyLowStorage answers MAIL while the disk is nearly full, and DATA
	// when the server's in-flight message budget (memory) is spent: RFC
	// 5321 §4.2.3's 452 with RFC 3463's X.3.1, transient, so the client
	// retries.
	replyLowStorage = reply{codeInsufficient, enhSystemFull, "Insufficient system storage, try again later"}
)

// errorReplies is the one table from domain sentinels to SMTP replies. The
// first match (errors.Is) wins; anything unlisted is replyInternal and its
// detail goes only to the log.
var errorReplies = []struct {
	err   error
	reply reply
}{
	{account.ErrBadUsername, reply{codeNameNotAllowed, enhBadSyntax, "Bad username: use 1-64 of a-z 0-9 . _ -, starting with a letter or digit"}},
	{account.ErrUsernameTaken, reply{codeUnavailable, enhDelivNotAuth, "Username already taken"}},
	{account.ErrWeakPassword, reply{codeParamSyntax, enhSecurity, "Password must be 8 characters to 1024 bytes, without control characters"}},
	{account.ErrBadCredentials, replyAuthFailed},
	{account.ErrNoSuchUser, reply{codeUnavailable, enhBadMailbox, "No such user"}},
	{mail.ErrNoSuchRecipient, reply{codeUnavailable, enhBadMailbox, "No such user here"}},
	{mail.ErrTooManyRecipients, replyTooManyRcptsFull},
	{mail.ErrNoRecipients, reply{codeTransactionFailed, enhNoValidRcpts, "No valid recipients"}},
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
