package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

var changeTests = []test{
	{"InOrder", testChangesInOrder},
	{"AcrossStores", testChangesAcrossStores},
	{"Interest", testChangesInterest},
	{"DeleteFolderExpunges", testChangesDeleteFolder},
	{"Unsubscribe", testChangesUnsubscribe},
}

func expectNoChange(t *testing.T, ch <-chan mail.Change, wait time.Duration) {
	t.Helper()
	select {
	case c, ok := <-ch:
		if ok {
			t.Fatalf("unexpected change %+v", c)
		}
		t.Fatal("channel closed unexpectedly")
	case <-time.After(wait):
	}
}

// want is what a test expects of one change.
type want struct {
	kind   mail.ChangeKind
	owner  account.ID
	folder mail.Folder
	uid    uint32
	id     mail.EntryID
	flags  mail.Flags
}

func checkChanges(t *testing.T, got []mail.Change, wants []want) {
	t.Helper()
	for i, w := range wants {
		c := got[i]
		m := c.Meta
		if c.Kind != w.kind || m.Owner != w.owner || m.Folder != w.folder || m.UID != w.uid || m.ID != w.id ||
			m.Flags != w.flags || m.Seen != w.flags.Has(mail.FlagSeen) {
			t.Errorf("change %d = %v %+v, want %v %+v", i, c.Kind, c, w.kind, w)
		}
		if i > 0 && c.Seq <= got[i-1].Seq {
			t.Errorf("change %d: seq %d after %d", i, c.Seq, got[i-1].Seq)
		}
	}
}

