package inboxserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/domain/throttle"
)

func TestEveryOp(t *testing.T) {
	e := newEnv(t, envOpts{})
	bob := e.user("bob")
	e.user("alice")
	metas := e.deliver("alice", []string{"bob"}, "Hi Bob")
	inID := metas[0].ID

	c := e.dial()
	if r := c.ok(`{"tag":1,"op":"ping"}`); string(r.Tag) != "1" {
		t.Errorf("ping tag = %s, want 1", r.Tag)
	}
	for _, op := range []string{
		`{"op":"list","folder":"inbox"}`, `{"op":"count","folder":"inbox"}`,
		fmt.Sprintf(`{"op":"fetch","id":%d}`, inID), fmt.Sprintf(`{"op":"seen","id":%d,"seen":true}`, inID),
		fmt.Sprintf(`{"op":"delete","id":%d}`, inID), `{"op":"watch"}`,
	} {
		c.fails(op, inboxwire.CodeAuthRequired)
	}

	// Wrong password and unknown user look the same.
	wrong := c.fails(`{"op":"login","user":"bob","password":"not the password"}`, inboxwire.CodeAuthFailed)
	unknown := c.fails(`{"op":"login","user":"nobody","password":"not the password"}`, inboxwire.CodeAuthFailed)
	if *wrong.Error != *unknown.Error {
		t.Errorf("wrong password %+v != unknown user %+v", *wrong.Error, *unknown.Error)
	}

	r := c.ok(`{"tag":"L","op":"login","user":"BOB@example.test","password":"` + testPassword + `"}`)
	if string(r.Tag) != `"L"` || r.Account == nil || r.Account.ID != int64(bob.ID) || r.Account.Address != "bob@example.test" {
		t.Fatalf("login: %+v %+v", r, r.Account)
	}
	c.fails(`{"op":"login","user":"bob","password":"`+testPassword+`"}`, inboxwire.CodeBadRequest)

	r = c.ok(`{"op":"list","folder":"inbox"}`)
	if len(r.Messages) != 1 {
		t.Fatalf("list: %+v", r.Messages)
	}
	m := r.Messages[0]
	if m.ID != int64(inID) || m.Folder != "inbox" || m.From != "alice@example.test" || m.Subject != "Hi Bob" ||
		m.Seen || m.Size != int64(len(rawMessage("alice", []string{"bob"}, "Hi Bob"))) ||
		len(m.To) != 1 || m.To[0] != "bob@example.test" {
		t.Errorf("meta: %+v", m)
	}
	if _, err := time.Parse(time.RFC3339, m.Date); err != nil {
		t.Errorf("date %q: %v", m.Date, err)
	}
	if r := c.ok(`{"op":"list","folder":"sent"}`); r.Messages == nil || len(r.Messages) != 0 {
		t.Errorf("empty sent: %+v", r.Messages)
	}
	// An empty page is "messages":[], not absent.
	c.sendLine(`{"op":"list","folder":"sent"}`)
	line, err := c.readLine(5 * time.Second)
	if err != nil || !bytes.Contains(line, []byte(`"messages":[]`)) {
		t.Errorf("empty list line %s, %v", line, err)
	}

	r = c.ok(`{"op":"count","folder":"inbox"}`)
	if r.Total == nil || r.Unseen == nil || *r.Total != 1 || *r.Unseen != 1 {
		t.Errorf("count: %v %v", r.Total, r.Unseen)
	}
	r = c.ok(fmt.Sprintf(`{"op":"fetch","id":%d}`, inID))
	if r.Message == nil || !bytes.Equal(r.Message.Raw, rawMessage("alice", []string{"bob"}, "Hi Bob")) || r.Message.ID != int64(inID) {
		t.Errorf("fetch: %+v", r.Message)
	}
	c.ok(fmt.Sprintf(`{"op":"seen","id":%d,"seen":true}`, inID))
	if r := c.ok(`{"op":"count","folder":"inbox"}`); *r.Total != 1 || *r.Unseen != 0 {
		t.Errorf("count after seen: %d %d", *r.Total, *r.Unseen)
	}
	if r := c.ok(`{"op":"list","folder":"inbox"}`); !r.Messages[0].Seen {
		t.Errorf("not seen after seen")
	}
	c.ok(fmt.Sprintf(`{"op":"seen","id":%d,"seen":false}`, inID))
	if r := c.ok(`{"op":"count","folder":"inbox"}`); *r.Unseen != 1 {
		t.Errorf("unseen after unseen: %d", *r.Unseen)
	}
	c.ok(fmt.Sprintf(`{"op":"delete","id":%d}`, inID))
	c.fails(fmt.Sprintf(`{"op":"fetch","id":%d}`, inID), inboxwire.CodeNotFound)
	c.fails(fmt.Sprintf(`{"op":"delete","id":%d}`, inID), inboxwire.CodeNotFound)
	c.fails(`{"op":"seen","id":999999,"seen":true}`, inboxwire.CodeNotFound)
	c.ok(`{"op":"watch"}`)
	c.ok(`{"op":"watch"}`) // idempotent
	c.ok(`{"tag":null,"op":"quit"}`)
	c.closed(5 * time.Second)
}

