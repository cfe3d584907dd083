// Package smtpreply holds the SMTP replies Mailroom speaks: the basic codes
// with the RFC that defines each, the enhanced status codes (RFC 3463), the
// replies the submission server sends, and what each of them means to the
// client (recognise.go). The server builds its replies from here and the
// client recognises them from here, so the two cannot drift apart.
//
// It is a shared adapter package (STYLE.md's dependency table): both
// adapters/smtpserver and adapters/client import it, and it imports only
// the domain and ports sentinels the replies stand for.
package smtpreply

import (
	"fmt"
	"strconv"
	"strings"
)

// Basic reply codes, RFC 5321 §4.2.2 and §4.2.3 unless noted.
const (
	CodeHelp              = 214 // help message
	CodeReady             = 220 // service ready (the greeting)
	CodeAuthOK            = 235 // RFC 4954 §6: authentication successful
	CodeOK                = 250 // requested mail action okay, completed
	CodeChallenge         = 334 // RFC 4954 §4: server challenge
	CodeStartInput        = 354 // start mail input; end with <CRLF>.<CRLF>
	CodeClosing           = 421 // service not available, closing transmission channel
	CodeLocalError        = 451 // requested action aborted: local error in processing
	CodeInsufficient      = 452 // insufficient system storage (and too many recipients, §4.5.3.1.10)
	CodeTempAuthFail      = 454 // RFC 4954 §6: temporary authentication failure
	CodeSyntax            = 500 // syntax error, command unrecognised (also "line too long", §4.5.3.1.4)
	CodeParamSyntax       = 501 // syntax error in parameters or arguments
	CodeAuthRequired      = 530 // RFC 4954 §6: authentication required
	CodeAuthInvalid       = 535 // RFC 4954 §6: authentication credentials invalid
	CodeUnavailable       = 550 // mailbox unavailable / action not taken
	CodeExceededStorage   = 552 // exceeded storage allocation
	CodeNameNotAllowed    = 553 // mailbox name not allowed
	CodeTransactionFailed = 554 // transaction failed (RFC 5321 §3.3: "no valid recipients")
)

// Enhanced is an RFC 3463 status code: class, subject, detail.
type Enhanced [3]int

// String is the wire form, "5.7.1".
func (e Enhanced) String() string { return fmt.Sprintf("%d.%d.%d", e[0], e[1], e[2]) }

// Enhanced status codes, RFC 3463 (class.subject.detail) unless noted.
var (
	EnhOK              = Enhanced{2, 0, 0} // X.0.0 other undefined status
	EnhAddrOther       = Enhanced{2, 1, 0} // X.1.0 other address status
	EnhDestValid       = Enhanced{2, 1, 5} // X.1.5 destination address valid
	EnhBadMailbox      = Enhanced{5, 1, 1} // X.1.1 bad destination mailbox address
	EnhBadSyntax       = Enhanced{5, 1, 3} // X.1.3 bad destination mailbox address syntax
	EnhTooBig          = Enhanced{5, 3, 4} // X.3.4 message too big for system
	EnhTooManyRcpts    = Enhanced{4, 5, 3} // X.5.3 too many recipients
	EnhNoValidRcpts    = Enhanced{5, 5, 0} // X.5.0 other protocol status
	EnhBadCommand      = Enhanced{5, 5, 2} // X.5.2 syntax error
	EnhBadArgs         = Enhanced{5, 5, 4} // X.5.4 invalid command arguments
	EnhLocalErr        = Enhanced{4, 3, 0} // X.3.0 other mail system status
	EnhSystemFull      = Enhanced{4, 3, 1} // X.3.1 mail system full
	EnhShuttingDown    = Enhanced{4, 3, 2} // X.3.2 system not accepting network messages
	EnhTimeout         = Enhanced{4, 4, 2} // X.4.2 bad connection
	EnhSecurity        = Enhanced{5, 7, 0} // X.7.0 other security status
	EnhTempSecurity    = Enhanced{4, 7, 0} // X.7.0, transient
	EnhDelivNotAuth    = Enhanced{5, 7, 1} // X.7.1 delivery not authorized, message refused
	EnhAuthCredInvalid = Enhanced{5, 7, 8} // RFC 4954 §6: authentication credentials invalid
)

// ParseEnhanced reads an RFC 3463 code (class.subject.detail), as the
// first word of a reply's text carries it (RFC 2034).
func ParseEnhanced(s string) (Enhanced, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return Enhanced{}, false
	}
	var e Enhanced
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return Enhanced{}, false
		}
		e[i] = n
	}
	return e, true
}

// Reply is one SMTP reply: basic code, enhanced code and text.
type Reply struct {
	Code int
	Enh  Enhanced
	Text string
}

