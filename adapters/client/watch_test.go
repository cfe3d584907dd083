package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"mailroom/adapters/certs"
	"mailroom/adapters/inboxwire"
	"mailroom/domain/mail"
	"mailroom/ports"
)

// fakeInbox is a scripted inbox server for what the real one cannot be made
// to do on demand: send resync, or stop answering.
type fakeInbox struct {
	ep ports.Endpoint

	mu       sync.Mutex
	entries  []inboxwire.Meta // the inbox, oldest first
	watchers []func(any)
	mute     bool // stop answering pings
	conns    int
}

func startFakeInbox(t *testing.T) *fakeInbox {
	t.Helper()
	cert, _ := testCert(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", certs.ServerConfig(cert))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeInbox{}
	var wg sync.WaitGroup
	var cmu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		ln.Close()
		cmu.Lock()
		for _, c := range open {
			c.Close()
		}
		cmu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			cmu.Lock()
			open = append(open, c)
			cmu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				f.serve(c)
			}()
		}
	}()
	f.ep = ports.Endpoint{Host: "127.0.0.1", InboxPort: ln.Addr().(*net.TCPAddr).Port, Fingerprint: certs.Fingerprint(cert)}
	return f
}

func (f *fakeInbox) serve(c net.Conn) {
	f.mu.Lock()
	f.conns++
	f.mu.Unlock()
	var wmu sync.Mutex
	send := func(v any) {
		b, _ := inboxwire.AppendLine(nil, v)
		wmu.Lock()
		defer wmu.Unlock()
		c.Write(b)
	}
	lr := inboxwire.NewLineReader(c, 0)
	watching := false
	for {
		line, err := lr.ReadLine()
		if err != nil {
			return
		}
		req, err := inboxwire.DecodeRequest(line)
		if err != nil {
			return
		}
		resp := inboxwire.Response{Tag: req.Tag, OK: true}
		f.mu.Lock()
		switch req.Op {
		case inboxwire.OpLogin:
			resp.Account = &inboxwire.Account{ID: 1, Address: "a@example.test"}
		case inboxwire.OpCount:
			if f.mute {
				f.mu.Unlock()
				continue
			}
			zero := 0
			resp.Total, resp.Unseen = &zero, &zero
		case inboxwire.OpPing:
			if watching && f.mute {
				f.mu.Unlock()
				continue
			}
		case inboxwire.OpWatch:
			watching = true
			f.watchers = append(f.watchers, send)
		case inboxwire.OpList:
			resp.Messages = []inboxwire.Meta{}
			if *req.Folder == string(mail.Inbox) {
				for i := len(f.entries) - 1; i >= 0; i-- {
					e := f.entries[i]
					if (req.Before == nil || e.ID < *req.Before) && (req.Limit == nil || len(resp.Messages) < *req.Limit) {
						resp.Messages = append(resp.Messages, e)
					}
				}
			}
		}
		f.mu.Unlock()
		send(resp)
	}
}

// add commits an entry without telling watchers.
func (f *fakeInbox) add(id int64, subject string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries = append(f.entries, inboxwire.Meta{ID: id, Folder: "inbox", From: "b@example.test", To: []string{}, Subject: subject, Date: time.Now().Format(time.RFC3339)})
}

// event sends ev to every watcher.
func (f *fakeInbox) event(ev inboxwire.Event) {
	f.mu.Lock()
	ws := slices.Clone(f.watchers)
	f.mu.Unlock()
	for _, w := range ws {
		w(ev)
	}
}

func (f *fakeInbox) connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns
}

func TestWatchResync(t *testing.T) {
	checkGoroutines(t)
	f := startFakeInbox(t)
	f.add(1, "old")
	c := New(fastConfig())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := c.Login(ctx, f.ep, "a", "password")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ch := s.Watch(ctx)
	waitConnected(t, ch)

	// An announced entry: once it is out, the catch-up after connecting is over.
	f.add(2, "announced")
	f.event(inboxwire.Event{Event: inboxwire.EventMessage, Message: &f.entries[1]})
	if m := nextMessage(t, ch); m.Subject != "announced" {
		t.Fatalf("got %q, want \"announced\"", m.Subject)
	}
	// Entries the server never announced: only a resync finds them.
	f.add(3, "missed one")
	f.add(4, "missed two")
	f.event(inboxwire.Event{Event: inboxwire.EventResync})
	for _, want := range []string{"missed one", "missed two"} {
		if m := nextMessage(t, ch); m.Subject != want {
			t.Fatalf("got %q, want %q", m.Subject, want)
		}
	}
	// A late event for an entry already emitted is not repeated; a new one is.
	f.add(5, "live")
	f.event(inboxwire.Event{Event: inboxwire.EventMessage, Message: &f.entries[2]})
	f.event(inboxwire.Event{Event: inboxwire.EventMessage, Message: &f.entries[4]})
	if m := nextMessage(t, ch); m.Subject != "live" || m.Owner != 1 {
		t.Fatalf("got %+v, want \"live\" owned by 1", m)
	}
	// Unknown events are ignored.
	f.event(inboxwire.Event{Event: "something-new"})
	noMessage(t, ch, 100*time.Millisecond)
	cancel()
	for range ch {
	}
}