func TestMalformedLinesKeepTheSession(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user("bob")
	c := e.dial()
	for _, tc := range []struct {
		line string
		tag  string // echoed tag, "" for none
	}{
		{`not json`, ""},
		{`[1,2]`, ""},
		{`"op"`, ""},
		{`{"op":"ping"`, ""},
		{`{"tag":7,"op":"nope"}`, "7"},
		{`{"tag":"x"}`, `"x"`},
		{`{"tag":{"a":1},"op":"ping"}`, ""},
		{`{"tag":[1],"op":"ping"}`, ""},
		{`{"tag":3,"op":"ping","extra":1}`, "3"},
		{`{"tag":4,"op":"ping"} {"op":"ping"}`, "4"},
		{`{"tag":5,"op":"ping"}}`, "5"},
		{`{"tag":6,"op":"login","user":"bob"}`, "6"},
		{`{"tag":8,"op":"login","password":"x"}`, "8"},
		{`{"tag":9,"op":"login","user":1,"password":"x"}`, "9"},
		{`{"op":42}`, ""},
		{"\xff\xfe", ""},
	} {
		r := c.fails(tc.line, inboxwire.CodeBadRequest)
		if string(r.Tag) != tc.tag {
			t.Errorf("%s: tag %s, want %s", tc.line, r.Tag, tc.tag)
		}
	}
	c.sendLine("")     // blank lines are ignored
	c.sendLine("  \r") // so is whitespace
	c.ok(`{"op":"ping"}`)
	c.ok(`{"op":"login","user":"bob","password":"` + testPassword + `"}`)
	for _, line := range []string{
		`{"op":"list"}`, `{"op":"list","folder":"a//b"}`, `{"op":"list","folder":"inbox","limit":0}`,
		`{"op":"list","folder":"inbox","limit":501}`, `{"op":"list","folder":"inbox","limit":-1}`,
		`{"op":"list","folder":"inbox","before":-5}`, `{"op":"list","folder":"inbox","limit":"5"}`,
		`{"op":"list","folder":1}`, `{"op":"count"}`, `{"op":"count","folder":"/trash"}`,
		`{"op":"fetch"}`, `{"op":"fetch","id":"1"}`, `{"op":"fetch","id":1.5}`,
		`{"op":"seen","id":1}`, `{"op":"seen","seen":true}`, `{"op":"seen","id":1,"seen":"yes"}`,
		`{"op":"delete"}`,
	} {
		c.fails(line, inboxwire.CodeBadRequest)
	}
	c.ok(`{"op":"list","folder":"inbox","before":0,"limit":500}`)
}

