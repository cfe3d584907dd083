package ui

import (
	"image"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gioui.org/f32"
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

// wheel scrolls one notch of dy px at (x, y) and lets two frames see it.
func (h *harness) wheel(x, y int, dy float32) {
	h.r.Queue(pointer.Event{Kind: pointer.Scroll, Source: pointer.Mouse, Position: f32.Pt(float32(x), float32(y)),
		Scroll: f32.Pt(0, dy)})
	h.frame()
	h.frame()
}

// TestWheelNotchScrollsThreeLines: one notch moves the list and the
// reader by three lines, 63 px at 21 px a line (issue 14: they moved by
// the distance reported, Gio's X11 backend's 20 px in two 10 px events).
// Here a notch reports 10 px in one event.
func TestWheelNotchScrollsThreeLines(t *testing.T) {
	for _, tt := range []struct {
		name  string
		notch float32
		want  int
	}{
		{"platform distance", 0, 10},
		{"three lines", 10, 3 * 21},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fc := newFakeClient()
			fc.addUser("alice", "correct horse")
			seedInbox(fc, 100)
			long := fc.deliver("bob", "alice", "Long", strings.Repeat("A line of the body.\n\n", 200), testNow)
			h := newHarness(t, fc, trusted(fc), desktop(), func(c *Config) { c.WheelNotch = tt.notch })
			h.login("alice", "correct horse")
			h.wheel(100, 400, 10)
			if pos := h.a.mailbox.lists[mail.Inbox].Position; pos.First != 0 || pos.Offset != tt.want {
				t.Errorf("list after a notch: first %d offset %d, want 0 and %d", pos.First, pos.Offset, tt.want)
			}
			h.a.openMessage(long)
			h.settle()
			h.wheel(900, 400, 10)
			if pos := h.a.reader.list.Position; pos.First != 0 || pos.Offset != tt.want {
				t.Errorf("reader after a notch: first %d offset %d, want 0 and %d", pos.First, pos.Offset, tt.want)
			}
			h.wheel(900, 400, -30) // back past the top: the list stops there
			if pos := h.a.reader.list.Position; pos.First != 0 || pos.Offset != 0 {
				t.Errorf("reader scrolled above its top: %+v", pos)
			}
		})
	}
}

// descriptions lists the semantic descriptions of the last frame (icon
// buttons describe themselves, they have no label).
func (h *harness) descriptions() string {
	var out []string
	var walk func(ns []input.SemanticNode)
	walk = func(ns []input.SemanticNode) {
		for _, n := range ns {
			if n.Desc.Description != "" {
				out = append(out, n.Desc.Description)
			}
			walk(n.Children)
		}
	}
	walk(h.r.AppendSemantics(nil)[:1])
	return strings.Join(out, "|")
}

// fakeNotifier records notifications.
type fakeNotifier struct {
	mu  sync.Mutex
	got []string
}

func (n *fakeNotifier) Notify(title, text string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, title+" / "+text)
	return nil
}

func (n *fakeNotifier) take() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	got := n.got
	n.got = nil
	return got
}

// TestNotifyNewMailInBackground: new unread Inbox mail from the watch
// notifies only while the window is not in front, a burst as one
// notification, never for one's own mail or Sent, and not at all when
// turned off in the settings (issue 14, features).
func TestNotifyNewMailInBackground(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	seedInbox(fc, 2)
	timers := &fakeTimers{}
	notes := &fakeNotifier{}
	h := newHarness(t, fc, trusted(fc), desktop(), func(c *Config) { c.AfterFunc, c.Notifier = timers.after, notes })
	h.login("alice", "correct horse")
	inbox := h.a.sess.folders[mail.Inbox]
	arrive := func(from, subject string, folder mail.Folder) {
		t.Helper()
		m := fc.deliver(from, "alice", subject, "Hello.", testNow)
		m.Folder = folder
		n := len(h.a.sess.pager(folder).Items)
		fc.sessions[0].watch <- ports.WatchEvent{Message: &m, Connected: true}
		h.waitFor("the new row", func() bool { return len(h.a.sess.pager(folder).Items) > n })
	}

	h.a.SetFocused(true)
	arrive("bob", "While you look", mail.Inbox)
	timers.fire()
	if got := notes.take(); len(got) != 0 {
		t.Fatalf("notified while in front: %q", got)
	}

	h.a.SetFocused(false)
	arrive("bob", "One", mail.Inbox)
	arrive("carol", "Two", mail.Inbox)
	arrive("alice", "Note to self", mail.Inbox)
	arrive("dave", "Three", mail.Inbox)
	h.a.sess.pager(mail.Sent).Loaded = true
	arrive("alice", "Sent by me", mail.Sent)
	if timers.fire() != 1 {
		t.Fatal("a burst should wait on one timer")
	}
	if got := notes.take(); len(got) != 1 || got[0] != "3 new messages / The newest from dave@example.org: Three" {
		t.Fatalf("burst notified %q", got)
	}
	arrive("bob", "Lunch?", mail.Inbox)
	timers.fire()
	if got := notes.take(); len(got) != 1 || got[0] != "New message from bob@example.org / Lunch?" {
		t.Fatalf("one message notified %q", got)
	}
	// Back in front before the burst's timer: nothing is shown.
	arrive("bob", "Seen at once", mail.Inbox)
	h.a.SetFocused(true)
	timers.fire()
	if got := notes.take(); len(got) != 0 {
		t.Fatalf("notified after coming to the front: %q", got)
	}
	if len(inbox.Items) != 9 {
		t.Errorf("%d rows", len(inbox.Items))
	}
}

