package mail_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// ---- fakes ----

// accountStore is just enough account.Store for the real account.Service,
// which the mail service uses to resolve recipients.
type accountStore struct {
	byName  map[account.Username]account.Account
	lookups int // AccountByName calls
	failAll error
}

func (s *accountStore) add(name string) account.Account {
	a := account.Account{ID: account.ID(len(s.byName) + 1), Username: account.Username(name)}
	s.byName[a.Username] = a
	return a
}

func (s *accountStore) AccountByName(_ context.Context, n account.Username) (account.Account, error) {
	s.lookups++
	if s.failAll != nil {
		return account.Account{}, s.failAll
	}
	if a, ok := s.byName[n]; ok {
		return a, nil
	}
	return account.Account{}, account.ErrNoSuchUser
}

func (s *accountStore) CreateAccount(context.Context, account.Username, string, time.Time) (account.Account, error) {
	panic("unused")
}
func (s *accountStore) AccountByID(context.Context, account.ID) (account.Account, error) {
	panic("unused")
}
func (s *accountStore) Accounts(context.Context) ([]account.Account, error) { panic("unused") }
func (s *accountStore) SetPasswordHash(context.Context, account.ID, string) error {
	panic("unused")
}
func (s *accountStore) DeleteAccount(context.Context, account.ID) error { panic("unused") }

type nopHasher struct{}

func (nopHasher) Hash(context.Context, string) (string, error)         { return "", nil }
func (nopHasher) Verify(context.Context, string, string) (bool, error) { return false, nil }

// mailStore is an in-memory mail.Store that enforces ownership.
type mailStore struct {
	msgs        []mail.NewMessage
	entries     map[mail.EntryID]*mail.Message
	nextID      mail.EntryID
	folders     map[account.ID]map[mail.Folder]*mail.FolderInfo
	validity    map[account.ID]uint32 // the last UIDValidity given
	createArgs  []mail.Folder
	appendArgs  []appendCall
	deliverArgs [][]mail.NewEntry
	listArgs    []listCall
	failDeliver error
	searchArgs  []mail.Query
}

type listCall struct {
	owner  account.ID
	folder mail.Folder
	before mail.EntryID
	limit  int
}

func newMailStore() *mailStore {
	return &mailStore{
		entries:  map[mail.EntryID]*mail.Message{},
		folders:  map[account.ID]map[mail.Folder]*mail.FolderInfo{},
		validity: map[account.ID]uint32{},
	}
}

func (s *mailStore) Deliver(_ context.Context, msg mail.NewMessage, entries []mail.NewEntry) ([]mail.Meta, error) {
	s.deliverArgs = append(s.deliverArgs, entries)
	if s.failDeliver != nil {
		return nil, s.failDeliver
	}
	for _, e := range entries {
		if _, err := s.folder(e.Owner, e.Folder); err != nil {
			return nil, mail.ErrBadFolder
		}
	}
	s.msgs = append(s.msgs, msg)
	var metas []mail.Meta
	for _, e := range entries {
		metas = append(metas, s.add(msg, e))
	}
	return metas, nil
}

func (s *mailStore) List(_ context.Context, owner account.ID, f mail.Folder, before mail.EntryID, limit int) ([]mail.Meta, error) {
	s.listArgs = append(s.listArgs, listCall{owner, f, before, limit})
	_, err := s.folder(owner, f)
	return nil, err
}

func (s *mailStore) own(owner account.ID, id mail.EntryID) (*mail.Message, error) {
	if m, ok := s.entries[id]; ok && m.Owner == owner {
		return m, nil
	}
	return nil, mail.ErrNotFound
}

func (s *mailStore) Fetch(_ context.Context, owner account.ID, id mail.EntryID) (mail.Message, error) {
	m, err := s.own(owner, id)
	if err != nil {
		return mail.Message{}, err
	}
	return *m, nil
}

func (s *mailStore) SetSeen(_ context.Context, owner account.ID, id mail.EntryID, seen bool) error {
	m, err := s.own(owner, id)
	if err == nil {
		op := mail.FlagsRemove
		if seen {
			op = mail.FlagsAdd
		}
		s.setFlags(m, op.Apply(m.Flags, mail.FlagSeen))
	}
	return err
}

func (s *mailStore) Delete(_ context.Context, owner account.ID, id mail.EntryID) error {
	m, err := s.own(owner, id)
	if err == nil {
		s.remove(m)
	}
	return err
}

