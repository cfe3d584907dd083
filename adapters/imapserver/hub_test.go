package imapserver

import (
	"slices"
	"testing"
	"time"
)

func (h *hub) subscribed() bool {
	h.subMu.Lock()
	defer h.subMu.Unlock()
	return h.sub != nil
}

// TestHubSubscribesWhileSelected: the change feed is subscribed to only
// while some session has a folder selected, and a session that selects
// after deliveries nobody watched reads them in SELECT and hears the ones
// that follow.
func TestHubSubscribesWhileSelected(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.deliver(t, "bob", []string{"alice"}, "before")
	u := newUpdates()
	c := e.login("alice", u.handler())
	if e.srv.hub.subscribed() {
		t.Fatal("subscribed with no folder selected")
	}
	e.deliver(t, "bob", []string{"alice"}, "nobody selected")

	for round, want := range []uint32{2, 4} {
		sel, err := c.Select("INBOX", nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if sel.NumMessages != want {
			t.Fatalf("round %d: SELECT says %d messages, want %d", round, sel.NumMessages, want)
		}
		if !e.srv.hub.subscribed() {
			t.Fatalf("round %d: not subscribed with INBOX selected", round)
		}
		idle, err := c.Idle()
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // IDLE's continuation is in
		e.deliver(t, "bob", []string{"alice"}, "after select")
		u.wait(t, 2*time.Second, "EXISTS after SELECT", func(u *updates) bool { return slices.Contains(u.exists, want+1) })
		if err := idle.Close(); err != nil {
			t.Fatal(err)
		}
		if err := idle.Wait(); err != nil {
			t.Fatal(err)
		}
		if err := c.Unselect().Wait(); err != nil {
			t.Fatal(err)
		}
		if e.srv.hub.subscribed() {
			t.Fatalf("round %d: still subscribed after UNSELECT", round)
		}
		e.deliver(t, "bob", []string{"alice"}, "nobody selected again")
	}
}
