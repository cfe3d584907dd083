package smtpserver

import (
	"errors"
	"fmt"
	"testing"

	"github.com/emersion/go-smtp"

	"mailroom/adapters/smtpreply"
	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
)

// wire is r's text as a client reads it after the code.
func wire(r reply) string { return fmt.Sprintf("%s %s", r.Enh, r.Text) }

// TestReplyTableBothWays holds the server's half of the reply table
// (errorReplies, and the refusals the shim and session send without a
// sentinel) to the client's half (smtpreply.Meanings): every reply sent for
// a sentinel is recognised as that sentinel, for a command it can answer,
// and every meaning the client knows is what the server sends.
func TestReplyTableBothWays(t *testing.T) {
	verbs := []string{smtpreply.VerbPing, smtpreply.VerbReg, smtpreply.VerbGetUser,
		smtpreply.VerbAuth, smtpreply.VerbMail, smtpreply.VerbRcpt, smtpreply.VerbData}
	type sent struct {
		verb  string // a command the server answers with it; "" for any
		reply reply
		err   error // the sentinel the client reports
	}
	// The server's sentinels that the client reports as another: the
	// client's vocabulary (ports) is what a user of it can act on.
	asClientSees := map[error]error{
		smtp.ErrDataTooLarge:          mail.ErrTooLarge, // go-smtp's own sentinel for the same refusal
		account.ErrThrottled:          ports.ErrRateLimited,
		account.ErrRegistrationClosed: ports.ErrRegistrationClosed,
		account.ErrAuthzRefused:       account.ErrBadCredentials,
	}
	var all []sent
	for _, row := range errorReplies {
		err := row.err
		if e, ok := asClientSees[err]; ok {
			err = e
		}
		all = append(all, sent{"", row.reply, err})
	}
	// Sent without a sentinel behind them.
	all = append(all,
		sent{smtpreply.VerbAuth, replyTooManyAuth, ports.ErrRateLimited},
		sent{"", replyBusy, ports.ErrRateLimited},
		sent{"", replyBusyIP, ports.ErrRateLimited},
	)

	// Server to client.
	recognised := map[error]bool{}
	for _, s := range all {
		ok := false
		for _, v := range verbs {
			if s.verb != "" && v != s.verb {
				continue
			}
			if got := smtpreply.Recognise(v, s.reply.Code, wire(s.reply)); errors.Is(got, s.err) {
				ok = true
				recognised[s.err] = true
			}
		}
		if !ok {
			t.Errorf("the client recognises %q as %v for no command", s.reply, s.err)
		}
	}
	// Client to server: every meaning names a sentinel the server sends a
	// reply for, and where the meaning names a whole reply, that reply.
	for _, m := range smtpreply.Meanings {
		if !recognised[m.Err] {
			t.Errorf("smtpreply.Meanings knows %v (%d %s), which the server never sends", m.Err, m.Reply.Code, m.Reply.Enh)
		}
		if m.Reply.Code < 100 || m.Reply.Enh == (smtpreply.Enhanced{}) {
			continue // a class or pattern, checked above by the replies it covers
		}
		if r, known := replyFor(m.Err); known && (r.Code != m.Reply.Code || r.Enh != m.Reply.Enh) {
			t.Errorf("the server answers %v with %q, the client expects %d %s", m.Err, r, m.Reply.Code, m.Reply.Enh)
		}
	}
}