func (s *mailStore) Count(_ context.Context, owner account.ID, f mail.Folder) (total, unseen int, err error) {
	fi, err := s.folder(owner, f)
	if err != nil {
		return 0, 0, err
	}
	return fi.Total, fi.Unseen, nil
}

// notifier records each call and how many entries the store held then.
type notifier struct {
	store       *mailStore
	calls       [][]mail.Meta
	storedAtCal []int
}

func (n *notifier) Notify(metas []mail.Meta) {
	n.calls = append(n.calls, metas)
	n.storedAtCal = append(n.storedAtCal, len(n.store.entries))
}

// ---- harness ----

var testNow = time.Date(2025, 6, 7, 8, 9, 10, 0, time.FixedZone("Y", -5*3600))

type harness struct {
	svc                           *mail.Service
	accounts                      *accountStore
	store                         *mailStore
	notes                         *notifier
	alice, bob, carol, dave, erin account.Account
	users                         []account.Account // u000 ... u119
}

func newHarness(t *testing.T, maxBytes int64) *harness {
	t.Helper()
	as := &accountStore{byName: map[account.Username]account.Account{}}
	h := &harness{store: newMailStore(), accounts: as}
	h.alice, h.bob, h.carol, h.dave, h.erin = as.add("alice"), as.add("bob"), as.add("carol"), as.add("dave"), as.add("erin")
	for i := range 120 {
		h.users = append(h.users, as.add(fmt.Sprintf("u%03d", i)))
	}
	accounts := account.NewService(as, nopHasher{}, account.Config{Domain: "localhost"}, nil)
	h.notes = &notifier{store: h.store}
	h.svc = mail.NewService(h.store, accounts, h.notes, mail.Config{MaxMessageBytes: maxBytes},
		func() time.Time { return testNow })
	return h
}

func addrs(as ...account.Account) []string {
	var out []string
	for _, a := range as {
		out = append(out, string(a.Username)+"@localhost")
	}
	return out
}

const simpleMsg = "From: alice@localhost\r\nTo: bob@localhost\r\nSubject: hi\r\n\r\nbody\r\n"

// ---- Deliver ----

// deliver is what the removed Service.Deliver did: an envelope filled with
// rcpts, then DeliverEnvelope.
func deliver(ctx context.Context, svc *mail.Service, sender account.Account, rcpts []string, raw []byte) ([]mail.Meta, error) {
	env := svc.NewEnvelope(sender)
	for _, r := range rcpts {
		if _, err := env.Add(ctx, r); err != nil {
			return nil, err
		}
	}
	return svc.DeliverEnvelope(ctx, env, raw)
}

func TestDeliverCopies(t *testing.T) {
	h := newHarness(t, 0)
	metas, err := deliver(context.Background(), h.svc, h.alice, []string{"bob", "carol@localhost"}, []byte(simpleMsg))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.store.deliverArgs) != 1 {
		t.Fatalf("store.Deliver called %d times, want 1", len(h.store.deliverArgs))
	}
	want := []struct {
		owner  account.ID
		folder mail.Folder
	}{{h.bob.ID, mail.Inbox}, {h.carol.ID, mail.Inbox}, {h.alice.ID, mail.Sent}}
	entries := h.store.deliverArgs[0]
	if len(entries) != len(want) || len(metas) != len(want) {
		t.Fatalf("%d entries, %d metas; want %d", len(entries), len(metas), len(want))
	}
	for i, w := range want {
		if entries[i].Owner != w.owner || entries[i].Folder != w.folder {
			t.Errorf("entry %d = %d/%s, want %d/%s", i, entries[i].Owner, entries[i].Folder, w.owner, w.folder)
		}
		// The sender has read what they sent; the recipients have not.
		if wantSeen := w.folder == mail.Sent; entries[i].Seen != wantSeen {
			t.Errorf("entry %d (%s) seen = %v, want %v", i, w.folder, entries[i].Seen, wantSeen)
		}
		m := metas[i]
		if m.Owner != w.owner || m.Folder != w.folder {
			t.Errorf("meta %d = %d/%s, want %d/%s", i, m.Owner, m.Folder, w.owner, w.folder)
		}
	}
	msg := h.store.msgs[0]
	if msg.From != "alice@localhost" {
		t.Errorf("From = %q, want alice@localhost", msg.From)
	}
	if !msg.Received.Equal(testNow) {
		t.Errorf("Received = %v, want %v", msg.Received, testNow)
	}
	if msg.Subject != "hi" || string(msg.Raw) != simpleMsg {
		t.Errorf("message = %+v", msg)
	}
}

