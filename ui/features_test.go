package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gioui.org/io/key"

	"mailroom/domain/mail"
	"mailroom/ports"
	"mailroom/ui/model"
)

// Rows with a server preview show it and fetch nothing; older rows (no
// preview) still get one from the body.
func TestPreviewFromMetaWithFetchFallback(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	old := fc.deliver("bob", "alice", "Old mail", "Stored before previews.", testNow.Add(-time.Hour))
	var fresh []mail.Meta
	for i := 0; i < 3; i++ {
		m := fc.deliver("bob", "alice", fmt.Sprintf("New %d", i), fmt.Sprintf("Body %d", i), testNow.Add(-time.Duration(3-i)*time.Minute))
		fresh = append(fresh, fc.update("alice", m.ID, func(m *mail.Meta) { m.Preview = fmt.Sprintf("Server preview %d", m.ID) }))
	}
	h := newHarness(t, fc, trusted(fc), phone())
	h.login("alice", "correct horse")
	h.settle()
	fc.mu.Lock()
	fetches := fc.fetches
	fc.mu.Unlock()
	if fetches != 1 {
		t.Errorf("%d bodies fetched, want 1 (only the mail without a preview)", fetches)
	}
	for _, m := range fresh {
		if got, want := h.a.mailbox.previewLine(h.a, m), fmt.Sprintf("Server preview %d", m.ID); got != want {
			t.Errorf("row %d preview %q, want %q", m.ID, got, want)
		}
		if _, asked := h.a.sess.previews[m.ID]; asked {
			t.Errorf("row %d: a body preview was made although the server sent one", m.ID)
		}
	}
	if got := h.a.mailbox.previewLine(h.a, old); got != "Stored before previews." {
		t.Errorf("old row preview %q, want the fetched body's", got)
	}
}

func TestSentShowsNoUnread(t *testing.T) {
	if got := tabLabel(mail.Inbox, 2); got != "Inbox  2" {
		t.Errorf("inbox tab %q", got)
	}
	// A sent copy stored before the server stored them seen is still unseen.
	if got := tabLabel(mail.Sent, 3); got != "Sent" {
		t.Errorf("sent tab %q, want no count", got)
	}
	if showUnread(mail.Meta{Folder: mail.Sent}) {
		t.Error("an unseen sent copy is drawn unread")
	}
	if !showUnread(mail.Meta{Folder: mail.Inbox}) || showUnread(mail.Meta{Folder: mail.Inbox, Seen: true}) {
		t.Error("inbox rows: unread mark wrong")
	}
}

// fakePicker answers PickFile from a queue.
type fakePicker struct {
	mu      sync.Mutex
	answers []pickAnswer
	calls   int
	max     int64 // what the last call was allowed to read
}

type pickAnswer struct {
	f   ports.Attachment
	err error
}

func (p *fakePicker) add(f ports.Attachment, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answers = append(p.answers, pickAnswer{f, err})
}

func (p *fakePicker) pick(max int64) (ports.Attachment, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	p.max = max
	if len(p.answers) == 0 {
		return ports.Attachment{}, ErrNoFile
	}
	a := p.answers[0]
	p.answers = p.answers[1:]
	return a.f, a.err
}

