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

// The folder tests that move entries between folders or change them in
// place: move/copy, flags and expunge, append, isolation, the domain's
// rules over a real store, and a bulk transfer.

func testMoveAndCopy(t *testing.T, s Store) {
	ctx := context.Background()
	alice, bob := mkAccount(t, s, "alice"), mkAccount(t, s, "bob")
	m := deliver(t, s, alice, "travel", bob)[0]
	if _, err := s.SetFlags(ctx, bob.ID, []mail.EntryID{m.ID}, mail.FlagsAdd, mail.FlagFlagged|mail.FlagSeen); err != nil {
		t.Fatal(err)
	}
	before := counts(t, s)
	ts, err := s.Transfer(ctx, bob.ID, []mail.EntryID{m.ID}, mail.Trash, false)
	if err != nil || len(ts) != 1 {
		t.Fatalf("copy = %+v, %v", ts, err)
	}
	cp := ts[0]
	if cp.From != m.ID || cp.FromUID != m.UID || cp.To.ID <= m.ID || cp.To.Subject != "travel" ||
		cp.To.Flags != mail.FlagFlagged|mail.FlagSeen || !cp.To.Seen || cp.To.Size != m.Size || !cp.To.Date.Equal(m.Date) {
		t.Errorf("copy = %+v (of %+v)", cp, m)
	}
	if got := counts(t, s); got.messages != before.messages || got.entries != before.entries+1 {
		t.Errorf("copy: rows %+v -> %+v: want one more entry, the message stored once", before, got)
	}
	fetched, err := s.Fetch(ctx, bob.ID, cp.To.ID)
	if err != nil || !reflect.DeepEqual(fetched.Meta, cp.To) {
		t.Errorf("Fetch(copy) = %+v, %v; want %+v", fetched.Meta, err, cp.To)
	}
	ts, err = s.Transfer(ctx, bob.ID, []mail.EntryID{m.ID, 999999, cp.To.ID}, "drafts", true)
	if err != nil || len(ts) != 2 || ts[0].From != m.ID || ts[1].From != cp.To.ID || ts[1].To.UID != ts[0].To.UID+1 {
		t.Fatalf("move of two (and a missing id) = %+v, %v", ts, err)
	}
	for _, id := range []mail.EntryID{m.ID, cp.To.ID} {
		if _, err := s.Fetch(ctx, bob.ID, id); !errors.Is(err, mail.ErrNotFound) {
			t.Errorf("moved entry %d still there: %v", id, err)
		}
	}
	if got := counts(t, s); got.messages != before.messages || got.entries != before.entries+1 {
		t.Errorf("move: rows %+v: the message must survive its entries moving", got)
	}
	if _, err := s.Transfer(ctx, bob.ID, []mail.EntryID{ts[0].To.ID}, "nope", true); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("move to a missing folder = %v, want ErrNotFound", err)
	}
	// A move into the folder it is in gives it a new UID there.
	again, err := s.Transfer(ctx, bob.ID, []mail.EntryID{ts[0].To.ID}, "drafts", true)
	if err != nil || len(again) != 1 || again[0].To.UID <= ts[1].To.UID {
		t.Errorf("move within drafts = %+v, %v", again, err)
	}
}

