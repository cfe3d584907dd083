package model

import (
	"context"
	"errors"

	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
)

// ErrSignedOut: the server refused a live session's credentials (a
// re-login gave account.ErrBadCredentials: the password was changed or the
// account removed), so the session ended.
var ErrSignedOut = errors.New("session credentials no longer accepted")

// errorTexts is the one table from sentinel errors to the words a person
// reads. The first entry whose error matches (errors.Is) wins.
var errorTexts = []struct {
	err  error
	text string
}{
	{ports.ErrFingerprintMismatch, "The server's certificate has changed since you trusted it. Connection blocked."},
	{ports.ErrUntrusted, "The server's certificate is not trusted."},
	{ports.ErrUnreachable, "Server unreachable."}, // only a caller that retries may say so
	{ports.ErrRateLimited, "Too many attempts. Wait a moment and try again."},
	{ports.ErrRegistrationClosed, "This server does not accept new accounts."},
	{account.ErrUsernameTaken, "That name is taken."},
	{account.ErrWeakPassword, "Password needs 8+ characters."},
	{account.ErrBadUsername, "Usernames use a–z, 0–9, dot, dash or underscore (up to 64)."},
	{ErrSignedOut, "Your password was changed or your account was removed. Sign in again."},
	{account.ErrBadCredentials, "Wrong username or password."},
	{account.ErrNoSuchUser, "No such user on this server."},
	{mail.ErrNoSuchRecipient, "Unknown recipient."},
	{mail.ErrTooManyRecipients, "Too many recipients (100 at most)."},
	{mail.ErrNoRecipients, "Add at least one recipient."},
	{mail.ErrTooLarge, "The message is too large for this server."},
	{mail.ErrNotFound, "That message no longer exists."},
	{context.DeadlineExceeded, "The server took too long to answer."},
}

// ErrorText puts err in words. Unknown errors get a generic sentence; their
// detail is not shown because it means nothing to a person.
func ErrorText(err error) string {
	if err == nil {
		return ""
	}
	for _, e := range errorTexts {
		if errors.Is(err, e.err) {
			return e.text
		}
	}
	return "Something went wrong. Try again."
}

// Retryable reports whether trying again later may succeed on its own.
func Retryable(err error) bool {
	return errors.Is(err, ports.ErrUnreachable) || errors.Is(err, context.DeadlineExceeded)
}