func TestIsolation(t *testing.T) {
	e := newEnv(t, envOpts{})
	aliceMsg := e.deliver("carol", []string{"alice"}, "for alice")[0]
	bobC := e.login("bob")
	aliceC := e.login("alice")

	for _, line := range []string{
		fmt.Sprintf(`{"op":"fetch","id":%d}`, aliceMsg.ID),
		fmt.Sprintf(`{"op":"seen","id":%d,"seen":true}`, aliceMsg.ID),
		fmt.Sprintf(`{"op":"delete","id":%d}`, aliceMsg.ID),
	} {
		bobC.fails(line, inboxwire.CodeNotFound)
	}
	if r := bobC.ok(`{"op":"list","folder":"inbox"}`); len(r.Messages) != 0 {
		t.Errorf("bob sees %+v", r.Messages)
	}
	// Alice's entry is untouched.
	r := aliceC.ok(fmt.Sprintf(`{"op":"fetch","id":%d}`, aliceMsg.ID))
	if r.Message.Seen {
		t.Errorf("bob flagged alice's mail")
	}

	e.watch(bobC)
	e.watch(aliceC)
	e.deliver("carol", []string{"alice"}, "second for alice")
	if ev := aliceC.event(5 * time.Second); ev.Message == nil || ev.Message.Subject != "second for alice" {
		t.Errorf("alice got %+v", ev)
	}
	bobMsg := e.deliver("carol", []string{"bob"}, "for bob")[0]
	// Bob's first event is his own mail: nothing of alice's came before it.
	ev := bobC.event(5 * time.Second)
	if ev.Event != inboxwire.EventMessage || ev.Message == nil || ev.Message.ID != int64(bobMsg.ID) {
		t.Errorf("bob got %+v, want his entry %d", ev, bobMsg.ID)
	}
	aliceC.noEvent(200 * time.Millisecond)
}

func TestPaging(t *testing.T) {
	e := newEnv(t, envOpts{})
	var want []int64
	for i := range 23 {
		want = append(want, int64(e.deliver("alice", []string{"bob"}, fmt.Sprint("m", i))[0].ID))
	}
	c := e.login("bob")
	if r := c.ok(`{"op":"list","folder":"inbox"}`); len(r.Messages) != 23 {
		t.Errorf("default limit: %d messages", len(r.Messages))
	}
	var got []int64
	before := int64(0)
	for {
		r := c.ok(fmt.Sprintf(`{"op":"list","folder":"inbox","before":%d,"limit":5}`, before))
		if len(r.Messages) == 0 {
			break
		}
		if len(r.Messages) > 5 {
			t.Fatalf("page of %d", len(r.Messages))
		}
		for _, m := range r.Messages {
			got = append(got, m.ID)
		}
		before = r.Messages[len(r.Messages)-1].ID
	}
	if len(got) != len(want) {
		t.Fatalf("paged %d entries, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[len(want)-1-i] {
			t.Fatalf("page order %v, want newest first of %v", got, want)
		}
	}
	// before is exclusive.
	r := c.ok(fmt.Sprintf(`{"op":"list","folder":"inbox","before":%d,"limit":1}`, want[10]))
	if len(r.Messages) != 1 || r.Messages[0].ID != want[9] {
		t.Errorf("before %d: %+v", want[10], r.Messages)
	}
	// Alice's copies are in her sent folder.
	a := e.login("alice")
	if r := a.ok(`{"op":"list","folder":"sent","limit":500}`); len(r.Messages) != 23 || r.Messages[0].Folder != "sent" {
		t.Errorf("sent: %d", len(r.Messages))
	}
}

