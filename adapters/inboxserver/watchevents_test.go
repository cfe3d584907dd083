package inboxserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// events reads n event lines from c, in the order they came.
func (c *client) events(n int) []string {
	c.t.Helper()
	var got []string
	for range n {
		line, err := c.readLine(5 * time.Second)
		if err != nil {
			c.t.Fatalf("after %q: %v", got, err)
		}
		if !isEvent(line) {
			c.t.Fatalf("got %s, want an event", line)
		}
		got = append(got, string(line))
	}
	return got
}

func decodeEvent(line string, ev *inboxwire.Event) bool {
	return json.Unmarshal([]byte(line), ev) == nil
}

func removedLine(id mail.EntryID, folder string) string {
	return fmt.Sprintf(`{"event":"removed","id":%d,"folder":%q}`, id, folder)
}

func flagsLine(id mail.EntryID, folder, flags string, seen bool) string {
	return fmt.Sprintf(`{"event":"flags","id":%d,"folder":%q,"flags":[%s],"seen":%v}`, id, folder, flags, seen)
}

// TestWatchSeesAnotherSessionsChanges: two sessions of one user; what one
// does to entries reaches the other's watch as removed and flags events,
// byte for byte as documented, and the events of a move come in commit
// order. Another user's watcher hears nothing of it.
func TestWatchSeesAnotherSessionsChanges(t *testing.T) {
	e := newEnv(t, envOpts{})
	var ids []mail.EntryID
	for i := range 4 {
		ids = append(ids, e.deliver("alice", []string{"bob"}, fmt.Sprint("note ", i))[0].ID)
	}
	watcher := e.login("bob")
	e.watch(watcher)
	alice := e.login("alice")
	e.watch(alice)
	actor := e.login("bob")

	for _, tc := range []struct {
		name string
		req  string
		// want are the watcher's events; moved is filled with the move's
		// new id.
		want func(moved mail.EntryID) []string
	}{
		{"flag", fmt.Sprintf(`{"op":"flags","id":%d,"add":["flagged"]}`, ids[0]),
			func(mail.EntryID) []string { return []string{flagsLine(ids[0], "inbox", `"flagged"`, false)} }},
		{"seen", fmt.Sprintf(`{"op":"seen","id":%d,"seen":true}`, ids[0]),
			func(mail.EntryID) []string { return []string{flagsLine(ids[0], "inbox", `"seen","flagged"`, true)} }},
		{"unflag all", fmt.Sprintf(`{"op":"flags","id":%d,"remove":["seen","flagged"]}`, ids[0]),
			func(mail.EntryID) []string { return []string{flagsLine(ids[0], "inbox", ``, false)} }},
		{"delete", fmt.Sprintf(`{"op":"delete","id":%d}`, ids[1]),
			func(mail.EntryID) []string { return []string{removedLine(ids[1], "inbox")} }},
		{"move to trash", fmt.Sprintf(`{"op":"move","id":%d,"folder":"trash"}`, ids[2]),
			func(moved mail.EntryID) []string {
				return []string{"message " + fmt.Sprint(moved), removedLine(ids[2], "inbox")}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := actor.ok(tc.req)
			var moved mail.EntryID
			if r.ID != nil {
				moved = mail.EntryID(*r.ID)
			}
			want := tc.want(moved)
			got := watcher.events(len(want))
			for i, line := range got {
				var ev inboxwire.Event
				if isEvent([]byte(line)) && decodeEvent(line, &ev) && ev.Event == inboxwire.EventMessage {
					if ev.Message.Folder != "trash" {
						t.Errorf("message event in %q, want trash", ev.Message.Folder)
					}
					got[i] = "message " + fmt.Sprint(ev.Message.ID)
				}
			}
			// A move is one unit of work: its new entry and its removal
			// may be logged in either order.
			if len(want) > 1 {
				slices.Sort(got)
				slices.Sort(want)
			}
			if !slices.Equal(got, want) {
				t.Errorf("watcher got\n %q\nwant\n %q", got, want)
			}
		})
	}
	alice.noEvent(200 * time.Millisecond)
	actor.noEvent(50 * time.Millisecond) // it does not watch
}

