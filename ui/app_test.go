package ui

import (
	"fmt"
	"image"
	"strings"
	"testing"
	"time"

	"gioui.org/f32"
	"gioui.org/io/event"
	"gioui.org/io/input"
	"gioui.org/io/key"
	"gioui.org/io/pointer"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"

	"mailroom/domain/mail"
	"mailroom/ports"
	"mailroom/ui/model"
)

// testNow is the fixed clock of every UI test.
var testNow = time.Date(2026, 3, 10, 14, 30, 0, 0, time.UTC)

// harness drives an App through a real input.Router, one frame at a time.
type harness struct {
	t      *testing.T
	a      *App
	fc     *fakeClient
	r      input.Router
	ops    op.Ops
	size   image.Point
	frames int
}

func newHarness(t *testing.T, fc *fakeClient, s model.Settings, size image.Point, opts ...func(*Config)) *harness {
	t.Helper()
	dir := t.TempDir()
	if s != (model.Settings{}) {
		if err := model.SaveSettings(dir, s); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{Client: fc, DataDir: dir, Now: func() time.Time { return testNow }, Timeout: 5 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	a := New(cfg)
	t.Cleanup(a.Close)
	h := &harness{t: t, a: a, fc: fc, size: size}
	h.settle()
	return h
}

// trusted are settings with the fake server pinned.
func trusted(fc *fakeClient) model.Settings {
	return model.Settings{Host: "mail.example.org", Fingerprint: fc.fingerprint}
}

func (h *harness) frame() {
	h.frames++
	gtx := layout.Context{
		Ops:         &h.ops,
		Source:      h.r.Source(),
		Metric:      unit.Metric{PxPerDp: 1, PxPerSp: 1},
		Constraints: layout.Exact(h.size),
		Now:         testNow.Add(time.Duration(h.frames) * time.Millisecond),
	}
	h.ops.Reset()
	h.a.Layout(gtx)
	h.r.Frame(gtx.Ops)
}

// settle runs frames until no background call is in flight and no result
// is waiting.
func (h *harness) settle() {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for h.a.inflight.Load() > 0 {
			if time.Now().After(deadline) {
				h.t.Fatal("background calls did not finish")
			}
			time.Sleep(time.Millisecond)
		}
		h.frame()
		if h.a.inflight.Load() == 0 && len(h.a.results) == 0 {
			h.frame() // events queued by the last frame's commands
			if h.a.inflight.Load() == 0 && len(h.a.results) == 0 {
				return
			}
		}
	}
}

// waitFor runs frames until cond holds, for results that come from a
// goroutine the harness does not count (the watch stream).
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
		h.settle()
	}
}

func (h *harness) focus(tag event.Tag) {
	h.a.focus = tag
	h.frame()
}

// typeInto focuses an editor and types text into it.
func (h *harness) typeInto(tag event.Tag, text string) {
	h.focus(tag)
	h.r.Queue(key.EditEvent{Text: text})
	h.frame()
}

// press sends a Return press and release to whatever has focus.
func (h *harness) press() {
	h.r.Queue(key.Event{Name: key.NameReturn, State: key.Press}, key.Event{Name: key.NameReturn, State: key.Release})
	h.settle()
}

// activate focuses a button and presses Return on it.
func (h *harness) activate(tag event.Tag) {
	h.focus(tag)
	h.press()
}

// click is a primary mouse click at pt (in dp, which is px here).
func (h *harness) click(x, y int) {
	pt := f32.Pt(float32(x), float32(y))
	h.r.Queue(
		pointer.Event{Kind: pointer.Press, Source: pointer.Mouse, Buttons: pointer.ButtonPrimary, Position: pt},
		pointer.Event{Kind: pointer.Release, Source: pointer.Mouse, Buttons: pointer.ButtonPrimary, Position: pt},
	)
	h.settle()
}

func (h *harness) key(name key.Name, mods key.Modifiers) {
	h.r.Queue(key.Event{Name: name, State: key.Press, Modifiers: mods})
	h.settle()
}

