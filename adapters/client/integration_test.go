package client

// These tests run the client against the real servers: smtpserver and
// inboxserver on 127.0.0.1:0 with real TLS, over a real SQLite file.

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"mailroom/adapters/argon2"
	"mailroom/adapters/certs"
	"mailroom/adapters/inboxserver"
	"mailroom/adapters/smtpserver"
	"mailroom/adapters/sqlite"
	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/domain/throttle"
	"mailroom/ports"
)

const testDomain = "example.test"

// cheapArgon2 keeps registration and login fast in tests; the hash format
// and the code path are the real ones.
var cheapArgon2 = argon2.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

var unlimited = throttle.Rate{N: -1}

// world is a Mailroom server: both listeners, one database.
type world struct {
	t     *testing.T
	log   *zap.Logger
	hash  *countingHasher
	acc   *account.Service
	mb    *mail.Service
	feed  *sqlite.Feed
	cert  tls.Certificate
	ep    ports.Endpoint
	smtp  *smtpserver.Server
	inbox *inboxserver.Server
	// inboxAddr stays the same across restartInbox.
	inboxAddr string
	serving   sync.WaitGroup
}

// newWorld starts a world; opts adjust the SMTP server's Config.
func newWorld(t *testing.T, opts ...func(*smtpserver.Config)) *world {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "mail.db")})
	if err != nil {
		t.Fatal(err)
	}
	feed := store.Feed(sqlite.FeedConfig{PollInterval: 10 * time.Millisecond})
	w := &world{t: t, log: zaptest.NewLogger(t), feed: feed, hash: &countingHasher{Hasher: argon2.New(cheapArgon2, 0)}}
	// The failed-login budget is the account service's, for every server.
	w.acc = account.NewService(store, w.hash, account.Config{Domain: testDomain, RegRate: unlimited, AuthFailRate: unlimited}, nil)
	w.mb = mail.NewService(store, w.acc, feed, mail.Config{}, nil)
	certPEM, keyPEM, err := certs.SelfSigned(nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if w.cert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}

	scfg := smtpserver.Config{
		Hostname: testDomain, TLS: certs.ServerConfig(w.cert),
	}
	for _, o := range opts {
		o(&scfg)
	}
	w.smtp = smtpserver.New(scfg, w.acc, w.mb, w.log)
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.serving.Add(1)
	go func() { defer w.serving.Done(); w.smtp.Serve(sln) }()

	iln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.inboxAddr = iln.Addr().String()
	w.serveInbox(iln)

	w.ep = ports.Endpoint{
		Host:        "127.0.0.1",
		SMTPPort:    sln.Addr().(*net.TCPAddr).Port,
		InboxPort:   iln.Addr().(*net.TCPAddr).Port,
		Fingerprint: certs.Fingerprint(w.cert),
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w.smtp.Shutdown(ctx)
		if w.inbox != nil {
			w.inbox.Shutdown(ctx)
		}
		w.serving.Wait()
		feed.Close()
		store.Close()
	})
	return w
}

// countingHasher counts the password checks that failed: one per refused
// login, whether the password was wrong or the user unknown.
type countingHasher struct {
	account.Hasher
	failed atomic.Int64
}

func (h *countingHasher) Verify(ctx context.Context, hash, password string) (bool, error) {
	ok, err := h.Hasher.Verify(ctx, hash, password)
	if err == nil && !ok {
		h.failed.Add(1)
	}
	return ok, err
}

func (w *world) serveInbox(ln net.Listener) {
	w.inbox = inboxserver.New(inboxserver.Config{
		TLS: certs.ServerConfig(w.cert),
	}, w.acc, w.mb, w.feed, w.log)
	srv := w.inbox
	w.serving.Add(1)
	go func() { defer w.serving.Done(); srv.Serve(ln) }()
}

// stopInbox shuts the inbox server down, dropping every connection.
func (w *world) stopInbox() {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.inbox.Shutdown(ctx); err != nil {
		w.t.Fatalf("inbox Shutdown: %v", err)
	}
	w.inbox = nil
}

// startInbox serves the inbox again on the same address.
func (w *world) startInbox() {
	w.t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", w.inboxAddr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	w.serveInbox(ln)
}

const password = "correct-horse-battery"

// login registers name through the client (REG) and logs in.
func (w *world) login(c *Client, name string) *Session {
	w.t.Helper()
	ctx := context.Background()
	if err := c.Register(ctx, w.ep, name, password); err != nil {
		w.t.Fatalf("Register(%s): %v", name, err)
	}
	s, err := c.login(ctx, w.ep, name, password)
	if err != nil {
		w.t.Fatalf("Login(%s): %v", name, err)
	}
	w.t.Cleanup(func() { s.Close() })
	return s
}