func TestDeliverRecipients(t *testing.T) {
	h := newHarness(t, 0)
	hundred := addrs(h.users[:100]...)
	for _, tc := range []struct {
		name       string
		rcpts      []string
		wantErr    error
		wantOwners int // inbox entries when it works
	}{
		{"dedup by case and domain", []string{"bob", "BOB", "bob@localhost", "Bob@LOCALHOST", "<bob@localhost>"}, nil, 1},
		{"100 distinct", hundred, nil, 100},
		{"100 distinct plus a repeat", append(slices.Clone(hundred), "U000"), nil, 100},
		{"101 distinct", addrs(h.users[:101]...), mail.ErrTooManyRecipients, 0},
		{"unknown", []string{"mallory"}, mail.ErrNoSuchRecipient, 0},
		{"a flood of one repeated name", slices.Repeat([]string{"bob"}, 10000), nil, 1},
		{"unknown after known", []string{"bob", "carol", "mallory@localhost"}, mail.ErrNoSuchRecipient, 0},
		{"other domain", []string{"bob@example.org"}, mail.ErrNoSuchRecipient, 0},
		{"malformed", []string{"bob smith"}, mail.ErrNoSuchRecipient, 0},
		{"empty string", []string{""}, mail.ErrNoSuchRecipient, 0},
		{"nil", nil, mail.ErrNoRecipients, 0},
		{"empty", []string{}, mail.ErrNoRecipients, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0)
			metas, err := deliver(context.Background(), h.svc, h.alice, tc.rcpts, []byte(simpleMsg))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Deliver = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				if len(h.store.deliverArgs) != 0 || len(h.store.entries) != 0 {
					t.Errorf("refused delivery reached the store")
				}
				if len(h.notes.calls) != 0 {
					t.Errorf("refused delivery notified")
				}
				return
			}
			if len(metas) != tc.wantOwners+1 {
				t.Errorf("%d entries, want %d inbox + 1 sent", len(metas), tc.wantOwners)
			}
		})
	}
}

func TestDeliverSize(t *testing.T) {
	for _, tc := range []struct {
		size    int
		wantErr error
	}{{99, nil}, {100, nil}, {101, mail.ErrTooLarge}, {10000, mail.ErrTooLarge}} {
		h := newHarness(t, 100)
		raw := []byte("Subject: x\r\n\r\n" + strings.Repeat("a", tc.size-14))
		_, err := deliver(context.Background(), h.svc, h.alice, []string{"bob"}, raw)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("size %d: Deliver = %v, want %v", tc.size, err, tc.wantErr)
		}
		if tc.wantErr != nil && len(h.store.deliverArgs) != 0 {
			t.Errorf("size %d: too large reached the store", tc.size)
		}
	}
	if got := newHarness(t, 0).svc.MaxMessageBytes(); got != 25<<20 {
		t.Errorf("default MaxMessageBytes = %d, want 25 MiB", got)
	}
}