// login signs in through the form as user/pw.
func (h *harness) login(user, pw string) {
	h.t.Helper()
	h.a.login.user.SetText("")
	h.typeInto(&h.a.login.user, user)
	h.typeInto(&h.a.login.pass, pw)
	h.press()
	if h.a.sess == nil {
		h.t.Fatalf("not signed in; login error %q", h.a.login.err)
	}
}

// signedIn is alice signed in with 200 messages, in the theme asked.
func signedIn(t *testing.T, size image.Point, dark bool) *harness {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	fc.addUser("bob", "bob password")
	seedInbox(fc, 200)
	s := trusted(fc)
	s.Dark = &dark
	h := newHarness(t, fc, s, size)
	h.login("alice", "correct horse")
	return h
}

func phone() image.Point   { return image.Pt(400, 800) }
func desktop() image.Point { return image.Pt(1280, 800) }

func TestFirstRunTrustsFingerprint(t *testing.T) {
	fc := newFakeClient()
	h := newHarness(t, fc, model.Settings{}, phone())
	if h.a.top() != routeSetup {
		t.Fatalf("first run starts at %v, want setup", h.a.top())
	}
	if got := h.a.setup.smtp.Text() + "/" + h.a.setup.inbox.Text(); got != "8025/9999" {
		t.Errorf("ports prefilled %q, want 8025/9999", got)
	}
	// Return with no host: refused inline, nothing probed.
	h.focus(&h.a.setup.host)
	h.press()
	if h.a.setup.badField != "host" || h.a.setup.probed != nil {
		t.Fatalf("empty host: badField %q probed %v", h.a.setup.badField, h.a.setup.probed)
	}
	h.typeInto(&h.a.setup.host, "mail.example.org")
	h.press()
	if h.a.setup.probed == nil || h.a.setup.fp != fc.fingerprint {
		t.Fatalf("after connect: probed %v fp %q err %q", h.a.setup.probed, h.a.setup.fp, h.a.setup.err)
	}
	h.activate(&h.a.setup.trust)
	if h.a.top() != routeLogin {
		t.Fatalf("after trust: page %v, want login", h.a.top())
	}
	s, err := model.LoadSettings(h.a.cfg.DataDir)
	if err != nil || s.Host != "mail.example.org" || s.Fingerprint != fc.fingerprint || s.SMTPPort != 8025 || s.InboxPort != 9999 {
		t.Fatalf("saved settings %+v, %v", s, err)
	}
}

func TestLoginErrorInline(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	h := newHarness(t, fc, trusted(fc), phone())
	if h.a.top() != routeLogin {
		t.Fatalf("start page %v, want login", h.a.top())
	}
	h.typeInto(&h.a.login.user, "alice")
	h.typeInto(&h.a.login.pass, "wrong password")
	h.press()
	if h.a.sess != nil {
		t.Fatal("signed in with a wrong password")
	}
	if h.a.login.err != "Wrong username or password." || h.a.login.errField != "pass" {
		t.Fatalf("login error %q on %q", h.a.login.err, h.a.login.errField)
	}
	if h.a.login.pass.Text() != "" {
		t.Error("the wrong password was left in the field")
	}
	// The right one gets in, and the settings remember the name only.
	h.typeInto(&h.a.login.pass, "correct horse")
	h.press()
	if h.a.sess == nil || h.a.top() != routeMailbox {
		t.Fatalf("not in the mailbox: %v, err %q", h.a.top(), h.a.login.err)
	}
	s, _ := model.LoadSettings(h.a.cfg.DataDir)
	if s.Username != "alice" {
		t.Errorf("remembered username %q", s.Username)
	}
}

