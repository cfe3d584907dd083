package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
)

// fakeClient is an in-memory ports.Client: one server, a few accounts and
// their mailboxes. Errors can be forced per call.
type fakeClient struct {
	mu          sync.Mutex
	fingerprint string // what the server presents
	users       map[string]string
	nextID      mail.EntryID
	boxes       map[string][]mail.Meta // by owner, any order
	bodies      map[mail.EntryID]ports.Body
	sessions    []*fakeSession
	fetches     int
	deletes     int // Delete calls that removed something
	registers   int // Register calls that reached the server
	// failRegister fails the next Register calls as unreachable before
	// they reach the server; loseRegisterReply fails the next ones that
	// succeed as unreachable after creating the account (a lost reply).
	failRegister, loseRegisterReply int

	// maxMessage is the SIZE the sessions report (0: unknown).
	maxMessage int64
	// withFolders makes Login give sessions that implement
	// ports.FolderSession (fakefolders_test.go); userFolders are their
	// users' own folders.
	withFolders bool
	// withSearch makes them ports.SearchSession too (fakesearch_test.go).
	withSearch bool
	// withDrafts makes them ports.DraftSession too (fakedrafts_test.go).
	withDrafts  bool
	appends     int
	userFolders map[string]map[mail.Folder]bool

	probeErr, pingErr, loginErr, registerErr error
	// hook, when set, runs first in every session call, outside the lock,
	// with the call's name ("Send", "Delete", ...); an error it returns is
	// the call's. It can block, observe ctx or fail the call.
	hook func(ctx context.Context, op string) error
}

// errFakeClosed is what a call on a closed fakeSession gives, as the real
// client's calls fail once its connection is closed.
var errFakeClosed = fmt.Errorf("fake: session closed: %w", ports.ErrUnreachable)

// setHook installs the session-call hook.
func (c *fakeClient) setHook(f func(ctx context.Context, op string) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hook = f
}

func newFakeClient() *fakeClient {
	return &fakeClient{
		fingerprint: strings.Repeat("ab", 32),
		users:       map[string]string{},
		boxes:       map[string][]mail.Meta{},
		bodies:      map[mail.EntryID]ports.Body{},
		nextID:      1,
	}
}

func (c *fakeClient) check(ep ports.Endpoint) error {
	if ep.Fingerprint != "" && !strings.EqualFold(strings.ReplaceAll(ep.Fingerprint, ":", ""), c.fingerprint) {
		return fmt.Errorf("fake: %w", ports.ErrFingerprintMismatch)
	}
	return nil
}

func (c *fakeClient) Probe(ctx context.Context, ep ports.Endpoint) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.probeErr != nil {
		return "", c.probeErr
	}
	return c.fingerprint, nil
}

func (c *fakeClient) Ping(ctx context.Context, ep ports.Endpoint) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pingErr != nil {
		return c.pingErr
	}
	return c.check(ep)
}

func (c *fakeClient) Register(ctx context.Context, ep ports.Endpoint, username, password string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(ep); err != nil {
		return err
	}
	if c.failRegister > 0 {
		c.failRegister--
		return fmt.Errorf("fake: dial: %w", ports.ErrUnreachable)
	}
	c.registers++
	if c.registerErr != nil {
		return c.registerErr
	}
	name, err := account.ParseUsername(username)
	if err != nil {
		return err
	}
	if err := account.CheckPassword(password); err != nil {
		return err
	}
	if _, ok := c.users[string(name)]; ok {
		return account.ErrUsernameTaken
	}
	c.users[string(name)] = password
	if c.loseRegisterReply > 0 {
		c.loseRegisterReply--
		return fmt.Errorf("fake: reading the reply: %w", ports.ErrUnreachable)
	}
	return nil
}

func (c *fakeClient) Login(ctx context.Context, ep ports.Endpoint, username, password string) (ports.Session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(ep); err != nil {
		return nil, err
	}
	if c.loginErr != nil {
		return nil, c.loginErr
	}
	name := strings.ToLower(username)
	if pw, ok := c.users[name]; !ok || pw != password {
		return nil, account.ErrBadCredentials
	}
	s := &fakeSession{c: c, user: name, watch: make(chan ports.WatchEvent, 16), maxMessage: c.maxMessage}
	c.sessions = append(c.sessions, s)
	if c.withDrafts {
		return &fakeDraftSession{&fakeSearchSession{&fakeFolderSession{s}}}, nil
	}
	if c.withSearch {
		return &fakeSearchSession{&fakeFolderSession{s}}, nil
	}
	if c.withFolders {
		return &fakeFolderSession{s}, nil
	}
	return s, nil
}

func (c *fakeClient) addUser(name, pw string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.users[name] = pw
}

// deliver puts a message from→to in the inbox of to (and the sent folder
// of from when from is a local user) and returns the inbox entry.
func (c *fakeClient) deliver(from, to, subject, text string, at time.Time) mail.Meta {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := mail.Meta{ID: c.nextID, Folder: mail.Inbox, From: from + "@example.org", To: []string{to + "@example.org"},
		Subject: subject, Date: at, Size: int64(len(text) + 200)}
	c.nextID++
	c.boxes[to] = append(c.boxes[to], m)
	c.bodies[m.ID] = ports.Body{Meta: m, Text: text, MessageID: fmt.Sprintf("<%d@example.org>", m.ID)}
	return m
}