func TestNotifyTurnedOffInSettings(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	timers := &fakeTimers{}
	notes := &fakeNotifier{}
	s := trusted(fc)
	s.NoNotify = true
	h := newHarness(t, fc, s, desktop(), func(c *Config) { c.AfterFunc, c.Notifier = timers.after, notes })
	h.login("alice", "correct horse")
	h.a.SetFocused(false)
	m := fc.deliver("bob", "alice", "Hi", "Hello.", testNow)
	fc.sessions[0].watch <- ports.WatchEvent{Message: &m, Connected: true}
	h.waitFor("the new row", func() bool { return len(h.a.sess.folders[mail.Inbox].Items) == 1 })
	timers.fire()
	if got := notes.take(); len(got) != 0 {
		t.Fatalf("notified though turned off: %q", got)
	}
	// The switch is on the settings page, and turns them on again.
	h.a.push(routeSettings)
	h.settle()
	if !strings.Contains(h.labels(), "New-mail notifications") {
		t.Fatalf("no notifications switch in %q", h.labels())
	}
}

// TestOpenInBrowserOnlyForHTML: HTML mail offers "Open in browser", which
// writes the original HTML to a private file under the data directory and
// opens it; plain text mail offers nothing (issue 14, HTML mail).
func TestOpenInBrowserOnlyForHTML(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	plain := fc.deliver("bob", "alice", "Plain", "Just text.", testNow)
	html := fc.deliver("bob", "alice", "Rich", "", testNow)
	const original = `<html><body><p>Hello <b>there</b></p><ul><li>one</li></ul></body></html>`
	fc.mu.Lock()
	b := fc.bodies[html.ID]
	b.HTML = original
	fc.bodies[html.ID] = b
	fc.mu.Unlock()
	var mu sync.Mutex
	var opened []string
	h := newHarness(t, fc, trusted(fc), desktop(), func(c *Config) {
		c.OpenFile = func(path string) error {
			mu.Lock()
			defer mu.Unlock()
			opened = append(opened, path)
			return nil
		}
	})
	h.login("alice", "correct horse")
	h.a.openMessage(plain)
	h.settle()
	h.activate(&h.a.reader.browser)
	if strings.Contains(h.descriptions(), "Open in browser") || len(opened) != 0 {
		t.Fatalf("plain text mail: buttons %q, opened %q", h.descriptions(), opened)
	}
	h.a.openMessage(html)
	h.settle()
	if !strings.Contains(h.descriptions(), "Open in browser") {
		t.Fatalf("HTML mail has no Open in browser: %q", h.descriptions())
	}
	h.activate(&h.a.reader.browser)
	mu.Lock()
	defer mu.Unlock()
	if len(opened) != 1 {
		t.Fatalf("opened %q", opened)
	}
	dir := filepath.Join(h.a.cfg.DataDir, model.HTMLDir)
	if filepath.Dir(opened[0]) != dir || filepath.Ext(opened[0]) != ".html" {
		t.Errorf("written to %s, want an .html file in %s", opened[0], dir)
	}
	checkMode(t, opened[0])
	got, err := os.ReadFile(opened[0])
	if err != nil || !strings.HasSuffix(string(got), original) || !strings.Contains(string(got), "Content-Security-Policy") {
		t.Fatalf("file holds %q (%v), want the original HTML after a CSP", got, err)
	}
	if err := model.RemoveHTML(h.a.cfg.DataDir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("RemoveHTML left %s: %v", dir, err)
	}
}