func TestWatchSameProcess(t *testing.T) {
	e := newEnv(t, envOpts{})
	bob := e.login("bob")
	alice := e.login("alice")
	bob.ok(`{"tag":"w","op":"watch"}`)
	e.watch(alice)
	metas := e.deliver("alice", []string{"bob"}, "pushed")
	ev := bob.event(5 * time.Second)
	if ev.Event != inboxwire.EventMessage || ev.Message == nil || ev.Message.ID != int64(metas[0].ID) ||
		ev.Message.Folder != "inbox" || ev.Message.Subject != "pushed" {
		t.Errorf("bob event %+v", ev)
	}
	// The sender's sent copy is pushed too.
	ev = alice.event(5 * time.Second)
	if ev.Message == nil || ev.Message.ID != int64(metas[1].ID) || ev.Message.Folder != "sent" {
		t.Errorf("alice event %+v", ev)
	}
	// Events carry no tag and no ok.
	e.deliver("alice", []string{"bob"}, "raw")
	line, err := bob.readLine(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var probe map[string]json.RawMessage
	json.Unmarshal(line, &probe)
	if _, ok := probe["tag"]; ok {
		t.Errorf("event has a tag: %s", line)
	}
	if _, ok := probe["ok"]; ok {
		t.Errorf("event has ok: %s", line)
	}
	// Requests still work on a watching connection.
	if r := bob.ok(`{"op":"count","folder":"inbox"}`); *r.Total != 2 {
		t.Errorf("count %d", *r.Total)
	}
}

func TestWatchSecondStore(t *testing.T) {
	e := newEnv(t, envOpts{})
	bob := e.login("bob")
	e.user("alice")
	e.watch(bob)
	other := openOther(t, e.dbPath)
	metas := other.deliver(t, "alice", "bob", "from the other store")
	ev := bob.event(5 * time.Second)
	if ev.Message == nil || ev.Message.ID != int64(metas[0].ID) || ev.Message.Subject != "from the other store" {
		t.Errorf("event %+v, want entry %d", ev, metas[0].ID)
	}
}

func TestWatchChildProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("re-execs the test binary")
	}
	e := newEnv(t, envOpts{})
	bob := e.login("bob")
	e.user("alice")
	e.watch(bob)
	ids := runChild(t, e.dbPath, "alice", "bob", "from a child process", 1)
	ev := bob.event(5 * time.Second)
	if ev.Message == nil || ev.Message.ID != ids[0] || ev.Message.Subject != "from a child process" {
		t.Errorf("event %+v, want entry %d", ev, ids[0])
	}
}

func TestSlowWatcherDropped(t *testing.T) {
	// The feed is driven by the test, so that events come as fast as the
	// server can take them (the store's feed is tested elsewhere here).
	f := &chanFeed{new: make(chan struct{}, 10)}
	e := newEnv(t, envOpts{
		cfg:  func(c *Config) { c.SendQueue = 32; c.WriteTimeout = time.Minute },
		feed: func(*env) ChangeFeed { return f },
	})
	bob := e.user("bob")
	// The slow watcher reads nothing, through a small receive buffer, so
	// the server's writes stall and its queue fills.
	raw, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	raw.(*net.TCPConn).SetReadBuffer(4096)
	slow := e.wrap(raw)
	slow.ok(`{"op":"login","user":"bob","password":"` + testPassword + `"}`)
	e.watch(slow)
	fast := e.login("bob")
	e.watch(fast)
	<-f.new
	f.mu.Lock()
	feed := f.subs[0]
	f.mu.Unlock()

	// Big subjects make each event large, so a few hundred fill the pipe.
	subject := strings.Repeat("s", 60_000)
	const max = 2000
	ids := make(chan int64, max)
	progress := make(chan struct{}, max)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			line, err := fast.readLine(10 * time.Second)
			if err != nil {
				t.Errorf("fast watcher: %v", err)
				return
			}
			var ev inboxwire.Event
			json.Unmarshal(line, &ev)
			if ev.Message == nil {
				t.Errorf("fast watcher got %s", line)
				return
			}
			ids <- ev.Message.ID
			progress <- struct{}{}
			if ev.Message.ID < 0 { // the end marker
				return
			}
		}
	}()
	received, sent := 0, 0
	// Send until the slow watcher is dropped, keeping the fast one at most
	// 8 events behind (well inside its queue), as a client that keeps up
	// would be.
	for ; e.srv.watcherCount() == 2; sent++ {
		if sent == max {
			t.Fatalf("slow watcher not dropped after %d events", sent)
		}
		for ; received < sent-8; received++ {
			select {
			case <-progress:
			case <-done:
				t.Fatalf("fast watcher stopped after %d of %d events", received, sent)
			}
		}
		feed <- mail.Meta{ID: mail.EntryID(sent + 1), Owner: bob.ID, Folder: mail.Inbox, Subject: subject, Date: time.Now()}
	}
	feed <- mail.Meta{ID: -1, Owner: bob.ID, Folder: mail.Inbox, Date: time.Now()}
	<-done
	close(ids)
	want := int64(1)
	for id := range ids {
		if id < 0 {
			break
		}
		if id != want {
			t.Fatalf("fast watcher got %d, want %d", id, want)
		}
		want++
	}
	if want != int64(sent+1) {
		t.Fatalf("fast watcher got %d events, want %d", want-1, sent)
	}
	// The server has closed the slow one (its client side, reading through
	// a 4 KiB window, would take long to drain what the kernel holds).
	eventually(t, "the slow watcher to be dropped", func() bool {
		e.srv.mu.Lock()
		defer e.srv.mu.Unlock()
		return e.srv.watcherCount() == 1 && len(e.srv.conns) == 1
	})
}

