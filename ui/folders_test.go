package ui

import (
	"image"
	"testing"

	"gioui.org/io/key"

	"mailroom/domain/mail"
)

// withFolders is alice signed in to a server with folders: 5 messages in
// the inbox, 2 of them unread... moved as asked by setup.
func withFolders(t *testing.T, size image.Point, opts ...func(*Config)) (*harness, *fakeClient) {
	t.Helper()
	fc := newFakeClient()
	fc.withFolders = true
	fc.addUser("alice", "correct horse")
	seedInbox(fc, 5)
	fc.addFolder("alice", "work")
	fc.addFolder("alice", "work/2026")
	// Two messages in work, one of them read.
	fc.update("alice", 1, func(m *mail.Meta) { m.Folder = "work" })
	fc.update("alice", 2, func(m *mail.Meta) { m.Folder, m.Seen = "work", true })
	h := newHarness(t, fc, trusted(fc), size, opts...)
	h.login("alice", "correct horse")
	return h, fc
}

func TestFolderListShowsCountsAndSwitches(t *testing.T) {
	h, _ := withFolders(t, desktop())
	s := h.a.sess
	var names []mail.Folder
	for _, f := range s.infos {
		names = append(names, f.Name)
	}
	want := []mail.Folder{mail.Inbox, mail.Sent, mail.Drafts, mail.Trash, "work", "work/2026"}
	if len(names) != len(want) {
		t.Fatalf("folders %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("folders %v, want %v", names, want)
		}
	}
	if s.unseen[mail.Inbox] != 3 || s.unseen["work"] != 1 {
		t.Fatalf("unseen inbox %d work %d, want 3 and 1", s.unseen[mail.Inbox], s.unseen["work"])
	}
	// The column is on screen: a row for every folder, no tabs.
	for _, f := range want {
		if h.a.mailbox.pane.rows[f] == nil {
			t.Fatalf("no row for %q on the desktop", f)
		}
	}
	if folderName("work/2026") != "2026" || folderTitle("work/2026") != "work / 2026" {
		t.Errorf("nested names %q %q", folderName("work/2026"), folderTitle("work/2026"))
	}
	h.activate(h.a.mailbox.pane.rows["work"])
	if h.a.mailbox.folder != "work" || len(s.folders["work"].Items) != 2 {
		t.Fatalf("after choosing work: folder %q, %d rows", h.a.mailbox.folder, len(s.pager("work").Items))
	}
	// A watch event refreshes the counts of every folder.
	h.fc.update("alice", 1, func(m *mail.Meta) { m.Seen = true })
	h.fc.sessions[0].watch <- portsConnected()
	h.waitFor("work's count", func() bool { return s.unseen["work"] == 0 })
}

