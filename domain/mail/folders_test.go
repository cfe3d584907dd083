package mail_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

func TestParseFolder(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want mail.Folder // "" for ErrBadFolder
	}{
		{"inbox", mail.Inbox},
		{"INBOX", mail.Inbox},
		{"Inbox", mail.Inbox},
		{"sent", mail.Sent},
		{"Drafts", mail.Drafts},
		{"TRASH", mail.Trash},
		{"Sent/2024", "sent/2024"},
		{"INBOX/Lists/Go", "inbox/Lists/Go"},
		{"Work", "Work"},
		{"Work/Ünïcode ✉", "Work/Ünïcode ✉"},
		{"Sentinel", "Sentinel"},
		{strings.Repeat("x", mail.MaxFolderBytes), mail.Folder(strings.Repeat("x", mail.MaxFolderBytes))},
		{"", ""},
		{strings.Repeat("x", mail.MaxFolderBytes+1), ""},
		{"/a", ""},
		{"a/", ""},
		{"a//b", ""},
		{"/", ""},
		{"a\tb", ""},
		{"a\x00b", ""},
		{"a\u0085b", ""},
		{"a*", ""},
		{"50%", ""},
		{"\xff", ""},
	} {
		got, err := mail.ParseFolder(tc.in)
		if tc.want == "" {
			if !errors.Is(err, mail.ErrBadFolder) {
				t.Errorf("ParseFolder(%q) = %q, %v; want ErrBadFolder", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseFolder(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestFolderNames(t *testing.T) {
	if got := mail.Folder("a/b/c").Ancestors(); !reflect.DeepEqual(got, []mail.Folder{"a", "a/b"}) {
		t.Errorf("Ancestors = %q", got)
	}
	if got := mail.Folder("a").Ancestors(); got != nil {
		t.Errorf("Ancestors of a top folder = %q", got)
	}
	for _, tc := range []struct {
		f, parent mail.Folder
		want      bool
	}{{"a", "a", true}, {"a/x", "a", true}, {"a/x/y", "a", true}, {"ab", "a", false}, {"a", "a/x", false}} {
		if got := tc.f.Within(tc.parent); got != tc.want {
			t.Errorf("%q.Within(%q) = %v", tc.f, tc.parent, got)
		}
	}
	for f, want := range map[mail.Folder]mail.SpecialUse{
		mail.Inbox: mail.SpecialInbox, mail.Sent: mail.SpecialSent, mail.Drafts: mail.SpecialDrafts,
		mail.Trash: mail.SpecialTrash, "sent/2024": mail.SpecialNone, "Work": mail.SpecialNone,
	} {
		if got := f.Special(); got != want {
			t.Errorf("%q.Special() = %q, want %q", f, got, want)
		}
	}
}

func TestFlags(t *testing.T) {
	all := mail.AllFlags.Names()
	if want := []string{"seen", "answered", "flagged", "deleted", "draft"}; !reflect.DeepEqual(all, want) {
		t.Errorf("Names = %q, want %q", all, want)
	}
	if got := mail.Flags(0).Names(); got == nil || len(got) != 0 {
		t.Errorf("no flags: Names = %#v, want empty and not nil", got)
	}
	if f, err := mail.ParseFlags([]string{`\Seen`, "FLAGGED", "draft"}); err != nil || f != mail.FlagSeen|mail.FlagFlagged|mail.FlagDraft {
		t.Errorf("ParseFlags = %v, %v", f, err)
	}
	if _, err := mail.ParseFlags([]string{"seen", "$Junk"}); !errors.Is(err, mail.ErrBadFlags) {
		t.Errorf("ParseFlags($Junk) = %v, want ErrBadFlags", err)
	}
	// The stored values: Seen must stay 1 (the migration set flags = seen).
	if mail.FlagSeen != 1 || mail.FlagAnswered != 2 || mail.FlagFlagged != 4 || mail.FlagDeleted != 8 || mail.FlagDraft != 16 {
		t.Error("flag values changed: they are stored")
	}
	old := mail.FlagSeen | mail.FlagDeleted
	for _, tc := range []struct {
		op   mail.FlagOp
		want mail.Flags
	}{
		{mail.FlagsSet, mail.FlagFlagged},
		{mail.FlagsAdd, old | mail.FlagFlagged},
		{mail.FlagsRemove, old},
	} {
		if got := tc.op.Apply(old, mail.FlagFlagged); got != tc.want {
			t.Errorf("op %d: Apply = %v, want %v", tc.op, got, tc.want)
		}
	}
	if !old.Has(mail.FlagSeen) || old.Has(mail.FlagSeen|mail.FlagDraft) {
		t.Error("Has")
	}
}

func TestFolderRules(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 0)
	bob := h.bob.ID
	if _, err := h.svc.CreateFolder(ctx, bob, "Work/2025"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		fn   func() error
		want error
	}{
		{"create special", func() error { _, err := h.svc.CreateFolder(ctx, bob, "Trash"); return err }, mail.ErrFolderExists},
		{"create existing", func() error { _, err := h.svc.CreateFolder(ctx, bob, "Work"); return err }, mail.ErrFolderExists},
		{"create bad", func() error { _, err := h.svc.CreateFolder(ctx, bob, "a//b"); return err }, mail.ErrBadFolder},
		{"rename special", func() error { return h.svc.RenameFolder(ctx, bob, "INBOX", "Old") }, mail.ErrSpecialFolder},
		{"rename to special", func() error { return h.svc.RenameFolder(ctx, bob, "Work", "sent") }, mail.ErrFolderExists},
		{"rename to itself", func() error { return h.svc.RenameFolder(ctx, bob, "Work", "Work") }, mail.ErrFolderExists},
		{"rename within itself", func() error { return h.svc.RenameFolder(ctx, bob, "Work", "Work/x") }, mail.ErrBadFolder},
		{"rename bad", func() error { return h.svc.RenameFolder(ctx, bob, "Work", "x/") }, mail.ErrBadFolder},
		{"rename missing", func() error { return h.svc.RenameFolder(ctx, bob, "Play", "Fun") }, mail.ErrNotFound},
		{"delete special", func() error { return h.svc.DeleteFolder(ctx, bob, "Drafts") }, mail.ErrSpecialFolder},
		{"delete missing", func() error { return h.svc.DeleteFolder(ctx, bob, "Play") }, mail.ErrNotFound},
		{"delete bad", func() error { return h.svc.DeleteFolder(ctx, bob, "") }, mail.ErrBadFolder},
		{"another owner's folder", func() error { return h.svc.DeleteFolder(ctx, h.alice.ID, "Work") }, mail.ErrNotFound},
	} {
		if err := tc.fn(); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if want := []mail.Folder{"Work/2025", "Work"}; !reflect.DeepEqual(h.store.createArgs, want) {
		t.Errorf("store.CreateFolder got %q, want %q: only existence is the store's to judge", h.store.createArgs, want)
	}
	fs, err := h.svc.Folders(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	var names []mail.Folder
	for _, f := range fs {
		names = append(names, f.Name)
	}
	if want := []mail.Folder{"inbox", "sent", "drafts", "trash", "Work", "Work/2025"}; !reflect.DeepEqual(names, want) {
		t.Errorf("Folders = %q, want %q", names, want)
	}
	if err := h.svc.RenameFolder(ctx, bob, "Work", "Job"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Folder(ctx, bob, "Job/2025"); err != nil {
		t.Errorf("child after rename: %v", err)
	}
	if err := h.svc.DeleteFolder(ctx, bob, "job"); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("user folder names are case-sensitive: DeleteFolder(job) = %v", err)
	}
}

func TestListNormalisesFolder(t *testing.T) {
	h := newHarness(t, 0)
	if _, err := h.svc.List(context.Background(), h.bob.ID, "INBOX", 0, 5); err != nil {
		t.Fatal(err)
	}
	if got := h.store.listArgs[0].folder; got != mail.Inbox {
		t.Errorf("store.List got folder %q, want inbox", got)
	}
}

// UIDs only grow in a folder, whatever brings an entry in (RFC 9051 §2.3.1.1).
func TestUIDsGrow(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 0)
	bob := h.bob.ID
	var ids []mail.EntryID
	for range 3 {
		metas, err := deliver(ctx, h.svc, h.alice, []string{"bob"}, []byte(simpleMsg))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, metas[0].ID)
		if metas[1].UID == 0 || metas[0].UID == 0 {
			t.Fatalf("no UID: %+v", metas)
		}
	}
	if _, err := h.svc.CreateFolder(ctx, bob, "Keep"); err != nil {
		t.Fatal(err)
	}
	var last uint32
	check := func(m mail.Meta, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if m.Folder != "Keep" || m.UID <= last {
			t.Fatalf("entry %+v: UID %d after %d", m, m.UID, last)
		}
		last = m.UID
	}
	check(h.svc.Move(ctx, bob, ids[2], "Keep"))
	check(h.svc.Copy(ctx, bob, ids[0], "Keep"))
	m, _, err := h.svc.Append(ctx, bob, "Keep", []byte(simpleMsg), 0, time.Time{})
	check(m, err)
	uids, _ := h.svc.UIDs(ctx, bob, "Keep")
	if _, err := h.svc.SetFlags(ctx, bob, uids[len(uids)-1].ID, mail.FlagsAdd, mail.FlagDeleted); err != nil {
		t.Fatal(err)
	}
	if got, err := h.svc.Expunge(ctx, bob, "Keep", nil); err != nil || !reflect.DeepEqual(got, []uint32{last}) {
		t.Fatalf("Expunge = %v, %v; want [%d]", got, err, last)
	}
	check(h.svc.Move(ctx, bob, ids[1], "Keep"))
	if _, err := h.svc.Move(ctx, bob, ids[2], "Keep"); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("Move of an entry moved away = %v, want ErrNotFound", err)
	}
	if _, err := h.svc.Move(ctx, h.alice.ID, ids[0], "Keep"); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("Move of another owner's entry = %v, want ErrNotFound", err)
	}
	if _, err := h.svc.Move(ctx, bob, ids[0], "Nowhere"); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("Move to a missing folder = %v, want ErrNotFound", err)
	}
	if _, err := h.svc.Copy(ctx, bob, ids[0], "x//y"); !errors.Is(err, mail.ErrBadFolder) {
		t.Errorf("Copy to a bad name = %v, want ErrBadFolder", err)
	}
}

func TestMoveNotifies(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 0)
	metas, _ := deliver(ctx, h.svc, h.alice, []string{"bob"}, []byte(simpleMsg))
	ts, err := h.svc.MoveEntries(ctx, h.bob.ID, []mail.EntryID{metas[0].ID, 999, metas[1].ID}, mail.Trash)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].From != metas[0].ID || ts[0].FromUID != metas[0].UID || ts[0].To.Folder != mail.Trash {
		t.Fatalf("MoveEntries = %+v: want bob's one entry (999 and alice's are skipped)", ts)
	}
	if last := h.notes.calls[len(h.notes.calls)-1]; len(last) != 1 || last[0].ID != ts[0].To.ID {
		t.Errorf("notified %+v, want the moved entry", last)
	}
}

