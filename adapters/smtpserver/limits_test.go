package smtpserver

import (
	"testing"
)

// TestMaxRecipientsFromTheMailService: the cap is the mail service's
// (mail.Config.MaxRecipients), and go-smtp answers the RCPT past it.
func TestMaxRecipientsFromTheMailService(t *testing.T) {
	h := newHarnessSetup(t, Config{}, setup{mail: mailConfig(2)})
	if got := h.srv.smtp.MaxRecipients; got != 2 {
		t.Fatalf("go-smtp's MaxRecipients %d, want the mail service's 2", got)
	}
	h.user("alice")
	h.user("bob")
	h.user("carol")
	d := h.dial()
	d.login("alice")
	d.cmd("MAIL FROM:<alice@example.test>", "250 ")
	d.cmd("RCPT TO:<bob@example.test>", "250 ")
	d.cmd("RCPT TO:<carol@example.test>", "250 ")
	d.cmd("RCPT TO:<alice@example.test>", "452 4.5.3")
	d.cmd("DATA", "354 ")
	d.send("Subject: two\r\n\r\nhi\r\n.\r\n")
	d.expect("250 2.0.0 OK: stored")
	if len(h.inbox("bob")) != 1 || len(h.inbox("carol")) != 1 || len(h.inbox("alice")) != 0 {
		t.Errorf("delivered to the wrong inboxes")
	}
}