func TestComposeAttachments(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	fc.addUser("bob", "bob password")
	picker := &fakePicker{}
	h := newHarness(t, fc, trusted(fc), phone(), func(c *Config) { c.PickFile = picker.pick })
	h.login("alice", "correct horse")
	h.a.openCompose(nil, nil)
	h.settle()
	c := &h.a.compose

	notes := []byte("line one\nline two\n")
	picker.add(ports.Attachment{Name: "notes.txt", Data: notes}, nil)
	picker.add(ports.Attachment{Name: "dir/../blob.mailroomx", Data: []byte{0, 1, 2}}, nil)
	picker.add(ports.Attachment{Name: "photo.png", Data: []byte("png")}, nil)
	for i := 0; i < 3; i++ {
		h.activate(&c.attach)
	}
	if len(c.attached) != 3 || len(c.removes) != 3 || c.attachErr != "" {
		t.Fatalf("attached %d (%d remove buttons), err %q", len(c.attached), len(c.removes), c.attachErr)
	}
	if f := c.attached[0]; f.Name != "notes.txt" || !strings.HasPrefix(f.ContentType, "text/plain") || !bytes.Equal(f.Data, notes) {
		t.Errorf("first file %q %q %q", f.Name, f.ContentType, f.Data)
	}
	if f := c.attached[1]; f.Name != "blob.mailroomx" || f.ContentType != "application/octet-stream" {
		t.Errorf("unknown extension: %q %q", f.Name, f.ContentType)
	}
	// The rows are drawn with their remove buttons, which work.
	h.activate(&c.removes[1])
	if len(c.attached) != 2 || c.attached[0].Name != "notes.txt" || c.attached[1].Name != "photo.png" {
		t.Fatalf("after removing the second: %v", names(c.attached))
	}

	// Cancelling the chooser says nothing; a file over the cap is refused
	// by the picker, and one that makes the total too big by the page.
	h.activate(&c.attach)
	if c.attachErr != "" || len(c.attached) != 2 {
		t.Fatalf("cancel: err %q, %d files", c.attachErr, len(c.attached))
	}
	picker.add(ports.Attachment{Name: "huge.iso"}, fmt.Errorf("read: %w", ErrTooLarge))
	h.activate(&c.attach)
	if !strings.Contains(c.attachErr, "huge.iso is too large") || len(c.attached) != 2 {
		t.Fatalf("too large: err %q, %d files", c.attachErr, len(c.attached))
	}
	picker.add(ports.Attachment{Name: "big.bin", Data: make([]byte, MaxAttachBytes-10)}, nil)
	h.activate(&c.attach)
	if !strings.Contains(c.attachErr, "big.bin is too large to attach with the files already attached") || len(c.attached) != 2 {
		t.Fatalf("total too large: err %q, %d files", c.attachErr, len(c.attached))
	}
	picker.add(ports.Attachment{}, errors.New("portal gone"))
	h.activate(&c.attach)
	if !strings.Contains(c.attachErr, "portal gone") {
		t.Fatalf("picker failure: err %q", c.attachErr)
	}

	h.typeInto(&c.to, "bob")
	h.typeInto(&c.subject, "Files")
	h.activate(&c.send)
	if h.a.top() != routeMailbox {
		t.Fatalf("after send: %v, err %q/%q", h.a.top(), c.toErr, c.err)
	}
	sent := fc.sessions[0].sent
	if len(sent) != 1 || len(sent[0].Attachments) != 2 {
		t.Fatalf("sent %+v", sent)
	}
	if a := sent[0].Attachments[0]; a.Name != "notes.txt" || !bytes.Equal(a.Data, notes) || a.ContentType == "" {
		t.Errorf("sent attachment %q %q %q", a.Name, a.ContentType, a.Data)
	}
	// A new draft starts with none.
	h.a.openCompose(nil, nil)
	h.settle()
	if len(c.attached) != 0 || c.attachErr != "" {
		t.Errorf("new draft has %d files, err %q", len(c.attached), c.attachErr)
	}
}