func testFlagsAndExpunge(t *testing.T, s Store) {
	ctx := context.Background()
	alice, bob := mkAccount(t, s, "alice"), mkAccount(t, s, "bob")
	var ms []mail.Meta
	for range 4 {
		ms = append(ms, deliver(t, s, alice, "f", bob)[0])
	}
	ids := []mail.EntryID{ms[0].ID, ms[1].ID, ms[2].ID}
	got, err := s.SetFlags(ctx, bob.ID, ids, mail.FlagsAdd, mail.FlagDeleted|mail.FlagSeen)
	if err != nil || len(got) != 3 || got[2] != (mail.UIDEntry{UID: ms[2].UID, ID: ms[2].ID, Flags: mail.FlagDeleted | mail.FlagSeen}) {
		t.Fatalf("SetFlags add = %+v, %v", got, err)
	}
	if got, _ := s.SetFlags(ctx, bob.ID, ids[:1], mail.FlagsRemove, mail.FlagSeen); len(got) != 1 || got[0].Flags != mail.FlagDeleted {
		t.Errorf("SetFlags remove = %+v", got)
	}
	if got, _ := s.SetFlags(ctx, bob.ID, ids[1:2], mail.FlagsSet, mail.FlagAnswered|mail.FlagDraft|mail.FlagDeleted); len(got) != 1 || got[0].Flags != mail.FlagAnswered|mail.FlagDraft|mail.FlagDeleted {
		t.Errorf("SetFlags set = %+v", got)
	}
	if total, unseen, err := s.Count(ctx, bob.ID, mail.Inbox); err != nil || total != 4 || unseen != 3 {
		t.Errorf("Count = %d, %d, %v; want 4, 3", total, unseen, err)
	}
	if err := s.SetSeen(ctx, bob.ID, ms[3].ID, true); err != nil {
		t.Fatal(err)
	}
	metas, err := s.MetasByUID(ctx, bob.ID, mail.Inbox, []uint32{ms[3].UID, 77, ms[1].UID})
	if err != nil || len(metas) != 2 || metas[0].ID != ms[1].ID || metas[1].ID != ms[3].ID || metas[1].Flags != mail.FlagSeen || !metas[1].Seen {
		t.Errorf("MetasByUID = %+v, %v", metas, err)
	}
	// Only \Deleted entries, and only among the UIDs given.
	if got, err := s.Expunge(ctx, bob.ID, mail.Inbox, []uint32{ms[2].UID, ms[3].UID}); err != nil || !reflect.DeepEqual(got, []uint32{ms[2].UID}) {
		t.Errorf("Expunge(uids) = %v, %v; want [%d]", got, err, ms[2].UID)
	}
	if got, err := s.Expunge(ctx, bob.ID, mail.Inbox, nil); err != nil || !reflect.DeepEqual(got, []uint32{ms[0].UID, ms[1].UID}) {
		t.Errorf("Expunge(all) = %v, %v", got, err)
	}
	u := uidList(t, s, bob.ID, mail.Inbox)
	if len(u) != 1 || u[0] != (mail.UIDEntry{UID: ms[3].UID, ID: ms[3].ID, Flags: mail.FlagSeen}) {
		t.Errorf("UIDs after expunge = %+v", u)
	}
	if total, unseen, _ := s.Count(ctx, bob.ID, mail.Inbox); total != 1 || unseen != 0 {
		t.Errorf("Count after expunge = %d, %d; want 1, 0", total, unseen)
	}
	if got, err := s.Expunge(ctx, bob.ID, "nope", nil); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("Expunge(missing folder) = %v, %v", got, err)
	}
}