// TestWatchSeesChangesOfAnotherStore: a second Store on the same file
// (another process, as far as the feed can tell: it notifies nobody)
// flags, expunges, moves and deletes; the server's watcher hears each.
func TestWatchSeesChangesOfAnotherStore(t *testing.T) {
	e := newEnv(t, envOpts{})
	var ids []mail.EntryID
	for i := range 3 {
		ids = append(ids, e.deliver("alice", []string{"bob"}, fmt.Sprint("note ", i))[0].ID)
	}
	o := openOther(t, e.dbPath)
	bob := e.users["bob"].ID
	watcher := e.login("bob")
	e.watch(watcher)
	ctx := context.Background()

	// IMAP's way to delete: \Deleted, then EXPUNGE.
	if _, err := o.mb.SetFlags(ctx, bob, ids[0], mail.FlagsAdd, mail.FlagDeleted); err != nil {
		t.Fatal(err)
	}
	if _, err := o.mb.Expunge(ctx, bob, mail.Inbox, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{flagsLine(ids[0], "inbox", `"deleted"`, false), removedLine(ids[0], "inbox")}
	if got := watcher.events(2); !slices.Equal(got, want) {
		t.Errorf("flag and expunge: got %q, want %q", got, want)
	}
	if err := o.mb.Delete(ctx, bob, ids[1]); err != nil {
		t.Fatal(err)
	}
	if got := watcher.events(1); got[0] != removedLine(ids[1], "inbox") {
		t.Errorf("delete: got %s", got[0])
	}
	moved, err := o.mb.Move(ctx, bob, ids[2], mail.Trash)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, line := range watcher.events(2) {
		var ev inboxwire.Event
		if decodeEvent(line, &ev) && ev.Event == inboxwire.EventMessage && ev.Message.ID == int64(moved.ID) {
			seen["message"] = true
		}
		seen[line] = true
	}
	if !seen["message"] || !seen[removedLine(ids[2], "inbox")] {
		t.Errorf("move: got %v", seen)
	}
}

// TestNoSubscriptionWithoutWatchers: the hub subscribes with the first
// watcher and ends the subscription with the last, so an idle server
// costs the feed nothing; a new first watcher subscribes again.
func TestNoSubscriptionWithoutWatchers(t *testing.T) {
	f := &chanFeed{new: make(chan struct{}, 10)}
	e := newEnv(t, envOpts{feed: func(*env) ChangeFeed { return f }})
	bob := e.login("bob")
	bob.ok(`{"op":"list","folder":"inbox"}`)
	if len(f.new) != 0 {
		t.Fatal("subscribed with nobody watching")
	}
	e.watch(bob)
	<-f.new
	bob.ok(`{"op":"quit"}`)
	eventually(t, "the watcher to leave", func() bool { return e.srv.watcherCount() == 0 })
	eventually(t, "the subscription to end", func() bool {
		e.srv.hub.subMu.Lock()
		defer e.srv.hub.subMu.Unlock()
		return e.srv.hub.sub == nil
	})
	again := e.login("bob")
	e.watch(again)
	<-f.new
	f.mu.Lock()
	second := f.subs[1]
	f.mu.Unlock()
	second <- mail.Meta{ID: 3, Owner: e.users["bob"].ID, Folder: mail.Inbox, Date: time.Now()}
	if ev := again.event(5 * time.Second); ev.Message == nil || ev.Message.ID != 3 {
		t.Errorf("got %+v", ev)
	}
}

// TestBulkChangeEndsInEventsOrResync: one unit of work that changes more
// entries than the feed buffers for a subscriber (256 by default) is never
// lost in silence: the watcher gets every event, or a resync after which
// it lists again.
func TestBulkChangeEndsInEventsOrResync(t *testing.T) {
	e := newEnv(t, envOpts{})
	const n = 300
	var ids []mail.EntryID
	for i := range n {
		ids = append(ids, e.deliver("alice", []string{"bob"}, fmt.Sprint("bulk ", i))[0].ID)
	}
	watcher := e.login("bob")
	e.watch(watcher)
	if _, err := e.mb.StoreFlags(context.Background(), e.users["bob"].ID, ids, mail.FlagsAdd, mail.FlagSeen); err != nil {
		t.Fatal(err)
	}
	flagged := map[int64]bool{}
	for len(flagged) < n {
		ev := watcher.event(5 * time.Second)
		if ev.Event == inboxwire.EventResync {
			return
		}
		if ev.Event != inboxwire.EventFlags || ev.ID == nil || ev.Seen == nil || !*ev.Seen {
			t.Fatalf("got %+v, want a flags event or resync", ev)
		}
		flagged[*ev.ID] = true
	}
}

// changerEnv makes the test binary a child process that changes one entry
// (see changerMain).
const changerEnv = "MAILROOM_INBOXSERVER_CHANGER"

// changerMain flags (flagged) or deletes one entry through a Store of its
// own, in a process of its own. spec is path|owner|op|id, op flag or
// delete.
func changerMain(spec string) error {
	f := strings.Split(spec, "|")
	if len(f) != 4 {
		return fmt.Errorf("bad spec %q", spec)
	}
	owner, err1 := strconv.ParseInt(f[1], 10, 64)
	id, err2 := strconv.ParseInt(f[3], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	o, err := openStore(f[0])
	if err != nil {
		return err
	}
	defer o.store.Close()
	ctx := context.Background()
	switch f[2] {
	case "flag":
		_, err = o.mb.SetFlags(ctx, account.ID(owner), mail.EntryID(id), mail.FlagsAdd, mail.FlagFlagged)
	case "delete":
		err = o.mb.Delete(ctx, account.ID(owner), mail.EntryID(id))
	default:
		err = fmt.Errorf("unknown op %q", f[2])
	}
	return err
}

// runChanger runs changerMain in a child process and waits for it.
func runChanger(t *testing.T, path string, owner account.ID, op string, id mail.EntryID) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%d|%s|%d", changerEnv, path, owner, op, id))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("changer %s %d: %v: %s", op, id, err, out)
	}
}

// TestWatchSeesChangesOfAnotherProcess: another process sharing the
// SQLite file flags and deletes; the server's watcher hears both.
func TestWatchSeesChangesOfAnotherProcess(t *testing.T) {
	e := newEnv(t, envOpts{})
	a := e.deliver("alice", []string{"bob"}, "first")[0].ID
	b := e.deliver("alice", []string{"bob"}, "second")[0].ID
	watcher := e.login("bob")
	e.watch(watcher)
	bob := e.users["bob"].ID
	runChanger(t, e.dbPath, bob, "flag", a)
	if got := watcher.events(1); got[0] != flagsLine(a, "inbox", `"flagged"`, false) {
		t.Errorf("flag in another process: got %s", got[0])
	}
	runChanger(t, e.dbPath, bob, "delete", b)
	if got := watcher.events(1); got[0] != removedLine(b, "inbox") {
		t.Errorf("delete in another process: got %s", got[0])
	}
}