// wrap speaks TLS over an already dialled connection.
func (e *env) wrap(raw net.Conn) *client {
	e.t.Helper()
	conn := tlsClient(raw, e.pool)
	e.t.Cleanup(func() { conn.Close() })
	return &client{t: e.t, conn: conn, lr: inboxwire.NewLineReader(conn, inboxwire.ResponseLineLimit(25<<20))}
}

func TestTooLargeLine(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.dial()
	big := append([]byte(`{"op":"ping","tag":"`), bytes.Repeat([]byte("x"), 2<<20)...)
	big = append(big, "\"}\n"...)
	go func() {
		c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		c.conn.Write(big) // fails part way once the server closes: fine
	}()
	line, err := c.readLine(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r inboxwire.Response
	if err := json.Unmarshal(line, &r); err != nil || r.OK || r.Error == nil || r.Error.Code != inboxwire.CodeTooLarge {
		t.Fatalf("got %s, want too_large", line)
	}
	if _, err := c.readLine(10 * time.Second); err == nil {
		t.Fatal("connection still open after too_large")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("connection not closed after too_large")
	}
}

func TestLoginThrottle(t *testing.T) {
	e := newEnv(t, envOpts{
		account: func(c *account.Config) { c.AuthFailRate = throttle.Rate{N: 2, Per: time.Hour} },
		cfg:     func(c *Config) { c.MaxLoginFailures = 10 },
	})
	e.user("bob")
	c := e.dial()
	c.fails(`{"op":"login","user":"bob","password":"wrong password"}`, inboxwire.CodeAuthFailed)
	c.fails(`{"op":"login","user":"nobody","password":"wrong password"}`, inboxwire.CodeAuthFailed)
	// The budget is spent: even the right password is refused unchecked,
	// and on a fresh connection from the same IP too.
	c.fails(`{"op":"login","user":"bob","password":"`+testPassword+`"}`, inboxwire.CodeRateLimited)
	d := e.dial()
	d.fails(`{"op":"login","user":"bob","password":"`+testPassword+`"}`, inboxwire.CodeRateLimited)
	d.ok(`{"op":"ping"}`)
}

func TestLoginFailuresPerConnection(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.MaxLoginFailures = 3 }})
	e.user("bob")
	c := e.dial()
	c.fails(`{"op":"login","user":"bob","password":"wrong password"}`, inboxwire.CodeAuthFailed)
	c.fails(`{"op":"login","user":"bob","password":"wrong password"}`, inboxwire.CodeAuthFailed)
	c.fails(`{"op":"login","user":"bob","password":"wrong password"}`, inboxwire.CodeAuthFailed)
	c.closed(5 * time.Second)
	// Another connection may still log in (no per-IP budget here).
	e.login("bob")
}

func TestHandshakeTimeout(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.HandshakeTimeout = 100 * time.Millisecond }})
	raw, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(raw); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("a silent client was not dropped")
		}
	}
}

func TestIdleTimeoutSparesWatchers(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.IdleTimeout = 150 * time.Millisecond }})
	idle := e.login("bob")
	watcher := e.login("bob")
	e.watch(watcher)
	idle.closed(5 * time.Second)
	time.Sleep(400 * time.Millisecond)
	e.deliver("alice", []string{"bob"}, "still here")
	if ev := watcher.event(5 * time.Second); ev.Message == nil || ev.Message.Subject != "still here" {
		t.Errorf("watcher got %+v", ev)
	}
	watcher.ok(`{"op":"ping"}`)
}