func TestAttachLimitFollowsServer(t *testing.T) {
	// A server taking messages up to 5 MiB: a 4 MB file, which the default
	// cap would take, is refused, and the message states the real cap.
	fc := newFakeClient()
	fc.maxMessage = 5 << 20
	fc.addUser("alice", "correct horse")
	picker := &fakePicker{}
	h := newHarness(t, fc, trusted(fc), phone(), func(c *Config) { c.PickFile = picker.pick })
	h.login("alice", "correct horse")
	h.a.openCompose(nil, nil)
	h.settle()
	c := &h.a.compose

	limit := AttachLimit(5 << 20)
	if limit != (5<<20-256<<10)/4*3 || limit >= MaxAttachBytes {
		t.Fatalf("AttachLimit(5 MiB) = %d", limit)
	}
	big := 4_000_000
	if int64(big) <= limit || big >= MaxAttachBytes {
		t.Fatalf("test file size %d: not between the caps", big)
	}
	picker.add(ports.Attachment{Name: "big.bin", Data: make([]byte, big)}, nil)
	h.activate(&c.attach)
	want := "big.bin is too large to attach: a message carries up to 3.6 MB of files."
	if c.attachErr != want || len(c.attached) != 0 {
		t.Fatalf("attachErr %q, %d files; want %q", c.attachErr, len(c.attached), want)
	}
	// A file the picker itself refused is reported against the same cap.
	picker.add(ports.Attachment{Name: "huge.iso"}, ErrTooLarge)
	h.activate(&c.attach)
	if want := "huge.iso is too large to attach: a message carries up to 3.6 MB of files."; c.attachErr != want {
		t.Fatalf("attachErr %q, want %q", c.attachErr, want)
	}
	// The picker was told the server's cap, so it reads no more than that.
	if picker.max != limit {
		t.Fatalf("picker allowed to read %d bytes, want the server's cap %d", picker.max, limit)
	}
	// One that fits is taken; a second that makes the total too big is not.
	picker.add(ports.Attachment{Name: "a.bin", Data: make([]byte, 3_000_000)}, nil)
	h.activate(&c.attach)
	if c.attachErr != "" || len(c.attached) != 1 {
		t.Fatalf("a.bin: err %q, %d files", c.attachErr, len(c.attached))
	}
	picker.add(ports.Attachment{Name: "b.bin", Data: make([]byte, 1_000_000)}, nil)
	h.activate(&c.attach)
	want = "b.bin is too large to attach with the files already attached: a message carries up to 3.6 MB of files."
	if c.attachErr != want || len(c.attached) != 1 {
		t.Fatalf("attachErr %q, %d files; want %q", c.attachErr, len(c.attached), want)
	}
}

func TestAttachLimit(t *testing.T) {
	for _, tc := range []struct {
		max, want int64
	}{
		{0, MaxAttachBytes},
		{-1, MaxAttachBytes},
		{25 << 20, MaxAttachBytes},
		{100 << 20, (100<<20 - 256<<10) / 4 * 3},
		{1 << 20, 576 << 10},
		{100 << 10, 0},
	} {
		if got := AttachLimit(tc.max); got != tc.want {
			t.Errorf("AttachLimit(%d) = %d, want %d", tc.max, got, tc.want)
		}
	}
}

func TestAttachHiddenWithoutPicker(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	h := newHarness(t, fc, trusted(fc), phone())
	h.login("alice", "correct horse")
	h.a.openCompose(nil, nil)
	h.settle()
	h.a.compose.pick(h.a) // no PickFile: nothing happens
	h.settle()
	if h.a.compose.picking || h.a.compose.attachErr != "" {
		t.Fatal("picking without a picker")
	}
}

func names(fs []ports.Attachment) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

// fakeTimers stands in for time.AfterFunc: the test fires them.
type fakeTimers struct {
	mu sync.Mutex
	ts []*fakeTimer
}

type fakeTimer struct {
	d    time.Duration
	f    func()
	done bool
}

func (ft *fakeTimers) after(d time.Duration, f func()) func() bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	t := &fakeTimer{d: d, f: f}
	ft.ts = append(ft.ts, t)
	return func() bool {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		was := !t.done
		t.done = true
		return was
	}
}

// fire runs every live timer and reports how many.
func (ft *fakeTimers) fire() int {
	ft.mu.Lock()
	var due []*fakeTimer
	for _, t := range ft.ts {
		if !t.done {
			t.done = true
			due = append(due, t)
		}
	}
	ft.mu.Unlock()
	for _, t := range due {
		t.f()
	}
	return len(due)
}

func (ft *fakeTimers) live() int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	n := 0
	for _, t := range ft.ts {
		if !t.done {
			n++
		}
	}
	return n
}