// TestSearchResultsPageAndKeys: results load more when the list nears
// their end (paged with before), and Enter in the field hands the keys to
// the results: j/k move, Enter opens, End pages on (issue 14, search).
func TestSearchResultsPageAndKeys(t *testing.T) {
	h, fc, calls := withSearch(t, true)
	seedInbox(fc, 115) // 120 messages say "message"
	b := &h.a.mailbox.search
	h.typeInto(&b.ed, "message")
	h.press() // Enter: search now
	if len(b.results) != searchLimit || b.done {
		t.Fatalf("first page: %d results, done %v", len(b.results), b.done)
	}
	if h.frame(); h.r.Source().Focused(&b.ed) {
		t.Fatal("Enter left the focus in the field")
	}
	if !strings.Contains(h.labels(), "Results in all folders") {
		t.Errorf("the header over the results says %q", h.labels())
	}
	// Scrolling near the end loads the next page.
	b.list.Position.First = searchLimit - 5
	h.settle()
	if len(b.results) != 2*searchLimit || calls.count() != 2 {
		t.Fatalf("after scrolling to the end: %d results in %d calls", len(b.results), calls.count())
	}
	for i := 1; i < len(b.results); i++ {
		if b.results[i].ID >= b.results[i-1].ID {
			t.Fatalf("results out of order or repeated at %d", i)
		}
	}
	b.list.Position.First = 0
	h.key("J", 0) // shows the cursor on the first result
	h.key("J", 0)
	h.key(key.NameDownArrow, 0)
	h.key("K", 0)
	if h.a.mailbox.cursor != 1 {
		t.Fatalf("cursor %d, want 1", h.a.mailbox.cursor)
	}
	h.key(key.NameReturn, 0)
	if !h.a.reader.shown || h.a.reader.meta.ID != b.results[1].ID {
		t.Fatalf("Enter opened %q, want the second result", h.a.reader.meta.Subject)
	}
	h.key(key.NameEnd, 0)
	h.key(key.NameEnd, 0)
	if len(b.results) != 120 || !b.done || h.a.reader.meta.ID != b.results[len(b.results)-1].ID {
		t.Fatalf("End: %d results, done %v, open %q", len(b.results), b.done, h.a.reader.meta.Subject)
	}
}

// TestLiveRemovedAndFlagged: another client's delete, move or flag change
// reaches the list, the counts and the reader (issue 14, live updates).
func TestLiveRemovedAndFlagged(t *testing.T) {
	h := signedIn(t, desktop(), false)
	fc, s := h.fc, h.a.sess
	inbox := s.folders[mail.Inbox]
	watch := fc.sessions[0].watch
	gone := func(id mail.EntryID) {
		fc.mu.Lock()
		box := fc.boxes["alice"]
		for i := range box {
			if box[i].ID == id {
				fc.boxes["alice"] = append(box[:i:i], box[i+1:]...)
				break
			}
		}
		fc.mu.Unlock()
		watch <- ports.WatchEvent{Removed: id, Connected: true}
		h.waitFor("the row to go", func() bool { return inbox.Index(id) < 0 })
	}
	unseen := s.unseen[mail.Inbox]
	gone(inbox.Items[3].ID)
	h.settle()
	if s.unseen[mail.Inbox] != unseen-1 {
		t.Errorf("unseen %d after an unread message went, want %d", s.unseen[mail.Inbox], unseen-1)
	}

	// The open message goes: the next one opens, and a toast says why.
	h.a.openMessage(inbox.Items[1])
	h.settle()
	next := inbox.Items[2].ID
	gone(inbox.Items[1].ID)
	if !h.a.reader.shown || h.a.reader.meta.ID != next || !strings.Contains(h.a.toast, "moved or deleted") {
		t.Fatalf("reader shows %v %q, toast %q", h.a.reader.shown, h.a.reader.meta.Subject, h.a.toast)
	}

	// Read elsewhere, then unread again: the row, the count and the
	// reader's action follow.
	m := fc.update("alice", inbox.Items[0].ID, func(m *mail.Meta) { m.Seen, m.Flags = true, mail.FlagSeen })
	unseen = s.unseen[mail.Inbox]
	watch <- ports.WatchEvent{Flagged: &m, Connected: true}
	h.waitFor("seen", func() bool { return inbox.Items[0].Seen })
	h.settle()
	if s.unseen[mail.Inbox] != unseen-1 {
		t.Errorf("unseen %d after a read elsewhere, want %d", s.unseen[mail.Inbox], unseen-1)
	}
	open := h.a.reader.meta
	m = fc.update("alice", open.ID, func(m *mail.Meta) { m.Seen, m.Flags = false, mail.FlagFlagged })
	watch <- ports.WatchEvent{Flagged: &m, Connected: true}
	h.waitFor("unread in the reader", func() bool { return !h.a.reader.meta.Seen })
	if h.a.reader.meta.Flags != mail.FlagFlagged || inbox.Items[inbox.Index(open.ID)].Seen {
		t.Errorf("reader flags %v, row seen %v", h.a.reader.meta.Flags, inbox.Items[inbox.Index(open.ID)].Seen)
	}
}

