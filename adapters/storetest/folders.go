package storetest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

var folderTests = []test{
	{"SpecialFoldersExist", testSpecialFolders},
	{"CreateListOrder", testCreateListOrder},
	{"RenameMovesChildren", testRenameMovesChildren},
	{"DeleteFolder", testDeleteFolder},
	{"UIDValidityNeverRepeats", testUIDValidity},
	{"UIDsOnlyGrow", testUIDsOnlyGrow},
	{"MoveAndCopy", testMoveAndCopy},
	{"FlagsAndExpunge", testFlagsAndExpunge},
	{"AppendSentDedup", testAppendSentDedup},
	{"FolderIsolation", testFolderIsolation},
	{"ServiceRules", testServiceRules},
	{"BulkTransfer", testBulkTransfer},
}

func folderNames(t *testing.T, s Store, owner account.ID) []mail.Folder {
	t.Helper()
	fs, err := s.Folders(context.Background(), owner)
	if err != nil {
		t.Fatal(err)
	}
	var out []mail.Folder
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

func mustFolder(t *testing.T, s Store, owner account.ID, name mail.Folder) mail.FolderInfo {
	t.Helper()
	fi, err := s.Folder(context.Background(), owner, name)
	if err != nil {
		t.Fatalf("Folder(%q): %v", name, err)
	}
	return fi
}

func mustCreate(t *testing.T, s Store, owner account.ID, name mail.Folder) mail.FolderInfo {
	t.Helper()
	fi, err := s.CreateFolder(context.Background(), owner, name, t0)
	if err != nil {
		t.Fatalf("CreateFolder(%q): %v", name, err)
	}
	return fi
}

func uidList(t *testing.T, s Store, owner account.ID, f mail.Folder) []mail.UIDEntry {
	t.Helper()
	u, err := s.UIDs(context.Background(), owner, f)
	if err != nil {
		t.Fatalf("UIDs(%q): %v", f, err)
	}
	return u
}

func testSpecialFolders(t *testing.T, s Store) {
	ctx := context.Background()
	alice := mkAccount(t, s, "alice")
	fs, err := s.Folders(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 4 {
		t.Fatalf("Folders = %+v, want the four special ones", fs)
	}
	seen := map[uint32]bool{}
	for i, sp := range mail.SpecialFolders() {
		f := fs[i]
		if f.Name != sp || f.Special != sp.Special() || f.UIDNext != 1 || f.Total != 0 || f.Unseen != 0 {
			t.Errorf("folder %d = %+v, want an empty %s", i, f, sp)
		}
		if f.UIDValidity == 0 || seen[f.UIDValidity] {
			t.Errorf("%s: UIDValidity %d is zero or repeated", sp, f.UIDValidity)
		}
		seen[f.UIDValidity] = true
	}
	if _, err := s.CreateFolder(ctx, alice.ID, mail.Trash, t0); !errors.Is(err, mail.ErrFolderExists) {
		t.Errorf("CreateFolder(trash) = %v, want ErrFolderExists", err)
	}
}

func testCreateListOrder(t *testing.T, s Store) {
	ctx := context.Background()
	alice := mkAccount(t, s, "alice")
	work := mustCreate(t, s, alice.ID, "Work/2025") // makes Work too
	if work.Name != "Work/2025" || work.Special != "" || work.UIDNext != 1 || work.UIDValidity == 0 {
		t.Errorf("CreateFolder = %+v", work)
	}
	for _, n := range []mail.Folder{"ärger", "Archive", "Zed", "Work/2025/Q1", "Sentinel"} {
		mustCreate(t, s, alice.ID, n)
	}
	want := []mail.Folder{"inbox", "sent", "drafts", "trash",
		"Archive", "Sentinel", "Work", "Work/2025", "Work/2025/Q1", "Zed", "ärger"} // byte order
	if got := folderNames(t, s, alice.ID); !reflect.DeepEqual(got, want) {
		t.Errorf("Folders = %q, want %q", got, want)
	}
	if _, err := s.CreateFolder(ctx, alice.ID, "Work", t0); !errors.Is(err, mail.ErrFolderExists) {
		t.Errorf("CreateFolder(Work) again = %v, want ErrFolderExists", err)
	}
	if _, err := s.CreateFolder(ctx, 999999, "Work", t0); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("CreateFolder for a missing account = %v, want ErrNotFound", err)
	}
	// Names are compared exactly: "work" is another folder.
	mustCreate(t, s, alice.ID, "work")
}

func testRenameMovesChildren(t *testing.T, s Store) {
	ctx := context.Background()
	alice, bob := mkAccount(t, s, "alice"), mkAccount(t, s, "bob")
	mustCreate(t, s, bob.ID, "a/x/x")
	mustCreate(t, s, bob.ID, "ab")
	before := map[mail.Folder]uint32{}
	for _, n := range []mail.Folder{"a", "a/x", "a/x/x"} {
		before[n] = mustFolder(t, s, bob.ID, n).UIDValidity
	}
	m := deliver(t, s, alice, "keep me", bob)[0]
	ts, err := s.Transfer(ctx, bob.ID, []mail.EntryID{m.ID}, "a/x", true)
	if err != nil || len(ts) != 1 {
		t.Fatalf("Transfer = %+v, %v", ts, err)
	}
	if err := s.RenameFolder(ctx, bob.ID, "a", "b"); err != nil {
		t.Fatal(err)
	}
	want := []mail.Folder{"inbox", "sent", "drafts", "trash", "ab", "b", "b/x", "b/x/x"}
	if got := folderNames(t, s, bob.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("after rename: %q, want %q", got, want)
	}
	for old, v := range before {
		n := "b" + old[1:]
		if got := mustFolder(t, s, bob.ID, n).UIDValidity; got != v {
			t.Errorf("%s (was %s): UIDValidity %d, want %d kept (RFC 9051 §6.3.6)", n, old, got, v)
		}
	}
	if u := uidList(t, s, bob.ID, "b/x"); len(u) != 1 || u[0].ID != ts[0].To.ID || u[0].UID != ts[0].To.UID {
		t.Errorf("b/x holds %+v, want the moved entry %+v", u, ts[0].To)
	}
	if got, err := s.Fetch(ctx, bob.ID, ts[0].To.ID); err != nil || got.Folder != "b/x" {
		t.Errorf("Fetch after rename: folder %q, %v", got.Folder, err)
	}
	// The parent's name taking a child's place ("b/x" -> "b" is taken,
	// "b/x/x" -> "c" moves "b/x/x" to "c" only).
	if err := s.RenameFolder(ctx, bob.ID, "b/x", "b"); !errors.Is(err, mail.ErrFolderExists) {
		t.Errorf("rename onto an existing folder = %v, want ErrFolderExists", err)
	}
	if err := s.RenameFolder(ctx, bob.ID, "b/x", "b/y/x"); err != nil {
		t.Errorf("rename to a deeper name: %v", err)
	}
	if err := s.RenameFolder(ctx, bob.ID, "b/y/x", "b/y"); err != nil {
		t.Errorf("rename a child over its missing parent's name: %v", err)
	}
	want = []mail.Folder{"inbox", "sent", "drafts", "trash", "ab", "b", "b/y", "b/y/x"}
	if got := folderNames(t, s, bob.ID); !reflect.DeepEqual(got, want) {
		t.Errorf("after renames: %q, want %q", got, want)
	}
	if err := s.RenameFolder(ctx, bob.ID, "nope", "other"); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("rename missing = %v, want ErrNotFound", err)
	}
	if err := s.RenameFolder(ctx, alice.ID, "b", "c"); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("rename another owner's folder = %v, want ErrNotFound", err)
	}
}

