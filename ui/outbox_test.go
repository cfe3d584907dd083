package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gioui.org/io/key"

	"mailroom/ports"
	"mailroom/ui/model"
)

// goOffline makes the fake server unreachable and tells the app, as the
// watch does when the connection drops.
func goOffline(h *harness, down *bool) {
	h.t.Helper()
	offline(h.fc, down)
	h.fc.sessions[0].watch <- ports.WatchEvent{Connected: false}
	h.waitFor("offline", func() bool { return !h.a.sess.connected })
}

func setDown(fc *fakeClient, down *bool, v bool) {
	fc.mu.Lock()
	*down = v
	fc.mu.Unlock()
}

func composeTo(h *harness, to, subject, body string) {
	h.a.openCompose(nil, nil)
	h.settle()
	h.a.compose.to.SetText(to)
	h.a.compose.subject.SetText(subject)
	h.a.compose.body.SetText(body)
	h.a.compose.submit(h.a)
	h.settle()
}

func checkMode(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
}

// TestOutboxSendsWhenServerReturns: a send while the server is down goes
// to the Outbox on disk, is retried with backoff while it stays down, and
// goes out when the connection returns (issue 14, defect 4).
func TestOutboxSendsWhenServerReturns(t *testing.T) {
	h := signedIn(t, desktop(), false)
	h.a.retryBase = 10 * time.Millisecond
	down := true
	goOffline(h, &down)
	composeTo(h, "bob", "Lunch?", "At noon.")
	if h.a.top() == routeCompose {
		t.Fatal("compose still open after queueing")
	}
	if strings.Contains(strings.ToLower(h.a.toast), "retrying") || !strings.Contains(h.a.toast, "Outbox") {
		t.Errorf("toast %q; want the Outbox named and no claimed retry", h.a.toast)
	}
	q := h.a.queued()
	if len(q) != 1 || q[0].State != model.Queued || q[0].Draft.Subject != "Lunch?" {
		t.Fatalf("outbox %+v", q)
	}
	path := filepath.Join(h.a.cfg.DataDir, model.OutboxFile)
	checkMode(t, path)
	if items, err := model.LoadOutbox(h.a.cfg.DataDir); err != nil || len(items) != 1 {
		t.Fatalf("on disk: %v %v", items, err)
	}
	// Still down: the backoff timer tries again, and the state says so.
	h.waitFor("a retry", func() bool { return len(h.a.queued()) == 1 && h.a.queued()[0].Tries >= 2 })
	if got := outboxState(h.a.queued()[0]); !strings.Contains(got, "tried") {
		t.Errorf("state %q", got)
	}
	setDown(h.fc, &down, false)
	h.fc.sessions[0].watch <- ports.WatchEvent{Connected: true}
	h.waitFor("the send", func() bool { return len(h.a.queued()) == 0 })
	sent := h.fc.sessions[0].sent
	if len(sent) == 0 || sent[len(sent)-1].Subject != "Lunch?" {
		t.Fatalf("server got %+v", sent)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("outbox file left behind: %v", err)
	}
}

// TestOutboxNotSentAndCancel: a permanent refusal becomes "Not sent" with
// the reason; Cancel removes it.
func TestOutboxNotSentAndCancel(t *testing.T) {
	h := signedIn(t, desktop(), false)
	down := true
	goOffline(h, &down)
	composeTo(h, "mallory", "Hi", "Who are you?")
	setDown(h.fc, &down, false)
	h.fc.sessions[0].watch <- ports.WatchEvent{Connected: true}
	h.waitFor("refusal", func() bool { q := h.a.queued(); return len(q) == 1 && q[0].State == model.NotSent })
	it := h.a.queued()[0]
	if got := outboxState(it); !strings.HasPrefix(got, "Not sent") || !strings.Contains(got, "mallory") {
		t.Errorf("state %q; want Not sent naming mallory", got)
	}
	h.activate(&h.a.outbox.buttons[it.ID].cancel)
	if len(h.a.queued()) != 0 {
		t.Fatalf("outbox after Cancel: %+v", h.a.queued())
	}
}

// TestDraftKeptAndRestored: typed text is saved as it is typed, Escape
// keeps it and says so, compose brings it back, and Discard offers Undo
// (issue 14, defect 3).
func TestDraftKeptAndRestored(t *testing.T) {
	h := signedIn(t, phone(), false)
	h.a.drafts.delay = 0
	h.key("N", key.ModShortcut)
	h.typeInto(&h.a.compose.body, "Dear Bob,")
	h.settle()
	path := filepath.Join(h.a.cfg.DataDir, model.DraftFile)
	checkMode(t, path)
	h.key(key.NameEscape, 0)
	if h.a.top() == routeCompose || !strings.Contains(h.a.toast, "Draft saved") {
		t.Fatalf("after Escape: page %v toast %q", h.a.top(), h.a.toast)
	}
	h.key("N", key.ModShortcut)
	if got := h.a.compose.body.Text(); got != "Dear Bob," {
		t.Fatalf("reopened compose has %q", got)
	}
	h.activate(&h.a.compose.discard)
	if h.a.top() == routeCompose || h.a.drafts.discarded == nil {
		t.Fatalf("after Discard: page %v, undo offered %v", h.a.top(), h.a.drafts.discarded != nil)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("draft file left after Discard: %v", err)
	}
	h.activate(&h.a.drafts.undo)
	if h.a.top() != routeCompose || h.a.compose.body.Text() != "Dear Bob," {
		t.Fatalf("after Undo: page %v body %q", h.a.top(), h.a.compose.body.Text())
	}
}