func TestAppend(t *testing.T) {
	ctx := context.Background()
	date := time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("Z", 3600))
	raw := "From: Bob <BOB@localhost>\r\nTo: carol@localhost\r\nCc: dave@localhost\r\n" +
		"Message-ID: <x1@localhost>\r\nSubject: =?UTF-8?B?w6k=?=\r\n\r\nhello there\r\n"
	h := newHarness(t, 1000)
	m, existed, err := h.svc.Append(ctx, h.bob.ID, "Drafts", []byte(raw), mail.FlagDraft|mail.FlagSeen, date)
	if err != nil || existed {
		t.Fatalf("Append = %+v, %v, %v", m, existed, err)
	}
	want := mail.Meta{ID: m.ID, Owner: h.bob.ID, Folder: mail.Drafts, From: "bob@localhost",
		To: []string{"carol@localhost", "dave@localhost"}, Subject: "é", Preview: "hello there",
		Date: date.UTC(), Size: int64(len(raw)), Seen: true, UID: 1, Flags: mail.FlagDraft | mail.FlagSeen,
		MessageID: "<x1@localhost>"}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Append = %+v, want %+v", m, want)
	}
	if h.store.appendArgs[0].dedup {
		t.Error("dedup asked outside Sent")
	}
	if len(h.notes.calls) != 1 {
		t.Errorf("Append notified %d times, want 1", len(h.notes.calls))
	}

	// Sent: the Message-ID Mailroom filed already is not stored twice.
	sent, err := deliver(ctx, h.svc, h.bob, []string{"carol"}, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if sent[1].Folder != mail.Sent || sent[1].MessageID != "<x1@localhost>" {
		t.Fatalf("sent copy %+v lacks the Message-ID", sent[1])
	}
	notes := len(h.notes.calls)
	got, existed, err := h.svc.Append(ctx, h.bob.ID, "SENT", []byte(raw), mail.FlagSeen, time.Time{})
	if err != nil || !existed || got.ID != sent[1].ID {
		t.Errorf("Append to Sent = %+v, %v, %v; want the existing entry %d", got, existed, err, sent[1].ID)
	}
	if len(h.notes.calls) != notes {
		t.Error("a deduplicated Append notified")
	}
	noID := "Subject: no id\r\n\r\nx\r\n"
	if _, existed, err := h.svc.Append(ctx, h.bob.ID, mail.Sent, []byte(noID), 0, time.Time{}); err != nil || existed {
		t.Errorf("Append without Message-ID = %v, %v", existed, err)
	}
	if a := h.store.appendArgs[len(h.store.appendArgs)-1]; a.dedup || !a.msg.Received.Equal(testNow) {
		t.Errorf("Append without Message-ID or date: dedup %v, received %v", a.dedup, a.msg.Received)
	}

	for _, tc := range []struct {
		name   string
		folder mail.Folder
		raw    string
		flags  mail.Flags
		want   error
	}{
		{"too large", mail.Inbox, strings.Repeat("x", 1001), 0, mail.ErrTooLarge},
		{"bad folder", "a//b", "x", 0, mail.ErrBadFolder},
		{"missing folder", "Nope", "x", 0, mail.ErrNotFound},
		{"bad flags", mail.Inbox, "x", 1 << 7, mail.ErrBadFlags},
	} {
		if _, _, err := h.svc.Append(ctx, h.bob.ID, tc.folder, []byte(tc.raw), tc.flags, time.Time{}); !errors.Is(err, tc.want) {
			t.Errorf("%s: Append = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestSetFlags(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 0)
	metas, _ := deliver(ctx, h.svc, h.alice, []string{"bob"}, []byte(simpleMsg))
	id := metas[0].ID
	if f, err := h.svc.SetFlags(ctx, h.bob.ID, id, mail.FlagsAdd, mail.FlagFlagged|mail.FlagSeen); err != nil || f != mail.FlagFlagged|mail.FlagSeen {
		t.Fatalf("SetFlags = %v, %v", f, err)
	}
	if total, unseen, _ := h.svc.Count(ctx, h.bob.ID, mail.Inbox); total != 1 || unseen != 0 {
		t.Errorf("Count after \\Seen = %d, %d", total, unseen)
	}
	if f, err := h.svc.SetFlags(ctx, h.bob.ID, id, mail.FlagsRemove, mail.FlagSeen); err != nil || f != mail.FlagFlagged {
		t.Errorf("SetFlags remove = %v, %v", f, err)
	}
	if m, _ := h.svc.Fetch(ctx, h.bob.ID, id); m.Seen {
		t.Error("Seen still set")
	}
	for _, tc := range []struct {
		name  string
		owner account.ID
		op    mail.FlagOp
		flags mail.Flags
		want  error
	}{
		{"another owner", h.alice.ID, mail.FlagsAdd, mail.FlagSeen, mail.ErrNotFound},
		{"unknown flag", h.bob.ID, mail.FlagsAdd, 1 << 6, mail.ErrBadFlags},
		{"unknown op", h.bob.ID, 9, mail.FlagSeen, mail.ErrBadFlags},
	} {
		if _, err := h.svc.SetFlags(ctx, tc.owner, id, tc.op, tc.flags); !errors.Is(err, tc.want) {
			t.Errorf("%s: SetFlags = %v, want %v", tc.name, err, tc.want)
		}
	}
	if got, err := h.svc.StoreFlags(ctx, h.bob.ID, nil, mail.FlagsAdd, mail.FlagSeen); err != nil || got != nil {
		t.Errorf("StoreFlags of nothing = %v, %v", got, err)
	}
}

func TestDeliverFillsMessageID(t *testing.T) {
	h := newHarness(t, 0)
	raw := "Message-ID:  <abc@x.org> \r\nSubject: s\r\n\r\nb\r\n"
	metas, err := deliver(context.Background(), h.svc, h.alice, []string{"bob"}, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if h.store.msgs[0].MessageID != "<abc@x.org>" {
		t.Errorf("NewMessage.MessageID = %q", h.store.msgs[0].MessageID)
	}
	if sent := metas[1]; !sent.Seen || sent.Flags != mail.FlagSeen {
		t.Errorf("sent copy flags %v, seen %v: want \\Seen", sent.Flags, sent.Seen)
	}
	long := "Message-ID: <" + strings.Repeat("x", mail.MaxMessageIDBytes) + ">\r\n\r\n"
	if got := mail.ParseHeader([]byte(long)).MessageID; got != "" {
		t.Errorf("an overlong Message-ID was kept (%d bytes)", len(got))
	}
}
