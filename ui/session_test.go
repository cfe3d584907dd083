package ui

import (
	"context"
	"fmt"
	"testing"

	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
)

const revokedText = "Your password was changed or your account was removed. Sign in again."

// The server stops taking the session's password (it was changed, or the
// account removed): the client's re-login fails with ErrBadCredentials.
// The session ends and the login page says why, whether the watch or a
// call found out.
func TestBadCredentialsEndsSession(t *testing.T) {
	refused := fmt.Errorf("relogin: %w", account.ErrBadCredentials)
	tests := []struct {
		name    string
		trigger func(h *harness)
	}{
		{"watch", func(h *harness) {
			h.fc.sessions[0].watch <- ports.WatchEvent{Err: refused, Connected: false}
		}},
		{"count", func(h *harness) { h.a.refreshCounts() }},
		{"list", func(h *harness) { h.activate(h.a.mailbox.tabs[mail.Sent]) }},
		{"fetch", func(h *harness) { h.a.openMessage(h.a.sess.folders[mail.Inbox].Items[0]) }},
		{"seen", func(h *harness) { h.a.setSeen(h.a.sess.folders[mail.Inbox].Items[0], true) }},
		{"delete", func(h *harness) {
			h.a.deleteMessage(h.a.sess.folders[mail.Inbox].Items[0])
			h.a.commitDelete(h.a.sess)
		}},
		{"lookup", func(h *harness) {
			h.a.openCompose(nil, nil)
			h.typeInto(&h.a.compose.to, "bob")
			h.activate(&h.a.compose.send)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := newFakeClient()
			fc.addUser("alice", "correct horse")
			fc.addUser("bob", "bob password")
			seedInbox(fc, 2)
			h := newHarness(t, fc, trusted(fc), phone())
			h.login("alice", "correct horse")
			if tt.name != "watch" {
				fc.setHook(func(context.Context, string) error { return refused })
			}
			tt.trigger(h)
			h.waitFor("the login page", func() bool { return h.a.top() == routeLogin })
			if h.a.sess != nil {
				t.Fatal("session kept")
			}
			if h.a.login.err != revokedText {
				t.Errorf("login page says %q, want %q", h.a.login.err, revokedText)
			}
			if h.a.login.busy || h.a.login.user.Text() != "alice" || h.a.login.pass.Text() != "" {
				t.Errorf("login form: busy %v, %q/%q", h.a.login.busy, h.a.login.user.Text(), h.a.login.pass.Text())
			}
			h.a.flushing.Wait()
			if !fc.sessions[0].isClosed() {
				t.Error("the session was not closed")
			}
			// Signing in again works, and the message goes.
			fc.setHook(nil)
			h.login("alice", "correct horse")
			if h.a.login.err != "" {
				t.Errorf("after signing in again: login error %q", h.a.login.err)
			}
		})
	}
}

// Only the login page's message tells of it: no toast repeats it.
func TestBadCredentialsNoToast(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	seedInbox(fc, 2)
	h := newHarness(t, fc, trusted(fc), phone())
	h.login("alice", "correct horse")
	h.a.toast = ""
	fc.setHook(func(context.Context, string) error { return account.ErrBadCredentials })
	h.a.setSeen(h.a.sess.folders[mail.Inbox].Items[0], true)
	h.a.deleteMessage(h.a.sess.folders[mail.Inbox].Items[1])
	h.a.commitDelete(h.a.sess)
	h.settle()
	if h.a.top() != routeLogin || h.a.login.err != revokedText {
		t.Fatalf("page %v, login error %q", h.a.top(), h.a.login.err)
	}
	if h.a.toast != "" {
		t.Errorf("toast %q", h.a.toast)
	}
}
