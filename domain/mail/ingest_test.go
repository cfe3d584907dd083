package mail_test

import (
	"context"
	"testing"
	"time"

	"mailroom/domain/mail"
)

// Delivery and APPEND read the message once and hand the store its search
// document with the rest, for the envelope sender (Deliver) or the From
// field (Append), so that the store need not read the message again.
func TestStoreGetsSearchDoc(t *testing.T) {
	ctx := context.Background()
	raw := []byte("From: Bob <bob@localhost>\r\nTo: Carol <carol@localhost>\r\nSubject: Budget\r\n\r\nThe numbers are in.\r\n")
	h := newHarness(t, 0)
	if _, err := deliver(ctx, h.svc, h.alice, []string{"bob"}, raw); err != nil {
		t.Fatal(err)
	}
	msg := h.store.msgs[0]
	want := mail.NewSearchDoc(raw, "alice@localhost")
	if msg.Search == nil || *msg.Search != want {
		t.Errorf("Deliver: Search = %+v, want %+v", msg.Search, want)
	}
	if msg.SearchDoc() != want {
		t.Errorf("Deliver: SearchDoc() = %+v, want %+v", msg.SearchDoc(), want)
	}

	if _, _, err := h.svc.Append(ctx, h.bob.ID, mail.Drafts, raw, 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	msg = h.store.appendArgs[0].msg
	want = mail.NewSearchDoc(raw, "bob@localhost")
	if msg.Search == nil || *msg.Search != want {
		t.Errorf("Append: Search = %+v, want %+v", msg.Search, want)
	}
}
