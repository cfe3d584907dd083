package ui

import (
	"testing"

	"mailroom/domain/mail"
)

func TestUndoClickDoesNotReachRowBelow(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	seedInbox(fc, 20)
	timers := &fakeTimers{}
	h := newHarness(t, fc, trusted(fc), phone(), func(c *Config) { c.AfterFunc = timers.after })
	h.login("alice", "correct horse")
	m := h.a.sess.folders[mail.Inbox].Items[0]
	h.a.openMessage(m)
	h.settle()
	h.activate(&h.a.reader.del)
	h.click(351, 760)
	t.Logf("top %v reader %q pending %v", h.a.top(), h.a.reader.meta.Subject, h.a.sess.pending != nil)
	if h.a.sess.pending != nil || h.a.reader.meta.ID != m.ID {
		t.Fatalf("after clicking Undo: pending %v, reader shows %q, want %q", h.a.sess.pending != nil, h.a.reader.meta.Subject, m.Subject)
	}
}

// The snackbar is opaque: a tap on its text does not open the row under it.
func TestSnackbarBlocksRowBelow(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	seedInbox(fc, 20)
	timers := &fakeTimers{}
	h := newHarness(t, fc, trusted(fc), phone(), func(c *Config) { c.AfterFunc = timers.after })
	h.login("alice", "correct horse")
	h.a.deleteMessage(h.a.sess.folders[mail.Inbox].Items[0])
	h.settle()
	h.click(100, 760)
	if h.a.top() != routeMailbox || h.a.sess.pending == nil {
		t.Fatalf("tap on the snackbar: page %v, reader %q, pending %v", h.a.top(), h.a.reader.meta.Subject, h.a.sess.pending != nil)
	}
}
