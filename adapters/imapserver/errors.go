package imapserver

import (
	"context"
	"errors"

	"github.com/emersion/go-imap/v2"
	"go.uber.org/zap"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// errorReplies is the one table from sentinel errors to IMAP replies (RFC
// 5530 response codes). Anything else is NO [SERVERBUG], its detail only
// in the log.
var errorReplies = []struct {
	err   error
	reply *imap.Error
}{
	{account.ErrThrottled, no(imap.ResponseCodeUnavailable, "Too many failed logins from your address, try again later")},
	{account.ErrBadCredentials, no(imap.ResponseCodeAuthenticationFailed, "Invalid credentials")},
	{account.ErrAuthzRefused, no(imap.ResponseCodeAuthorizationFailed, "Authorization identity refused")},
	{mail.ErrNotFound, no(imap.ResponseCodeNonExistent, "No such mailbox or message")},
	{mail.ErrFolderExists, no(imap.ResponseCodeAlreadyExists, "Mailbox already exists")},
	{mail.ErrSpecialFolder, no(imap.ResponseCodeCannot, "Special mailboxes cannot be renamed or deleted")},
	{mail.ErrBadFolder, no(imap.ResponseCodeCannot, "Invalid mailbox name")},
	{mail.ErrTooLarge, no(imap.ResponseCodeTooBig, "Message too large")},
	{errBusy, no(imap.ResponseCodeUnavailable, "Server busy, try again later")},
	{context.Canceled, no(imap.ResponseCodeUnavailable, "Try again later")},
	{context.DeadlineExceeded, no(imap.ResponseCodeUnavailable, "Try again later")},
}

// errBusy is an APPEND that found no room in MaxInflightBytes.
var errBusy = errors.New("imapserver: append budget spent")

var errInternal = no(imap.ResponseCodeServerBug, "Internal server error")

func no(code imap.ResponseCode, text string) *imap.Error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
}

// reply turns a domain error into the IMAP error go-imap writes. An
// *imap.Error passes through.
func reply(log *zap.Logger, op string, err error) error {
	if err == nil {
		return nil
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie
	}
	for _, r := range errorReplies {
		if errors.Is(err, r.err) {
			return r.reply
		}
	}
	log.Error(op, zap.Error(err))
	return errInternal
}