// nextEvent waits for the next watch event.
func nextEvent(t *testing.T, ch <-chan ports.WatchEvent) ports.WatchEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	panic("unreachable")
}

// waitConnected skips state events until Connected:true without a message.
func waitConnected(t *testing.T, ch <-chan ports.WatchEvent) {
	t.Helper()
	for {
		ev := nextEvent(t, ch)
		if ev.Message != nil {
			t.Fatalf("message %+v before the connection", ev.Message)
		}
		if ev.Connected {
			return
		}
	}
}

// nextMessage skips state events until a message.
func nextMessage(t *testing.T, ch <-chan ports.WatchEvent) mail.Meta {
	t.Helper()
	for {
		if ev := nextEvent(t, ch); ev.Message != nil {
			return *ev.Message
		}
	}
}

// noMessage checks that no message event arrives for a while.
func noMessage(t *testing.T, ch <-chan ports.WatchEvent, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev := <-ch:
			if ev.Message != nil {
				t.Fatalf("unexpected message %+v", *ev.Message)
			}
		case <-deadline:
			return
		}
	}
}

func TestEndToEnd(t *testing.T) {
	checkGoroutines(t)
	w := newWorld(t)
	c := New(fastConfig())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	if err := c.Ping(ctx, w.ep); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if fp, err := c.Probe(ctx, w.ep); err != nil || fp != certs.Fingerprint(w.cert) {
		t.Fatalf("Probe = %s, %v", fp, err)
	}

	names := []string{"alice", "bob", "carol"}
	sessions := map[string]*Session{}
	watches := map[string]<-chan ports.WatchEvent{}
	for _, n := range names {
		s := w.login(c, n)
		if got := s.Account().Address; got != n+"@"+testDomain {
			t.Errorf("%s: Account().Address = %q", n, got)
		}
		sessions[n] = s
		watches[n] = s.Watch(ctx)
		waitConnected(t, watches[n])
	}

	draft := ports.Draft{
		To:      []string{"alice", "bob@" + testDomain, "Carol"},
		Subject: "Grüße an alle",
		Body:    "Hello everyone,\nthis is the body.\n",
		Attachments: []ports.Attachment{
			{Name: "data.bin", ContentType: "application/octet-stream", Data: []byte{0, 1, 2, 3, 255}},
		},
	}
	if err := sessions["alice"].Send(ctx, draft); err != nil {
		t.Fatalf("Send: %v", err)
	}

	for _, n := range names {
		m := nextMessage(t, watches[n])
		if m.Folder != mail.Inbox || m.Subject != draft.Subject || m.From != "alice@"+testDomain {
			t.Errorf("%s: event %+v", n, m)
		}
		if m.Owner != sessions[n].Account().ID {
			t.Errorf("%s: Owner = %d, want %d", n, m.Owner, sessions[n].Account().ID)
		}
		body, err := sessions[n].Fetch(ctx, m.ID)
		if err != nil {
			t.Fatalf("%s: Fetch: %v", n, err)
		}
		if body.Text != draft.Body {
			t.Errorf("%s: Text = %q", n, body.Text)
		}
		if len(body.Attachments) != 1 || body.Attachments[0].Name != "data.bin" || string(body.Attachments[0].Data) != "\x00\x01\x02\x03\xff" {
			t.Errorf("%s: attachments %+v", n, body.Attachments)
		}
		if body.MessageID == "" || body.Meta.ID != m.ID || len(body.Raw) == 0 {
			t.Errorf("%s: body %q %d %d bytes", n, body.MessageID, body.Meta.ID, len(body.Raw))
		}
	}
	// The sender also sees the sent copy, once.
	if m := nextMessage(t, watches["alice"]); m.Folder != mail.Sent || len(m.To) != 3 {
		t.Errorf("alice: second event %+v, want the sent copy to 3", m)
	}

	// A reply keeps the thread.
	bob := sessions["bob"]
	first, err := bob.List(ctx, mail.Inbox, 0, 10)
	if err != nil || len(first) != 1 {
		t.Fatalf("bob List = %v, %v", first, err)
	}
	orig, err := bob.Fetch(ctx, first[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := bob.Send(ctx, ports.Draft{To: []string{"alice"}, Subject: "Re: " + draft.Subject, Body: "thanks", InReplyTo: orig.MessageID}); err != nil {
		t.Fatalf("reply: %v", err)
	}
	reply := nextMessage(t, watches["alice"])
	rb, err := sessions["alice"].Fetch(ctx, reply.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rb.Raw), "In-Reply-To: <"+orig.MessageID+">") {
		t.Errorf("reply lacks In-Reply-To <%s>:\n%s", orig.MessageID, rb.Raw)
	}
	if m := nextMessage(t, watches["bob"]); m.Folder != mail.Sent {
		t.Errorf("bob: event %+v, want his sent copy", m)
	}

	// Flags, counts, deletion.
	if total, unseen, err := bob.Count(ctx, mail.Inbox); err != nil || total != 1 || unseen != 1 {
		t.Errorf("Count = %d, %d, %v; want 1, 1", total, unseen, err)
	}
	if err := bob.SetSeen(ctx, first[0].ID, true); err != nil {
		t.Fatal(err)
	}
	if total, unseen, err := bob.Count(ctx, mail.Inbox); err != nil || total != 1 || unseen != 0 {
		t.Errorf("Count after SetSeen = %d, %d, %v; want 1, 0", total, unseen, err)
	}
	if err := bob.Delete(ctx, first[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Fetch(ctx, first[0].ID); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("Fetch after Delete = %v, want ErrNotFound", err)
	}
	// Another user's entry is not found either.
	carolList, _ := sessions["carol"].List(ctx, mail.Inbox, 0, 1)
	if _, err := bob.Fetch(ctx, carolList[0].ID); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("Fetch of carol's entry = %v, want ErrNotFound", err)
	}
	if err := bob.Delete(ctx, 999999); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("Delete(999999) = %v, want ErrNotFound", err)
	}

	// Lookup (GETUSER after AUTH).
	info, err := bob.Lookup(ctx, "CAROL")
	if err != nil || info != sessions["carol"].Account() {
		t.Errorf("Lookup(CAROL) = %+v, %v; want %+v", info, err, sessions["carol"].Account())
	}
	if _, err := bob.Lookup(ctx, "nobody"); !errors.Is(err, account.ErrNoSuchUser) {
		t.Errorf("Lookup(nobody) = %v", err)
	}

	// Registration and login refusals.
	for _, tt := range []struct {
		user, pass string
		want       error
	}{
		{"bob", password, account.ErrUsernameTaken},
		{"Bob", password, account.ErrUsernameTaken},
		{"-bad", password, account.ErrBadUsername},
		{"dave", "short", account.ErrWeakPassword},
	} {
		if err := c.Register(ctx, w.ep, tt.user, tt.pass); !errors.Is(err, tt.want) {
			t.Errorf("Register(%q, %q) = %v, want %v", tt.user, tt.pass, err, tt.want)
		}
	}
	if _, err := c.Login(ctx, w.ep, "bob", "wrong password"); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("Login with a wrong password = %v", err)
	}
	bad := &Session{c: c, ep: w.ep, user: "bob", pass: "wrong password", info: bob.Account()}
	bad.ctx, bad.cancel = context.WithCancel(ctx)
	if err := bad.Send(ctx, ports.Draft{To: []string{"alice"}, Body: "x"}); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("Send with a wrong password = %v", err)
	}
	bad.Close()

	// Nothing else arrived anywhere.
	for _, n := range names {
		noMessage(t, watches[n], 100*time.Millisecond)
	}
	// Watch ends with ctx.
	cancel()
	for _, n := range names {
		for range watches[n] {
		}
	}
}