// TestLiveRemovedOnPhone: on a phone the reader of a message that went
// returns to the list and says why.
func TestLiveRemovedOnPhone(t *testing.T) {
	h := signedIn(t, phone(), false)
	inbox := h.a.sess.folders[mail.Inbox]
	m := inbox.Items[0]
	h.a.openMessage(m)
	h.settle()
	h.fc.sessions[0].watch <- ports.WatchEvent{Removed: m.ID, Connected: true}
	h.waitFor("the list", func() bool { return h.a.top() == routeMailbox })
	if h.a.reader.shown || inbox.Index(m.ID) >= 0 || !strings.Contains(h.a.toast, "moved or deleted") {
		t.Fatalf("reader shown %v, row index %d, toast %q", h.a.reader.shown, inbox.Index(m.ID), h.a.toast)
	}
}

// TestAndroidBackClosesInOrder: Back closes the drawer, the reader and
// compose (keeping the draft) before it is left to the system.
func TestAndroidBackClosesInOrder(t *testing.T) {
	h, _ := withFolders(t, phone())
	h.a.mailbox.pane.drawer = true
	h.settle()
	h.key(key.NameBack, 0)
	if h.a.mailbox.pane.drawer || h.a.top() != routeMailbox {
		t.Fatalf("Back with the drawer open: drawer %v page %v", h.a.mailbox.pane.drawer, h.a.top())
	}
	h.a.openMessage(h.a.sess.folders[mail.Inbox].Items[0])
	h.settle()
	h.key(key.NameBack, 0)
	if h.a.top() != routeMailbox || h.a.reader.shown {
		t.Fatalf("Back in the reader: page %v", h.a.top())
	}
	h.a.openCompose(nil, nil)
	h.settle()
	h.typeInto(&h.a.compose.body, "Half a thought")
	h.key(key.NameBack, 0)
	if h.a.top() != routeMailbox {
		t.Fatalf("Back in compose: page %v", h.a.top())
	}
	h.settle()
	if sd, ok, err := model.LoadDraft(h.a.cfg.DataDir); !ok || err != nil || sd.Draft.Body != "Half a thought" {
		t.Fatalf("draft after Back: %+v %v %v", sd, ok, err)
	}
}

// TestPauseFlushesDeleteAndDraft: sent to the background (where Android
// may end the process), the delete waiting for its undo goes to the
// server and the draft being typed is written, without their timers.
func TestPauseFlushesDeleteAndDraft(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	seedInbox(fc, 3)
	timers := &fakeTimers{}
	h := newHarness(t, fc, trusted(fc), phone(), func(c *Config) { c.AfterFunc = timers.after })
	h.login("alice", "correct horse")
	h.a.drafts.delay = time.Hour
	h.a.deleteMessage(h.a.sess.folders[mail.Inbox].Items[0])
	h.a.openCompose(nil, nil)
	h.settle()
	h.typeInto(&h.a.compose.body, "Typed just now")
	h.settle()
	if _, ok, _ := model.LoadDraft(h.a.cfg.DataDir); ok || fc.deleted() != 0 {
		t.Fatalf("before the pause: draft on disk %v, deletes %d", ok, fc.deleted())
	}
	h.a.Pause()
	h.settle()
	if fc.deleted() != 1 || h.a.sess.pending != nil {
		t.Errorf("pause left the delete: %d sent, pending %v", fc.deleted(), h.a.sess.pending != nil)
	}
	if sd, ok, err := model.LoadDraft(h.a.cfg.DataDir); !ok || err != nil || sd.Draft.Body != "Typed just now" {
		t.Errorf("draft after the pause: %+v %v %v", sd, ok, err)
	}
}

// TestHighlightNoSliver: a matched word that would get only a sliver of
// the line's end shows an ellipsis instead (search-1280.png showed "The ."
// with the match cut down to one dot).
func TestHighlightNoSliver(t *testing.T) {
	th := NewTheme(newShaper(), false)
	var b searchBox
	b.reset()
	b.ed.SetText("migration")
	b.words = []string{"migration"}
	const prefix = "Bob, I'll take the database part on Friday. The "
	l := oneLine(label(th, 14, th.Fg, prefix+"migration is additive"))
	var r input.Router
	gtx := layout.Context{Ops: new(op.Ops), Source: r.Source(), Metric: unit.Metric{PxPerDp: 1, PxPerSp: 1}}
	gtx.Constraints.Max = image.Pt(2000, 100)
	p := l
	p.Text = prefix
	w := p.Layout(gtx).Size.X
	gtx.Ops.Reset()
	gtx.Constraints.Max.X = w + 8
	b.highlighted(l, th)(gtx)
	r.Frame(gtx.Ops)
	var got []string
	for _, n := range r.AppendSemantics(nil) {
		if n.Desc.Label != "" {
			got = append(got, n.Desc.Label)
		}
	}
	if strings.Join(got, "|") != prefix+"|…" {
		t.Fatalf("labels %q, want the prefix and an ellipsis", got)
	}
}