func TestLoginErrorWords(t *testing.T) {
	tests := []struct {
		name     string
		register bool
		user, pw string
		setup    func(fc *fakeClient)
		want     string
	}{
		{"taken", true, "alice", "long-enough", nil, "That name is taken."},
		{"weak", true, "bob", "short", nil, "Password needs 8+ characters."},
		{"control character", true, "bob", "tab\tbed-password", nil, "Password needs 8+ characters."},
		{"bad name", true, "bob smith", "long-enough", nil, "Usernames use a–z, 0–9, dot, dash or underscore (up to 64)."},
		{"closed", true, "bob", "long-enough", func(fc *fakeClient) { fc.registerErr = ports.ErrRegistrationClosed }, "This server does not accept new accounts."},
		{"unreachable", false, "alice", "whatever1", func(fc *fakeClient) { fc.loginErr = fmt.Errorf("dial: %w", ports.ErrUnreachable) }, "Server unreachable, retrying…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := newFakeClient()
			fc.addUser("alice", "correct horse")
			if tt.setup != nil {
				tt.setup(fc)
			}
			h := newHarness(t, fc, trusted(fc), phone())
			h.typeInto(&h.a.login.user, tt.user)
			h.typeInto(&h.a.login.pass, tt.pw)
			if tt.register {
				h.activate(&h.a.login.register)
			} else {
				h.press()
			}
			if h.a.login.err != tt.want {
				t.Fatalf("error %q, want %q", h.a.login.err, tt.want)
			}
			if h.a.sess != nil {
				t.Fatal("signed in")
			}
		})
	}
}

func TestLoginRetriesUnreachable(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	fc.loginErr = ports.ErrUnreachable
	h := newHarness(t, fc, trusted(fc), phone())
	h.a.retryBase = 20 * time.Millisecond
	h.typeInto(&h.a.login.user, "alice")
	h.typeInto(&h.a.login.pass, "correct horse")
	h.press()
	if h.a.login.err != "Server unreachable, retrying…" || !h.a.login.busy {
		t.Fatalf("err %q busy %v", h.a.login.err, h.a.login.busy)
	}
	fc.mu.Lock()
	fc.loginErr = nil
	fc.mu.Unlock()
	h.waitFor("the retry to sign in", func() bool { return h.a.sess != nil })
}

func TestRegisterSuccess(t *testing.T) {
	fc := newFakeClient()
	h := newHarness(t, fc, trusted(fc), phone())
	h.typeInto(&h.a.login.user, "Carol")
	h.typeInto(&h.a.login.pass, "a-good-password")
	h.activate(&h.a.login.register)
	if h.a.sess == nil || h.a.top() != routeMailbox {
		t.Fatalf("after register: page %v err %q", h.a.top(), h.a.login.err)
	}
	if _, ok := fc.users["carol"]; !ok {
		t.Fatal("no account on the server")
	}
	if !strings.Contains(h.a.toast, "carol@example.org") {
		t.Errorf("welcome toast %q", h.a.toast)
	}
}

func TestFingerprintMismatchBlocks(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	s := trusted(fc)
	s.Fingerprint = strings.Repeat("cd", 32) // the pin no longer matches
	h := newHarness(t, fc, s, phone())
	if !h.a.blocked {
		t.Fatal("a changed certificate did not block")
	}
	if h.a.blockPage.presented != fc.fingerprint {
		t.Errorf("presented fingerprint %q", h.a.blockPage.presented)
	}
	// The warning is what is drawn, over the login form; typing and Return
	// sign nobody in.
	h.a.login.user.SetText("alice")
	h.a.login.pass.SetText("correct horse")
	h.a.login.submit(h.a, false)
	h.settle()
	if h.a.sess != nil {
		t.Fatal("signed in despite the mismatch")
	}
	// Checking again does not unblock while it still differs.
	h.activate(&h.a.blockPage.retry)
	if !h.a.blocked || !h.a.blockPage.stillBad {
		t.Fatal("check again unblocked a mismatching server")
	}
	// A mismatch found later (e.g. by the watch) blocks a live session too.
	fc2 := newFakeClient()
	fc2.addUser("alice", "correct horse")
	h2 := newHarness(t, fc2, trusted(fc2), phone())
	h2.login("alice", "correct horse")
	sess := fc2.sessions[0]
	sess.watch <- ports.WatchEvent{Connected: false, Err: ports.ErrFingerprintMismatch}
	h2.waitFor("block", func() bool { return h2.a.blocked })
	if h2.a.sess != nil {
		t.Fatal("session kept after mismatch")
	}
}

