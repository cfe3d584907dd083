package ui

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"gioui.org/io/key"

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

// gate makes the first op call wait until release is closed (ignoring its
// ctx, so that its result is queued even if the session ends) and then
// fail with err, if not nil; later op calls wait for later. entered is
// closed when the first call starts.
func gate(fc *fakeClient, op string, err error) (entered, release, later chan struct{}) {
	entered, release, later = make(chan struct{}), make(chan struct{}), make(chan struct{})
	var once sync.Once
	fc.setHook(func(_ context.Context, got string) error {
		if got != op {
			return nil
		}
		first := false
		once.Do(func() { first = true })
		if !first {
			<-later
			return nil
		}
		close(entered)
		<-release
		return err
	})
	return entered, release, later
}

// queued waits until the gated call's result is waiting for the frame
// loop, which has not run it yet.
func queued(t *testing.T, h *harness, entered, release chan struct{}) {
	t.Helper()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the call was not made")
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for h.a.inflight.Load() > 0 || len(h.a.results) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no result queued")
		}
		time.Sleep(time.Millisecond)
	}
}

// signInDirect starts a session for user without running a frame, as if
// it happened in the same frame as the logout.
func signInDirect(t *testing.T, h *harness, user, pw string) {
	t.Helper()
	s, err := h.fc.Login(context.Background(), h.a.settings.Endpoint(), user, pw)
	if err != nil {
		t.Fatal(err)
	}
	h.a.startSession(s, user)
}

// A recipient check answered after its session ended is dropped: no send
// with no session (a panic), nor as the next user.
func TestStaleRecipientCheckDoesNotSend(t *testing.T) {
	for _, next := range []string{"logged out", "bob"} {
		t.Run(next, func(t *testing.T) {
			fc := newFakeClient()
			fc.addUser("alice", "correct horse")
			fc.addUser("bob", "bob password")
			h := newHarness(t, fc, trusted(fc), phone())
			h.login("alice", "correct horse")
			h.a.openCompose(nil, nil)
			h.settle()
			// Not typed: leaving the field would look bob up first.
			h.a.compose.to.SetText("bob")
			h.a.compose.subject.SetText("From alice")
			entered, release, later := gate(fc, "Lookup", nil)
			close(later)
			h.focus(&h.a.compose.send)
			h.r.Queue(key.Event{Name: key.NameReturn, State: key.Press}, key.Event{Name: key.NameReturn, State: key.Release})
			h.frame() // Send pressed: the check is in flight
			queued(t, h, entered, release)
			h.a.logout()
			if next == "bob" {
				signInDirect(t, h, "bob", "bob password")
			}
			h.settle()
			for i, s := range fc.sessions {
				if len(s.sent) != 0 {
					t.Errorf("session %d (%s) sent %+v", i, s.user, s.sent)
				}
			}
			if h.a.compose.sending {
				t.Error("compose still sending")
			}
		})
	}
}

// A page that fails after its session ended says nothing on the next
// user's mailbox.
func TestStaleListErrorNotShown(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	fc.addUser("bob", "bob password")
	seedInbox(fc, 2)
	h := newHarness(t, fc, trusted(fc), phone())
	h.login("alice", "correct horse")
	entered, release, later := gate(fc, "List", fmt.Errorf("fake: %w", ports.ErrUnreachable))
	h.a.loadMore(mail.Sent, 0)
	queued(t, h, entered, release)
	h.a.logout()
	signInDirect(t, h, "bob", "bob password")
	h.frame() // alice's result is drained; bob's first page is on its way
	if h.a.mailbox.listErr != "" {
		t.Errorf("bob's mailbox shows alice's list error %q", h.a.mailbox.listErr)
	}
	close(later)
	h.settle()
	for f, p := range h.a.sess.folders {
		if p.Err != nil {
			t.Errorf("bob's %v pager has error %v", f, p.Err)
		}
	}
}
