package client

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"mailroom/adapters/smtpserver"
	"mailroom/domain/mail"
	"mailroom/ports"
)

const draftText = "From: bob@example.test\r\nTo: alice@example.test\r\nSubject: Draft one\r\n\r\nNotes for Friday.\r\n"

// Append against a real server: the draft is stored with its flags, comes
// back by fetch, reaches the other session's watch, and a missing folder
// is mail.ErrNoSuchFolder.
func TestAppendDraft(t *testing.T) {
	w := newWorld(t)
	c := New(fastConfig())
	ctx := context.Background()
	bob := w.login(c, "bob")
	other, err := c.Login(ctx, w.ep, "bob", password)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	watch := other.Watch(ctx)
	waitConnected(t, watch)

	var ds ports.DraftSession = bob
	m, err := ds.Append(ctx, mail.Drafts, []byte(draftText), mail.FlagDraft|mail.FlagSeen)
	if err != nil {
		t.Fatal(err)
	}
	if m.Folder != mail.Drafts || m.Subject != "Draft one" || !m.Seen || m.Flags != mail.FlagDraft|mail.FlagSeen ||
		m.Owner != bob.Account().ID || m.Size != int64(len(draftText)) || m.Preview != "Notes for Friday." {
		t.Errorf("Append gave %+v", m)
	}
	body, err := bob.Fetch(ctx, m.ID)
	if err != nil || !bytes.Equal(body.Raw, []byte(draftText)) {
		t.Errorf("Fetch = %q, %v", body.Raw, err)
	}
	if got := nextMessage(t, watch); got.ID != m.ID || got.Folder != mail.Drafts {
		t.Errorf("the other session's watch got %+v, want the draft %d", got, m.ID)
	}
	if m2, err := ds.Append(ctx, "Drafts", nil, 0); err != nil || m2.Flags != 0 || m2.Seen || m2.Size != 0 {
		t.Errorf("an empty draft: %+v, %v", m2, err)
	}
	if _, err := ds.Append(ctx, "Nowhere", []byte(draftText), 0); !errors.Is(err, mail.ErrNoSuchFolder) {
		t.Errorf("Append to a missing folder = %v, want ErrNoSuchFolder", err)
	}
	if _, err := ds.Append(ctx, "a//b", []byte(draftText), 0); err == nil {
		t.Error("Append to a bad folder name worked")
	}
}

// A draft over the SIZE the server advertised is mail.ErrTooLarge, and is
// not sent.
func TestAppendTooLarge(t *testing.T) {
	const size = 4 << 10
	w := newWorld(t, func(c *smtpserver.Config) { c.MaxMessageBytes = size })
	c := New(fastConfig())
	ctx := context.Background()
	bob := w.login(c, "bob")
	raw := append([]byte(draftText), bytes.Repeat([]byte("x"), size)...)
	if _, err := bob.Append(ctx, mail.Drafts, raw, 0); !errors.Is(err, mail.ErrTooLarge) {
		t.Errorf("Append of %d bytes = %v, want ErrTooLarge", len(raw), err)
	}
	if total, _, err := bob.Count(ctx, mail.Drafts); err != nil || total != 0 {
		t.Errorf("drafts: %d, %v; want none", total, err)
	}
	if _, err := bob.Append(ctx, mail.Drafts, raw[:size], 0); err != nil {
		t.Errorf("Append at the limit: %v", err)
	}
}

// nextChange skips connection events until a removal or a flag change, and
// fails on a message.
func nextChange(t *testing.T, ch <-chan ports.WatchEvent) ports.WatchEvent {
	t.Helper()
	for {
		ev := nextEvent(t, ch)
		if ev.Message != nil {
			t.Fatalf("message %+v, want a removal or flags", *ev.Message)
		}
		if ev.Removed != 0 || ev.Flagged != nil {
			return ev
		}
	}
}

// sameFlags compares what a Flagged event carries.
func sameFlags(got *mail.Meta, want mail.Meta) bool {
	return got != nil && got.ID == want.ID && got.Owner == want.Owner && got.Folder == want.Folder &&
		got.Flags == want.Flags && got.Seen == want.Seen
}