func TestFingerprintMismatchIsRed(t *testing.T) {
	// The red background is the first thing drawn on the blocked page.
	fc := newFakeClient()
	s := trusted(fc)
	s.Fingerprint = strings.Repeat("cd", 32)
	for _, dark := range []bool{false, true} {
		h := newHarness(t, fc, s, phone())
		th := NewTheme(newShaper(), dark)
		if c := th.DangerBg; c.R < 0x80 || c.G > 0x40 || c.B > 0x40 {
			t.Errorf("dark=%v: warning colour %v is not red", dark, c)
		}
		if !h.a.blocked {
			t.Fatal("not blocked")
		}
	}
}

func seedInbox(fc *fakeClient, n int) {
	for i := 0; i < n; i++ {
		fc.deliver("bob", "alice", fmt.Sprintf("Message %d", i), fmt.Sprintf("Body of message %d.", i), testNow.Add(-time.Duration(n-i)*time.Minute))
	}
}

// aliceOnPhone logs alice in on a phone with n messages from bob in her
// inbox, and waits for the inbox's first page (first rows).
func aliceOnPhone(t *testing.T, n, first int) (*harness, *fakeClient, *model.Pager) {
	t.Helper()
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	fc.addUser("bob", "bob password")
	seedInbox(fc, n)
	h := newHarness(t, fc, trusted(fc), phone())
	h.login("alice", "correct horse")
	inbox := h.a.sess.folders[mail.Inbox]
	h.waitFor("first page", func() bool { return len(inbox.Items) == first })
	return h, fc, inbox
}

func TestNewMailAppearsLive(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	fc.addUser("bob", "bob password")
	seedInbox(fc, 3)
	h := newHarness(t, fc, trusted(fc), phone())
	h.login("alice", "correct horse")
	inbox := h.a.sess.folders[mail.Inbox]
	if len(inbox.Items) != 3 || h.a.sess.unseen[mail.Inbox] != 3 {
		t.Fatalf("inbox %d items, %d unseen", len(inbox.Items), h.a.sess.unseen[mail.Inbox])
	}
	// The connection drops: the banner shows; then it comes back.
	sess := fc.sessions[0]
	sess.watch <- ports.WatchEvent{Connected: false, Err: ports.ErrUnreachable, RetryIn: 2 * time.Second}
	h.waitFor("disconnect", func() bool { return !h.a.sess.connected })
	sess.watch <- ports.WatchEvent{Connected: true}
	h.waitFor("reconnect", func() bool { return h.a.sess.connected })

	m := fc.deliver("bob", "alice", "Fresh news", "Hot off the press.", testNow)
	sess.watch <- ports.WatchEvent{Message: &m, Connected: true}
	h.waitFor("new mail", func() bool { return len(inbox.Items) == 4 })
	if inbox.Items[0].Subject != "Fresh news" {
		t.Fatalf("top row %q, want the new mail", inbox.Items[0].Subject)
	}
	if got := h.a.sess.unseen[mail.Inbox]; got != 4 {
		t.Errorf("unseen %d, want 4", got)
	}
	// The same event twice (a resume after reconnecting) adds nothing.
	sess.watch <- ports.WatchEvent{Message: &m, Connected: true}
	time.Sleep(10 * time.Millisecond)
	h.settle()
	if len(inbox.Items) != 4 {
		t.Fatalf("duplicate event made %d rows", len(inbox.Items))
	}
}

// Mail committed after the first List but before the watch started (or
// while it was away) comes with no event: the list catches up when the
// watch reports Connected.
func TestWatchConnectCatchesUp(t *testing.T) {
	h, fc, inbox := aliceOnPhone(t, 2, 2)
	fc.deliver("bob", "alice", "Slipped through", "No event for this one.", testNow)
	fc.sessions[0].watch <- ports.WatchEvent{Connected: true}
	h.waitFor("catch-up", func() bool { return len(inbox.Items) == 3 })
	if inbox.Items[0].Subject != "Slipped through" {
		t.Fatalf("top row %q, want the caught-up mail", inbox.Items[0].Subject)
	}
}