// A client over a cap reads one untagged busy error, after the TLS
// handshake, and is closed (until the listener core it was closed before
// TLS without a word).
func TestConnectionCaps(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*Config)
		want string // the busy message
	}{
		{"per IP", func(c *Config) { c.MaxConnsPerIP = 2 }, "too many connections from your address, try again later"},
		{"global", func(c *Config) { c.MaxConns = 2 }, "too many connections, try again later"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{cfg: tt.cfg})
			a, b := e.dial(), e.dial()
			a.ok(`{"op":"ping"}`)
			b.ok(`{"op":"ping"}`)
			c, err := e.dialErr()
			if err != nil {
				t.Fatalf("the refused client's handshake: %v", err)
			}
			r := c.response()
			if r.OK || r.Tag != nil || r.Error == nil || r.Error.Code != inboxwire.CodeBusy || r.Error.Message != tt.want {
				t.Fatalf("over the cap: got %+v (error %v), want an untagged busy error %q", r, errOf(r), tt.want)
			}
			c.closed(5 * time.Second)
			a.ok(`{"op":"quit"}`)
			a.closed(5 * time.Second)
			// The caps are the listener core's count, released after the
			// server has forgotten the connection: wait for that one.
			eventually(t, "a slot to free up", func() bool { return e.srv.ln.OpenConns() < 2 })
			e.dial().ok(`{"op":"ping"}`)
		})
	}
}

func TestShutdown(t *testing.T) {
	e := newEnv(t, envOpts{})
	idle := e.login("bob")
	watcher := e.login("bob")
	e.watch(watcher)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	idle.closed(time.Second)
	watcher.closed(time.Second)
	if err := <-e.serveCh; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve gave %v", err)
	}
	e.serveCh <- ErrServerClosed // for the cleanup's check
	if _, err := e.dialErr(); err == nil {
		t.Error("dial after Shutdown worked")
	}
}

// chanFeed is a ChangeFeed the test drives: each SubscribeChanges hands
// out the next channel, on which the test sends new entries (and ignores
// the interest: the hub still pushes only to an entry's owner). Closing
// it closes the subscription.
type chanFeed struct {
	mu   sync.Mutex
	subs []chan mail.Meta
	new  chan struct{}
}