// update changes owner's entry id in place (to set a preview, say).
func (c *fakeClient) update(owner string, id mail.EntryID, f func(m *mail.Meta)) mail.Meta {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.meta(owner, id)
	if !ok {
		panic("fake: no such entry")
	}
	f(m)
	return *m
}

// deleted is how many entries Delete removed.
func (c *fakeClient) deleted() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deletes
}

func (c *fakeClient) meta(owner string, id mail.EntryID) (*mail.Meta, bool) {
	for i := range c.boxes[owner] {
		if c.boxes[owner][i].ID == id {
			return &c.boxes[owner][i], true
		}
	}
	return nil, false
}

// fakeSession is a signed-in user of fakeClient.
type fakeSession struct {
	c     *fakeClient
	user  string
	watch chan ports.WatchEvent
	sent  []ports.Draft
	ctx   context.Context
	// maxMessage is fixed at login, as the real session's is.
	maxMessage int64
	// closed is set by Close (under c.mu).
	closed bool
}

// enter starts a session call: the hook first (a round trip, say), then
// the closed check, since a Close meanwhile ends a call in flight.
func (s *fakeSession) enter(ctx context.Context, op string) error {
	s.c.mu.Lock()
	hook := s.c.hook
	s.c.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, op); err != nil {
			return err
		}
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.closed {
		return errFakeClosed
	}
	return nil
}

// isClosed reports whether Close was called.
func (s *fakeSession) isClosed() bool {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.closed
}

func (s *fakeSession) Account() ports.UserInfo {
	return ports.UserInfo{ID: 1, Address: s.user + "@example.org"}
}

func (s *fakeSession) MaxMessageBytes() int64 { return s.maxMessage }

func (s *fakeSession) Lookup(ctx context.Context, name string) (ports.UserInfo, error) {
	if err := s.enter(ctx, "Lookup"); err != nil {
		return ports.UserInfo{}, err
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	n := strings.ToLower(strings.TrimSuffix(strings.ToLower(name), "@example.org"))
	if _, ok := s.c.users[n]; !ok {
		return ports.UserInfo{}, fmt.Errorf("fake: %w", account.ErrNoSuchUser)
	}
	return ports.UserInfo{ID: 2, Address: n + "@example.org"}, nil
}

func (s *fakeSession) List(ctx context.Context, folder mail.Folder, before mail.EntryID, limit int) ([]mail.Meta, error) {
	if err := s.enter(ctx, "List"); err != nil {
		return nil, err
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	var out []mail.Meta
	box := s.c.boxes[s.user]
	for i := len(box) - 1; i >= 0 && len(out) < limit; i-- {
		m := box[i]
		if m.Folder == folder && (before == 0 || m.ID < before) {
			out = append(out, m)
		}
	}
	return out, nil
}

func (s *fakeSession) Count(ctx context.Context, folder mail.Folder) (int, int, error) {
	if err := s.enter(ctx, "Count"); err != nil {
		return 0, 0, err
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	t, u := 0, 0
	for _, m := range s.c.boxes[s.user] {
		if m.Folder == folder {
			t++
			if !m.Seen {
				u++
			}
		}
	}
	return t, u, nil
}

func (s *fakeSession) Fetch(ctx context.Context, id mail.EntryID) (ports.Body, error) {
	if err := s.enter(ctx, "Fetch"); err != nil {
		return ports.Body{}, err
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	s.c.fetches++
	m, ok := s.c.meta(s.user, id)
	if !ok {
		return ports.Body{}, mail.ErrNotFound
	}
	b := s.c.bodies[id]
	b.Meta = *m
	return b, nil
}

func (s *fakeSession) SetSeen(ctx context.Context, id mail.EntryID, seen bool) error {
	if err := s.enter(ctx, "SetSeen"); err != nil {
		return err
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	m, ok := s.c.meta(s.user, id)
	if !ok {
		return mail.ErrNotFound
	}
	m.Seen = seen
	return nil
}

func (s *fakeSession) Delete(ctx context.Context, id mail.EntryID) error {
	if err := s.enter(ctx, "Delete"); err != nil {
		return err
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	box := s.c.boxes[s.user]
	for i := range box {
		if box[i].ID == id {
			s.c.boxes[s.user] = append(box[:i], box[i+1:]...)
			s.c.deletes++
			return nil
		}
	}
	return mail.ErrNotFound
}

func (s *fakeSession) Send(ctx context.Context, d ports.Draft) error {
	if err := s.enter(ctx, "Send"); err != nil {
		return err
	}
	s.c.mu.Lock()
	var failed []ports.RecipientError
	for _, r := range d.To {
		n := strings.TrimSuffix(strings.ToLower(r), "@example.org")
		if _, ok := s.c.users[n]; !ok {
			failed = append(failed, ports.RecipientError{Recipient: r, Err: mail.ErrNoSuchRecipient})
		}
	}
	s.sent = append(s.sent, d)
	s.c.mu.Unlock()
	if failed != nil {
		return &ports.SendError{Failed: failed}
	}
	return nil
}

func (s *fakeSession) Watch(ctx context.Context) <-chan ports.WatchEvent {
	s.ctx = ctx
	out := make(chan ports.WatchEvent)
	go func() {
		defer close(out)
		for {
			select {
			case ev := <-s.watch:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

func (s *fakeSession) Close() error {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	s.closed = true
	return nil
}

var (
	_ ports.Client  = (*fakeClient)(nil)
	_ ports.Session = (*fakeSession)(nil)
)
