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
	entries  []inboxwire.Meta // both folders, oldest first
	watchers []func(any)
	mute     bool // stop answering pings
	conns    int
	// loginErr, when set, is the error code every login gets.
	loginErr string
	ops      map[string]int // requests received, by op
	// afterList, when set, runs after each list response has been sent,
	// to commit entries between two requests of the client.
	afterList func(req inboxwire.Request)
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
		var after func(inboxwire.Request)
		f.mu.Lock()
		if f.ops == nil {
			f.ops = map[string]int{}
		}
		f.ops[req.Op]++
		switch req.Op {
		case inboxwire.OpLogin:
			if f.loginErr != "" {
				resp.OK, resp.Error = false, &inboxwire.Error{Code: f.loginErr, Message: "no"}
				break
			}
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
			for i := len(f.entries) - 1; i >= 0; i-- {
				e := f.entries[i]
				if e.Folder == *req.Folder && (req.Before == nil || e.ID < *req.Before) && (req.Limit == nil || len(resp.Messages) < *req.Limit) {
					resp.Messages = append(resp.Messages, e)
				}
			}
			after = f.afterList
		}
		f.mu.Unlock()
		send(resp)
		if after != nil {
			after(req)
		}
	}
}

// add commits an inbox entry without telling watchers.
func (f *fakeInbox) add(id int64, subject string) {
	f.addTo(mail.Inbox, id, subject)
}

// addTo commits an entry to folder without telling watchers and returns it.
func (f *fakeInbox) addTo(folder mail.Folder, id int64, subject string) inboxwire.Meta {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := inboxwire.Meta{ID: id, Folder: string(folder), From: "b@example.test", To: []string{}, Subject: subject, Date: time.Now().Format(time.RFC3339)}
	f.entries = append(f.entries, m)
	return m
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

func (f *fakeInbox) received(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ops[op]
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

// A self-send commits an inbox copy and a sent copy with consecutive ids.
// When that lands between the watcher's listing of the inbox and of sent, the
// sent listing must not hide the inbox copy: the high-water mark is per
// folder (docs/protocol.md, the watch recipe, step 3).
func TestWatchHighWaterIsPerFolder(t *testing.T) {
	for _, tt := range []struct {
		name string
		// limit picks the inbox listing after which the self-send commits.
		limit int
		want  []int64 // ids that must be emitted, once each
	}{
		// The catch-up after subscribing: both copies are also announced.
		{"during catch-up", catchUpPage, []int64{11, 12}},
		// Learning where the stream starts, before subscribing: the inbox
		// copy is newer than what was learnt for the inbox, so the catch-up
		// must emit it; the sent copy was already there when sent was learnt.
		{"while learning the start", 1, []int64{11}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			f := startFakeInbox(t)
			f.add(1, "old")
			var once sync.Once
			f.mu.Lock()
			f.afterList = func(req inboxwire.Request) {
				if *req.Folder != string(mail.Inbox) || req.Limit == nil || *req.Limit != tt.limit {
					return
				}
				once.Do(func() {
					in := f.addTo(mail.Inbox, 11, "self, inbox copy")
					sent := f.addTo(mail.Sent, 12, "self, sent copy")
					f.event(inboxwire.Event{Event: inboxwire.EventMessage, Message: &in})
					f.event(inboxwire.Event{Event: inboxwire.EventMessage, Message: &sent})
				})
			}
			f.mu.Unlock()
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

			got := map[int64]int{}
			for _, m := range messagesUntilQuiet(t, ch, 300*time.Millisecond) {
				got[int64(m.ID)]++
			}
			for _, id := range tt.want {
				if got[id] != 1 {
					t.Errorf("entry %d emitted %d times, want once (emitted: %v)", id, got[id], got)
				}
			}
			for id, n := range got {
				if n > 1 {
					t.Errorf("entry %d emitted %d times", id, n)
				}
			}
			cancel()
			for range ch {
			}
		})
	}
}

// messagesUntilQuiet collects the messages of ch until none has come for quiet.
func messagesUntilQuiet(t *testing.T, ch <-chan ports.WatchEvent, quiet time.Duration) []mail.Meta {
	t.Helper()
	var out []mail.Meta
	timer := time.NewTimer(quiet)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("watch channel closed")
			}
			if ev.Message != nil {
				out = append(out, *ev.Message)
				timer.Reset(quiet)
			}
		case <-timer.C:
			return out
		}
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

// A rate-limited login counts as a failed one on the server: retrying soon
// would keep the address's budget spent. The watch waits the longest backoff.
func TestWatchRateLimitedWaitsTheMaximum(t *testing.T) {
	checkGoroutines(t)
	f := startFakeInbox(t)
	cfg := fastConfig()
	c := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := c.Login(ctx, f.ep, "a", "password")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f.mu.Lock()
	f.loginErr = inboxwire.CodeRateLimited
	f.mu.Unlock()
	ch := s.Watch(ctx)
	for i := 0; i < 2; i++ {
		ev := nextEvent(t, ch)
		if ev.Connected || !errors.Is(ev.Err, ports.ErrRateLimited) || ev.RetryIn != cfg.MaxBackoff {
			t.Fatalf("attempt %d: %+v, want ErrRateLimited and a retry in %v", i, ev, cfg.MaxBackoff)
		}
	}
	f.mu.Lock()
	f.loginErr = ""
	f.mu.Unlock()
	waitConnected(t, ch)
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

// A request whose ctx has ended is not sent, even when the ctx watcher
// fired before the request set its IO deadline (which used to overwrite the
// watcher's deadline in the past, so the request ran as if not cancelled).
func TestCancelledRequestIsNotSent(t *testing.T) {
	checkGoroutines(t)
	f := startFakeInbox(t)
	c := New(fastConfig())
	s, err := c.login(context.Background(), f.ep, "a", "password")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	const n = 200 // the watcher and the deadline race; try it often
	for i := 0; i < n; i++ {
		if _, _, err := s.Count(ctx, mail.Inbox); !errors.Is(err, context.Canceled) {
			t.Fatalf("Count %d with a cancelled ctx = %v", i, err)
		}
	}
	ic, err := c.dialInbox(context.Background(), f.ep, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ic.close()
	for i := 0; i < n; i++ {
		if _, err := ic.roundTrip(ctx, inboxwire.Request{Op: inboxwire.OpPing}); !errors.Is(err, context.Canceled) {
			t.Fatalf("ping %d with a cancelled ctx = %v", i, err)
		}
	}
	if got := f.received(inboxwire.OpCount) + f.received(inboxwire.OpPing); got != 0 {
		t.Errorf("the server got %d cancelled requests", got)
	}
	// Nothing was spoilt: the session's connection still serves.
	before := f.connections()
	if _, _, err := s.Count(context.Background(), mail.Inbox); err != nil {
		t.Fatal(err)
	}
	if f.connections() != before {
		t.Errorf("a cancelled request cost the connection")
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
