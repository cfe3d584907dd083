package ui

import (
	"strings"
	"testing"

	"gioui.org/io/key"

	"mailroom/domain/mail"
)

// TestKeyboard drives the mailbox, reader and compose from the keyboard.
func TestKeyboard(t *testing.T) {
	h := signedIn(t, desktop(), false)
	h.fc.addUser("carol", "carol password")
	inbox := h.a.sess.folders[mail.Inbox]
	h.key("J", 0) // shows the cursor on the first row
	h.key("J", 0)
	if h.a.mailbox.cursor != 1 {
		t.Fatalf("cursor %d after j j", h.a.mailbox.cursor)
	}
	h.key(key.NameReturn, 0)
	if !h.a.reader.shown || h.a.reader.meta.ID != inbox.Items[1].ID {
		t.Fatalf("Enter opened %v", h.a.reader.meta.Subject)
	}
	h.key(key.NameDownArrow, 0) // with a message open, moving opens
	if h.a.reader.meta.ID != inbox.Items[2].ID {
		t.Fatalf("Down opened %q", h.a.reader.meta.Subject)
	}
	h.key("K", 0)
	if h.a.reader.meta.ID != inbox.Items[1].ID {
		t.Fatalf("k opened %q", h.a.reader.meta.Subject)
	}
	h.key("R", 0)
	if h.a.top() != routeCompose || h.a.compose.to.Text() != "bob@example.org" {
		t.Fatalf("r: page %v To %q", h.a.top(), h.a.compose.to.Text())
	}
	h.key(key.NameEscape, 0)
	h.key("F", 0)
	if h.a.top() != routeCompose || !strings.HasPrefix(h.a.compose.subject.Text(), "Fwd: ") ||
		h.a.compose.to.Text() != "" || !strings.Contains(h.a.compose.body.Text(), "Forwarded message") {
		t.Fatalf("f: subject %q To %q", h.a.compose.subject.Text(), h.a.compose.to.Text())
	}
	h.a.compose.to.SetText("carol")
	h.key(key.NameReturn, key.ModShortcut)
	if h.a.top() == routeCompose {
		t.Fatalf("Ctrl+Enter did not send: %q %q", h.a.compose.err, h.a.compose.toErr)
	}
	// Delete opens the next message beside the list.
	h.a.openMessage(inbox.Items[1])
	h.settle()
	next := inbox.Items[2].ID
	h.key(key.NameDeleteForward, 0)
	if !h.a.reader.shown || h.a.reader.meta.ID != next {
		t.Fatalf("after Delete the reader shows %v %q", h.a.reader.shown, h.a.reader.meta.Subject)
	}
	loaded := len(inbox.Items)
	h.key(key.NameEnd, 0) // the last row loaded; reaching it loads the next page
	if h.a.mailbox.cursor != loaded-1 || h.a.reader.meta.ID != inbox.Items[loaded-1].ID {
		t.Errorf("End: cursor %d of %d", h.a.mailbox.cursor, loaded)
	}
	h.key(key.NameHome, 0)
	if h.a.mailbox.cursor != 0 || h.a.reader.meta.ID != inbox.Items[0].ID {
		t.Errorf("Home: cursor %d", h.a.mailbox.cursor)
	}
	h.key("C", 0)
	if h.a.top() != routeCompose {
		t.Errorf("c opened %v", h.a.top())
	}
}

func TestReplyAllTo(t *testing.T) {
	m := mail.Meta{From: "bob@x", To: []string{"alice@x", "Carol@x", "carol@x"}}
	if got := strings.Join(replyAllTo(m, "alice@x"), ","); got != "bob@x,Carol@x" {
		t.Errorf("reply all to %q", got)
	}
	self := mail.Meta{From: "alice@x", To: []string{"alice@x"}}
	if got := strings.Join(replyAllTo(self, "alice@x"), ","); got != "alice@x" {
		t.Errorf("to oneself: %q", got)
	}
}