func TestSendRefusedRecipients(t *testing.T) {
	checkGoroutines(t)
	w := newWorld(t)
	c := New(fastConfig())
	ctx := context.Background()
	alice, bob := w.login(c, "alice"), w.login(c, "bob")

	err := alice.Send(ctx, ports.Draft{To: []string{"bob", "nobody", "ghost@" + testDomain, "x@elsewhere.example"}, Subject: "s", Body: "b"})
	var se *ports.SendError
	if !errors.As(err, &se) {
		t.Fatalf("Send = %v, want *ports.SendError", err)
	}
	var got []string
	for _, f := range se.Failed {
		got = append(got, f.Recipient)
		if !errors.Is(f.Err, mail.ErrNoSuchRecipient) {
			t.Errorf("%s: %v, want ErrNoSuchRecipient", f.Recipient, f.Err)
		}
	}
	if strings.Join(got, ",") != "nobody,ghost@"+testDomain+",x@elsewhere.example" {
		t.Errorf("refused %v", got)
	}
	// Nothing was sent, to anyone.
	for _, s := range []*Session{alice, bob} {
		for _, f := range []mail.Folder{mail.Inbox, mail.Sent} {
			if total, _, err := s.Count(ctx, f); err != nil || total != 0 {
				t.Errorf("%s %s: %d entries, %v", s.Account().Address, f, total, err)
			}
		}
	}
	if err := alice.Send(ctx, ports.Draft{Subject: "s"}); !errors.Is(err, mail.ErrNoRecipients) {
		t.Errorf("Send without recipients = %v", err)
	}
	// The same session still sends.
	if err := alice.Send(ctx, ports.Draft{To: []string{"bob"}, Subject: "s", Body: "b"}); err != nil {
		t.Fatal(err)
	}
	if total, _, _ := bob.Count(ctx, mail.Inbox); total != 1 {
		t.Errorf("bob has %d entries, want 1", total)
	}
}

