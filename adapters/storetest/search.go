package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

var searchTests = []test{
	{"SearchIsolation", testSearchIsolation},
	{"SearchOperators", testSearchOperators},
	{"SearchFollowsEntries", testSearchFollowsEntries},
	{"SearchHostile", testSearchHostile},
}

// searchMsg is a message with a From, To, subject, body and maybe a file.
func searchMsg(from, to, subject, body, file string, at time.Time) mail.NewMessage {
	var b strings.Builder
	b.WriteString("From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMIME-Version: 1.0\r\n")
	if file == "" {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n")
	} else {
		b.WriteString("Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\n" + body +
			"\r\n--zz\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"" + file +
			"\"\r\n\r\nAAAA\r\n--zz--\r\n")
	}
	raw := []byte(b.String())
	return mail.NewMessage{Raw: raw, From: "bounce@localhost", Subject: subject, Preview: mail.Preview(raw), Received: at}
}

// put delivers msg to owner's folder and gives its entry.
func put(t *testing.T, s Store, owner account.ID, folder mail.Folder, msg mail.NewMessage) mail.Meta {
	t.Helper()
	m, err := s.Deliver(context.Background(), msg, []mail.NewEntry{{Owner: owner, Folder: folder, To: []string{"x@localhost"}}})
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	return m[0]
}

// search runs query for owner and gives the ids found.
func search(t *testing.T, s Store, owner account.ID, query string) []mail.EntryID {
	t.Helper()
	q, err := mail.ParseQuery(query)
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", query, err)
	}
	got, err := s.Search(context.Background(), owner, q, 0, mail.MaxLimit)
	if err != nil {
		t.Fatalf("Search(%q): %v", query, err)
	}
	for _, m := range got {
		if m.Owner != owner {
			t.Fatalf("Search(%q) for %d gave %d's entry %d", query, owner, m.Owner, m.ID)
		}
	}
	return ids(got)
}

func wantIDs(t *testing.T, query string, got []mail.EntryID, want ...mail.EntryID) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("Search(%q) = %v, want %v", query, got, want)
	}
}

func testSearchIsolation(t *testing.T, s Store) {
	a, b := mkAccount(t, s, "ann"), mkAccount(t, s, "ben")
	ma := put(t, s, a.ID, mail.Inbox, searchMsg("x@y", "ann@localhost", "pineapple", "ann's note", "", t0))
	mb := put(t, s, b.ID, mail.Inbox, searchMsg("x@y", "ben@localhost", "pineapple", "ben's note", "", t0))
	wantIDs(t, "pineapple", search(t, s, a.ID, "pineapple"), ma.ID)
	wantIDs(t, "pineapple", search(t, s, b.ID, "pineapple"), mb.ID)
	wantIDs(t, "ben", search(t, s, a.ID, "ben"))
	// One message in both inboxes: each finds only their own entry.
	both, err := s.Deliver(context.Background(), searchMsg("x@y", "ann@localhost", "shared kiwi", "", "", t0),
		[]mail.NewEntry{{Owner: a.ID, Folder: mail.Inbox}, {Owner: b.ID, Folder: mail.Inbox}})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "kiwi", search(t, s, a.ID, "kiwi"), both[0].ID)
	wantIDs(t, "kiwi", search(t, s, b.ID, "kiwi"), both[1].ID)
}