func TestDeleteUndo(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	seedInbox(fc, 3)
	timers := &fakeTimers{}
	h := newHarness(t, fc, trusted(fc), phone(), func(c *Config) { c.AfterFunc = timers.after })
	h.login("alice", "correct horse")
	inbox := h.a.sess.folders[mail.Inbox]
	m := inbox.Items[1]
	h.a.openMessage(m)
	h.settle()
	unseen := h.a.sess.unseen[mail.Inbox]

	// Delete hides it at once; the server hears nothing yet.
	h.activate(&h.a.reader.del)
	if h.a.top() != routeMailbox || len(inbox.Items) != 2 || inbox.Index(m.ID) >= 0 {
		t.Fatalf("after delete: %v, %d rows", h.a.top(), len(inbox.Items))
	}
	if fc.deleted() != 0 || h.a.sess.pending == nil || timers.live() != 1 {
		t.Fatalf("delete sent at once (%d) or no snackbar (%v)", fc.deleted(), h.a.sess.pending)
	}
	if timers.ts[0].d < 3*time.Second || timers.ts[0].d > 10*time.Second {
		t.Errorf("snackbar lasts %v", timers.ts[0].d)
	}
	// New mail listing meanwhile (the watch reconnects) does not bring it back.
	fc.sessions[0].watch <- ports.WatchEvent{Connected: true}
	time.Sleep(20 * time.Millisecond)
	h.settle()
	if inbox.Index(m.ID) >= 0 {
		t.Fatal("a catch-up listing brought the pending delete back")
	}

	// Undo puts it back where it was, and reopens it; the server never hears.
	h.activate(&h.a.snack.undo)
	if inbox.Index(m.ID) != 1 || len(inbox.Items) != 3 || h.a.sess.pending != nil || timers.live() != 0 {
		t.Fatalf("after undo: index %d, %d rows, pending %v, %d timers", inbox.Index(m.ID), len(inbox.Items), h.a.sess.pending, timers.live())
	}
	if h.a.top() != routeReader || h.a.reader.meta.ID != m.ID {
		t.Errorf("undo did not reopen the message: %v %d", h.a.top(), h.a.reader.meta.ID)
	}
	if got := h.a.sess.unseen[mail.Inbox]; got != unseen {
		t.Errorf("unseen %d after undo, want %d", got, unseen)
	}
	if timers.fire() != 0 {
		t.Fatal("a stopped timer fired")
	}
	h.settle()
	if fc.deleted() != 0 {
		t.Fatal("undone delete reached the server")
	}

	// Expiry sends it once.
	h.key(key.NameDeleteForward, 0) // Delete in the reader
	if h.a.sess.pending == nil || inbox.Index(m.ID) >= 0 {
		t.Fatal("the Delete key did not delete")
	}
	if timers.fire() != 1 {
		t.Fatal("no timer to expire")
	}
	h.settle()
	if fc.deleted() != 1 || h.a.sess.pending != nil {
		t.Fatalf("after expiry: %d deletes, pending %v", fc.deleted(), h.a.sess.pending)
	}
	if _, ok := fc.meta("alice", m.ID); ok {
		t.Fatal("still on the server")
	}
	h.activate(&h.a.snack.undo) // nothing left to undo
	if fc.deleted() != 1 || inbox.Index(m.ID) >= 0 {
		t.Fatal("undo after expiry changed something")
	}

	// A second delete while one waits sends the first one at once.
	a, b := inbox.Items[0], inbox.Items[1]
	h.a.deleteMessage(a)
	h.a.deleteMessage(b)
	h.settle()
	if fc.deleted() != 2 || h.a.sess.pending == nil || h.a.sess.pending.m.ID != b.ID {
		t.Fatalf("two deletes: %d sent, pending %v", fc.deleted(), h.a.sess.pending)
	}
	// Logging out sends the pending one before the session closes.
	h.a.logout()
	h.a.flushing.Wait()
	if fc.deleted() != 3 {
		t.Fatalf("logout lost the pending delete: %d sent", fc.deleted())
	}
}

