package ui

import (
	"context"
	"testing"
	"time"

	"mailroom/domain/mail"
	"mailroom/ports"
	"mailroom/ui/model"
)

// Removals and flag changes made by another client while this one's watch
// was away come with no event: the catch-up listing on Connected applies
// them (issue 14: a moved message must leave the list of other clients).
func TestWatchConnectReconcilesRemovalsAndFlags(t *testing.T) {
	h, fc, inbox := aliceOnPhone(t, 3, 3)
	gone, read := inbox.Items[1].ID, inbox.Items[2].ID
	if inbox.Items[2].Seen {
		t.Fatal("seeded mail is already read")
	}

	// Another client, while this one was disconnected: deletes one, reads one.
	other := &fakeSession{c: fc, user: "alice", ctx: context.Background()}
	if err := other.Delete(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	if err := other.SetSeen(context.Background(), read, true); err != nil {
		t.Fatal(err)
	}
	fc.sessions[0].watch <- ports.WatchEvent{Connected: true}
	h.waitFor("catch-up", func() bool { return len(inbox.Items) == 2 })
	if inbox.Index(gone) >= 0 {
		t.Fatal("the entry deleted elsewhere is still listed")
	}
	if i := inbox.Index(read); i < 0 || !inbox.Items[i].Seen {
		t.Fatalf("the entry read elsewhere: index %d, want listed and seen", i)
	}
}

// A delete waiting for its undo inside the newest page must not make the
// catch-up page look short: older rows loaded below it stay listed.
func TestWatchConnectKeepsOlderRowsDuringUndo(t *testing.T) {
	h, fc, inbox := aliceOnPhone(t, 2*model.PageSize, model.PageSize)
	h.a.loadMore(mail.Inbox, len(inbox.Items)-1)
	h.waitFor("second page", func() bool { return len(inbox.Items) == 2*model.PageSize })
	h.a.deleteMessage(inbox.Items[0]) // waits for its undo: hidden, still on the server
	h.settle()
	rows := len(inbox.Items)
	fc.sessions[0].watch <- ports.WatchEvent{Connected: true}
	time.Sleep(20 * time.Millisecond)
	h.settle()
	if len(inbox.Items) != rows {
		t.Fatalf("after the catch-up %d rows, want the %d listed before", len(inbox.Items), rows)
	}
}