func TestDeliverToFields(t *testing.T) {
	h := newHarness(t, 0)
	raw := "From: Alice <alice@localhost>\r\n" +
		"To: Bob <BOB@localhost>, outside@example.org\r\n" +
		"Cc: carol@localhost\r\n" +
		"Bcc: dave@localhost, erin@localhost\r\n" +
		"Subject: meeting\r\n\r\nhello\r\n"
	metas, err := deliver(context.Background(), h.svc, h.alice,
		[]string{"bob", "carol", "dave", "erin"}, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	header := []string{"bob@localhost", "outside@example.org", "carol@localhost"}
	want := map[string][]string{
		"bob":   header,
		"carol": header,
		"dave":  append(slices.Clone(header), "dave@localhost"),
		"erin":  append(slices.Clone(header), "erin@localhost"),
		"sent":  {"bob@localhost", "carol@localhost", "dave@localhost", "erin@localhost"},
	}
	names := []string{"bob", "carol", "dave", "erin", "sent"}
	for i, m := range metas {
		if w := want[names[i]]; !reflect.DeepEqual(m.To, w) {
			t.Errorf("%s: To = %q, want %q", names[i], m.To, w)
		}
	}
	// Bcc recipients never show in another recipient's copy.
	for _, m := range metas[:2] {
		for _, a := range m.To {
			if a == "dave@localhost" || a == "erin@localhost" {
				t.Errorf("owner %d sees Bcc %s", m.Owner, a)
			}
		}
	}
}

func TestDeliverSubjectDecoded(t *testing.T) {
	for _, tc := range []struct{ header, want string }{
		{"plain", "plain"},
		{"=?UTF-8?B?SGFsbMO2IFfDtnJsZA==?=", "Hallö Wörld"},
		{"=?ISO-8859-1?Q?Caf=E9_cr=E8me?=", "Café crème"},
		{"=?utf-8?q?=C3=A9t=C3=A9?= and more", "été and more"},
		{"=?x-unknown?Q?abc?=", "=?x-unknown?Q?abc?="},
	} {
		h := newHarness(t, 0)
		raw := "Subject: " + tc.header + "\r\n\r\nbody"
		metas, err := deliver(context.Background(), h.svc, h.alice, []string{"bob"}, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if metas[0].Subject != tc.want || h.store.msgs[0].Subject != tc.want {
			t.Errorf("Subject(%q) = %q, want %q", tc.header, metas[0].Subject, tc.want)
		}
	}
}

func TestDeliverNotifies(t *testing.T) {
	h := newHarness(t, 0)
	metas, err := deliver(context.Background(), h.svc, h.alice, []string{"bob"}, []byte(simpleMsg))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.notes.calls) != 1 {
		t.Fatalf("notified %d times, want 1", len(h.notes.calls))
	}
	if !reflect.DeepEqual(h.notes.calls[0], metas) {
		t.Errorf("notified %+v, want %+v", h.notes.calls[0], metas)
	}
	if h.notes.storedAtCal[0] != 2 {
		t.Errorf("notified before the store held the entries (%d held)", h.notes.storedAtCal[0])
	}

	h = newHarness(t, 0)
	boom := errors.New("disk full")
	h.store.failDeliver = boom
	if _, err := deliver(context.Background(), h.svc, h.alice, []string{"bob"}, []byte(simpleMsg)); !errors.Is(err, boom) {
		t.Fatalf("Deliver = %v, want the store's error", err)
	}
	if len(h.notes.calls) != 0 {
		t.Errorf("notified after a failed store")
	}
}

func TestDeliverWithoutNotifier(t *testing.T) {
	as := &accountStore{byName: map[account.Username]account.Account{}}
	alice, _ := as.add("alice"), as.add("bob")
	svc := mail.NewService(newMailStore(), account.NewService(as, nopHasher{}, account.Config{}, nil), nil, mail.Config{}, nil)
	if _, err := deliver(context.Background(), svc, alice, []string{"bob"}, []byte(simpleMsg)); err != nil {
		t.Fatal(err)
	}
}

// ---- mailbox use cases ----

func TestList(t *testing.T) {
	for _, tc := range []struct {
		name      string
		folder    mail.Folder
		before    mail.EntryID
		limit     int
		wantErr   error
		wantLimit int
	}{
		{"default limit", mail.Inbox, 0, 0, nil, 50},
		{"limit 1", mail.Sent, 7, 1, nil, 1},
		{"limit 500", mail.Inbox, 0, 500, nil, 500},
		{"limit 501", mail.Inbox, 0, 501, mail.ErrBadLimit, 0},
		{"negative limit", mail.Inbox, 0, -1, mail.ErrBadLimit, 0},
		{"negative before", mail.Inbox, -1, 10, mail.ErrBadLimit, 0},
		{"trash", mail.Trash, 0, 10, nil, 10},
		{"bad folder", "a//b", 0, 10, mail.ErrBadFolder, 0},
		{"empty folder", "", 0, 10, mail.ErrBadFolder, 0},
		{"missing folder", "nope", 0, 10, mail.ErrNotFound, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0)
			_, err := h.svc.List(context.Background(), h.bob.ID, tc.folder, tc.before, tc.limit)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("List = %v, want %v", err, tc.wantErr)
			}
			if errors.Is(tc.wantErr, mail.ErrBadFolder) || errors.Is(tc.wantErr, mail.ErrBadLimit) {
				if len(h.store.listArgs) != 0 {
					t.Errorf("refused List reached the store")
				}
				return
			}
			want := []listCall{{h.bob.ID, tc.folder, tc.before, tc.wantLimit}}
			if !reflect.DeepEqual(h.store.listArgs, want) {
				t.Errorf("store.List got %+v, want %+v", h.store.listArgs, want)
			}
		})
	}
}

