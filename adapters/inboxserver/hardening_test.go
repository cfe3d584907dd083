package inboxserver

// Issue 9 and 10: bounded memory per connection, deadlines on started
// lines, and an idle change feed.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

func TestLineBoundBeforeAndAfterLogin(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user("bob")
	// Before login a line may be 8 KiB: one just under is answered...
	c := e.dial()
	under := `{"op":"ping","tag":"` + strings.Repeat("u", inboxwire.MaxLoginLine-40) + `"}`
	c.ok(under)
	// ...and one over is too_large, and the end.
	c.sendLine(`{"op":"ping","tag":"` + strings.Repeat("o", inboxwire.MaxLoginLine) + `"}`)
	line, err := c.readLine(5 * time.Second)
	if err != nil || errCode(t, line) != inboxwire.CodeTooLarge {
		t.Fatalf("a 8 KiB+ line before login: %.100s, %v; want too_large", line, err)
	}
	c.closed(5 * time.Second)
	// After login, lines of MaxLine (1 MiB) and more are taken (see
	// TestAppendSizeLimit for the bound).
	bob := e.login("bob")
	big := strings.Repeat("b", 900<<10)
	if r := bob.ok(`{"op":"ping","tag":"` + big + `"}`); string(r.Tag) != `"`+big+`"` {
		t.Error("the big tag did not come back")
	}
	bob.ok(`{"op":"count","folder":"inbox"}`)
}

func TestStartedLineMustFinish(t *testing.T) {
	const readTimeout = 300 * time.Millisecond
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.ReadTimeout = readTimeout }})
	silent := e.login("bob")
	e.watch(silent)
	trickler := e.login("bob")
	e.watch(trickler)
	idle := e.login("bob") // not watching: IdleTimeout (30m) between lines

	// A partial request line, one byte every 50ms: the whole line would
	// take far longer than readTimeout, while no gap between bytes does.
	trickle := func(c *client, stop <-chan struct{}) {
		for _, b := range []byte(`{"op":"count","folder":"inbox"` + strings.Repeat(" ", 200)) {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			c.conn.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := c.conn.Write([]byte{b}); err != nil {
				return
			}
		}
	}
	stop := make(chan struct{})
	defer close(stop)
	var wg sync.WaitGroup
	wg.Go(func() { trickle(trickler, stop) })
	wg.Go(func() { trickle(idle, stop) })
	start := time.Now()
	trickler.closed(5 * time.Second)
	idle.closed(5 * time.Second)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("tricklers closed after %v, want about %v", d, readTimeout)
	}
	// Silence is not a started line: the silent watcher stays.
	time.Sleep(3 * readTimeout)
	e.deliver("alice", []string{"bob"}, "still watched")
	if ev := silent.event(5 * time.Second); ev.Message == nil || ev.Message.Subject != "still watched" {
		t.Errorf("silent watcher got %+v", ev)
	}
	silent.ok(`{"op":"ping"}`)
}

// countingFeed passes the store's feed through and counts how often it
// asks the hub about an owner: it asks only about entries it has read.
type countingFeed struct {
	f     ChangeFeed
	wants atomic.Int64
}

type countingInterest struct {
	Interest
	wants *atomic.Int64
}

func (i countingInterest) Wants(owner account.ID) bool {
	i.wants.Add(1)
	return i.Interest.Wants(owner)
}

func (f *countingFeed) SubscribeChanges(ctx context.Context, in Interest) <-chan mail.Change {
	return f.f.SubscribeChanges(ctx, countingInterest{Interest: in, wants: &f.wants})
}