func TestOpenMarksSeenAndReply(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	fc.addUser("bob", "bob password")
	seedInbox(fc, 2)
	h := newHarness(t, fc, trusted(fc), phone())
	h.login("alice", "correct horse")
	// Click the first row: below the 56dp bar and the 48+1dp tabs.
	h.click(200, 56+49+30)
	if h.a.top() != routeReader || !h.a.reader.shown {
		t.Fatalf("page %v after clicking a row", h.a.top())
	}
	if h.a.reader.meta.Subject != "Message 1" || h.a.reader.body == nil {
		t.Fatalf("reader shows %q body %v err %q", h.a.reader.meta.Subject, h.a.reader.body != nil, h.a.reader.err)
	}
	if h.a.sess.unseen[mail.Inbox] != 1 || h.a.sess.folders[mail.Inbox].Items[0].Seen != true {
		t.Errorf("opened message not seen: unseen %d", h.a.sess.unseen[mail.Inbox])
	}
	fc.mu.Lock()
	seen := fc.boxes["alice"][1].Seen
	fc.mu.Unlock()
	if !seen {
		t.Error("server not told the message was seen")
	}
	// Reply: prefilled To and one "Re:".
	h.activate(&h.a.reader.reply)
	if h.a.top() != routeCompose {
		t.Fatalf("page %v after reply", h.a.top())
	}
	if got := h.a.compose.to.Text(); got != "bob@example.org" {
		t.Errorf("reply To %q", got)
	}
	if got := h.a.compose.subject.Text(); got != "Re: Message 1" {
		t.Errorf("reply subject %q", got)
	}
	if !strings.Contains(h.a.compose.body.Text(), "> Body of message 1.") {
		t.Errorf("reply body %q", h.a.compose.body.Text())
	}
	h.activate(&h.a.compose.send)
	if h.a.top() != routeReader {
		t.Fatalf("after sending: page %v err %q toErr %q", h.a.top(), h.a.compose.err, h.a.compose.toErr)
	}
	sent := fc.sessions[0].sent
	if len(sent) != 1 || sent[0].InReplyTo != "<2@example.org>" || sent[0].Subject != "Re: Message 1" {
		t.Fatalf("sent %+v", sent)
	}
	// Android back (and Escape) goes back to the list.
	h.key(key.NameBack, 0)
	if h.a.top() != routeMailbox {
		t.Fatalf("back went to %v", h.a.top())
	}
}

func TestComposeValidation(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	fc.addUser("bob", "bob password")
	h := newHarness(t, fc, trusted(fc), phone())
	h.login("alice", "correct horse")
	h.key("N", key.ModShortcut)
	if h.a.top() != routeCompose {
		t.Fatalf("Ctrl+N opened %v", h.a.top())
	}
	c := &h.a.compose
	// Empty To is refused before anything is sent.
	h.activate(&c.send)
	if c.toErr != "Add at least one recipient." || len(fc.sessions[0].sent) != 0 {
		t.Fatalf("empty To: toErr %q, sent %d", c.toErr, len(fc.sessions[0].sent))
	}
	// An unknown recipient is flagged by Lookup, and nothing is sent.
	h.typeInto(&c.to, "bob, mallory")
	h.typeInto(&c.subject, "Hi")
	h.activate(&c.send)
	if !strings.Contains(c.toErr, "mallory") || strings.Contains(c.toErr, "bob") {
		t.Fatalf("unknown recipient message %q", c.toErr)
	}
	if len(fc.sessions[0].sent) != 0 || h.a.top() != routeCompose {
		t.Fatal("sent despite an unknown recipient")
	}
	// Fixing the field sends to both known users.
	c.to.SetText("")
	h.typeInto(&c.to, "bob; alice@example.org")
	h.activate(&c.send)
	if h.a.top() != routeMailbox {
		t.Fatalf("after send: %v, err %q/%q", h.a.top(), c.toErr, c.err)
	}
	sent := fc.sessions[0].sent
	if len(sent) != 1 || strings.Join(sent[0].To, ",") != "bob,alice@example.org" || sent[0].Subject != "Hi" {
		t.Fatalf("sent %+v", sent)
	}
	if h.a.toast != "Message sent" {
		t.Errorf("toast %q", h.a.toast)
	}
}

