package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

func TestChunks(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 11, 12, 33, 64, 100} {
		var sizes []int
		next := 0
		chunks(n, func(lo, hi int) error {
			if lo != next {
				t.Fatalf("n=%d: chunk from %d, want %d", n, lo, next)
			}
			sizes = append(sizes, hi-lo)
			next = hi
			return nil
		})
		if next != n {
			t.Errorf("n=%d: chunks %v cover %d", n, sizes, next)
		}
	}
}

// TestDeliverManyEntries delivers more entries than one statement holds,
// several to one folder, and checks what the per-entry trigger used to
// keep: UIDs per folder, counts, and one change-log row per entry in id
// order.
func TestDeliverManyEntries(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	var accs []account.Account
	for i := range 5 {
		accs = append(accs, mkAccount(t, s, fmt.Sprint("user", i)))
	}
	deliver(t, s, accs[0], "before", accs[1]) // UIDs do not start at 1 for everyone
	seq0 := count(t, s, "changes")

	var entries []mail.NewEntry
	for i := range 45 { // 9 entries in each of 5 inboxes, interleaved
		entries = append(entries, mail.NewEntry{Owner: accs[i%5].ID, Folder: mail.Inbox, To: []string{"x@localhost"}, Seen: i%4 == 0})
	}
	entries = append(entries, mail.NewEntry{Owner: accs[0].ID, Folder: mail.Sent})
	metas, err := s.Deliver(ctx, newMsg("many", []byte("body\r\n")), entries)
	if err != nil {
		t.Fatal(err)
	}
	nextUID := map[account.ID]uint32{accs[1].ID: 2}
	for i, m := range metas {
		if i > 0 && m.ID != metas[i-1].ID+1 {
			t.Fatalf("entry %d: id %d after %d", i, m.ID, metas[i-1].ID)
		}
		if m.Folder == mail.Sent {
			continue
		}
		want := max(nextUID[m.Owner], 1)
		if m.UID != want {
			t.Errorf("entry %d of owner %d: UID %d, want %d", i, m.Owner, m.UID, want)
		}
		nextUID[m.Owner] = want + 1
	}
	for _, a := range accs {
		uids, err := s.UIDs(ctx, a.ID, mail.Inbox)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := s.Folder(ctx, a.ID, mail.Inbox)
		unseen := 0
		for _, u := range uids {
			if !u.Flags.Has(mail.FlagSeen) {
				unseen++
			}
		}
		if err != nil || fi.Total != len(uids) || fi.Unseen != unseen || fi.UIDNext != uids[len(uids)-1].UID+1 {
			t.Errorf("%s's inbox %+v, %v; want %d total, %d unseen, UIDNext %d", a.Username, fi, err, len(uids), unseen, uids[len(uids)-1].UID+1)
		}
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT seq, owner, folder, uid, entry_id, kind, flags FROM changes WHERE seq > ? ORDER BY seq`, seq0)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for ; rows.Next(); i++ {
		var seq, owner, id int64
		var folder string
		var uid uint32
		var kind, flags int
		if err := rows.Scan(&seq, &owner, &folder, &uid, &id, &kind, &flags); err != nil {
			t.Fatal(err)
		}
		m := metas[i]
		if owner != int64(m.Owner) || folder != string(m.Folder) || uid != m.UID || id != int64(m.ID) || kind != 1 || flags != int(m.Flags) {
			t.Errorf("change %d = %d %s %d %d kind %d flags %d; want %+v", seq, owner, folder, uid, id, kind, flags, m)
		}
	}
	if i != len(metas) {
		t.Errorf("%d change rows, want %d", i, len(metas))
	}
}

func TestDeliverMissingFolderStoresNothing(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	alice := mkAccount(t, s, "alice")
	before := counts(t, s)
	_, err := s.Deliver(ctx, newMsg("x", nil), []mail.NewEntry{{Owner: alice.ID, Folder: mail.Inbox}, {Owner: alice.ID, Folder: "Nope"}})
	if !errors.Is(err, mail.ErrBadFolder) {
		t.Fatalf("Deliver to a missing folder = %v, want ErrBadFolder", err)
	}
	_, err = s.Deliver(ctx, newMsg("x", nil), []mail.NewEntry{{Owner: alice.ID, Folder: mail.Inbox}, {Owner: 999, Folder: mail.Inbox}})
	if !errors.Is(err, mail.ErrNoSuchRecipient) {
		t.Fatalf("Deliver to a missing account = %v, want ErrNoSuchRecipient", err)
	}
	if got := counts(t, s); got != before {
		t.Errorf("rows %+v after failed deliveries, want %+v", got, before)
	}
	if fi, _ := s.Folder(ctx, alice.ID, mail.Inbox); fi.UIDNext != 1 || fi.Total != 0 {
		t.Errorf("inbox after failed deliveries: %+v", fi)
	}
}

func TestInsertPlans(t *testing.T) {
	s := newStore(t)
	plan := queryPlan(t, s, foldersByKeySQL(2), 1, "inbox", 2, "sent")
	if strings.Count(plan, "SEARCH folders USING INDEX sqlite_autoindex_folders_1 (owner=? AND name=?)") != 2 || strings.Contains(plan, "SCAN") {
		t.Errorf("folders by key plan:\n%s", plan)
	}
	plan = queryPlan(t, s, strings.TrimPrefix(logNewSQL, "INSERT INTO changes (owner, folder, uidvalidity, uid, entry_id, kind, flags)\n"), 1, 5)
	if !strings.Contains(plan, "SEARCH e USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)") || strings.Contains(plan, "SCAN") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("change log plan:\n%s", plan)
	}
}