func TestIdleFeedReadsNothingAndWatchCatchesUp(t *testing.T) {
	var cf *countingFeed
	e := newEnv(t, envOpts{feed: func(e *env) ChangeFeed {
		cf = &countingFeed{f: e.feed}
		return cf
	}})
	bob := e.login("bob")
	before := map[int64]bool{}
	for i := range 3 {
		before[int64(e.deliver("alice", []string{"bob"}, fmt.Sprint("unwatched ", i))[0].ID)] = true
	}
	time.Sleep(200 * time.Millisecond) // twenty polls
	if n := cf.wants.Load(); n != 0 {
		t.Errorf("with nobody watching the feed read back %d entries", n)
	}
	// The recipe: watch, then list. Nothing is lost on either side.
	e.watch(bob)
	r := bob.ok(`{"op":"list","folder":"inbox"}`)
	// Delivered after the list's answer, so that the event cannot come
	// before it (response skips events).
	after := e.deliver("alice", []string{"bob"}, "watched")[0].ID
	listed := map[int64]bool{}
	for _, m := range r.Messages {
		listed[m.ID] = true
	}
	for id := range before {
		if !listed[id] {
			t.Errorf("entry %d, delivered before watch, is not listed", id)
		}
	}
	if ev := bob.event(5 * time.Second); ev.Message == nil || ev.Message.ID != int64(after) {
		t.Errorf("got %+v, want the event for %d", ev, after)
	}
	if cf.wants.Load() == 0 {
		t.Error("the feed never asked about a watched owner")
	}
}

// bigMessage delivers a message of about size bytes from alice to bob and
// gives its fetch request.
func (e *env) bigMessage(size int) (fetch string, raw []byte) {
	e.t.Helper()
	body := strings.Repeat(strings.Repeat("y", 76)+"\r\n", size/78)
	raw = []byte("From: alice@" + testDomain + "\r\nTo: bob@" + testDomain + "\r\nSubject: big\r\n\r\n" + body)
	e.user("bob")
	metas, err := deliverVia(context.Background(), e.mb, e.user("alice"), []string{"bob"}, raw)
	if err != nil {
		e.t.Fatal(err)
	}
	return fmt.Sprintf(`{"op":"fetch","id":%d}`, metas[0].ID), raw
}

// readFetches reads n fetch responses of raw from c.
func readFetches(t *testing.T, c *client, n int, raw []byte) {
	t.Helper()
	for i := range n {
		line, err := c.readLine(20 * time.Second)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		var r inboxwire.Response
		if err := json.Unmarshal(line, &r); err != nil || !r.OK || r.Message == nil || !bytes.Equal(r.Message.Raw, raw) {
			t.Fatalf("response %d: %.200s", i, line)
		}
	}
}

func TestPipelinedFetchesHoldOneLargeResponse(t *testing.T) {
	e := newEnv(t, envOpts{}) // SendQueueBytes at its 64 MiB default
	fetch, raw := e.bigMessage(2 << 20)
	// A client with the usual socket buffers (a small one would make TCP
	// crawl): ten responses are more than the kernel holds.
	c := e.login("bob")
	sc := e.onlyConn()
	const n = 10
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write([]byte(strings.Repeat(fetch+"\n", n))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a fetch queued", func() bool { return sc.queued.Load() > 0 })
	time.Sleep(300 * time.Millisecond)
	readFetches(t, c, n, raw)
	f, _ := inboxwire.NewFetchLine(nil, inboxwire.Message{Raw: raw})
	if peak, limit := sc.peakQueued.Load(), int64(readPauseBytes+f.Len()+100); peak > limit {
		t.Errorf("%d bytes queued at most, want one response (%d) over the 1 MiB pause at most", peak, f.Len())
	}
}

func TestServerWideFetchBudget(t *testing.T) {
	const budget = 6 << 20 // one 4 MiB message at a time
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.MaxInflightBytes = budget }})
	fetch, raw := e.bigMessage(4 << 20)
	const conns, each = 3, 4
	clients := make([]*client, conns)
	for i := range clients {
		clients[i] = e.login("bob")
		clients[i].conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := clients[i].conn.Write([]byte(strings.Repeat(fetch+"\n", each))); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "fetches in flight", func() bool { return e.srv.inflight.InUse() > 0 })
	time.Sleep(300 * time.Millisecond)
	// A connection that goes away with fetches unwritten gives their
	// budget back.
	clients[0].conn.Close()
	var wg sync.WaitGroup
	for _, c := range clients[1:] {
		wg.Go(func() { readFetches(t, c, each, raw) })
	}
	wg.Wait()
	if peak := e.srv.inflight.Peak(); peak > budget {
		t.Errorf("fetches held %d bytes at most, over the budget %d", peak, budget)
	}
	eventually(t, "the budget to be free", func() bool { return e.srv.inflight.InUse() == 0 })
}
