package imapserver

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailroom/domain/account"
	"mailroom/domain/throttle"
)

// updates records what a client hears unasked.
type updates struct {
	mu       sync.Mutex
	exists   []uint32
	expunges []uint32
	flags    map[uint32][]imap.Flag
	ch       chan struct{}
}

func newUpdates() *updates {
	return &updates{flags: map[uint32][]imap.Flag{}, ch: make(chan struct{}, 64)}
}

func (u *updates) handler() *imapclient.UnilateralDataHandler {
	note := func() {
		select {
		case u.ch <- struct{}{}:
		default:
		}
	}
	return &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				u.mu.Lock()
				u.exists = append(u.exists, *d.NumMessages)
				u.mu.Unlock()
				note()
			}
		},
		Expunge: func(seq uint32) {
			u.mu.Lock()
			u.expunges = append(u.expunges, seq)
			u.mu.Unlock()
			note()
		},
		Fetch: func(msg *imapclient.FetchMessageData) {
			buf, err := msg.Collect()
			if err != nil || buf.Flags == nil {
				return
			}
			u.mu.Lock()
			u.flags[msg.SeqNum] = buf.Flags
			u.mu.Unlock()
			note()
		},
	}
}

// wait polls cond on each update until it holds or d passes.
func (u *updates) wait(t *testing.T, d time.Duration, what string, cond func(u *updates) bool) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := time.After(d)
	for {
		u.mu.Lock()
		ok := cond(u)
		u.mu.Unlock()
		if ok {
			return time.Since(start)
		}
		select {
		case <-u.ch:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no %s within %v", what, d)
		}
	}
}

// TestIdleSeesDeliveryFromAnotherStore: a message delivered through a
// second store instance on the same file (another process, as far as the
// server can tell) reaches an IDLE session as EXISTS within a second.
func TestIdleSeesDeliveryFromAnotherStore(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.deliver(t, "bob", []string{"alice"}, "before")
	u := newUpdates()
	c := e.login("alice", u.handler())
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	other := openNode(t, e.dbPath, account.Config{Domain: testDomain, AuthFailRate: throttle.Rate{N: -1}})
	time.Sleep(50 * time.Millisecond) // IDLE's continuation is in
	other.deliver(t, "bob", []string{"alice"}, "during idle")
	took := u.wait(t, time.Second, "EXISTS 2", func(u *updates) bool { return slices.Contains(u.exists, 2) })
	t.Logf("EXISTS after %v", took)
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestUpdatesFromAnotherSession: flags set and messages expunged by a
// second session reach the first as FETCH FLAGS and EXPUNGE, in IDLE and
// after NOOP.
func TestUpdatesFromAnotherSession(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, s := range []string{"a", "b", "c"} {
		e.deliver(t, "bob", []string{"alice"}, s)
	}
	u := newUpdates()
	watcher := e.login("alice", u.handler())
	if _, err := watcher.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := watcher.Idle()
	if err != nil {
		t.Fatal(err)
	}
	actor := e.login("alice", nil)
	if _, err := actor.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := actor.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd,
		Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	u.wait(t, time.Second, "FETCH FLAGS for 2", func(u *updates) bool {
		return slices.Contains(u.flags[2], imap.FlagFlagged)
	})
	if _, err := actor.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd,
		Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	if _, err := actor.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	u.wait(t, time.Second, "EXPUNGE 1", func(u *updates) bool { return slices.Contains(u.expunges, 1) })
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}

	// Outside IDLE the updates come with the next command.
	if _, err := actor.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd,
		Flags: []imap.Flag{imap.FlagAnswered}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		if err := watcher.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
		u.mu.Lock()
		ok := slices.Contains(u.flags[1], imap.FlagAnswered)
		u.mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no FETCH FLAGS after NOOP")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := watcher.Mailbox().NumMessages; n != 2 {
		t.Errorf("watcher counts %d messages, want 2", n)
	}
}

// TestShutdownSaysBye: an IDLE session reads BYE when the server stops.
func TestShutdownSaysBye(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.login("alice", nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Idle(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case <-c.Closed():
	case <-time.After(5 * time.Second):
		t.Fatal("IDLE client not closed by shutdown")
	}
}
