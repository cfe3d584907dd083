package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

var mailTests = []test{
	{"DeliverStoresOnce", testDeliverStoresOnce},
	{"DeliverAllOrNothing", testDeliverAllOrNothing},
	{"DeliverEmptyMessage", testDeliverEmptyMessage},
	{"ConcurrentDeliveries", testConcurrentDeliveries},
	{"OwnerIsolation", testOwnerIsolation},
	{"SeenAndDelete", testSeenAndDelete},
	{"ConcurrentDeletesOfOneMessage", testConcurrentDeletes},
	{"PagingAndCount", testPagingAndCount},
	{"CountsConsistent", testCountsConsistent},
	{"Previews", testPreviews},
}

func testDeliverStoresOnce(t *testing.T, s Store) {
	ctx := context.Background()
	alice := mkAccount(t, s, "alice")
	rcpts := []account.Account{mkAccount(t, s, "bob"), mkAccount(t, s, "carol"), mkAccount(t, s, "dave")}
	body := bytes.Repeat([]byte("0123456789\r\n"), 1000)
	msg := newMsg("Hi all", body)
	if msg.Preview == "" {
		t.Fatal("test message has no preview")
	}
	entries := []mail.NewEntry{
		{Owner: rcpts[0].ID, Folder: mail.Inbox, To: []string{"bob@localhost", "carol@localhost"}},
		{Owner: rcpts[1].ID, Folder: mail.Inbox, To: []string{"bob@localhost", "carol@localhost"}},
		{Owner: rcpts[2].ID, Folder: mail.Inbox, To: []string{"bob@localhost", "carol@localhost", "dave@localhost"}},
		{Owner: alice.ID, Folder: mail.Sent, To: []string{"bob@localhost", "carol@localhost", "dave@localhost"}, Seen: true},
	}
	metas, err := s.Deliver(ctx, msg, entries)
	if err != nil {
		t.Fatal(err)
	}
	if len(metas) != len(entries) {
		t.Fatalf("%d metas, want %d", len(metas), len(entries))
	}
	for i, m := range metas {
		e := entries[i]
		var flags mail.Flags
		if e.Seen {
			flags = mail.FlagSeen
		}
		want := mail.Meta{
			ID: m.ID, Owner: e.Owner, Folder: e.Folder, From: msg.From, To: e.To,
			Subject: "Hi all", Preview: msg.Preview, Date: t0, Size: int64(len(msg.Raw)), Seen: e.Seen,
			UID: 1, Flags: flags, // each entry is the first in its folder
		}
		if !reflect.DeepEqual(m, want) {
			t.Errorf("meta %d = %+v, want %+v", i, m, want)
		}
		if i > 0 && m.ID <= metas[i-1].ID {
			t.Errorf("ids not increasing: %d after %d", m.ID, metas[i-1].ID)
		}
		got, err := s.Fetch(ctx, e.Owner, m.ID)
		if err != nil {
			t.Fatalf("Fetch %d: %v", m.ID, err)
		}
		if !bytes.Equal(got.Raw, msg.Raw) {
			t.Errorf("Fetch %d: raw differs", m.ID)
		}
		if !reflect.DeepEqual(got.Meta, m) {
			t.Errorf("Fetch %d: meta %+v, want %+v", m.ID, got.Meta, m)
		}
		list, err := s.List(ctx, e.Owner, e.Folder, 0, 10)
		if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], m) {
			t.Errorf("List for owner %d = %+v, %v; want [%+v]", e.Owner, list, err, m)
		}
	}
	if got := count(t, s, "messages"); got != 1 {
		t.Errorf("%d message rows, want 1", got)
	}
	// An entry stored seen does not count as unseen.
	if total, unseen, err := s.Count(ctx, alice.ID, mail.Sent); err != nil || total != 1 || unseen != 0 {
		t.Errorf("sent Count = %d, %d, %v; want 1, 0", total, unseen, err)
	}
	if total, unseen, err := s.Count(ctx, rcpts[0].ID, mail.Inbox); err != nil || total != 1 || unseen != 1 {
		t.Errorf("inbox Count = %d, %d, %v; want 1, 1", total, unseen, err)
	}
}

