package ui

import (
	"strings"
	"testing"
	"time"

	"gioui.org/io/key"

	"mailroom/domain/mail"
	"mailroom/ports"
	"mailroom/ui/model"
)

// withDrafts is alice signed in to a server that keeps drafts.
func withDrafts(t *testing.T) (*harness, *fakeClient) {
	t.Helper()
	fc := newFakeClient()
	fc.withFolders, fc.withSearch, fc.withDrafts = true, true, true
	fc.addUser("alice", "correct horse")
	fc.addUser("bob", "bob password")
	seedInbox(fc, 3)
	h := newHarness(t, fc, trusted(fc), desktop(), func(c *Config) { c.DraftRaw = testDraftRaw })
	h.login("alice", "correct horse")
	return h, fc
}

// idle lets the server draft's pause in typing pass on the frame clock.
func (h *harness) idle() {
	h.frames += int(serverDraftDelay / time.Millisecond)
	h.settle()
}

// TestServerDraftReplacedAsYouType: a pause in typing stores the draft in
// the server's Drafts folder, a later one replaces it (append the new
// copy, delete the old), and sending deletes it (issue 14, defect 3).
func TestServerDraftReplacedAsYouType(t *testing.T) {
	h, fc := withDrafts(t)
	h.a.openCompose(nil, nil)
	h.settle()
	h.typeInto(&h.a.compose.to, "bob")
	h.typeInto(&h.a.compose.subject, "Plans")
	h.settle()
	if n := fc.appended(); n != 0 {
		t.Fatalf("stored before typing paused: %d appends", n)
	}
	h.idle()
	if got := fc.draftsOf("alice"); len(got) != 1 || got[0] != "Plans" {
		t.Fatalf("Drafts holds %q after a pause", got)
	}
	h.focus(&h.a.compose.subject)
	h.r.Queue(key.EditEvent{Range: key.Range{Start: 5, End: 5}, Text: " for Friday"})
	h.frame()
	h.idle()
	if got := fc.draftsOf("alice"); len(got) != 1 || got[0] != "Plans for Friday" {
		t.Fatalf("Drafts holds %q after an edit, want the new copy only", got)
	}
	if sd, ok, _ := model.LoadDraft(h.a.cfg.DataDir); !ok || sd.ServerID == 0 {
		t.Errorf("the local copy does not know the server's: %+v", sd)
	}
	h.activate(&h.a.compose.send)
	if h.a.top() == routeCompose {
		t.Fatalf("not sent: %q %q", h.a.compose.err, h.a.compose.toErr)
	}
	if got := fc.draftsOf("alice"); len(got) != 0 {
		t.Fatalf("Drafts holds %q after sending", got)
	}
}

// TestServerDraftOnCloseAndDiscard: closing compose stores the draft at
// once; Discard deletes the server copy.
func TestServerDraftOnCloseAndDiscard(t *testing.T) {
	h, fc := withDrafts(t)
	h.a.openCompose(nil, nil)
	h.settle()
	h.typeInto(&h.a.compose.body, "Remember the milk")
	h.a.back()
	h.settle()
	if got := fc.draftsOf("alice"); len(got) != 1 {
		t.Fatalf("Drafts holds %q after closing compose", got)
	}
	h.a.openCompose(nil, nil) // restores the local copy
	h.settle()
	h.activate(&h.a.compose.discard)
	if got := fc.draftsOf("alice"); len(got) != 0 {
		t.Fatalf("Drafts holds %q after Discard", got)
	}
}

// TestServerDraftOfflineThenPushed: typed while the server is down, the
// draft stays on this device and reaches the server when the connection
// returns.
func TestServerDraftOfflineThenPushed(t *testing.T) {
	h, fc := withDrafts(t)
	down := true
	goOffline(h, &down)
	h.a.openCompose(nil, nil)
	h.settle()
	h.typeInto(&h.a.compose.subject, "Written on the train")
	h.idle()
	h.a.back()
	h.settle()
	if sd, ok, _ := model.LoadDraft(h.a.cfg.DataDir); !ok || sd.Draft.Subject != "Written on the train" {
		t.Fatalf("no local copy offline: %+v", sd)
	}
	if got := fc.draftsOf("alice"); len(got) != 0 {
		t.Fatalf("Drafts holds %q while offline", got)
	}
	setDown(fc, &down, false)
	fc.sessions[0].watch <- ports.WatchEvent{Connected: true}
	h.waitFor("the draft on the server", func() bool { return len(fc.draftsOf("alice")) == 1 })
}

// TestServerDraftOpensInCompose: a message of the Drafts folder opens in
// compose, and storing it again replaces that copy.
func TestServerDraftOpensInCompose(t *testing.T) {
	h, fc := withDrafts(t)
	raw, _ := testDraftRaw(ports.Draft{To: []string{"bob@example.org"}, Subject: "From the phone", Body: "Started elsewhere."},
		"alice@example.org")
	m, err := (&fakeDraftSession{&fakeSearchSession{&fakeFolderSession{fc.sessions[0]}}}).Append(t.Context(), mail.Drafts, raw, mail.FlagDraft)
	if err != nil {
		t.Fatal(err)
	}
	h.a.selectFolder(mail.Drafts)
	h.settle()
	if h.a.sess.pager(mail.Drafts).Index(m.ID) < 0 {
		t.Fatal("the draft is not listed")
	}
	h.a.openMessage(m)
	h.settle()
	c := &h.a.compose
	if h.a.top() != routeCompose || c.to.Text() != "bob@example.org" || c.subject.Text() != "From the phone" ||
		!strings.Contains(c.body.Text(), "Started elsewhere.") {
		t.Fatalf("compose: page %v To %q subject %q body %q", h.a.top(), c.to.Text(), c.subject.Text(), c.body.Text())
	}
	h.typeInto(&c.body, "And finished here. ")
	h.idle()
	got := fc.inFolder("alice", mail.Drafts)
	if len(got) != 1 || got[0] == m.ID {
		t.Fatalf("Drafts ids %v, want one copy replacing %d", got, m.ID)
	}
}
