package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"mailroom/domain/mail"
	"mailroom/ports"
)

// offline makes every session call fail as unreachable while on is true.
func offline(fc *fakeClient, on *bool) {
	fc.setHook(func(ctx context.Context, op string) error {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		if *on {
			return fmt.Errorf("dial: %w", ports.ErrUnreachable)
		}
		return nil
	})
}

// TestReaderRefetchesOnReconnect: a message opened while the server is
// down says so once (in the reader, not also as a toast), and loads by
// itself when the connection is back (issue 14, defect 5).
func TestReaderRefetchesOnReconnect(t *testing.T) {
	h := signedIn(t, desktop(), false)
	fc := h.fc
	down := true
	offline(fc, &down)
	fc.sessions[0].watch <- ports.WatchEvent{Connected: false}
	h.waitFor("offline banner", func() bool { return !h.a.sess.connected })
	m := h.a.sess.folders[mail.Inbox].Items[0]
	h.a.openMessage(m)
	h.settle()
	if h.a.reader.err == "" || h.a.reader.body != nil {
		t.Fatalf("offline reader: err %q body %v", h.a.reader.err, h.a.reader.body)
	}
	if strings.Contains(h.a.reader.err, "retrying") {
		t.Errorf("reader claims a retry: %q", h.a.reader.err)
	}
	if h.a.toast != "" {
		t.Errorf("toast %q repeats what the banner and reader say", h.a.toast)
	}
	fc.mu.Lock()
	down = false
	fc.mu.Unlock()
	fc.sessions[0].watch <- ports.WatchEvent{Connected: true}
	h.waitFor("refetch", func() bool { return h.a.reader.body != nil })
	if h.a.reader.err != "" {
		t.Errorf("reader still says %q after reconnect", h.a.reader.err)
	}
	h.waitFor("seen", func() bool {
		got, _ := fc.metaOf("alice", m.ID)
		return got.Seen
	})
}

// metaOf is a copy of owner's entry id, under the lock.
func (c *fakeClient) metaOf(owner string, id mail.EntryID) (mail.Meta, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.meta(owner, id)
	if !ok {
		return mail.Meta{}, false
	}
	return *m, true
}