func testDeleteFolder(t *testing.T, s Store) {
	ctx := context.Background()
	alice, bob := mkAccount(t, s, "alice"), mkAccount(t, s, "bob")
	mustCreate(t, s, bob.ID, "Old/Child")
	only := deliver(t, s, alice, "only in Old", bob) // alice's sent copy stays
	shared := deliver(t, s, alice, "also in inbox", bob)
	if _, err := s.Transfer(ctx, bob.ID, []mail.EntryID{only[0].ID}, "Old", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transfer(ctx, bob.ID, []mail.EntryID{shared[0].ID}, "Old", false); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount(ctx, alice.ID); err != nil { // only bob holds the messages now
		t.Fatal(err)
	}
	before := counts(t, s)
	if err := s.DeleteFolder(ctx, bob.ID, "Old"); err != nil {
		t.Fatal(err)
	}
	after := counts(t, s)
	if after.entries != before.entries-2 || after.messages != before.messages-1 {
		t.Errorf("rows %+v -> %+v: want 2 entries and the message no entry holds gone", before, after)
	}
	if got := folderNames(t, s, bob.ID); !slices.Contains(got, "Old/Child") || slices.Contains(got, "Old") {
		t.Errorf("Folders = %q: want Old gone and Old/Child kept", got)
	}
	if _, err := s.Fetch(ctx, bob.ID, shared[0].ID); err != nil {
		t.Errorf("the inbox copy went with the folder: %v", err)
	}
	if err := s.DeleteFolder(ctx, bob.ID, "Old"); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("DeleteFolder again = %v, want ErrNotFound", err)
	}
	for _, fn := range []func() error{
		func() error { _, err := s.List(ctx, bob.ID, "Old", 0, 10); return err },
		func() error { _, _, err := s.Count(ctx, bob.ID, "Old"); return err },
		func() error { _, err := s.UIDs(ctx, bob.ID, "Old"); return err },
		func() error {
			_, err := s.Transfer(ctx, bob.ID, []mail.EntryID{shared[0].ID}, "Old", false)
			return err
		},
		func() error {
			_, _, err := s.Append(ctx, newMsg("x", nil), mail.NewEntry{Owner: bob.ID, Folder: "Old"}, false)
			return err
		},
	} {
		if err := fn(); !errors.Is(err, mail.ErrNoSuchFolder) {
			t.Errorf("a deleted folder: %v, want ErrNoSuchFolder", err)
		}
	}
}