func TestDeleteFlushedOnClose(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	seedInbox(fc, 2)
	timers := &fakeTimers{}
	h := newHarness(t, fc, trusted(fc), desktop(), func(c *Config) { c.AfterFunc = timers.after })
	h.login("alice", "correct horse")
	m := h.a.sess.folders[mail.Inbox].Items[0]
	h.a.deleteMessage(m)
	h.settle()
	if fc.deleted() != 0 {
		t.Fatal("sent before the snackbar expired")
	}
	h.a.Close() // the window closes: Close returns only after the delete
	if fc.deleted() != 1 {
		t.Fatalf("closing the app lost the pending delete: %d sent", fc.deleted())
	}
	if timers.fire() != 0 {
		t.Error("the snackbar timer still ran after close")
	}
}

// A real timer (1ms instead of 5s) expires and sends the delete.
func TestDeleteRealTimerExpires(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	seedInbox(fc, 1)
	h := newHarness(t, fc, trusted(fc), phone(), func(c *Config) {
		c.AfterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(time.Millisecond, f).Stop }
	})
	h.login("alice", "correct horse")
	h.a.deleteMessage(h.a.sess.folders[mail.Inbox].Items[0])
	h.waitFor("the delete to reach the server", func() bool { return fc.deleted() == 1 })
	if h.a.sess.total[mail.Inbox] != 0 || len(h.a.sess.folders[mail.Inbox].Items) != 0 {
		t.Errorf("after expiry: total %d, %d rows", h.a.sess.total[mail.Inbox], len(h.a.sess.folders[mail.Inbox].Items))
	}
}

func TestReaderSavesAttachment(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	m := fc.deliver("bob", "alice", "Runbook", "Attached.", testNow)
	data := []byte(strings.Repeat("step\n", 400))
	fc.mu.Lock()
	b := fc.bodies[m.ID]
	b.Attachments = []ports.Attachment{{Name: "../etc/runbook.txt", ContentType: "text/plain", Data: data}}
	fc.bodies[m.ID] = b
	fc.mu.Unlock()
	var gotName string
	var gotData []byte
	save := func(name string, d []byte) (string, error) {
		gotName, gotData = name, d
		return "/home/alice/Downloads/" + name, nil
	}
	h := newHarness(t, fc, trusted(fc), phone(), func(c *Config) { c.SaveFile = save })
	h.login("alice", "correct horse")
	h.a.openMessage(h.a.sess.folders[mail.Inbox].Items[0])
	h.settle()
	if len(h.a.reader.saves) != 1 {
		t.Fatalf("%d save buttons", len(h.a.reader.saves))
	}
	h.activate(&h.a.reader.saves[0])
	if gotName != "runbook.txt" || !bytes.Equal(gotData, data) {
		t.Fatalf("saved %q (%d bytes)", gotName, len(gotData))
	}
	if h.a.reader.saveMsg != "Saved to /home/alice/Downloads/runbook.txt" || h.a.reader.saveBad {
		t.Errorf("message %q bad %v", h.a.reader.saveMsg, h.a.reader.saveBad)
	}
}

// The reader shows an attachment under its safe name: a right-to-left
// override must not make "\u202etxt.exe" read as "exe.txt".
func TestReaderShowsSafeAttachmentName(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	m := fc.deliver("bob", "alice", "Invoice", "See attached.", testNow)
	fc.mu.Lock()
	b := fc.bodies[m.ID]
	b.Attachments = []ports.Attachment{{Name: "invoice\u202efdp.exe", Data: []byte("MZ")}}
	fc.bodies[m.ID] = b
	fc.mu.Unlock()
	h := newHarness(t, fc, trusted(fc), phone())
	h.login("alice", "correct horse")
	h.a.openMessage(h.a.sess.folders[mail.Inbox].Items[0])
	h.settle()
	if h.a.reader.body == nil || len(h.a.reader.body.Attachments) != 1 {
		t.Fatalf("reader body %v", h.a.reader.body)
	}
	if got := h.a.reader.body.Attachments[0].Name; got != "invoice_fdp.exe" {
		t.Errorf("shown as %q, want invoice_fdp.exe", got)
	}
	fc.mu.Lock()
	stored := fc.bodies[m.ID].Attachments[0].Name
	fc.mu.Unlock()
	if stored != "invoice\u202efdp.exe" {
		t.Errorf("the client's copy was changed to %q", stored)
	}
}