// testChangesInOrder: new entries, flag changes and removals, whatever made
// them, come in commit order with what an IMAP session needs.
func testChangesInOrder(t *testing.T, s Store) {
	ctx := context.Background()
	alice, bob := mkAccount(t, s, "alice"), mkAccount(t, s, "bob")
	mustCreate(t, s, bob.ID, "Keep")
	ch := s.SubscribeChanges(ctx, nil)
	metas := deliver(t, s, alice, "watched", bob) // bob inbox, alice sent
	in := metas[0]
	// A new entry that is still there when the feed reads it comes with all
	// of its metadata.
	first := Receive(t, ch, 2, Patience)
	if n := first[0].Meta; !reflect.DeepEqual(n, in) {
		t.Errorf("new entry's meta = %+v, want %+v", n, in)
	}
	if _, err := s.SetFlags(ctx, bob.ID, []mail.EntryID{in.ID}, mail.FlagsAdd, mail.FlagFlagged); err != nil {
		t.Fatal(err)
	}
	// No change, no row.
	if _, err := s.SetFlags(ctx, bob.ID, []mail.EntryID{in.ID}, mail.FlagsAdd, mail.FlagFlagged); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSeen(ctx, bob.ID, in.ID, true); err != nil {
		t.Fatal(err)
	}
	ts, err := s.Transfer(ctx, bob.ID, []mail.EntryID{in.ID}, "Keep", true)
	if err != nil {
		t.Fatal(err)
	}
	mv := ts[0].To
	if err := s.Delete(ctx, alice.ID, metas[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetFlags(ctx, bob.ID, []mail.EntryID{mv.ID}, mail.FlagsAdd, mail.FlagDeleted); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Expunge(ctx, bob.ID, "Keep", nil); err != nil {
		t.Fatal(err)
	}
	fl, sn, dl := mail.FlagFlagged, mail.FlagFlagged|mail.FlagSeen, mail.FlagFlagged|mail.FlagSeen|mail.FlagDeleted
	wants := []want{
		{mail.ChangeNew, bob.ID, mail.Inbox, in.UID, in.ID, 0},
		{mail.ChangeNew, alice.ID, mail.Sent, metas[1].UID, metas[1].ID, 0}, // deliver's sent copy is unseen
		{mail.ChangeFlags, bob.ID, mail.Inbox, in.UID, in.ID, fl},
		{mail.ChangeFlags, bob.ID, mail.Inbox, in.UID, in.ID, sn},
		{mail.ChangeNew, bob.ID, "Keep", mv.UID, mv.ID, sn},
		{mail.ChangeExpunge, bob.ID, mail.Inbox, in.UID, in.ID, sn},
		{mail.ChangeExpunge, alice.ID, mail.Sent, metas[1].UID, metas[1].ID, 0},
		{mail.ChangeFlags, bob.ID, "Keep", mv.UID, mv.ID, dl},
		{mail.ChangeExpunge, bob.ID, "Keep", mv.UID, mv.ID, dl},
	}
	got := append(first, Receive(t, ch, len(wants)-2, Patience)...)
	checkChanges(t, got, wants)
	// Every change carries its folder's UIDVALIDITY.
	if v := mustFolder(t, s, bob.ID, mail.Inbox).UIDValidity; got[0].UIDValidity != v || got[5].UIDValidity != v {
		t.Errorf("UIDValidity %d, %d; want inbox's %d", got[0].UIDValidity, got[5].UIDValidity, v)
	}
	if v := mustFolder(t, s, bob.ID, "Keep").UIDValidity; got[4].UIDValidity != v {
		t.Errorf("UIDValidity %d; want Keep's %d", got[4].UIDValidity, v)
	}
	expectNoChange(t, ch, 100*time.Millisecond)
}

// testChangesAcrossStores: a change committed through another store (host,
// process) reaches this store's subscriber within crossHostLatency.
func testChangesAcrossStores(t *testing.T, a Store) {
	ctx := context.Background()
	b := a.Reopen(t)
	alice, bob := mkAccount(t, a, "alice"), mkAccount(t, a, "bob")
	ch := b.SubscribeChanges(ctx, nil)
	for i := range 3 {
		in := deliver(t, a, alice, "via A", bob)[0]
		start := time.Now()
		got := Receive(t, ch, 2, Patience)
		if d := time.Since(start); d > crossHostLatency {
			t.Errorf("round %d: new entry took %v, want under %v", i, d, crossHostLatency)
		}
		if got[0].Kind != mail.ChangeNew || got[0].Meta.ID != in.ID {
			t.Fatalf("round %d: got %+v", i, got)
		}
		if _, err := a.SetFlags(ctx, bob.ID, []mail.EntryID{in.ID}, mail.FlagsAdd, mail.FlagSeen); err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		got = Receive(t, ch, 1, Patience)
		if d := time.Since(start); d > crossHostLatency {
			t.Errorf("round %d: flag change took %v, want under %v", i, d, crossHostLatency)
		}
		if got[0].Kind != mail.ChangeFlags || got[0].Meta.Flags != mail.FlagSeen {
			t.Fatalf("round %d: got %+v", i, got)
		}
	}
}

func testChangesInterest(t *testing.T, s Store) {
	ctx := context.Background()
	alice, bob, carol := mkAccount(t, s, "alice"), mkAccount(t, s, "bob"), mkAccount(t, s, "carol")
	in := &owners{in: map[account.ID]bool{bob.ID: true}}
	ch := s.SubscribeChanges(ctx, in)
	toCarol := deliver(t, s, alice, "to carol", carol)
	toBob := deliver(t, s, alice, "to bob", bob)
	if _, err := s.SetFlags(ctx, carol.ID, []mail.EntryID{toCarol[0].ID}, mail.FlagsAdd, mail.FlagSeen); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, bob.ID, toBob[0].ID); err != nil {
		t.Fatal(err)
	}
	got := Receive(t, ch, 2, Patience)
	checkChanges(t, got, []want{
		{mail.ChangeNew, bob.ID, mail.Inbox, toBob[0].UID, toBob[0].ID, 0},
		{mail.ChangeExpunge, bob.ID, mail.Inbox, toBob[0].UID, toBob[0].ID, 0},
	})
	expectNoChange(t, ch, 100*time.Millisecond)
}

func testChangesDeleteFolder(t *testing.T, s Store) {
	ctx := context.Background()
	alice, bob := mkAccount(t, s, "alice"), mkAccount(t, s, "bob")
	mustCreate(t, s, bob.ID, "Old")
	var moved []mail.Meta
	for range 3 {
		m := deliver(t, s, alice, "x", bob)[0]
		ts, err := s.Transfer(ctx, bob.ID, []mail.EntryID{m.ID}, "Old", true)
		if err != nil {
			t.Fatal(err)
		}
		moved = append(moved, ts[0].To)
	}
	validity := mustFolder(t, s, bob.ID, "Old").UIDValidity
	ch := s.SubscribeChanges(ctx, nil)
	if err := s.DeleteFolder(ctx, bob.ID, "Old"); err != nil {
		t.Fatal(err)
	}
	got := Receive(t, ch, 3, Patience)
	seen := map[uint32]bool{}
	for _, c := range got {
		if c.Kind != mail.ChangeExpunge || c.Meta.Folder != "Old" || c.UIDValidity != validity {
			t.Errorf("change %+v: want an expunge in Old (UIDVALIDITY %d)", c, validity)
		}
		seen[c.Meta.UID] = true
	}
	for _, m := range moved {
		if !seen[m.UID] {
			t.Errorf("no expunge of UID %d", m.UID)
		}
	}
}

func testChangesUnsubscribe(t *testing.T, s Store) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := s.SubscribeChanges(ctx, nil)
	cancel()
	ExpectClosed(t, ch, Patience)
	ch = s.SubscribeChanges(context.Background(), nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ExpectClosed(t, ch, Patience)
}