func testUIDValidity(t *testing.T, s Store) {
	alice := mkAccount(t, s, "alice")
	old := mustCreate(t, s, alice.ID, "x")
	if err := s.DeleteFolder(context.Background(), alice.ID, "x"); err != nil {
		t.Fatal(err)
	}
	// The same clock reading: the value must still be new.
	again := mustCreate(t, s, alice.ID, "x")
	if again.UIDValidity <= old.UIDValidity {
		t.Errorf("recreated folder: UIDValidity %d, was %d; want a greater one", again.UIDValidity, old.UIDValidity)
	}
	later := mustCreate(t, s, alice.ID, "y")
	if later.UIDValidity <= again.UIDValidity {
		t.Errorf("UIDValidity %d after %d: want growing values", later.UIDValidity, again.UIDValidity)
	}
	now := time.Now()
	fi, err := s.CreateFolder(context.Background(), alice.ID, "z", now)
	if err != nil || int64(fi.UIDValidity) < now.Unix() {
		t.Errorf("UIDValidity %d, %v; want at least the creation time %d", fi.UIDValidity, err, now.Unix())
	}
}

func testUIDsOnlyGrow(t *testing.T, s Store) {
	ctx := context.Background()
	alice, bob := mkAccount(t, s, "alice"), mkAccount(t, s, "bob")
	var in []mail.Meta
	for range 4 {
		in = append(in, deliver(t, s, alice, "m", bob)[0])
	}
	for i, m := range in {
		if m.UID != uint32(i+1) {
			t.Fatalf("delivery %d: UID %d, want %d", i, m.UID, i+1)
		}
	}
	mustCreate(t, s, bob.ID, "Keep")
	var last uint32
	grew := func(what string, m mail.Meta) {
		t.Helper()
		if m.Folder != "Keep" || m.UID <= last {
			t.Fatalf("%s: %+v has UID %d after %d", what, m, m.UID, last)
		}
		last = m.UID
	}
	ts, err := s.Transfer(ctx, bob.ID, []mail.EntryID{in[0].ID, in[1].ID}, "Keep", true)
	if err != nil || len(ts) != 2 {
		t.Fatalf("move = %+v, %v", ts, err)
	}
	grew("move", ts[0].To)
	grew("move", ts[1].To)
	ts, err = s.Transfer(ctx, bob.ID, []mail.EntryID{in[2].ID}, "Keep", false)
	if err != nil || len(ts) != 1 {
		t.Fatalf("copy = %+v, %v", ts, err)
	}
	grew("copy", ts[0].To)
	app, _, err := s.Append(ctx, newMsg("appended", nil), mail.NewEntry{Owner: bob.ID, Folder: "Keep", To: []string{}}, false)
	if err != nil {
		t.Fatal(err)
	}
	grew("append", app)
	// The newest goes: its UID is never handed out again.
	if err := s.Delete(ctx, bob.ID, app.ID); err != nil {
		t.Fatal(err)
	}
	ts, err = s.Transfer(ctx, bob.ID, []mail.EntryID{in[3].ID}, "Keep", true)
	if err != nil || len(ts) != 1 {
		t.Fatalf("move = %+v, %v", ts, err)
	}
	grew("move after delete", ts[0].To)
	if fi := mustFolder(t, s, bob.ID, "Keep"); fi.UIDNext != last+1 || fi.Total != 4 {
		t.Errorf("Keep = %+v, want UIDNext %d and 4 entries", fi, last+1)
	}
	// Inbox kept its UIDNext though its entries left.
	if fi := mustFolder(t, s, bob.ID, mail.Inbox); fi.UIDNext != 5 || fi.Total != 1 {
		t.Errorf("inbox = %+v, want UIDNext 5 and the copied entry left", fi)
	}
	u := uidList(t, s, bob.ID, "Keep")
	if len(u) != 4 || !slices.IsSortedFunc(u, func(a, b mail.UIDEntry) int { return int(a.UID) - int(b.UID) }) || u[3].UID != last {
		t.Errorf("UIDs = %+v", u)
	}
}
