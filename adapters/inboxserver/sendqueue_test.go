package inboxserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/mail"
)

// onlyConn gives the server's one open connection.
func (e *env) onlyConn() *conn {
	e.t.Helper()
	e.srv.mu.Lock()
	defer e.srv.mu.Unlock()
	if len(e.srv.conns) != 1 {
		e.t.Fatalf("%d connections, want 1", len(e.srv.conns))
	}
	for c := range e.srv.conns {
		return c
	}
	return nil
}

// slowReader dials with a small receive buffer, so that what the client
// does not read soon stays in the server's queue.
func (e *env) slowReader() *client {
	e.t.Helper()
	raw, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	raw.(*net.TCPConn).SetReadBuffer(4096)
	return e.wrap(raw)
}

func TestFetchesWaitForTheSendQueueBytes(t *testing.T) {
	const budget = 256 << 10
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.SendQueueBytes = budget }})
	// One message bigger than the whole budget: it must still be sent.
	body := strings.Repeat(strings.Repeat("x", 76)+"\r\n", 512<<10/78)
	raw := []byte("From: alice@" + testDomain + "\r\nTo: bob@" + testDomain + "\r\nSubject: big\r\n\r\n" + body)
	e.user("alice")
	e.user("bob")
	metas, err := deliverVia(context.Background(), e.mb, e.user("alice"), []string{"bob"}, raw)
	if err != nil {
		t.Fatal(err)
	}
	fetch := fmt.Sprintf(`{"op":"fetch","id":%d}`, metas[0].ID)

	c := e.login("bob")
	sc := e.onlyConn()
	// Many fetches, and no reading until the server has stopped taking
	// them (the kernel's socket buffers hold a few MiB, the rest waits).
	const n = 60
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write([]byte(strings.Repeat(fetch+"\n", n))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the queue to fill", func() bool { return sc.queued.Load() >= budget })
	time.Sleep(200 * time.Millisecond)
	stalled := sc.queued.Load()

	lineLen := 0
	for i := range n {
		line, err := c.readLine(10 * time.Second)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		lineLen = len(line) + 1
		var r inboxwire.Response
		if err := json.Unmarshal(line, &r); err != nil || !r.OK || r.Message == nil || !bytes.Equal(r.Message.Raw, raw) {
			t.Fatalf("response %d: %.200s", i, line)
		}
	}
	if peak := sc.peakQueued.Load(); peak >= int64(budget+lineLen) {
		t.Errorf("%d bytes queued at most (%d when stalled), want under the budget %d + one response %d",
			peak, stalled, budget, lineLen)
	}
	// The connection goes on as usual.
	c.ok(`{"op":"count","folder":"inbox"}`)
	if r := c.ok(fetch); !bytes.Equal(r.Message.Raw, raw) {
		t.Error("fetch after the backlog")
	}
}

func TestWatcherOverTheSendQueueBytesDropped(t *testing.T) {
	const budget = 64 << 10
	f := &chanFeed{new: make(chan struct{}, 10)}
	e := newEnv(t, envOpts{
		cfg:  func(c *Config) { c.SendQueueBytes = budget },
		feed: func(*env) ChangeFeed { return f },
	})
	bob := e.user("bob")
	slow := e.slowReader()
	slow.ok(`{"op":"login","user":"bob","password":"` + testPassword + `"}`)
	e.watch(slow)
	sc := e.onlyConn()
	<-f.new
	f.mu.Lock()
	feed := f.subs[0]
	f.mu.Unlock()

	subject := strings.Repeat("s", 20_000)
	var eventLen int
	{
		meta := inboxwire.MetaFrom(mail.Meta{ID: 1 << 40, Owner: bob.ID, Folder: mail.Inbox, Subject: subject, Date: time.Now()})
		line, _ := inboxwire.AppendLine(nil, inboxwire.Event{Event: inboxwire.EventMessage, Message: &meta})
		eventLen = len(line)
	}
	for sent := 0; e.srv.watcherCount() == 1; sent++ {
		if sent == 5000 {
			t.Fatalf("slow watcher not dropped after %d events", sent)
		}
		// The feed's buffer may be full when the watcher is dropped, and
		// then nothing reads it again: the send gives up, and the loop
		// looks at the count again.
		select {
		case feed <- mail.Meta{ID: mail.EntryID(sent + 1), Owner: bob.ID, Folder: mail.Inbox, Subject: subject, Date: time.Now()}:
		case <-time.After(100 * time.Millisecond):
		}
		if sent%16 == 0 {
			time.Sleep(time.Millisecond) // let the writer fill the socket
		}
	}
	if peak := sc.peakQueued.Load(); peak > int64(budget+eventLen) {
		t.Errorf("%d bytes queued at most, want at most the budget %d + one event %d", peak, budget, eventLen)
	}
}