func (f *chanFeed) SubscribeChanges(ctx context.Context, _ Interest) <-chan mail.Change {
	in := make(chan mail.Meta, 16)
	out := make(chan mail.Change)
	f.mu.Lock()
	f.subs = append(f.subs, in)
	f.mu.Unlock()
	go func() {
		defer close(out)
		for {
			select {
			case m, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- mail.Change{Kind: mail.ChangeNew, Meta: m}:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	f.new <- struct{}{}
	return out
}

func TestResyncAfterFeedCloses(t *testing.T) {
	f := &chanFeed{new: make(chan struct{}, 10)}
	e := newEnv(t, envOpts{feed: func(*env) ChangeFeed { return f }})
	bob := e.login("bob")
	e.watch(bob)
	<-f.new
	eventually(t, "the watcher", func() bool { return e.srv.watcherCount() == 1 })
	f.mu.Lock()
	first := f.subs[0]
	f.mu.Unlock()
	first <- mail.Meta{ID: 7, Owner: e.users["bob"].ID, Folder: mail.Inbox, Date: time.Now()}
	if ev := bob.event(5 * time.Second); ev.Message == nil || ev.Message.ID != 7 {
		t.Fatalf("got %+v", ev)
	}
	close(first) // the feed dropped us
	<-f.new      // the server subscribed again
	if ev := bob.event(5 * time.Second); ev.Event != inboxwire.EventResync || ev.Message != nil {
		t.Fatalf("got %+v, want resync", ev)
	}
	f.mu.Lock()
	second := f.subs[1]
	f.mu.Unlock()
	second <- mail.Meta{ID: 9, Owner: e.users["bob"].ID, Folder: mail.Inbox, Date: time.Now()}
	if ev := bob.event(5 * time.Second); ev.Message == nil || ev.Message.ID != 9 {
		t.Fatalf("got %+v", ev)
	}
}

func TestOneSubscriptionForManyWatchers(t *testing.T) {
	f := &chanFeed{new: make(chan struct{}, 10)}
	e := newEnv(t, envOpts{feed: func(*env) ChangeFeed { return f }})
	for range 5 {
		e.watch(e.login("bob"))
	}
	<-f.new
	time.Sleep(50 * time.Millisecond)
	f.mu.Lock()
	n := len(f.subs)
	f.mu.Unlock()
	if n != 1 {
		t.Errorf("%d subscriptions, want 1", n)
	}
}

func TestErrorTable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code string
	}{
		{inboxwire.ErrBadRequest, inboxwire.CodeBadRequest},
		{fmt.Errorf("%w: detail", inboxwire.ErrBadRequest), inboxwire.CodeBadRequest},
		{errUnknownOp, inboxwire.CodeBadRequest},
		{errLoggedIn, inboxwire.CodeBadRequest},
		{missing("id"), inboxwire.CodeBadRequest},
		{mail.ErrBadFolder, inboxwire.CodeBadRequest},
		{fmt.Errorf("%w: %q", mail.ErrBadFolder, "x"), inboxwire.CodeBadRequest},
		{mail.ErrBadLimit, inboxwire.CodeBadRequest},
		{fmt.Errorf("%w: unknown is:%q", mail.ErrBadQuery, "x"), inboxwire.CodeBadRequest},
		{errAuthRequired, inboxwire.CodeAuthRequired},
		{account.ErrBadCredentials, inboxwire.CodeAuthFailed},
		{account.ErrNoSuchUser, inboxwire.CodeAuthFailed},
		{account.ErrBadUsername, inboxwire.CodeAuthFailed},
		{mail.ErrNotFound, inboxwire.CodeNotFound},
		{fmt.Errorf("sqlite: %w", mail.ErrNotFound), inboxwire.CodeNotFound},
		{inboxwire.ErrTooLarge, inboxwire.CodeTooLarge},
		{account.ErrThrottled, inboxwire.CodeRateLimited},
		{fmt.Errorf("%w: budget spent", account.ErrThrottled), inboxwire.CodeRateLimited},
		{errors.New("disk on fire"), inboxwire.CodeInternal},
		{context.Canceled, inboxwire.CodeInternal},
		{mail.ErrTooLarge, inboxwire.CodeTooLarge}, // an append over the limit
		{fmt.Errorf("%w: 9 bytes, the limit is 8", mail.ErrTooLarge), inboxwire.CodeTooLarge},
	} {
		e, internal := wireError(tc.err)
		if e.Code != tc.code {
			t.Errorf("%v: code %s, want %s", tc.err, e.Code, tc.code)
		}
		if internal != (tc.code == inboxwire.CodeInternal) {
			t.Errorf("%v: internal = %v", tc.err, internal)
		}
		if e.Message == "" {
			t.Errorf("%v: empty message", tc.err)
		}
		if internal && e.Message != "internal error" {
			t.Errorf("%v: internal detail leaks: %q", tc.err, e.Message)
		}
	}
	// Every row is reachable (no row shadowed by an earlier one) and
	// every code but internal has a row.
	codes := map[string]bool{}
	for i, row := range errorTable {
		e, _ := wireError(row.err)
		if e.Code != row.code {
			t.Errorf("row %d (%v) is shadowed: gives %s", i, row.err, e.Code)
		}
		codes[row.code] = true
	}
	for _, code := range []string{inboxwire.CodeBadRequest, inboxwire.CodeAuthRequired, inboxwire.CodeAuthFailed,
		inboxwire.CodeNotFound, inboxwire.CodeTooLarge, inboxwire.CodeRateLimited} {
		if !codes[code] {
			t.Errorf("no row gives %s", code)
		}
	}
}

func TestInternalErrorsStayInTheLog(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	e := newEnv(t, envOpts{log: zap.New(core)})
	c := e.login("bob")
	e.feed.Close()
	e.store.Close() // every store call now fails
	r := c.fails(`{"tag":1,"op":"list","folder":"inbox"}`, inboxwire.CodeInternal)
	if r.Error.Message != "internal error" || string(r.Tag) != "1" {
		t.Errorf("got %+v", r)
	}
	c.ok(`{"op":"ping"}`) // the connection stays usable
	found := false
	for _, entry := range logs.FilterMessage("request failed").All() {
		if err, ok := entry.ContextMap()["error"].(string); ok && strings.Contains(err, "closed") {
			found = true
		}
	}
	if !found {
		t.Errorf("the detail was not logged: %v", logs.All())
	}
}