// Two sessions of one user: what one does to an entry reaches the other's
// watch as Flagged and Removed.
func TestWatchRemovedAndFlagged(t *testing.T) {
	w := newWorld(t)
	c := New(fastConfig())
	ctx := context.Background()
	alice, bob := w.login(c, "alice"), w.login(c, "bob")
	if err := alice.Send(ctx, ports.Draft{To: []string{"bob"}, Subject: "one", Body: "hi\n"}); err != nil {
		t.Fatal(err)
	}
	list, err := bob.List(ctx, mail.Inbox, 0, 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	id := list[0].ID
	other, err := c.Login(ctx, w.ep, "bob", password)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	watch := other.Watch(ctx)
	waitConnected(t, watch)

	if _, err := bob.SetFlags(ctx, id, mail.FlagFlagged, 0); err != nil {
		t.Fatal(err)
	}
	want := mail.Meta{ID: id, Owner: bob.Account().ID, Folder: mail.Inbox, Flags: mail.FlagFlagged}
	if ev := nextChange(t, watch); !sameFlags(ev.Flagged, want) {
		t.Errorf("flagged: got %+v, want %+v", ev.Flagged, want)
	}
	if err := bob.SetSeen(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	want.Flags, want.Seen = mail.FlagFlagged|mail.FlagSeen, true
	if ev := nextChange(t, watch); !sameFlags(ev.Flagged, want) {
		t.Errorf("seen: got %+v, want %+v", ev.Flagged, want)
	}
	moved, err := bob.Move(ctx, id, mail.Trash)
	if err != nil {
		t.Fatal(err)
	}
	// The move's new entry and its removal, in either order.
	var gotMoved, gotRemoved bool
	for !gotMoved || !gotRemoved {
		ev := nextEvent(t, watch)
		switch {
		case ev.Message != nil:
			gotMoved = ev.Message.ID == moved && ev.Message.Folder == mail.Trash
			if !gotMoved {
				t.Fatalf("message %+v, want %d in trash", *ev.Message, moved)
			}
		case ev.Removed != 0:
			gotRemoved = ev.Removed == id
			if !gotRemoved {
				t.Fatalf("removed %d, want %d", ev.Removed, id)
			}
		case ev.Flagged != nil:
			t.Fatalf("flags %+v during a move", *ev.Flagged)
		}
	}
	if err := bob.Delete(ctx, moved); err != nil {
		t.Fatal(err)
	}
	if ev := nextChange(t, watch); ev.Removed != moved {
		t.Errorf("delete: got %+v, want removed %d", ev, moved)
	}
}

// TestBuiltDraftRoundTrips: a draft as the UI stores it (BuildMessage, no
// recipients yet, non-ASCII subject, an attachment, a reply link) is
// accepted by the server and reads back with its subject, body and link.
func TestBuiltDraftRoundTrips(t *testing.T) {
	w := newWorld(t)
	c := New(fastConfig())
	ctx := context.Background()
	bob := w.login(c, "bob")
	d := ports.Draft{Subject: "Entwurf für Freitag", Body: "Noch nicht fertig.", InReplyTo: "<abc@example.test>",
		Attachments: []ports.Attachment{{Name: "plan.txt", ContentType: "text/plain", Data: []byte("step one")}}}
	raw, err := BuildMessage(d, bob.Account().Address, time.Now())
	if err != nil {
		t.Fatalf("BuildMessage of a draft with no recipients: %v", err)
	}
	m, err := bob.Append(ctx, mail.Drafts, raw, mail.FlagDraft|mail.FlagSeen)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != d.Subject || len(m.To) != 0 {
		t.Errorf("stored draft: subject %q, to %q", m.Subject, m.To)
	}
	body, err := bob.Fetch(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(body.Text) != d.Body || len(body.Attachments) != 1 || body.Attachments[0].Name != "plan.txt" {
		t.Errorf("fetched draft: text %q, attachments %+v", body.Text, body.Attachments)
	}
	if body.InReplyTo != "abc@example.test" {
		t.Errorf("fetched draft: InReplyTo %q, want abc@example.test (the reply link)", body.InReplyTo)
	}
}