func TestComposeFlagsOnLeavingTo(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	h := newHarness(t, fc, trusted(fc), phone())
	h.login("alice", "correct horse")
	h.a.openCompose(nil, nil)
	h.settle()
	h.typeInto(&h.a.compose.to, "nobody")
	h.focus(&h.a.compose.subject) // leaving To checks it
	h.settle()
	if !strings.Contains(h.a.compose.toErr, "nobody") {
		t.Fatalf("unknown recipient not flagged on leaving To: %q", h.a.compose.toErr)
	}
}

func TestPagingAndPreviews(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	seedInbox(fc, 10000)
	h := newHarness(t, fc, trusted(fc), phone())
	h.login("alice", "correct horse")
	inbox := h.a.sess.folders[mail.Inbox]
	if len(inbox.Items) != model.PageSize {
		t.Fatalf("first load %d rows, want one page", len(inbox.Items))
	}
	fc.mu.Lock()
	fetches := fc.fetches
	fc.mu.Unlock()
	if fetches == 0 || fetches > 20 {
		t.Errorf("%d bodies fetched for previews; want a screenful", fetches)
	}
	// Scroll far down: more pages load, never the whole folder at once.
	for i := 0; i < 5; i++ {
		h.r.Queue(pointer.Event{Kind: pointer.Scroll, Source: pointer.Mouse, Position: f32.Pt(200, 400), Scroll: f32.Pt(0, 3000)})
		h.settle()
	}
	if n := len(inbox.Items); n <= model.PageSize || n > 10*model.PageSize {
		t.Fatalf("after scrolling %d rows loaded", n)
	}
	for i := 1; i < len(inbox.Items); i++ {
		if inbox.Items[i].ID >= inbox.Items[i-1].ID {
			t.Fatalf("rows out of order at %d", i)
		}
	}
}

func TestWideShowsReaderBesideList(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	seedInbox(fc, 3)
	h := newHarness(t, fc, trusted(fc), desktop())
	h.login("alice", "correct horse")
	// In the wide layout the row is in the left pane.
	h.click(200, 56+49+30)
	if h.a.top() != routeReader || h.a.reader.meta.Subject != "Message 2" {
		t.Fatalf("page %v reader %q", h.a.top(), h.a.reader.meta.Subject)
	}
	// Another row replaces the message; the page stack stays one deep.
	h.click(200, 56+49+77+30)
	if h.a.reader.meta.Subject != "Message 1" || len(h.a.stack) != 2 {
		t.Fatalf("reader %q stack %v", h.a.reader.meta.Subject, h.a.stack)
	}
	h.key(key.NameEscape, 0)
	if h.a.top() != routeMailbox || h.a.reader.shown {
		t.Fatalf("escape: %v shown %v", h.a.top(), h.a.reader.shown)
	}
}

func TestDeleteAndLogout(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	seedInbox(fc, 2)
	h := newHarness(t, fc, trusted(fc), phone())
	h.login("alice", "correct horse")
	h.a.openMessage(h.a.sess.folders[mail.Inbox].Items[0])
	h.settle()
	h.activate(&h.a.reader.del)
	if h.a.top() != routeMailbox || len(h.a.sess.folders[mail.Inbox].Items) != 1 {
		t.Fatalf("after delete: %v, %d rows", h.a.top(), len(h.a.sess.folders[mail.Inbox].Items))
	}
	h.activate(&h.a.mailbox.settings)
	if h.a.top() != routeSettings {
		t.Fatalf("settings button opened %v", h.a.top())
	}
	h.activate(&h.a.settingsPage.logout)
	if h.a.sess != nil || h.a.top() != routeLogin {
		t.Fatalf("after logout: %v", h.a.top())
	}
	if h.a.login.user.Text() != "alice" || h.a.login.pass.Text() != "" {
		t.Errorf("login form after logout: %q/%q", h.a.login.user.Text(), h.a.login.pass.Text())
	}
}

