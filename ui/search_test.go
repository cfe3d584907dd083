package ui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"gioui.org/io/key"

	"mailroom/domain/mail"
)

// withSearch is alice signed in to a server that searches, with five
// "Message i" mails and one "Quarterly report".
func withSearch(t *testing.T, wideScreen bool) (*harness, *fakeClient, *searchCalls) {
	t.Helper()
	fc := newFakeClient()
	fc.withFolders, fc.withSearch = true, true
	fc.addUser("alice", "correct horse")
	seedInbox(fc, 5)
	fc.deliver("carol", "alice", "Quarterly report", "The numbers are in.", testNow)
	calls := &searchCalls{}
	fc.setHook(calls.hook)
	size := phone()
	if wideScreen {
		size = desktop()
	}
	h := newHarness(t, fc, trusted(fc), size)
	h.login("alice", "correct horse")
	return h, fc, calls
}

// searchCalls counts Search calls and can hold the next one.
type searchCalls struct {
	mu   sync.Mutex
	n    int
	hold chan struct{}
}

func (c *searchCalls) hook(ctx context.Context, op string) error {
	if op != "Search" {
		return nil
	}
	c.mu.Lock()
	c.n++
	hold := c.hold
	c.hold = nil
	c.mu.Unlock()
	if hold != nil {
		<-hold
	}
	return nil
}

func (c *searchCalls) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// pause lets the debounce delay pass on the harness clock.
func (h *harness) pause() {
	h.frames += int(searchDelay / time.Millisecond)
	h.settle()
}

func subjects(ms []mail.Meta) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Subject)
	}
	return strings.Join(out, ",")
}

func TestSearchShowsResultsAsYouTypeAfterAPause(t *testing.T) {
	h, _, calls := withSearch(t, true)
	b := &h.a.mailbox.search
	h.typeInto(&b.ed, "quarter")
	h.settle()
	if calls.count() != 0 || b.loaded {
		t.Fatalf("searched before typing paused: %d calls", calls.count())
	}
	h.r.Queue(key.EditEvent{Range: key.Range{Start: 7, End: 7}, Text: "ly"})
	h.frame()
	h.pause()
	if calls.count() != 1 {
		t.Fatalf("%d Search calls after the pause, want 1 (debounced)", calls.count())
	}
	if got := subjects(b.results); got != "Quarterly report" {
		t.Fatalf("results %q", got)
	}
	if sp := matchSpans("Quarterly report", b.words); len(sp) != 1 || sp[0] != [2]int{0, 9} {
		t.Errorf("highlight %v of words %v", sp, b.words)
	}
	if h.a.mailbox.rows[b.results[0].ID] == nil {
		t.Error("the result's row is not on screen")
	}
}

func TestSearchDropsStaleResults(t *testing.T) {
	h, _, calls := withSearch(t, true)
	b := &h.a.mailbox.search
	release := make(chan struct{})
	calls.mu.Lock()
	calls.hold = release
	calls.mu.Unlock()
	h.typeInto(&b.ed, "quarterly")
	h.frames += int(searchDelay / time.Millisecond)
	h.frame() // the first search starts and is held
	b.ed.SetText("")
	h.r.Queue(key.EditEvent{Text: "message"})
	h.frame()
	go func() { // the first answers only once the second has been asked
		for calls.count() < 2 {
			time.Sleep(time.Millisecond)
		}
		close(release)
	}()
	h.frames += int(searchDelay / time.Millisecond)
	h.frame() // the second search starts
	h.settle()
	if calls.count() != 2 {
		t.Fatalf("%d Search calls, want 2", calls.count())
	}
	if len(b.results) != 5 || b.query != "message" {
		t.Fatalf("results %q for %q, want the five messages", subjects(b.results), b.query)
	}
}

func TestSearchKeysFocusAndEscapeClears(t *testing.T) {
	for _, k := range []struct {
		name key.Name
		mods key.Modifiers
	}{{"/", 0}, {"F", key.ModShortcut}} {
		h, _, _ := withSearch(t, true)
		b := &h.a.mailbox.search
		h.key(k.name, k.mods)
		if !h.r.Source().Focused(&b.ed) {
			t.Fatalf("%v%s did not focus the search field", k.mods, k.name)
		}
		if h.a.top() != routeMailbox || h.a.compose.to.Text() != "" {
			t.Fatalf("%s did something else: route %v", k.name, h.a.top())
		}
		h.r.Queue(key.EditEvent{Text: "message"})
		h.frame()
		h.pause()
		if len(b.results) != 5 {
			t.Fatalf("results %q", subjects(b.results))
		}
		h.key(key.NameEscape, 0)
		if b.active() || b.results != nil || h.a.top() != routeMailbox {
			t.Fatalf("Escape left %q with %d results", b.ed.Text(), len(b.results))
		}
		if n := len(h.a.sess.pager(mail.Inbox).Items); n != 6 {
			t.Fatalf("back in the folder: %d rows, want 6", n)
		}
	}
}

func TestSearchBadQueryIsShownInWords(t *testing.T) {
	h, _, _ := withSearch(t, true)
	b := &h.a.mailbox.search
	h.typeInto(&b.ed, "is:nonsense")
	h.pause()
	if !strings.Contains(b.err, "can't be run") || len(b.results) != 0 {
		t.Fatalf("error %q, results %d", b.err, len(b.results))
	}
	if !strings.Contains(h.labels(), b.err) {
		t.Errorf("the error is not on screen: %q", h.labels())
	}
}

func TestSearchOnAPhoneOpensFromTheAppBar(t *testing.T) {
	h, _, _ := withSearch(t, false)
	b := &h.a.mailbox.search
	if b.shown {
		t.Fatal("the field is open before the icon is tapped")
	}
	h.activate(&b.open)
	if !b.shown || !h.r.Source().Focused(&b.ed) {
		t.Fatalf("tapping search: shown %v", b.shown)
	}
	h.key(key.NameEscape, 0)
	if b.shown {
		t.Fatal("Escape left the field open")
	}
}

func TestNoSearchFieldWithoutSearchSession(t *testing.T) {
	h, _ := withFolders(t, desktop())
	h.key("/", 0)
	if h.r.Source().Focused(&h.a.mailbox.search.ed) {
		t.Fatal("/ focused a search the session cannot run")
	}
}

func TestMatchSpans(t *testing.T) {
	for _, c := range []struct {
		s     string
		words []string
		want  [][2]int
	}{
		{"Quarterly report", []string{"quarter"}, [][2]int{{0, 7}}},
		{"a report, a REPORT", []string{"report"}, [][2]int{{2, 8}, {12, 18}}},
		{"abc", nil, nil},
		{"abc", []string{"x"}, nil},
		{"abcd", []string{"ab", "abc"}, [][2]int{{0, 3}}},
	} {
		got := matchSpans(c.s, c.words)
		if len(got) != len(c.want) {
			t.Errorf("matchSpans(%q, %v) = %v, want %v", c.s, c.words, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("matchSpans(%q, %v) = %v, want %v", c.s, c.words, got, c.want)
			}
		}
	}
}