func testSearchOperators(t *testing.T, s Store) {
	ctx := context.Background()
	a := mkAccount(t, s, "ann")
	jan, feb := time.Date(2024, 1, 15, 9, 0, 0, 0, time.UTC), time.Date(2024, 2, 15, 9, 0, 0, 0, time.UTC)
	m1 := put(t, s, a.ID, mail.Inbox, searchMsg("Carol Jones <carol@example.com>", "ann@localhost", "Quarterly report",
		"The quick brown fox jumps over the lazy dog", "figures.xlsx", jan))
	m2 := put(t, s, a.ID, mail.Inbox, searchMsg("dave@example.org", "Ann <ann@localhost>", "Lunch",
		"brown bread and a quick lunch", "", feb))
	mustCreate(t, s, a.ID, "work")
	m3 := put(t, s, a.ID, "work", searchMsg("carol@example.com", "ann@localhost", "Report draft", "quick notes", "", feb))
	if _, err := s.SetFlags(ctx, a.ID, []mail.EntryID{m1.ID}, mail.FlagsAdd, mail.FlagSeen|mail.FlagFlagged); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		q    string
		want []mail.EntryID
	}{
		{"quick", []mail.EntryID{m3.ID, m2.ID, m1.ID}},
		{"quick brown", []mail.EntryID{m2.ID, m1.ID}},
		{`"quick brown"`, []mail.EntryID{m1.ID}},
		{`"brown quick"`, nil},
		{"repo", []mail.EntryID{m3.ID, m1.ID}}, // prefix on the last word
		{"repo quick", nil},                    // only the last word is a prefix
		{"report quick", []mail.EntryID{m3.ID, m1.ID}},
		{"report quick -subject:quarterly", []mail.EntryID{m3.ID}},
		{"from:carol", []mail.EntryID{m3.ID, m1.ID}},
		{"from:carol@example.com", []mail.EntryID{m3.ID, m1.ID}},
		{"from:jones", []mail.EntryID{m1.ID}},
		{"to:ann", []mail.EntryID{m3.ID, m2.ID, m1.ID}},
		{"subject:lunch", []mail.EntryID{m2.ID}},
		{"subject:quick", nil},
		{"in:work quick", []mail.EntryID{m3.ID}},
		{"in:inbox", []mail.EntryID{m2.ID, m1.ID}},
		{"is:unread quick", []mail.EntryID{m3.ID, m2.ID}},
		{"is:flagged", []mail.EntryID{m1.ID}},
		{"has:attachment", []mail.EntryID{m1.ID}},
		{"figures", []mail.EntryID{m1.ID}}, // a file name
		{"quick before:2024-02-01", []mail.EntryID{m1.ID}},
		{"quick after:2024-02-01", []mail.EntryID{m3.ID, m2.ID}},
		{"quick -lunch", []mail.EntryID{m3.ID, m1.ID}},
		{"-quick", nil},
		{"-from:carol", []mail.EntryID{m2.ID}},
	}
	for _, c := range cases {
		wantIDs(t, c.q, search(t, s, a.ID, c.q), c.want...)
	}
	// Paging: before and limit as List.
	q, _ := mail.ParseQuery("quick")
	page, err := s.Search(ctx, a.ID, q, m3.ID, 1)
	if err != nil || !slices.Equal(ids(page), []mail.EntryID{m2.ID}) {
		t.Errorf("Search(quick, before %d, 1) = %v, %v; want [%d]", m3.ID, ids(page), err, m2.ID)
	}
	if page[0].Subject != "Lunch" || page[0].Folder != mail.Inbox || page[0].Date != feb {
		t.Errorf("meta = %+v", page[0])
	}
	q.Folder = "nope"
	if _, err := s.Search(ctx, a.ID, q, 0, 10); !errors.Is(err, mail.ErrNoSuchFolder) {
		t.Errorf("Search in a missing folder: %v, want ErrNoSuchFolder", err)
	}
}

func testSearchFollowsEntries(t *testing.T, s Store) {
	ctx := context.Background()
	a := mkAccount(t, s, "ann")
	m := put(t, s, a.ID, mail.Inbox, searchMsg("x@y", "ann@localhost", "walrus", "", "", t0))
	gone := put(t, s, a.ID, mail.Inbox, searchMsg("x@y", "ann@localhost", "narwhal", "", "", t0))
	mustCreate(t, s, a.ID, "zoo")
	tr, err := s.Transfer(ctx, a.ID, []mail.EntryID{m.ID}, "zoo", true)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "walrus", search(t, s, a.ID, "walrus"), tr[0].To.ID)
	wantIDs(t, "in:zoo walrus", search(t, s, a.ID, "in:zoo walrus"), tr[0].To.ID)
	wantIDs(t, "in:inbox walrus", search(t, s, a.ID, "in:inbox walrus"))
	cp, err := s.Transfer(ctx, a.ID, []mail.EntryID{tr[0].To.ID}, mail.Inbox, false)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "walrus", search(t, s, a.ID, "walrus"), cp[0].To.ID, tr[0].To.ID)
	if err := s.Delete(ctx, a.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "narwhal", search(t, s, a.ID, "narwhal"))
	if _, err := s.SetFlags(ctx, a.ID, []mail.EntryID{cp[0].To.ID}, mail.FlagsAdd, mail.FlagDeleted); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Expunge(ctx, a.ID, mail.Inbox, nil); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "walrus", search(t, s, a.ID, "walrus"), tr[0].To.ID)
	// Appended messages are indexed too.
	ap, _, err := s.Append(ctx, searchMsg("x@y", "ann@localhost", "dugong", "", "", t0), mail.NewEntry{Owner: a.ID, Folder: "zoo"}, false)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "dugong", search(t, s, a.ID, "dugong"), ap.ID)
}

// testSearchHostile: whatever ParseQuery lets through, the store runs.
func testSearchHostile(t *testing.T, s Store) {
	a := mkAccount(t, s, "ann")
	put(t, s, a.ID, mail.Inbox, searchMsg("x@y", "ann@localhost", `a "quoted" OR NEAR(x) it's *`, "body", "", t0))
	for _, in := range []string{`"`, `*`, `OR`, `a OR b`, `NEAR(`, `NEAR(x y)`, `'`, "it's", "\x00", `(`, `)`, `quoted*`,
		`"unterminated`, `AND`, `NOT`, `-NOT`, `from:"`, `subject:'`, `{subject}`, `^a`, `x:y`, `a + b`,
		strings.Repeat("a", 5000), strings.Repeat("ab ", 300)} {
		q, err := mail.ParseQuery(in)
		if err != nil {
			if !errors.Is(err, mail.ErrBadQuery) {
				t.Errorf("ParseQuery(%.30q): %v", in, err)
			}
			continue
		}
		if _, err := s.Search(context.Background(), a.ID, q, 0, 10); err != nil {
			t.Errorf("Search(%.30q): %v", in, err)
		}
	}
}
