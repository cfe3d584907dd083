package smtpreply

import (
	"errors"
	"testing"

	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
)

// replies is every named reply, for the checks that hold for all of them.
var replies = map[string]Reply{
	"Pong": Pong, "RegClosed": RegClosed, "Throttled": Throttled, "TempAuthFailure": TempAuthFailure,
	"AuthRequired": AuthRequired, "AuthFailed": AuthFailed, "TooManyAuth": TooManyAuth,
	"UnknownCommand": UnknownCommand, "BadChars": BadChars, "LineTooLong": LineTooLong,
	"TooManyErrors": TooManyErrors, "RegUsage": RegUsage, "GetUserUsage": GetUserUsage,
	"BadSender": BadSender, "ShuttingDown": ShuttingDown, "DataTimeout": DataTimeout,
	"AuthTimeout": AuthTimeout, "Busy": Busy, "BusyIP": BusyIP, "Internal": Internal,
	"MessageTooBig": MessageTooBig, "AuthzidRefused": AuthzidRefused, "BadSASLResponse": BadSASLResponse,
	"TooManyRcpts": TooManyRcpts, "BadUsername": BadUsername, "UsernameTaken": UsernameTaken,
	"WeakPassword": WeakPassword, "NoSuchUser": NoSuchUser, "NoSuchRecipient": NoSuchRecipient,
	"NoValidRcpts": NoValidRcpts, "DataOK": DataOK, "LowStorage": LowStorage,
	"Registered": Registered("a@example.test"), "User": User(7, "a@example.test"),
}

func TestReplies(t *testing.T) {
	for name, r := range replies {
		// The classes of the basic and enhanced codes agree (RFC 3463 §2).
		if r.Code/100 != r.Enh[0] {
			t.Errorf("%s %q: classes differ", name, r)
		}
		if r.Code < 200 || r.Code > 599 || r.Text == "" {
			t.Errorf("%s %q: not a reply", name, r)
		}
		got := r.String()
		enh, ok := ParseEnhanced(got[4 : 4+len(r.Enh.String())])
		if !ok || enh != r.Enh || got[3] != ' ' {
			t.Errorf("%s: wire form %q", name, got)
		}
	}
	if got, want := UsernameTaken.String(), "550 5.7.1 Username already taken"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := User(7, "bob@example.test").String(), "250 2.1.5 7 bob@example.test"; got != want {
		t.Errorf("User = %q, want %q", got, want)
	}
}

func TestParseEnhanced(t *testing.T) {
	good := map[string]Enhanced{"5.7.1": {5, 7, 1}, "2.0.0": {2, 0, 0}, "4.10.12": {4, 10, 12}}
	for s, want := range good {
		if got, ok := ParseEnhanced(s); !ok || got != want {
			t.Errorf("ParseEnhanced(%q) = %v, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "5.7", "5.7.1.2", "5..1", "a.b.c", "5.7.x", "250"} {
		if _, ok := ParseEnhanced(s); ok {
			t.Errorf("ParseEnhanced(%q) accepted", s)
		}
	}
}

// TestRecognise covers how a meaning matches: by command, by code or
// class, by enhanced code or any; the server-side half of the table is
// checked in smtpserver (TestReplyTableBothWays).
func TestRecognise(t *testing.T) {
	for _, tc := range []struct {
		verb string
		code int
		msg  string
		want error
	}{
		{VerbReg, 550, "5.7.1 taken", account.ErrUsernameTaken},
		{VerbRcpt, 550, "5.7.1 taken", nil}, // another command
		{VerbReg, 550, "5.7.2 taken", nil},  // another enhanced code
		{VerbReg, 550, "taken", nil},        // none
		{VerbReg, 451, "4.3.0 Local error", ports.ErrRateLimited},
		{VerbAuth, 535, "5.7.9 whatever", account.ErrBadCredentials},
		{VerbAuth, 535, "no enhanced code", account.ErrBadCredentials},
		{VerbGetUser, 550, "5.1.1 No such user", account.ErrNoSuchUser},
		{VerbRcpt, 550, "5.1.1 No such user here", mail.ErrNoSuchRecipient},
		{VerbData, 552, "5.3.4 Max message size exceeded", mail.ErrTooLarge},
		{VerbMail, 552, "5.3.4 Max message size exceeded", mail.ErrTooLarge},
		{VerbPing, 421, "4.7.0 Too many connections", ports.ErrRateLimited},
		{VerbRcpt, 451, "4.3.0 Local error", nil},
		{VerbPing, 500, "5.5.2 Syntax error", nil},
	} {
		got := Recognise(tc.verb, tc.code, tc.msg)
		if !errors.Is(got, tc.want) || (tc.want == nil) != (got == nil) {
			t.Errorf("Recognise(%q, %d, %q) = %v, want %v", tc.verb, tc.code, tc.msg, got, tc.want)
		}
	}
}