func TestBackOnFirstPageIsNotClaimed(t *testing.T) {
	// With one page on the stack the app must leave Back to the system
	// (Android then closes the app).
	fc := newFakeClient()
	h := newHarness(t, fc, trusted(fc), phone())
	h.key(key.NameBack, 0)
	if h.a.top() != routeLogin {
		t.Fatalf("back on the first page went to %v", h.a.top())
	}
}

func TestNewMailKeepsScrolledRowsStill(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	seedInbox(fc, 120)
	h := newHarness(t, fc, trusted(fc), phone())
	h.login("alice", "correct horse")
	h.r.Queue(pointer.Event{Kind: pointer.Scroll, Source: pointer.Mouse, Position: f32.Pt(200, 400), Scroll: f32.Pt(0, 1000)})
	h.settle()
	list := h.a.mailbox.lists[mail.Inbox]
	first := list.Position.First
	if first == 0 {
		t.Fatal("did not scroll")
	}
	topID := h.a.sess.folders[mail.Inbox].Items[first].ID
	m := fc.deliver("bob", "alice", "Late news", "x", testNow)
	fc.sessions[0].watch <- ports.WatchEvent{Message: &m, Connected: true}
	h.waitFor("new mail", func() bool { return h.a.sess.folders[mail.Inbox].Items[0].ID == m.ID })
	if got := h.a.sess.folders[mail.Inbox].Items[list.Position.First].ID; got != topID {
		t.Errorf("first visible row changed from %d to %d", topID, got)
	}
}

// The register form applies the account password policy before anything
// goes on the wire: REG carries the password on one command line.
func TestRegisterChecksPasswordLocally(t *testing.T) {
	for pw, ok := range map[string]bool{
		"short": false, "long-enough": true, "correct horse battery": true,
		"tab\there1": false, "nul\x00here1": false, "ünïcödé-ok": true,
	} {
		fc := newFakeClient()
		h := newHarness(t, fc, trusted(fc), phone())
		h.typeInto(&h.a.login.user, "carol")
		h.a.login.pass.SetText(pw)
		h.activate(&h.a.login.register)
		if got := fc.registers > 0; got != ok {
			t.Errorf("password %q: sent to the server %v, want %v (error %q)", pw, got, ok, h.a.login.err)
		}
		if !ok && (h.a.login.err != "Password needs 8+ characters." || h.a.login.errField != "pass") {
			t.Errorf("password %q: error %q on %q", pw, h.a.login.err, h.a.login.errField)
		}
	}
}

// A Register that found the server unreachable may have created the
// account all the same (only the reply was lost). The retry signs in
// first and registers only if there is no such account: never "That name
// is taken." for the account just made.
func TestRegisterRetryAfterUnreachable(t *testing.T) {
	for _, lost := range []string{"reply", "request"} {
		t.Run(lost, func(t *testing.T) {
			fc := newFakeClient()
			if lost == "reply" {
				fc.loseRegisterReply = 1
			} else {
				fc.failRegister = 1
			}
			h := newHarness(t, fc, trusted(fc), phone())
			h.a.retryBase = 20 * time.Millisecond
			h.typeInto(&h.a.login.user, "carol")
			h.typeInto(&h.a.login.pass, "a-good-password")
			h.activate(&h.a.login.register)
			if h.a.login.err != "Server unreachable, retrying…" || !h.a.login.busy {
				t.Fatalf("err %q busy %v", h.a.login.err, h.a.login.busy)
			}
			h.waitFor("the retry to finish", func() bool { return !h.a.login.busy })
			if h.a.sess == nil || h.a.top() != routeMailbox {
				t.Fatalf("not signed in: page %v, error %q", h.a.top(), h.a.login.err)
			}
			if !strings.Contains(h.a.toast, "carol@example.org") {
				t.Errorf("welcome toast %q", h.a.toast)
			}
			fc.mu.Lock()
			defer fc.mu.Unlock()
			if fc.registers != 1 {
				t.Errorf("%d Register calls reached the server, want 1", fc.registers)
			}
		})
	}
}