func TestOwnerOnly(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 0)
	metas, err := deliver(ctx, h.svc, h.alice, []string{"bob"}, []byte(simpleMsg))
	if err != nil {
		t.Fatal(err)
	}
	bobs := metas[0].ID // bob's inbox copy

	// Another owner (even the sender) gets ErrNotFound for every operation.
	for _, other := range []account.ID{h.alice.ID, h.carol.ID, 0} {
		if _, err := h.svc.Fetch(ctx, other, bobs); !errors.Is(err, mail.ErrNotFound) {
			t.Errorf("Fetch by %d = %v, want ErrNotFound", other, err)
		}
		if err := h.svc.SetSeen(ctx, other, bobs, true); !errors.Is(err, mail.ErrNotFound) {
			t.Errorf("SetSeen by %d = %v, want ErrNotFound", other, err)
		}
		if err := h.svc.Delete(ctx, other, bobs); !errors.Is(err, mail.ErrNotFound) {
			t.Errorf("Delete by %d = %v, want ErrNotFound", other, err)
		}
	}

	m, err := h.svc.Fetch(ctx, h.bob.ID, bobs)
	if err != nil || m.Seen || string(m.Raw) != simpleMsg {
		t.Fatalf("Fetch by owner = %+v, %v", m, err)
	}
	if total, unseen, err := h.svc.Count(ctx, h.bob.ID, mail.Inbox); err != nil || total != 1 || unseen != 1 {
		t.Errorf("Count = %d, %d, %v; want 1, 1", total, unseen, err)
	}
	if err := h.svc.SetSeen(ctx, h.bob.ID, bobs, true); err != nil {
		t.Fatal(err)
	}
	if total, unseen, _ := h.svc.Count(ctx, h.bob.ID, mail.Inbox); total != 1 || unseen != 0 {
		t.Errorf("Count after SetSeen = %d, %d; want 1, 0", total, unseen)
	}
	if err := h.svc.Delete(ctx, h.bob.ID, bobs); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Fetch(ctx, h.bob.ID, bobs); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("Fetch after Delete = %v, want ErrNotFound", err)
	}
	if _, err := h.svc.Fetch(ctx, h.alice.ID, metas[1].ID); err != nil {
		t.Errorf("sender's sent copy gone with bob's inbox copy: %v", err)
	}
	if _, _, err := h.svc.Count(ctx, h.bob.ID, "spam"); !errors.Is(err, mail.ErrNotFound) {
		t.Errorf("Count(spam) = %v, want ErrNotFound", err)
	}
	if _, _, err := h.svc.Count(ctx, h.bob.ID, "/spam"); !errors.Is(err, mail.ErrBadFolder) {
		t.Errorf("Count(/spam) = %v, want ErrBadFolder", err)
	}
}

func TestNewServicePanicsOnNilDependency(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	mail.NewService(nil, nil, nil, mail.Config{}, nil)
}

// ---- ParseHeader ----

func TestParseHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		want mail.Header
	}{
		{"simple", "Subject: hi\r\nTo: bob@localhost\r\n\r\nbody", mail.Header{Subject: "hi", To: []string{"bob@localhost"}}},
		{"LF only", "Subject: hi\nTo: Bob <bob@localhost>\n\nbody\n", mail.Header{Subject: "hi", To: []string{"bob@localhost"}}},
		{"folded subject", "Subject: a long\r\n\tsubject\r\n  line\r\n\r\n", mail.Header{Subject: "a long subject line"}},
		{"folded To", "To: a@x.org,\r\n b@x.org\r\n\r\n", mail.Header{To: []string{"a@x.org", "b@x.org"}}},
		{"To and Cc in order, lower-cased", "Cc: C@X.org\r\nTo: A@X.org\r\n\r\n", mail.Header{To: []string{"a@x.org", "c@x.org"}}},
		{"Bcc is ignored", "To: a@x.org\r\nBcc: secret@x.org\r\n\r\n", mail.Header{To: []string{"a@x.org"}}},
		{"bad To, good Cc", "To: not an address\r\nCc: c@x.org\r\n\r\n", mail.Header{To: []string{"c@x.org"}}},
		{"one bad address keeps the rest", "To: a@x.org, not an address, B <b@x.org>\r\n\r\n", mail.Header{To: []string{"a@x.org", "b@x.org"}}},
		{"group syntax", "To: friends: a@x.org, b@x.org;\r\n\r\n", mail.Header{To: []string{"a@x.org", "b@x.org"}}},
		{"no blank line", "Subject: only a header\r\n", mail.Header{Subject: "only a header"}},
		{"no final newline", "Subject: unterminated", mail.Header{Subject: "unterminated"}},
		{"missing header block", "\r\nSubject: in the body\r\n", mail.Header{}},
		{"missing header block LF", "\nSubject: in the body\n", mail.Header{}},
		{"body only", "just some text\r\nand more\r\n", mail.Header{}},
		{"body fields ignored", "Subject: real\r\n\r\nSubject: fake\r\nTo: x@y.org\r\n", mail.Header{Subject: "real"}},
		{"LF header, CRLF body", "Subject: real\n\nline\r\n\r\nSubject: fake\r\n", mail.Header{Subject: "real"}},
		{"empty", "", mail.Header{}},
		{"garbage", "\x00\xff\xfe:::\r\n\r\n", mail.Header{}},
		{"colon-less line", "Subject: hi\r\nthis is not a field\r\n\r\n", mail.Header{}},
		{"encoded subject", "Subject: =?UTF-8?B?w6lsw6hu?=\r\n\r\n", mail.Header{Subject: "élèn"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mail.ParseHeader([]byte(tc.raw)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseHeader(%q) = %#v, want %#v", tc.raw, got, tc.want)
			}
		})
	}
}

func TestParseHeaderBounded(t *testing.T) {
	// Only the first MaxHeaderBytes are read: a Subject beyond them is not seen.
	pad := "X-Pad: " + strings.Repeat("p", mail.MaxHeaderBytes) + "\r\n"
	got := mail.ParseHeader([]byte("To: a@x.org\r\n" + pad + "Subject: late\r\n\r\n"))
	if got.Subject != "" {
		t.Errorf("Subject beyond MaxHeaderBytes was read: %q", got.Subject)
	}
}

func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{
		"",
		"\r\n",
		"\n\n",
		simpleMsg,
		"Subject: hi\nTo: Bob <bob@localhost>\n\nbody\n",
		"Subject: a\r\n b\r\nCc: c@x.org\r\n\r\n",
		"To: friends: a@x.org, b@x.org;\r\n\r\n",
		"Subject: =?UTF-8?B?SGFsbMO2?= =?ISO-8859-1?Q?Caf=E9?=\r\n\r\n",
		"Subject: =?x?Q?=ZZ?=\r\nTo: \"quoted\\\" name\" <q@x.org>\r\n\r\n",
		"To: <@route:a@b>, (comment) c@d\r\n\r\n",
		"\x00\xff\xfe:::\r\n\r\n",
		"Subject: unterminated",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		h := mail.ParseHeader(raw)
		for _, a := range h.To {
			if a != strings.ToLower(a) {
				t.Errorf("address %q not lower-cased", a)
			}
		}
	})
}

// The To/Cc headers are the sender's to write: an inbox copy keeps at most
// MaxToAddresses of them (plus its owner), so a huge header cannot bloat
// the recipient's list pages and events.
func TestDeliverToFieldBounded(t *testing.T) {
	h := newHarness(t, 0)
	var to []string
	for i := 0; i < 5000; i++ {
		to = append(to, fmt.Sprintf("x%d@example.org", i))
	}
	raw := "To: " + strings.Join(to, ", ") + "\r\nSubject: many\r\n\r\nhi\r\n"
	metas, err := deliver(context.Background(), h.svc, h.alice, []string{"bob"}, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	got := metas[0].To
	if len(got) != mail.MaxToAddresses+1 || got[0] != "x0@example.org" || got[len(got)-1] != "bob@localhost" {
		t.Fatalf("inbox To has %d addresses (first %q, last %q), want the first %d plus the owner",
			len(got), got[0], got[len(got)-1], mail.MaxToAddresses)
	}
}