func TestFingerprintMismatchIsHard(t *testing.T) {
	checkGoroutines(t)
	w := newWorld(t)
	c := New(fastConfig())
	ctx := context.Background()
	w.login(c, "alice")

	ep := w.ep
	ep.Fingerprint = certs.FingerprintDER([]byte("the certificate the user pinned"))
	want := certs.Fingerprint(w.cert)
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ports.ErrFingerprintMismatch) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s = %v, want ErrFingerprintMismatch naming %s", what, err, want)
		}
	}
	check("Ping", c.Ping(ctx, ep))
	check("Register", c.Register(ctx, ep, "mallory", password))
	_, err := c.Login(ctx, ep, "alice", password)
	check("Login", err)
	ep.Fingerprint = ""
	if _, err := c.Login(ctx, ep, "alice", password); !errors.Is(err, ports.ErrUntrusted) {
		t.Errorf("Login without trust = %v, want ErrUntrusted", err)
	}
	if fp, err := c.Probe(ctx, ep); err != nil || fp != want {
		t.Errorf("Probe = %s, %v", fp, err)
	}
}

func TestWatchSurvivesInboxRestart(t *testing.T) {
	checkGoroutines(t)
	w := newWorld(t)
	c := New(fastConfig())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	alice, bob := w.login(c, "alice"), w.login(c, "bob")

	// An old message, so the watch starts with a high-water mark above 0.
	if err := alice.Send(ctx, ports.Draft{To: []string{"bob"}, Subject: "before"}); err != nil {
		t.Fatal(err)
	}
	ch := bob.Watch(ctx)
	waitConnected(t, ch)

	w.stopInbox()
	ev := nextEvent(t, ch)
	if ev.Connected || ev.Err == nil || ev.RetryIn <= 0 {
		t.Fatalf("after the inbox stopped: %+v, want a disconnection with an error and a delay", ev)
	}
	// Delivered while bob's watch cannot connect (SMTP is still up).
	if err := alice.Send(ctx, ports.Draft{To: []string{"bob"}, Subject: "while down"}); err != nil {
		t.Fatal(err)
	}
	// Let it retry and fail at least once more.
	for {
		ev := nextEvent(t, ch)
		if ev.Message != nil {
			t.Fatalf("message while down: %+v", ev.Message)
		}
		if ev.Connected {
			t.Fatal("connected while the server was down")
		}
		if errors.Is(ev.Err, ports.ErrUnreachable) {
			break
		}
	}
	w.startInbox()
	waitConnected(t, ch)
	if m := nextMessage(t, ch); m.Subject != "while down" {
		t.Fatalf("after reconnecting: %+v, want the message delivered while down", m)
	}
	if err := alice.Send(ctx, ports.Draft{To: []string{"bob"}, Subject: "after"}); err != nil {
		t.Fatal(err)
	}
	if m := nextMessage(t, ch); m.Subject != "after" {
		t.Fatalf("live event %+v, want \"after\"", m)
	}
	noMessage(t, ch, 200*time.Millisecond)

	// The request connection reconnected too, transparently.
	if list, err := bob.List(ctx, mail.Inbox, 0, 0); err != nil || len(list) != 3 {
		t.Errorf("List after the restart = %d entries, %v", len(list), err)
	}

	// Closing the session ends the watch.
	bob.Close()
	for range ch {
	}
	if _, err := bob.List(ctx, mail.Inbox, 0, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("List after Close = %v", err)
	}
	if _, ok := <-bob.Watch(ctx); ok {
		t.Error("Watch after Close gave an event")
	}
}

