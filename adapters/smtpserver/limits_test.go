package smtpserver

import (
	"testing"

	"mailroom/domain/mail"
)

func TestMaxRecipientsCappedByDomain(t *testing.T) {
	for in, want := range map[int]int{0: DefaultMaxRecipients, 2: 2, mail.MaxRecipients: mail.MaxRecipients, mail.MaxRecipients + 1: mail.MaxRecipients} {
		c := Config{MaxRecipients: in}
		c.setDefaults(0)
		if c.MaxRecipients != want {
			t.Errorf("MaxRecipients %d became %d, want %d", in, c.MaxRecipients, want)
		}
	}
}