func testAppendSentDedup(t *testing.T, s Store) {
	ctx := context.Background()
	alice, bob := mkAccount(t, s, "alice"), mkAccount(t, s, "bob")
	msg := newMsg("sent once", []byte("hi\r\n"))
	msg.MessageID = "<once@localhost>"
	metas, err := s.Deliver(ctx, msg, []mail.NewEntry{
		{Owner: bob.ID, Folder: mail.Inbox, To: []string{"bob@localhost"}},
		{Owner: alice.ID, Folder: mail.Sent, To: []string{"bob@localhost"}, Seen: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if metas[1].MessageID != "<once@localhost>" {
		t.Fatalf("sent copy MessageID %q", metas[1].MessageID)
	}
	before := counts(t, s)
	e := mail.NewEntry{Owner: alice.ID, Folder: mail.Sent, To: []string{"bob@localhost"}, Flags: mail.FlagSeen}
	got, existed, err := s.Append(ctx, msg, e, true)
	if err != nil || !existed || got.ID != metas[1].ID || got.UID != metas[1].UID {
		t.Errorf("Append dedup = %+v, %v, %v; want the sent copy %d", got, existed, err, metas[1].ID)
	}
	if after := counts(t, s); after != before {
		t.Errorf("a deduplicated Append stored rows: %+v -> %+v", before, after)
	}
	// Another owner's Sent is another folder; without dedup it is stored.
	for _, tc := range []struct {
		e     mail.NewEntry
		dedup bool
	}{
		{mail.NewEntry{Owner: bob.ID, Folder: mail.Sent, To: []string{}}, true},
		{e, false},
	} {
		m, existed, err := s.Append(ctx, msg, tc.e, tc.dedup)
		if err != nil || existed || m.ID == metas[1].ID || m.MessageID != "<once@localhost>" {
			t.Errorf("Append(%+v, dedup %v) = %+v, %v, %v; want a new entry", tc.e, tc.dedup, m, existed, err)
		}
		if f, _ := s.Fetch(ctx, tc.e.Owner, m.ID); !reflect.DeepEqual(f.Meta, m) {
			t.Errorf("Fetch(appended) = %+v, want %+v", f.Meta, m)
		}
	}
	if _, _, err := s.Append(ctx, msg, mail.NewEntry{Owner: alice.ID, Folder: "nope"}, false); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("Append to a missing folder = %v, want ErrNotFound", err)
	}
}

func testFolderIsolation(t *testing.T, s Store) {
	ctx := context.Background()
	alice, bob := mkAccount(t, s, "alice"), mkAccount(t, s, "bob")
	mustCreate(t, s, bob.ID, "Private")
	m := deliver(t, s, alice, "for bob", bob)[0]
	moved, err := s.Transfer(ctx, bob.ID, []mail.EntryID{m.ID}, "Private", true)
	if err != nil || len(moved) != 1 {
		t.Fatal(err)
	}
	p := moved[0].To
	if got := folderNames(t, s, alice.ID); slices.Contains(got, "Private") {
		t.Errorf("alice sees bob's folder: %q", got)
	}
	for name, fn := range map[string]func() error{
		"Folder":     func() error { _, err := s.Folder(ctx, alice.ID, "Private"); return err },
		"List":       func() error { _, err := s.List(ctx, alice.ID, "Private", 0, 10); return err },
		"Count":      func() error { _, _, err := s.Count(ctx, alice.ID, "Private"); return err },
		"UIDs":       func() error { _, err := s.UIDs(ctx, alice.ID, "Private"); return err },
		"MetasByUID": func() error { _, err := s.MetasByUID(ctx, alice.ID, "Private", []uint32{p.UID}); return err },
		"Rename":     func() error { return s.RenameFolder(ctx, alice.ID, "Private", "Mine") },
		"Delete":     func() error { return s.DeleteFolder(ctx, alice.ID, "Private") },
		"Expunge":    func() error { _, err := s.Expunge(ctx, alice.ID, "Private", nil); return err },
		"Fetch":      func() error { _, err := s.Fetch(ctx, alice.ID, p.ID); return err },
	} {
		if err := fn(); !errors.Is(err, mail.ErrNotFound) {
			t.Errorf("%s by another owner = %v, want ErrNotFound", name, err)
		}
	}
	if got, err := s.SetFlags(ctx, alice.ID, []mail.EntryID{p.ID}, mail.FlagsAdd, mail.FlagDeleted); err != nil || len(got) != 0 {
		t.Errorf("SetFlags by another owner = %+v, %v; want nothing", got, err)
	}
	// alice moving bob's entry into her own folder takes nothing.
	if got, err := s.Transfer(ctx, alice.ID, []mail.EntryID{p.ID}, mail.Inbox, true); err != nil || len(got) != 0 {
		t.Errorf("Transfer by another owner = %+v, %v; want nothing", got, err)
	}
	// alice's folder of the same name is hers alone.
	mustCreate(t, s, alice.ID, "Private")
	if u := uidList(t, s, alice.ID, "Private"); len(u) != 0 {
		t.Errorf("alice's Private holds %+v", u)
	}
	if u := uidList(t, s, bob.ID, "Private"); len(u) != 1 || u[0].ID != p.ID || u[0].Flags != 0 {
		t.Errorf("bob's Private = %+v, want his entry untouched", u)
	}
}

// testServiceRules runs the domain service over the store: the rules the
// domain keeps (special folders, names, the Sent dedup by Message-ID) hold
// end to end.
func testServiceRules(t *testing.T, s Store) {
	ctx := context.Background()
	accounts := account.NewService(s, nopHasher{}, account.Config{Domain: "localhost"}, nil)
	svc := mail.NewService(s, accounts, nil, mail.Config{}, func() time.Time { return t0 })
	alice, bob := mkAccount(t, s, "alice"), mkAccount(t, s, "bob")
	for _, sp := range []string{"INBOX", "Sent", "drafts", "Trash"} {
		if err := svc.DeleteFolder(ctx, bob.ID, mail.Folder(sp)); !errors.Is(err, mail.ErrSpecialFolder) {
			t.Errorf("DeleteFolder(%s) = %v, want ErrSpecialFolder", sp, err)
		}
		if err := svc.RenameFolder(ctx, bob.ID, mail.Folder(sp), "Other"); !errors.Is(err, mail.ErrSpecialFolder) {
			t.Errorf("RenameFolder(%s) = %v, want ErrSpecialFolder", sp, err)
		}
	}
	if _, err := svc.CreateFolder(ctx, bob.ID, "Sent/2025"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Folder(ctx, bob.ID, "SENT/2025"); err != nil {
		t.Errorf("Folder(SENT/2025): %v", err)
	}
	raw := []byte("From: bob@localhost\r\nTo: alice@localhost\r\nMessage-ID: <t1@x>\r\nSubject: hi\r\n\r\nhello\r\n")
	env := svc.NewEnvelope(bob)
	if _, err := env.Add(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	metas, err := svc.DeliverEnvelope(ctx, env, raw)
	if err != nil {
		t.Fatal(err)
	}
	m, existed, err := svc.Append(ctx, bob.ID, "Sent", raw, mail.FlagSeen, time.Time{})
	if err != nil || !existed || m.ID != metas[1].ID {
		t.Errorf("Append to Sent of what was sent = %+v, %v, %v; want the sent copy", m, existed, err)
	}
	m, existed, err = svc.Append(ctx, alice.ID, "Drafts", raw, mail.FlagDraft, time.Time{})
	if err != nil || existed || m.Folder != mail.Drafts || m.From != "bob@localhost" || m.Subject != "hi" {
		t.Errorf("Append to Drafts = %+v, %v, %v", m, existed, err)
	}
	moved, err := svc.Move(ctx, alice.ID, metas[0].ID, "TRASH")
	if err != nil || moved.Folder != mail.Trash || moved.UID != 1 {
		t.Errorf("Move to TRASH = %+v, %v", moved, err)
	}
}

// testBulkTransfer moves and expunges 1024 entries in single calls: the
// counts, UIDs and change rows stay right, and it takes no time to speak of
// (a store that updates a folder's row once per entry within one
// transaction slows down quadratically).
func testBulkTransfer(t *testing.T, s Store) {
	ctx := context.Background()
	alice, bob := mkAccount(t, s, "alice"), mkAccount(t, s, "bob")
	deliver(t, s, alice, "seed", bob)
	mustCreate(t, s, bob.ID, "Big")
	for range 10 { // double the inbox ten times: 1024 entries
		var ids []mail.EntryID
		for _, u := range uidList(t, s, bob.ID, mail.Inbox) {
			ids = append(ids, u.ID)
		}
		if _, err := s.Transfer(ctx, bob.ID, ids, mail.Inbox, false); err != nil {
			t.Fatal(err)
		}
	}
	u := uidList(t, s, bob.ID, mail.Inbox)
	if len(u) != 1024 || u[1023].UID != 1024 {
		t.Fatalf("inbox has %d entries, last UID %d; want 1024, 1024", len(u), u[len(u)-1].UID)
	}
	ids := make([]mail.EntryID, len(u))
	for i, e := range u {
		ids[i] = e.ID
	}
	ch := s.SubscribeChanges(ctx, nil)
	// More changes than a subscriber's buffer: read them as they come.
	kinds := map[mail.ChangeKind]int{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		timeout := time.After(20 * time.Second)
		for n := 0; n < 4096; n++ {
			select {
			case c, ok := <-ch:
				if !ok {
					return
				}
				kinds[c.Kind]++
			case <-timeout:
				return
			}
		}
	}()
	ts, err := s.Transfer(ctx, bob.ID, ids, "Big", true)
	if err != nil || len(ts) != 1024 || ts[1023].To.UID != 1024 || ts[0].To.UID != 1 {
		t.Fatalf("move of 1024 = %d, %v", len(ts), err)
	}
	if _, err := s.SetFlags(ctx, bob.ID, ids, mail.FlagsAdd, mail.FlagDeleted); err != nil { // moved away: no-ops
		t.Fatal(err)
	}
	var moved []mail.EntryID
	for _, tr := range ts {
		moved = append(moved, tr.To.ID)
	}
	if _, err := s.SetFlags(ctx, bob.ID, moved, mail.FlagsAdd, mail.FlagDeleted|mail.FlagSeen); err != nil {
		t.Fatal(err)
	}
	gone, err := s.Expunge(ctx, bob.ID, "Big", nil)
	if err != nil || len(gone) != 1024 {
		t.Fatalf("Expunge = %d, %v", len(gone), err)
	}
	for _, f := range []mail.Folder{mail.Inbox, "Big"} {
		if total, unseen, err := s.Count(ctx, bob.ID, f); err != nil || total != 0 || unseen != 0 {
			t.Errorf("Count(%s) = %d, %d, %v; want 0, 0", f, total, unseen, err)
		}
	}
	// 1024 new in Big, 1024 removed from inbox, 1024 flag changes, 1024 removed from Big.
	<-done
	if kinds[mail.ChangeNew] != 1024 || kinds[mail.ChangeFlags] != 1024 || kinds[mail.ChangeExpunge] != 2048 {
		t.Errorf("changes by kind: %v", kinds)
	}
}

// nopHasher is enough of account.Hasher for a service that never checks a
// password.
type nopHasher struct{}

func (nopHasher) Hash(context.Context, string) (string, error)         { return "", nil }
func (nopHasher) Verify(context.Context, string, string) (bool, error) { return false, nil }