// After the password changes or the account goes, a session's stored
// password is refused. A watch must then end (the UI ends the session)
// rather than retry it for ever, and the request connection must not try it
// again either: each retry would spend the server's per-IP failed-login
// budget, which also locks out everyone else behind the same address.
func TestBadCredentialsEndTheSession(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(ctx context.Context, acc *account.Service) error
	}{
		{"password changed", func(ctx context.Context, acc *account.Service) error {
			return acc.SetPassword(ctx, "bob", "a-brand-new-password")
		}},
		{"account deleted", func(ctx context.Context, acc *account.Service) error {
			return acc.Delete(ctx, "bob")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			w := newWorld(t)
			c := New(fastConfig())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			watching := w.login(c, "bob")
			requesting, err := c.login(ctx, w.ep, "bob", password)
			if err != nil {
				t.Fatal(err)
			}
			defer requesting.Close()
			ch := watching.Watch(ctx)
			waitConnected(t, ch)

			if err := tt.change(ctx, w.acc); err != nil {
				t.Fatal(err)
			}
			failedBefore := w.hash.failed.Load()
			w.stopInbox()
			w.startInbox()

			// The watch retries while the server is down, then its first
			// login on the new server is refused and ends it. A retried
			// failure is an event with RetryIn set: the server going away,
			// or (the account deleted) a catch-up listing of a folder that
			// went with it. The terminal one has none.
			var last ports.WatchEvent
			for ev := range ch {
				if ev.Message != nil || ev.Connected {
					t.Fatalf("event after the password was changed: %+v", ev)
				}
				if last.Err != nil && last.RetryIn == 0 {
					t.Fatalf("event %+v after a terminal error %v", ev, last.Err)
				}
				last = ev
			}
			if !errors.Is(last.Err, account.ErrBadCredentials) {
				t.Fatalf("the watch ended with %+v, want an error wrapping ErrBadCredentials", last)
			}
			if n := w.hash.failed.Load() - failedBefore; n != 1 {
				t.Errorf("the watch tried the old password %d times, want 1", n)
			}

			// The request connection re-logs in once, is refused, and does
			// not try again; nor does a new watch, or the watching session.
			failedBefore = w.hash.failed.Load()
			for i := 0; i < 3; i++ {
				if _, _, err := requesting.Count(ctx, mail.Inbox); !errors.Is(err, account.ErrBadCredentials) {
					t.Fatalf("Count %d = %v, want ErrBadCredentials", i, err)
				}
			}
			if _, err := requesting.List(ctx, mail.Sent, 0, 0); !errors.Is(err, account.ErrBadCredentials) {
				t.Fatalf("List = %v, want ErrBadCredentials", err)
			}
			if _, _, err := watching.Count(ctx, mail.Inbox); !errors.Is(err, account.ErrBadCredentials) {
				t.Fatalf("Count on the watching session = %v, want ErrBadCredentials", err)
			}
			ev, ok := <-requesting.Watch(ctx)
			if !ok || ev.Connected || !errors.Is(ev.Err, account.ErrBadCredentials) {
				t.Fatalf("a new Watch gave %+v (open %v), want the refusal", ev, ok)
			}
			if err := requesting.Send(ctx, ports.Draft{To: []string{"bob"}, Body: "x"}); !errors.Is(err, account.ErrBadCredentials) {
				t.Fatalf("Send = %v, want ErrBadCredentials", err)
			}
			if n := w.hash.failed.Load() - failedBefore; n != 1 {
				t.Errorf("the sessions tried the old password %d more times, want 1", n)
			}
		})
	}
}

func TestLoginLearnsMaxMessage(t *testing.T) {
	w := newWorld(t, func(c *smtpserver.Config) { c.MaxMessageBytes = 1 << 20 })
	c := New(fastConfig())
	s := w.login(c, "alice")
	if got := s.MaxMessageBytes(); got != 1<<20 {
		t.Fatalf("MaxMessageBytes = %d, want %d", got, 1<<20)
	}
	// 1 MiB needs less than the default bound, which stays.
	if s.maxResponse != c.cfg.MaxResponseBytes {
		t.Errorf("response bound %d, want the default %d", s.maxResponse, c.cfg.MaxResponseBytes)
	}
	// The session works: its inbox connection was made with that bound.
	if _, _, err := s.Count(context.Background(), mail.Inbox); err != nil {
		t.Fatal(err)
	}
}

func TestLoginWithoutSMTPLeavesMaxMessageUnknown(t *testing.T) {
	w := newWorld(t)
	c := New(fastConfig())
	w.login(c, "alice")
	ep := w.ep
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ep.SMTPPort = ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now: refused
	s, err := c.Login(context.Background(), ep, "alice", password)
	if err != nil {
		t.Fatalf("Login with the SMTP port down: %v", err)
	}
	defer s.Close()
	if got := s.MaxMessageBytes(); got != 0 {
		t.Errorf("MaxMessageBytes = %d, want 0", got)
	}
}
