package inboxserver

import (
	"errors"
	"fmt"
	"strings"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// The server's own refusals. Each is in errorTable.
var (
	errAuthRequired = errors.New("inboxserver: login required")
	errUnknownOp    = fmt.Errorf("%w: unknown op", inboxwire.ErrBadRequest)
	errLoggedIn     = fmt.Errorf("%w: already logged in", inboxwire.ErrBadRequest)
	errBusy         = errors.New("inboxserver: too many connections")
	errBusyIP       = errors.New("inboxserver: too many connections from one client")
	// errPlainText is a client that spoke clear text to the TLS port.
	errPlainText = errors.New("inboxserver: plain text on the TLS port")
	// errPanicked is the answer to a request whose handling panicked: it
	// is in no row, so it is internal.
	errPanicked = errors.New("inboxserver: panic")
)

// missing is the bad_request for an absent field.
func missing(field string) error {
	return fmt.Errorf("%w: missing %q", inboxwire.ErrBadRequest, field)
}

const badCredentials = "bad user name or password"

// errorTable is the one place where errors become inbox error codes. The
// first entry that errors.Is matches wins; anything else is internal, and
// its detail goes only to the log. An empty message means the error's own
// text (bad_request details help client authors and reveal nothing).
var errorTable = []struct {
	err     error
	code    string
	message string
}{
	{inboxwire.ErrTooLarge, inboxwire.CodeTooLarge, "request line too large"},
	// An append over the message size limit; its detail says the limit.
	{mail.ErrTooLarge, inboxwire.CodeTooLarge, ""},
	{inboxwire.ErrBadRequest, inboxwire.CodeBadRequest, ""},
	{mail.ErrBadFolder, inboxwire.CodeBadRequest, `bad folder name: 1 to 255 bytes of UTF-8, no control characters, "*" or "%", levels split by "/" and none empty`},
	{mail.ErrSpecialFolder, inboxwire.CodeBadRequest, "inbox, sent, drafts and trash cannot be renamed or deleted"},
	{mail.ErrBadFlags, inboxwire.CodeBadRequest, `flags are "seen", "answered", "flagged", "deleted" and "draft"`},
	{mail.ErrFolderExists, inboxwire.CodeExists, "a folder of that name exists"},
	{mail.ErrBadLimit, inboxwire.CodeBadRequest, "limit must be 1 to 500 and before a positive id"},
	// Its detail (which operator, which date) is the client's own text.
	{mail.ErrBadQuery, inboxwire.CodeBadRequest, ""},
	{errAuthRequired, inboxwire.CodeAuthRequired, "log in first"},
	// Unknown user and wrong password give the same reply.
	{account.ErrBadCredentials, inboxwire.CodeAuthFailed, badCredentials},
	{account.ErrNoSuchUser, inboxwire.CodeAuthFailed, badCredentials},
	{account.ErrBadUsername, inboxwire.CodeAuthFailed, badCredentials},
	// Another user's id is not_found too: ids reveal nothing. Before
	// ErrNotFound, which it matches too.
	{mail.ErrNoSuchFolder, inboxwire.CodeNotFound, "no such folder"},
	{mail.ErrNotFound, inboxwire.CodeNotFound, "no such message"},
	// The account service's login guard: this client's failed-login
	// budget is spent.
	{account.ErrThrottled, inboxwire.CodeRateLimited, "too many failed logins, try again later"},
	// Sent untagged to a client over a connection cap, then closed.
	{errBusy, inboxwire.CodeBusy, "too many connections, try again later"},
	{errBusyIP, inboxwire.CodeBusy, "too many connections from your address, try again later"},
	// Sent untagged, then closed: a long request line (an append) found
	// the server's memory for such lines in use.
	{errLineBudget, inboxwire.CodeBusy, "the server is busy with other large requests, try again later"},
	// Sent in clear to a client whose first byte is not TLS, then closed.
	{errPlainText, inboxwire.CodeBadRequest, "this port speaks TLS only: connect with TLS (e.g. openssl s_client)"},
}

// wireError maps err to its wire error; internal reports whether it was
// unknown (and so must be logged).
func wireError(err error) (e inboxwire.Error, internal bool) {
	for _, row := range errorTable {
		if errors.Is(err, row.err) {
			msg := row.message
			if msg == "" {
				msg = strings.TrimPrefix(strings.TrimPrefix(err.Error(), "inboxwire: "), "mail: ")
			}
			return inboxwire.Error{Code: row.code, Message: msg}, false
		}
	}
	return inboxwire.Error{Code: inboxwire.CodeInternal, Message: "internal error"}, true
}