// String is the wire form without CRLF: "550 5.7.1 Username already taken".
func (r Reply) String() string {
	return fmt.Sprintf("%d %d.%d.%d %s", r.Code, r.Enh[0], r.Enh[1], r.Enh[2], r.Text)
}

// The replies Mailroom's submission server sends of its own (go-smtp words
// the rest).
var (
	Pong            = Reply{CodeOK, EnhOK, "PONG"}
	RegClosed       = Reply{CodeTransactionFailed, EnhSecurity, "Registration is closed"}
	Throttled       = Reply{CodeTempAuthFail, EnhTempSecurity, "Too many attempts from your address, try again later"}
	TempAuthFailure = Reply{CodeTempAuthFail, EnhTempSecurity, "Temporary authentication failure"}
	AuthRequired    = Reply{CodeAuthRequired, EnhSecurity, "Authentication required"}
	AuthFailed      = Reply{CodeAuthInvalid, EnhAuthCredInvalid, "Authentication credentials invalid"}
	TooManyAuth     = Reply{CodeClosing, EnhTempSecurity, "Too many authentication failures, closing connection"}
	UnknownCommand  = Reply{CodeSyntax, EnhBadCommand, "Syntax error, command unrecognized"}
	BadChars        = Reply{CodeSyntax, EnhBadCommand, "Bare CR or NUL in command line"}
	LineTooLong     = Reply{CodeSyntax, EnhBadCommand, "Line too long, closing connection"}
	TooManyErrors   = Reply{CodeClosing, EnhTempSecurity, "Too many protocol errors, closing connection"}
	RegUsage        = Reply{CodeParamSyntax, EnhBadArgs, "Usage: REG <username> <password>"}
	GetUserUsage    = Reply{CodeParamSyntax, EnhBadArgs, "Usage: GETUSER [<username>]"}
	BadSender       = Reply{CodeNameNotAllowed, EnhDelivNotAuth, "Sender must be your own address"}
	ShuttingDown    = Reply{CodeClosing, EnhShuttingDown, "Server shutting down, try again later"}
	DataTimeout     = Reply{CodeClosing, EnhTimeout, "Timeout reading message, closing connection"}
	AuthTimeout     = Reply{CodeClosing, EnhTempSecurity, "Not authenticated in time, closing connection"}
	Busy            = Reply{CodeClosing, EnhTempSecurity, "Too many connections, try again later"}
	BusyIP          = Reply{CodeClosing, EnhTempSecurity, "Too many connections from your address, try again later"}
	Internal        = Reply{CodeLocalError, EnhLocalErr, "Local error in processing, try again later"}
	MessageTooBig   = Reply{CodeExceededStorage, EnhTooBig, "Message too big"}
	AuthzidRefused  = Reply{CodeAuthInvalid, EnhAuthCredInvalid, "Authorization identity must be your own"}
	BadSASLResponse = Reply{CodeParamSyntax, EnhBadArgs, "Malformed authentication response"}
	TooManyRcpts    = Reply{CodeInsufficient, EnhTooManyRcpts, "Too many recipients"}
	BadUsername     = Reply{CodeNameNotAllowed, EnhBadSyntax, "Bad username: use 1-64 of a-z 0-9 . _ -, starting with a letter or digit"}
	UsernameTaken   = Reply{CodeUnavailable, EnhDelivNotAuth, "Username already taken"}
	WeakPassword    = Reply{CodeParamSyntax, EnhSecurity, "Password must be 8 characters to 1024 bytes, without control characters"}
	NoSuchUser      = Reply{CodeUnavailable, EnhBadMailbox, "No such user"}
	NoSuchRecipient = Reply{CodeUnavailable, EnhBadMailbox, "No such user here"}
	NoValidRcpts    = Reply{CodeTransactionFailed, EnhNoValidRcpts, "No valid recipients"}
	DataOK          = Reply{CodeOK, EnhOK, "OK: stored"}
	// LowStorage answers MAIL while the disk is nearly full, and DATA
	// when the server's in-flight message budget (memory) is spent: RFC
	// 5321 §4.2.3's 452 with RFC 3463's X.3.1, transient, so the client
	// retries.
	LowStorage = Reply{CodeInsufficient, EnhSystemFull, "Insufficient system storage, try again later"}
)

// Registered answers a successful REG.
func Registered(addr string) Reply {
	return Reply{CodeOK, EnhAddrOther, "Account " + addr + " created"}
}

// User answers GETUSER: "250 2.1.5 <id> <address>", which the client parses.
func User(id int64, addr string) Reply {
	return Reply{CodeOK, EnhDestValid, fmt.Sprintf("%d %s", id, addr)}
}
