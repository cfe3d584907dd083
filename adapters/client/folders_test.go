package client

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"mailroom/domain/mail"
	"mailroom/ports"
)

// The folder methods against a real server: create, rename, move, flags,
// delete, and the refusals as the domain's sentinels.
func TestFolders(t *testing.T) {
	w := newWorld(t)
	c := New(fastConfig())
	ctx := context.Background()
	alice, bob := w.login(c, "alice"), w.login(c, "bob")
	if err := alice.Send(ctx, ports.Draft{To: []string{"bob"}, Subject: "file me", Body: "hi\n"}); err != nil {
		t.Fatal(err)
	}
	list, err := bob.List(ctx, mail.Inbox, 0, 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	var fs ports.FolderSession = bob

	if err := fs.CreateFolder(ctx, "Work/2026"); err != nil {
		t.Fatal(err)
	}
	if err := fs.CreateFolder(ctx, "Work"); !errors.Is(err, mail.ErrFolderExists) {
		t.Errorf("CreateFolder(Work) again = %v, want ErrFolderExists", err)
	}
	if err := fs.RenameFolder(ctx, "Work", "Projects"); err != nil {
		t.Fatal(err)
	}
	id, err := fs.Move(ctx, list[0].ID, "Projects/2026")
	if err != nil || id <= list[0].ID {
		t.Fatalf("Move = %d, %v", id, err)
	}
	if _, err := fs.Move(ctx, list[0].ID, mail.Trash); !errors.Is(err, mail.ErrNotFound) || errors.Is(err, mail.ErrNoSuchFolder) {
		t.Errorf("Move of the old id = %v, want ErrNotFound (a message)", err)
	}
	if _, err := fs.Move(ctx, id, "Nowhere"); !errors.Is(err, mail.ErrNoSuchFolder) {
		t.Errorf("Move to a missing folder = %v, want ErrNoSuchFolder", err)
	}
	if f, err := fs.SetFlags(ctx, id, mail.FlagFlagged|mail.FlagSeen, 0); err != nil || f != mail.FlagFlagged|mail.FlagSeen {
		t.Errorf("SetFlags add = %v, %v", f, err)
	}
	if f, err := fs.SetFlags(ctx, id, 0, mail.FlagSeen); err != nil || f != mail.FlagFlagged {
		t.Errorf("SetFlags remove = %v, %v", f, err)
	}
	moved, err := bob.List(ctx, "Projects/2026", 0, 10)
	if err != nil || len(moved) != 1 || moved[0].ID != id || moved[0].Flags != mail.FlagFlagged || moved[0].Seen {
		t.Errorf("List(Projects/2026) = %+v, %v", moved, err)
	}
	got, err := fs.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []mail.FolderInfo{
		{Name: mail.Inbox, Special: mail.SpecialInbox},
		{Name: mail.Sent, Special: mail.SpecialSent},
		{Name: mail.Drafts, Special: mail.SpecialDrafts},
		{Name: mail.Trash, Special: mail.SpecialTrash},
		{Name: "Projects"},
		{Name: "Projects/2026", Total: 1, Unseen: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Folders = %+v, want %+v", got, want)
	}
	if err := fs.DeleteFolder(ctx, "Projects/2026"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Fetch(ctx, id); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("Fetch after its folder went = %v, want ErrNotFound", err)
	}
	if err := fs.DeleteFolder(ctx, mail.Inbox); err == nil {
		t.Error("DeleteFolder(inbox) succeeded")
	}
}