func testDeliverAllOrNothing(t *testing.T, s Store) {
	ctx := context.Background()
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	deliver(t, s, alice, "before", bob)
	before := counts(t, s)

	tests := []struct {
		name    string
		entries []mail.NewEntry
		wantErr error
	}{
		{"owner does not exist", []mail.NewEntry{
			{Owner: bob.ID, Folder: mail.Inbox},
			{Owner: 999999, Folder: mail.Inbox},
			{Owner: alice.ID, Folder: mail.Sent},
		}, mail.ErrNoSuchRecipient},
		{"bad folder", []mail.NewEntry{
			{Owner: bob.ID, Folder: mail.Inbox},
			{Owner: alice.ID, Folder: "nope"},
		}, mail.ErrBadFolder},
		{"no entries", nil, mail.ErrNoRecipients},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			metas, err := s.Deliver(ctx, newMsg(tt.name, nil), tt.entries)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Deliver = %v, %v; want %v", metas, err, tt.wantErr)
			}
			if got := counts(t, s); got != before {
				t.Errorf("rows %+v, want unchanged %+v", got, before)
			}
			if total, _, err := s.Count(ctx, bob.ID, mail.Inbox); err != nil || total != 1 {
				t.Errorf("bob's inbox Count = %d, %v; want 1", total, err)
			}
		})
	}
}