func TestFolderCreateRenameDelete(t *testing.T) {
	h, fc := withFolders(t, desktop())
	d := &h.a.dialog
	h.activate(&h.a.mailbox.pane.create)
	if d.kind != dlgCreate {
		t.Fatalf("dialog %v, want create", d.kind)
	}
	h.typeInto(&d.name, "work")
	h.activate(&d.ok)
	if d.kind != dlgCreate || d.err != "A folder of that name exists." {
		t.Fatalf("existing name: dialog %v, error %q", d.kind, d.err)
	}
	d.name.SetText("")
	h.typeInto(&d.name, "a//b")
	h.activate(&d.ok)
	if d.err == "" {
		t.Fatal("a bad name was accepted")
	}
	d.name.SetText("")
	h.typeInto(&d.name, "projects")
	h.press() // Return in the field submits
	if d.kind != dlgNone || h.a.mailbox.folder != "projects" {
		t.Fatalf("after create: dialog %v, folder %q, error %q", d.kind, h.a.mailbox.folder, d.err)
	}
	if h.a.sess.pager("projects").Loaded != true || h.a.mailbox.pane.rows["projects"] == nil {
		t.Fatal("the new folder is not listed")
	}

	// Rename work (with its child and messages) to archive.
	h.activate(h.a.mailbox.pane.rows["work"])
	h.activate(&h.a.mailbox.pane.rename)
	if d.kind != dlgRename || d.name.Text() != "work" {
		t.Fatalf("rename dialog %v with %q", d.kind, d.name.Text())
	}
	d.name.SetText("")
	h.typeInto(&d.name, "archive")
	h.activate(&d.ok)
	if d.kind != dlgNone || h.a.mailbox.folder != "archive" || len(h.a.sess.pager("archive").Items) != 2 {
		t.Fatalf("after rename: dialog %v %q, folder %q", d.kind, d.err, h.a.mailbox.folder)
	}
	if len(fc.inFolder("alice", "archive")) != 2 || h.a.mailbox.pane.rows["archive/2026"] == nil {
		t.Fatal("rename did not carry messages and children")
	}

	// Delete it: asked first; Cancel keeps it.
	h.activate(&h.a.mailbox.pane.remove)
	if d.kind != dlgDeleteFolder {
		t.Fatalf("dialog %v, want delete", d.kind)
	}
	h.activate(&d.cancel)
	if d.kind != dlgNone || len(fc.inFolder("alice", "archive")) != 2 {
		t.Fatal("cancel deleted the folder")
	}
	h.activate(&h.a.mailbox.pane.remove)
	h.activate(&d.ok)
	if d.kind != dlgNone || h.a.mailbox.folder != mail.Inbox {
		t.Fatalf("after delete: dialog %v %q, folder %q", d.kind, d.err, h.a.mailbox.folder)
	}
	for _, f := range h.a.sess.infos {
		if f.Name == "archive" {
			t.Fatal("deleted folder still listed")
		}
	}
}

func TestMoveToFolder(t *testing.T) {
	h, fc := withFolders(t, phone())
	inbox := h.a.sess.pager(mail.Inbox)
	m := inbox.Items[0]
	h.a.openMessage(m)
	h.settle()
	h.key("M", 0)
	d := &h.a.dialog
	if d.kind != dlgMove || d.msg.ID != m.ID {
		t.Fatalf("m: dialog %v for %d", d.kind, d.msg.ID)
	}
	h.activate(d.picks["work"])
	if d.kind != dlgNone || inbox.Index(m.ID) >= 0 || h.a.top() != routeMailbox {
		t.Fatalf("after move: dialog %v, still listed %v, page %v", d.kind, inbox.Index(m.ID) >= 0, h.a.top())
	}
	if got := len(fc.inFolder("alice", "work")); got != 3 {
		t.Fatalf("work has %d, want 3", got)
	}
	if h.a.sess.total["work"] != 3 || h.a.sess.total[mail.Inbox] != 2 {
		t.Errorf("counts after move: work %d inbox %d", h.a.sess.total["work"], h.a.sess.total[mail.Inbox])
	}
	// Moving into a folder the server no longer has brings it back.
	m = inbox.Items[0]
	h.a.moveMessage(m, "gone")
	h.settle()
	if inbox.Index(m.ID) < 0 || h.a.toast == "" {
		t.Fatalf("refused move: listed %v, toast %q", inbox.Index(m.ID) >= 0, h.a.toast)
	}
}