// A delete already sent (the second delete commits the first at once)
// must reach the server though the user logs out or closes the app within
// its round trip; and the session closes only after it.
func TestCommittedDeleteSurvivesSessionEnd(t *testing.T) {
	for _, end := range []string{"logout", "close"} {
		t.Run(end, func(t *testing.T) {
			fc := newFakeClient()
			fc.addUser("alice", "correct horse")
			seedInbox(fc, 3)
			timers := &fakeTimers{}
			h := newHarness(t, fc, trusted(fc), phone(), func(c *Config) { c.AfterFunc = timers.after })
			h.login("alice", "correct horse")
			// Delete takes one round trip and, like the real client, gives
			// up when its ctx ends first.
			fc.setHook(func(ctx context.Context, op string) error {
				if op != "Delete" {
					return nil
				}
				select {
				case <-time.After(30 * time.Millisecond):
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			items := h.a.sess.folders[mail.Inbox].Items
			h.a.deleteMessage(items[0])
			h.frame()
			h.a.deleteMessage(items[1]) // sends the first now; the second waits
			h.frame()
			if end == "logout" {
				h.a.logout()
				h.settle()
			}
			h.a.Close()
			if got := fc.deleted(); got != 2 {
				t.Errorf("server deleted %d messages, want 2 (both went from the list)", got)
			}
			if !fc.sessions[0].isClosed() {
				t.Error("session not closed")
			}
		})
	}
}

// Send and the reader's Fetch move whole messages (25 MiB at most), which
// takes minutes on a slow uplink: they get Config.TransferTimeout, and the
// small calls keep Config.Timeout.
func TestTransfersGetTheLongTimeout(t *testing.T) {
	fc := newFakeClient()
	fc.addUser("alice", "correct horse")
	fc.addUser("bob", "bob password")
	seedInbox(fc, 1)
	const transfer = 42 * time.Minute
	h := newHarness(t, fc, trusted(fc), phone(), func(c *Config) { c.TransferTimeout = transfer })
	h.login("alice", "correct horse")
	h.settle()
	var mu sync.Mutex
	left := map[string]time.Duration{}
	fc.setHook(func(ctx context.Context, op string) error {
		mu.Lock()
		defer mu.Unlock()
		if dl, ok := ctx.Deadline(); ok {
			left[op] = time.Until(dl)
		} else {
			left[op] = -1
		}
		return nil
	})
	h.a.openMessage(h.a.sess.folders[mail.Inbox].Items[0])
	h.settle()
	h.a.openCompose(nil, nil)
	h.typeInto(&h.a.compose.to, "bob")
	h.typeInto(&h.a.compose.subject, "Big file")
	h.activate(&h.a.compose.send)
	if len(fc.sessions[0].sent) != 1 {
		t.Fatalf("not sent: %q", h.a.compose.err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, op := range []string{"Send", "Fetch"} {
		if d := left[op]; d <= transfer-time.Minute || d > transfer {
			t.Errorf("%s had %v left, want about %v", op, d, transfer)
		}
	}
	for _, op := range []string{"Lookup", "SetSeen"} {
		if d := left[op]; d <= 0 || d > h.a.cfg.Timeout {
			t.Errorf("%s had %v left, want at most %v", op, d, h.a.cfg.Timeout)
		}
	}

	// The default is ten minutes.
	h2 := newHarness(t, newFakeClient(), model.Settings{}, phone())
	if got := h2.a.cfg.TransferTimeout; got != 10*time.Minute {
		t.Errorf("default TransferTimeout %v", got)
	}
}