func testDeliverEmptyMessage(t *testing.T, s Store) {
	ctx := context.Background()
	alice := mkAccount(t, s, "alice")
	metas, err := s.Deliver(ctx, mail.NewMessage{From: "alice@localhost", Received: t0},
		[]mail.NewEntry{{Owner: alice.ID, Folder: mail.Inbox}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Fetch(ctx, alice.ID, metas[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	// Empty, not nil: a caller may tell "no message" from "empty message".
	if got.Raw == nil || len(got.Raw) != 0 || got.Size != 0 || got.To == nil || len(got.To) != 0 {
		t.Errorf("Fetch = %+v (raw %q, nil %v), want an empty message with To = []", got.Meta, got.Raw, got.Raw == nil)
	}
}

func testConcurrentDeliveries(t *testing.T, s Store) {
	const workers, each = 16, 40
	ctx := context.Background()
	var accs []account.Account
	for i := range workers {
		accs = append(accs, mkAccount(t, s, fmt.Sprint("user", i)))
	}
	before := counts(t, s)
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			from, to := accs[w], accs[(w+1)%workers]
			for i := range each {
				_, err := s.Deliver(ctx, newMsg(fmt.Sprint(w, "/", i), []byte("body")), []mail.NewEntry{
					{Owner: to.ID, Folder: mail.Inbox, To: []string{"x"}},
					{Owner: from.ID, Folder: mail.Sent, To: []string{"x"}},
				})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Deliver: %v", err) // a lock error (SQLITE_BUSY, a deadlock) would show here
	}
	want := rowCounts{before.accounts, before.messages + workers*each, before.entries + 2*workers*each}
	if got := counts(t, s); got != want {
		t.Errorf("rows %+v, want %+v", got, want)
	}
	for _, a := range accs {
		total, unseen, err := s.Count(ctx, a.ID, mail.Inbox)
		if err != nil || total != each || unseen != each {
			t.Errorf("Count(%s) = %d, %d, %v; want %d, %d", a.Username, total, unseen, err, each, each)
		}
	}
}

func testOwnerIsolation(t *testing.T, s Store) {
	ctx := context.Background()
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	eve := mkAccount(t, s, "eve")
	metas := deliver(t, s, alice, "private", bob)
	bobs := metas[0]

	tests := []struct {
		name string
		call func() error
	}{
		{"fetch", func() error { _, err := s.Fetch(ctx, eve.ID, bobs.ID); return err }},
		{"seen", func() error { return s.SetSeen(ctx, eve.ID, bobs.ID, true) }},
		{"delete", func() error { return s.Delete(ctx, eve.ID, bobs.ID) }},
		{"sender fetches recipient's copy", func() error { _, err := s.Fetch(ctx, alice.ID, bobs.ID); return err }},
		{"fetch missing", func() error { _, err := s.Fetch(ctx, bob.ID, 999999); return err }},
		{"seen missing", func() error { return s.SetSeen(ctx, bob.ID, 999999, true) }},
		{"delete missing", func() error { return s.Delete(ctx, bob.ID, 999999) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, mail.ErrNotFound) {
				t.Errorf("got %v, want ErrNotFound", err)
			}
		})
	}
	got, err := s.Fetch(ctx, bob.ID, bobs.ID)
	if err != nil || got.Seen {
		t.Fatalf("bob's entry after eve's attempts: %+v, %v", got.Meta, err)
	}
	if list, err := s.List(ctx, eve.ID, mail.Inbox, 0, 10); err != nil || len(list) != 0 {
		t.Errorf("eve's inbox = %+v, %v; want empty", list, err)
	}
}

func testSeenAndDelete(t *testing.T, s Store) {
	ctx := context.Background()
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	metas := deliver(t, s, alice, "hello", bob)
	inbox, sent := metas[0], metas[1]

	for _, seen := range []bool{true, true, false} {
		if err := s.SetSeen(ctx, bob.ID, inbox.ID, seen); err != nil {
			t.Fatalf("SetSeen(%v): %v", seen, err)
		}
		m, err := s.Fetch(ctx, bob.ID, inbox.ID)
		if err != nil || m.Seen != seen {
			t.Fatalf("after SetSeen(%v): %+v, %v", seen, m.Meta, err)
		}
	}

	if err := s.Delete(ctx, bob.ID, inbox.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fetch(ctx, bob.ID, inbox.ID); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("Fetch deleted = %v, want ErrNotFound", err)
	}
	if got := count(t, s, "messages"); got != 1 {
		t.Errorf("%d messages while alice's sent copy remains, want 1", got)
	}
	if err := s.Delete(ctx, alice.ID, sent.ID); err != nil {
		t.Fatal(err)
	}
	if got := count(t, s, "messages"); got != 0 {
		t.Errorf("%d messages after the last entry went, want 0", got)
	}
	if err := s.Delete(ctx, alice.ID, sent.ID); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("Delete again = %v, want ErrNotFound", err)
	}
}

// testConcurrentDeletes deletes every copy of messages at once: whichever
// delete is last must take the message with it, however they interleave.
func testConcurrentDeletes(t *testing.T, s Store) {
	ctx := context.Background()
	var rcpts []account.Account
	for i := range 8 {
		rcpts = append(rcpts, mkAccount(t, s, fmt.Sprint("user", i)))
	}
	var all []mail.Meta
	for range 10 {
		all = append(all, deliver(t, s, rcpts[0], "to all", rcpts...)...)
	}
	var wg sync.WaitGroup
	for _, m := range all {
		wg.Go(func() {
			if err := s.Delete(ctx, m.Owner, m.ID); err != nil {
				t.Errorf("Delete(%d): %v", m.ID, err)
			}
		})
	}
	wg.Wait()
	if got, want := counts(t, s), (rowCounts{len(rcpts), 0, 0}); got != want {
		t.Errorf("rows %+v after deleting every entry, want %+v", got, want)
	}
}

func testPagingAndCount(t *testing.T, s Store) {
	const n = 120
	ctx := context.Background()
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	var inbox []mail.EntryID // bob's inbox, oldest first
	for i := range n {
		inbox = append(inbox, deliver(t, s, alice, fmt.Sprint("m", i), bob)[0].ID)
	}
	for _, id := range inbox[:30] {
		if err := s.SetSeen(ctx, bob.ID, id, true); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name   string
		before mail.EntryID
		limit  int
		want   []mail.EntryID // newest first
	}{
		{"first page", 0, 50, reverse(inbox[n-50:])},
		{"second page", inbox[n-50], 50, reverse(inbox[n-100 : n-50])},
		{"last short page", inbox[n-100], 50, reverse(inbox[:n-100])},
		{"past the end", inbox[0], 50, nil},
		{"limit 1", 0, 1, inbox[n-1:]},
		{"before is exclusive", inbox[10], 3, reverse(inbox[7:10])},
		{"limit 0", 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			metas, err := s.List(ctx, bob.ID, mail.Inbox, tt.before, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(metas); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ids %v, want %v", got, tt.want)
			}
		})
	}

	counts := []struct {
		owner         account.ID
		folder        mail.Folder
		total, unseen int
	}{
		{bob.ID, mail.Inbox, n, n - 30},
		{bob.ID, mail.Sent, 0, 0},
		{alice.ID, mail.Sent, n, n},
		{alice.ID, mail.Inbox, 0, 0},
	}
	for _, c := range counts {
		total, unseen, err := s.Count(ctx, c.owner, c.folder)
		if err != nil || total != c.total || unseen != c.unseen {
			t.Errorf("Count(%d, %s) = %d, %d, %v; want %d, %d", c.owner, c.folder, total, unseen, err, c.total, c.unseen)
		}
	}
}

// testCountsConsistent drives every path that changes entries and checks
// Count against what List shows.
func testCountsConsistent(t *testing.T, s Store) {
	ctx := context.Background()
	var accs []account.Account
	for _, n := range []string{"a", "b", "c", "d"} {
		accs = append(accs, mkAccount(t, s, n))
	}
	var all []mail.Meta
	for i := range 40 {
		from := accs[i%4]
		all = append(all, deliver(t, s, from, "m", accs[(i+1)%4], accs[(i+2)%4])...)
	}
	for i, m := range all {
		var steps []func() error
		seen := func(v bool) func() error { return func() error { return s.SetSeen(ctx, m.Owner, m.ID, v) } }
		del := func() error { return s.Delete(ctx, m.Owner, m.ID) }
		switch i % 5 {
		case 0:
			steps = append(steps, seen(true))
		case 1:
			steps = append(steps, seen(true), seen(false))
		case 2:
			steps = append(steps, seen(true), del)
		case 3:
			steps = append(steps, del)
		}
		for _, step := range steps {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.DeleteAccount(ctx, accs[3].ID); err != nil {
		t.Fatal(err)
	}
	for _, a := range accs {
		for _, f := range []mail.Folder{mail.Inbox, mail.Sent} {
			list, err := s.List(ctx, a.ID, f, 0, mail.MaxLimit)
			if a == accs[3] {
				// A deleted account has no folders left.
				if _, _, cerr := s.Count(ctx, a.ID, f); !errors.Is(err, mail.ErrNotFound) || !errors.Is(cerr, mail.ErrNotFound) {
					t.Errorf("deleted account: List, Count(%s) = %v, %v; want ErrNotFound", f, err, cerr)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			wantUnseen := 0
			for _, m := range list {
				if !m.Seen {
					wantUnseen++
				}
			}
			total, unseen, err := s.Count(ctx, a.ID, f)
			if err != nil || total != len(list) || unseen != wantUnseen {
				t.Errorf("Count(%s, %s) = %d, %d, %v; List says %d, %d", a.Username, f, total, unseen, err, len(list), wantUnseen)
			}
		}
	}
}

func testPreviews(t *testing.T, s Store) {
	ctx := context.Background()
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	withText := newMsg("lunch", []byte("Are you free\r\nat noon?\r\n"))
	noText := newMsg("empty", nil)
	if withText.Preview != "Are you free at noon?" || noText.Preview != "" {
		t.Fatalf("previews %q, %q", withText.Preview, noText.Preview)
	}
	for _, msg := range []mail.NewMessage{withText, noText} {
		metas, err := s.Deliver(ctx, msg, []mail.NewEntry{
			{Owner: bob.ID, Folder: mail.Inbox, To: []string{"bob@localhost"}},
			{Owner: alice.ID, Folder: mail.Sent, To: []string{"bob@localhost"}, Seen: true},
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range metas {
			if m.Preview != msg.Preview {
				t.Errorf("%s: Deliver meta %d preview %q, want %q", msg.Subject, i, m.Preview, msg.Preview)
			}
		}
		in := metas[0]
		if got, err := s.Fetch(ctx, bob.ID, in.ID); err != nil || got.Preview != msg.Preview {
			t.Errorf("%s: Fetch preview %q, %v; want %q", msg.Subject, got.Preview, err, msg.Preview)
		}
		if list, err := s.List(ctx, bob.ID, mail.Inbox, 0, 1); err != nil || len(list) != 1 || list[0].Preview != msg.Preview {
			t.Errorf("%s: List = %+v, %v; want preview %q", msg.Subject, list, err, msg.Preview)
		}
	}
}