func TestWatchDropsASilentServer(t *testing.T) {
	checkGoroutines(t)
	f := startFakeInbox(t)
	cfg := fastConfig()
	cfg.PingInterval = 50 * time.Millisecond
	cfg.IOTimeout = 500 * time.Millisecond
	c := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := c.Login(ctx, f.ep, "a", "password")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ch := s.Watch(ctx)
	waitConnected(t, ch)
	// Pings are answered: no state change for a while.
	select {
	case ev := <-ch:
		t.Fatalf("event while pings are answered: %+v", ev)
	case <-time.After(400 * time.Millisecond):
	}

	f.mu.Lock()
	f.mute = true
	f.mu.Unlock()
	ev := nextEvent(t, ch)
	if ev.Connected || !errors.Is(ev.Err, ports.ErrUnreachable) {
		t.Fatalf("after the server went silent: %+v", ev)
	}
	f.mu.Lock()
	f.mute = false
	f.mu.Unlock()
	before := f.connections()
	waitConnected(t, ch)
	if f.connections() <= before {
		t.Error("reconnected without a new connection")
	}
}

func TestWatchAfterCancelAndClose(t *testing.T) {
	checkGoroutines(t)
	f := startFakeInbox(t)
	c := New(fastConfig())
	ctx := context.Background()
	s, err := c.Login(ctx, f.ep, "a", "password")
	if err != nil {
		t.Fatal(err)
	}
	// Several watches, some cancelled, the rest ended by Close.
	wctx, cancel := context.WithCancel(ctx)
	a, b := s.Watch(wctx), s.Watch(ctx)
	waitConnected(t, a)
	waitConnected(t, b)
	cancel()
	for range a {
	}
	s.Close()
	for range b {
	}
	if _, _, err := s.Count(ctx, mail.Inbox); !errors.Is(err, ErrClosed) {
		t.Errorf("Count after Close = %v", err)
	}
	if err := s.Send(ctx, ports.Draft{To: []string{"x"}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v", err)
	}
}

func TestRequestTimeoutAndRecovery(t *testing.T) {
	checkGoroutines(t)
	f := startFakeInbox(t)
	c := New(fastConfig())
	s, err := c.Login(context.Background(), f.ep, "a", "password")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	f.mu.Lock()
	f.mute = true
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, _, err = s.Count(ctx, mail.Inbox)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ports.ErrUnreachable) {
		t.Fatalf("Count past the deadline = %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, _, err = s.Count(ctx, mail.Inbox)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ports.ErrUnreachable) {
		t.Fatalf("Count cancelled = %v", err)
	}

	// The half-read connection was dropped; the next request gets a new one.
	f.mu.Lock()
	f.mute = false
	f.mu.Unlock()
	before := f.connections()
	if _, _, err := s.Count(context.Background(), mail.Inbox); err != nil {
		t.Fatalf("Count after recovery: %v", err)
	}
	if f.connections() != before+1 {
		t.Errorf("%d new connections, want 1", f.connections()-before)
	}
}

func FuzzReadLine(f *testing.F) {
	f.Add([]byte(`{"tag":1,"ok":true,"messages":[]}` + "\n"))
	f.Add([]byte(`{"event":"message","message":{"id":3,"folder":"inbox","date":"2026-01-01T00:00:00Z"}}` + "\n"))
	f.Add([]byte(`{"event":"resync"}` + "\n" + `{"ok":false,"error":{"code":"too_large","message":"x"}}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ic := &inboxConn{lr: inboxwire.NewLineReader(bytes.NewReader(data), 1<<16)}
		for i := 0; i < 100; i++ {
			l, err := ic.readLine()
			if err != nil {
				return
			}
			if l.event != nil && l.event.Message != nil {
				l.event.Message.ToDomain() // must not panic
			}
		}
	})
}