func TestDeleteMovesToTrashWithUndo(t *testing.T) {
	timers := &fakeTimers{}
	h, fc := withFolders(t, phone(), func(c *Config) { c.AfterFunc = timers.after })
	inbox := h.a.sess.pager(mail.Inbox)
	m := inbox.Items[1]
	h.a.openMessage(m)
	h.settle()
	h.activate(&h.a.reader.del)
	pd := h.a.sess.pending
	if pd == nil || !pd.toTrash || inbox.Index(m.ID) >= 0 {
		t.Fatalf("delete: pending %+v", pd)
	}
	h.activate(&h.a.snack.undo)
	if inbox.Index(m.ID) != 1 || len(fc.inFolder("alice", mail.Trash)) != 0 {
		t.Fatal("undo did not put it back untouched")
	}
	h.key(key.NameDeleteForward, 0)
	if timers.fire() != 1 {
		t.Fatal("no undo timer")
	}
	h.settle()
	if fc.deleted() != 0 || len(fc.inFolder("alice", mail.Trash)) != 1 {
		t.Fatalf("after expiry: %d deleted for good, %d in trash", fc.deleted(), len(fc.inFolder("alice", mail.Trash)))
	}
	if h.a.sess.total[mail.Trash] != 1 {
		t.Errorf("trash count %d, want 1", h.a.sess.total[mail.Trash])
	}
}

func TestTrashRestoreAndEmpty(t *testing.T) {
	timers := &fakeTimers{}
	h, fc := withFolders(t, desktop(), func(c *Config) { c.AfterFunc = timers.after })
	for id := mail.EntryID(3); id <= 5; id++ {
		fc.update("alice", id, func(m *mail.Meta) { m.Folder = mail.Trash })
	}
	h.a.refreshCounts()
	h.activate(h.a.mailbox.pane.rows[mail.Trash])
	trash := h.a.sess.pager(mail.Trash)
	if len(trash.Items) != 3 {
		t.Fatalf("trash lists %d", len(trash.Items))
	}
	// Restore moves it back to the inbox.
	m := trash.Items[0]
	h.a.openMessage(m)
	h.settle()
	h.activate(&h.a.reader.restore)
	if trash.Index(m.ID) >= 0 || len(fc.inFolder("alice", mail.Inbox)) != 1 {
		t.Fatalf("restore: still in trash %v, inbox %d", trash.Index(m.ID) >= 0, len(fc.inFolder("alice", mail.Inbox)))
	}
	// Delete in Trash is for good, after the undo.
	m = trash.Items[0]
	h.a.deleteMessage(m)
	if pd := h.a.sess.pending; pd == nil || pd.toTrash {
		t.Fatalf("delete in trash: pending %+v", pd)
	}
	timers.fire()
	h.settle()
	if fc.deleted() != 1 {
		t.Fatalf("%d deleted for good, want 1", fc.deleted())
	}
	// Empty asks first, then deletes the rest.
	h.activate(&h.a.mailbox.pane.empty)
	if h.a.dialog.kind != dlgEmpty {
		t.Fatalf("dialog %v, want empty", h.a.dialog.kind)
	}
	h.activate(&h.a.dialog.ok)
	if len(fc.inFolder("alice", mail.Trash)) != 0 || len(h.a.sess.pager(mail.Trash).Items) != 0 || h.a.sess.total[mail.Trash] != 0 {
		t.Fatalf("after empty: server %d, list %d, count %d", len(fc.inFolder("alice", mail.Trash)),
			len(h.a.sess.pager(mail.Trash).Items), h.a.sess.total[mail.Trash])
	}
}

func TestPhoneFolderDrawer(t *testing.T) {
	h, _ := withFolders(t, phone())
	p := &h.a.mailbox.pane
	if p.drawer || p.rows[mail.Sent] != nil {
		t.Fatal("the drawer is open at the start")
	}
	h.activate(&p.menu)
	if !p.drawer || p.rows[mail.Sent] == nil {
		t.Fatal("the menu did not open the drawer")
	}
	h.key(key.NameBack, 0)
	if p.drawer {
		t.Fatal("back did not close the drawer")
	}
	h.activate(&p.menu)
	h.click(380, 400) // the scrim beside the drawer
	if p.drawer {
		t.Fatal("a tap beside the drawer did not close it")
	}
	h.activate(&p.menu)
	h.activate(p.rows[mail.Sent])
	if p.drawer || h.a.mailbox.folder != mail.Sent {
		t.Fatalf("choosing Sent: drawer %v, folder %q", p.drawer, h.a.mailbox.folder)
	}
}
