package imapserver

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

func imapCode(err error) imap.ResponseCode {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie.Code
	}
	return ""
}

func TestLogin(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user(t, "alice")
	tests := []struct {
		name, user, pass string
		code             imap.ResponseCode // "" for success
	}{
		{"bare name", "alice", testPassword, ""},
		{"full address", "alice@" + testDomain, testPassword, ""},
		{"upper case", "ALICE", testPassword, ""},
		{"wrong password", "alice", "wrong password!", imap.ResponseCodeAuthenticationFailed},
		{"unknown user", "nobody", testPassword, imap.ResponseCodeAuthenticationFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial(nil)
			err := c.Login(tc.user, tc.pass).Wait()
			if tc.code == "" && err != nil {
				t.Fatalf("login: %v", err)
			}
			if tc.code != "" && imapCode(err) != tc.code {
				t.Fatalf("login: %v, want code %s", err, tc.code)
			}
		})
	}
	t.Run("authenticate plain", func(t *testing.T) {
		c := e.dial(nil)
		if err := c.Authenticate(sasl.NewPlainClient("", "alice", testPassword)); err != nil {
			t.Fatal(err)
		}
		if !c.Caps().Has(imap.CapIMAP4rev2) || !c.Caps().Has(imap.CapMove) {
			t.Errorf("caps after login: %v", c.Caps())
		}
	})
	t.Run("authenticate as another", func(t *testing.T) {
		e.user(t, "bob")
		c := e.dial(nil)
		err := c.Authenticate(sasl.NewPlainClient("bob", "alice", testPassword))
		if imapCode(err) != imap.ResponseCodeAuthorizationFailed {
			t.Fatalf("authzid bob as alice: %v", err)
		}
	})
}

func TestLoginFailureCapSaysBye(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user(t, "alice")
	c := e.dial(nil)
	for i := range 3 {
		if err := c.Login("alice", "wrong password!").Wait(); err == nil {
			t.Fatalf("attempt %d logged in", i)
		}
	}
	select {
	case <-c.Closed():
	case <-time.After(5 * time.Second):
		t.Fatal("connection still open after 3 failed logins")
	}
}

func TestLoginThrottledAcrossSessions(t *testing.T) {
	e := newEnv(t, envOpts{account: func(c *account.Config) {
		c.AuthFailRate.N, c.AuthFailRate.Per = 2, time.Hour
	}})
	e.user(t, "alice")
	for range 2 {
		e.dial(nil).Login("alice", "wrong password!").Wait()
	}
	err := e.dial(nil).Login("alice", testPassword).Wait()
	if imapCode(err) != imap.ResponseCodeUnavailable {
		t.Fatalf("right password after the budget: %v, want UNAVAILABLE", err)
	}
}

func TestLoginTimeout(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.LoginTimeout = 300 * time.Millisecond }})
	c := e.dial(nil)
	select {
	case <-c.Closed():
	case <-time.After(5 * time.Second):
		t.Fatal("not closed after the login timeout")
	}
}

func listNames(t *testing.T, c *imapclient.Client, opts *imap.ListOptions) map[string]*imap.ListData {
	t.Helper()
	list, err := c.List("", "*", opts).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*imap.ListData{}
	for _, l := range list {
		out[l.Mailbox] = l
	}
	return out
}

func TestListFoldersAndIsolation(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.deliver(t, "bob", []string{"alice"}, "one")
	c := e.login("alice", nil)
	got := listNames(t, c, &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true, NumUnseen: true}})
	for name, attr := range map[string]imap.MailboxAttr{"INBOX": "", "Sent": imap.MailboxAttrSent,
		"Drafts": imap.MailboxAttrDrafts, "Trash": imap.MailboxAttrTrash} {
		l := got[name]
		if l == nil {
			t.Fatalf("LIST has no %s: %v", name, got)
		}
		if attr != "" && !slices.Contains(l.Attrs, attr) {
			t.Errorf("%s attrs %v, want %s", name, l.Attrs, attr)
		}
	}
	if s := got["INBOX"].Status; s == nil || *s.NumMessages != 1 || *s.NumUnseen != 1 {
		t.Errorf("LIST-STATUS INBOX: %+v", got["INBOX"].Status)
	}
	special := listNames(t, c, &imap.ListOptions{SelectSpecialUse: true})
	if len(special) != 3 || special["INBOX"] != nil {
		t.Errorf("LIST (SPECIAL-USE): %v", special)
	}

	for _, step := range []error{
		c.Create("Projects/Mailroom", nil).Wait(),
		c.Create("Ünïcode", nil).Wait(),
		c.Rename("Projects", "Work", nil).Wait(),
		c.Subscribe("Work").Wait(),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	got = listNames(t, c, nil)
	for _, want := range []string{"Work", "Work/Mailroom", "Ünïcode"} {
		if got[want] == nil {
			t.Errorf("LIST after create/rename lacks %q: %v", want, got)
		}
	}
	if got["Projects"] != nil {
		t.Error("old name still listed after RENAME")
	}
	if err := c.Create("Work", nil).Wait(); imapCode(err) != imap.ResponseCodeAlreadyExists {
		t.Errorf("CREATE existing: %v", err)
	}
	if err := c.Delete("Trash").Wait(); imapCode(err) != imap.ResponseCodeCannot {
		t.Errorf("DELETE Trash: %v", err)
	}
	if err := c.Delete("Work/Mailroom").Wait(); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true, NumUnseen: true, Size: true}).Wait()
	if err != nil || *st.NumMessages != 1 || st.UIDValidity == 0 || st.UIDNext < 2 || *st.Size == 0 {
		t.Errorf("STATUS INBOX: %+v, %v", st, err)
	}

	// bob sees none of it, and alice's names do not resolve for him.
	b := e.login("bob", nil)
	if l := listNames(t, b, nil); l["Work"] != nil || l["Ünïcode"] != nil {
		t.Errorf("bob's LIST shows alice's folders: %v", l)
	}
	if _, err := b.Select("Work", nil).Wait(); imapCode(err) != imap.ResponseCodeNonExistent {
		t.Errorf("bob SELECT alice's folder: %v", err)
	}
	if _, err := b.Status("Work", &imap.StatusOptions{NumMessages: true}).Wait(); err == nil {
		t.Error("bob STATUS alice's folder succeeded")
	}
}

func TestSelectFetch(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.deliver(t, "bob", []string{"alice"}, "first")
	e.deliver(t, "bob", []string{"alice", "carol"}, "second")
	c := e.login("alice", nil)
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 2 || sel.UIDValidity == 0 || len(sel.PermanentFlags) != 5 {
		t.Fatalf("SELECT: %+v", sel)
	}
	section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject"}, Peek: true}
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2), &imap.FetchOptions{
		Flags: true, Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		RFC822Size: true, InternalDate: true, UID: true, BodySection: []*imap.FetchItemBodySection{section},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("FETCH gave %d messages", len(msgs))
	}
	m := msgs[1]
	if m.Envelope.Subject != "second" || len(m.Envelope.To) != 2 || m.Envelope.From[0].Mailbox != "bob" {
		t.Errorf("ENVELOPE: %+v", m.Envelope)
	}
	if bs, ok := m.BodyStructure.(*imap.BodyStructureSinglePart); !ok || bs.Type != "text" {
		t.Errorf("BODYSTRUCTURE: %#v", m.BodyStructure)
	}
	if m.RFC822Size == 0 || m.InternalDate.IsZero() || m.UID <= msgs[0].UID || len(m.Flags) != 0 {
		t.Errorf("size %d date %v uid %d flags %v", m.RFC822Size, m.InternalDate, m.UID, m.Flags)
	}
	if h := string(m.FindBodySection(section)); !strings.HasPrefix(h, "Subject: second") {
		t.Errorf("BODY.PEEK[HEADER.FIELDS (SUBJECT)] = %q", h)
	}

	// BODY[] without PEEK sets \Seen, shared with every other reader.
	full := &imap.FetchItemBodySection{}
	msgs, err = c.Fetch(imap.UIDSetNum(m.UID), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{full}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("UID FETCH BODY[]: %v %v", msgs, err)
	}
	if b := string(msgs[0].FindBodySection(full)); !strings.Contains(b, "Hello second.") {
		t.Errorf("BODY[] = %q", b)
	}
	if !slices.Contains(msgs[0].Flags, imap.FlagSeen) {
		t.Errorf("flags after BODY[]: %v", msgs[0].Flags)
	}
	metas, _ := e.mb.MetasByUID(context.Background(), e.user(t, "alice").ID, mail.Inbox, []uint32{uint32(m.UID)})
	if len(metas) != 1 || !metas[0].Seen {
		t.Errorf("store after BODY[]: %+v", metas)
	}
}

func TestStoreExpunge(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, s := range []string{"a", "b", "c"} {
		e.deliver(t, "bob", []string{"alice"}, s)
	}
	c := e.login("alice", nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Store(imap.SeqSetNum(1, 2), &imap.StoreFlags{Op: imap.StoreFlagsAdd,
		Flags: []imap.Flag{imap.FlagFlagged, imap.FlagAnswered, imap.FlagDraft, imap.FlagSeen, "$Custom"}}, nil).Collect()
	if err != nil || len(msgs) != 2 {
		t.Fatalf("STORE: %v %v", msgs, err)
	}
	if len(msgs[0].Flags) != 4 || slices.Contains(msgs[0].Flags, "$Custom") {
		t.Errorf("flags after STORE: %v (keywords are not kept)", msgs[0].Flags)
	}
	if _, err := c.Store(imap.SeqSetNum(1, 3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true,
		Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	// UID EXPUNGE removes only the named one; EXPUNGE the rest.
	uids, _ := e.mb.UIDs(context.Background(), e.user(t, "alice").ID, mail.Inbox)
	data, err := c.UIDExpunge(imap.UIDSetNum(imap.UID(uids[2].UID))).Collect()
	if err != nil || len(data) != 1 || data[0] != 3 {
		t.Fatalf("UID EXPUNGE: %v %v", data, err)
	}
	data, err = c.Expunge().Collect()
	if err != nil || !slices.Equal(data, []uint32{1}) {
		t.Fatalf("EXPUNGE: %v %v", data, err)
	}
	left, _ := e.mb.UIDs(context.Background(), e.user(t, "alice").ID, mail.Inbox)
	if len(left) != 1 || left[0].UID != uids[1].UID {
		t.Fatalf("store after expunges: %+v", left)
	}
	if !left[0].Flags.Has(mail.FlagFlagged | mail.FlagAnswered | mail.FlagDraft | mail.FlagSeen) {
		t.Errorf("flags in store: %v", left[0].Flags.Names())
	}

	// EXAMINE is read-only.
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect(); err == nil {
		t.Error("STORE under EXAMINE succeeded")
	}
}

func TestAppendCopyMove(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.login("alice", nil)
	if err := c.Create("Archive", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	raw := rawMessage("alice", []string{"bob"}, "draft one")
	ad, err := appendMsg(c, "Drafts", raw, imap.FlagDraft)
	if err != nil || ad.UID == 0 || ad.UIDValidity == 0 {
		t.Fatalf("APPEND: %+v %v", ad, err)
	}
	if _, err := appendMsg(c, "Nowhere", raw); imapCode(err) != imap.ResponseCodeTryCreate {
		t.Errorf("APPEND to a missing folder: %v, want TRYCREATE", err)
	}
	// imapclient closes its connection when a literal is refused: a
	// connection of its own.
	big := append(raw, strings.Repeat("x", 70<<10)...)
	if _, err := appendMsg(e.login("alice", nil), "Drafts", big); imapCode(err) != imap.ResponseCodeTooBig {
		t.Errorf("APPEND over --max-message: %v, want TOOBIG", err)
	}

	// APPEND to Sent of what was submitted stores nothing new.
	sent := e.deliver(t, "alice", []string{"bob"}, "submitted")
	var sentCopy mail.Meta
	for _, m := range sent {
		if m.Folder == mail.Sent {
			sentCopy = m
		}
	}
	msg, _ := e.mb.Fetch(context.Background(), sentCopy.Owner, sentCopy.ID)
	ad, err = appendMsg(c, "Sent", msg.Raw, imap.FlagSeen)
	if err != nil || uint32(ad.UID) != sentCopy.UID {
		t.Fatalf("APPEND of the sent copy: %+v %v, want UID %d", ad, err, sentCopy.UID)
	}
	if st, _ := c.Status("Sent", &imap.StatusOptions{NumMessages: true}).Wait(); *st.NumMessages != 1 {
		t.Errorf("Sent holds %d after the duplicate APPEND", *st.NumMessages)
	}

	if _, err := c.Select("Drafts", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	cd, err := c.Copy(imap.SeqSetNum(1), "Archive").Wait()
	if err != nil || cd.UIDValidity == 0 || len(cd.DestUIDs) != 1 {
		t.Fatalf("COPY: %+v %v", cd, err)
	}
	md, err := c.Move(imap.SeqSetNum(1), "Trash").Wait()
	if err != nil || md.DestUIDs == nil || md.DestUIDs.String() == "" {
		t.Fatalf("MOVE: %+v %v", md, err)
	}
	for name, want := range map[string]uint32{"Drafts": 0, "Archive": 1, "Trash": 1} {
		st, err := c.Status(name, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil || *st.NumMessages != want {
			t.Errorf("%s holds %v (%v), want %d", name, st, err, want)
		}
	}
	if _, err := c.Copy(imap.SeqSetNum(1), "Nowhere").Wait(); imapCode(err) != imap.ResponseCodeTryCreate {
		t.Errorf("COPY to a missing folder: %v, want TRYCREATE", err)
	}
}

func appendMsg(c *imapclient.Client, mailbox string, raw []byte, flags ...imap.Flag) (*imap.AppendData, error) {
	cmd := c.Append(mailbox, int64(len(raw)), &imap.AppendOptions{Flags: flags})
	// Close and Wait even when the literal is refused: the client holds
	// its encoder until Close.
	_, werr := cmd.Write(raw)
	cerr := cmd.Close()
	data, err := cmd.Wait()
	if err != nil {
		return nil, err
	}
	return data, errors.Join(werr, cerr)
}

func TestSearch(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.deliver(t, "bob", []string{"alice"}, "lunch plans")
	e.deliver(t, "carol", []string{"alice", "dave"}, "quarterly report")
	e.deliver(t, "bob", []string{"alice"}, "re: lunch")
	c := e.login("alice", nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen, imap.FlagFlagged}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	tests := []struct {
		name string
		c    imap.SearchCriteria
		want []uint32
	}{
		{"all", imap.SearchCriteria{}, []uint32{1, 2, 3}},
		{"seen", imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}}, []uint32{2}},
		{"unseen", imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, []uint32{1, 3}},
		{"flagged", imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, []uint32{2}},
		{"from", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "BOB@"}}}, []uint32{1, 3}},
		{"to", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "To", Value: "dave"}}}, []uint32{2}},
		{"cc", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Cc", Value: "x"}}}, nil},
		{"subject", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "lunch"}}}, []uint32{1, 3}},
		{"since today", imap.SearchCriteria{Since: today}, []uint32{1, 2, 3}},
		{"before today", imap.SearchCriteria{Before: today}, nil},
		{"on today", imap.SearchCriteria{Since: today, Before: today.Add(24 * time.Hour)}, []uint32{1, 2, 3}},
		{"larger", imap.SearchCriteria{Larger: 10}, []uint32{1, 2, 3}},
		{"smaller", imap.SearchCriteria{Smaller: 10}, nil},
		{"body", imap.SearchCriteria{Body: []string{"hello quarterly"}}, []uint32{2}},
		{"text", imap.SearchCriteria{Text: []string{"carol@"}}, []uint32{2}},
		{"seq", imap.SearchCriteria{SeqNum: []imap.SeqSet{imap.SeqSetNum(2, 3)}}, []uint32{2, 3}},
		{"not", imap.SearchCriteria{Not: []imap.SearchCriteria{{Flag: []imap.Flag{imap.FlagSeen}}}}, []uint32{1, 3}},
		{"or", imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{{Flag: []imap.Flag{imap.FlagSeen}}, {Body: []string{"re: lunch"}}}}}, []uint32{2, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := c.Search(&tc.c, nil).Wait()
			if err != nil {
				t.Fatal(err)
			}
			if got := data.AllSeqNums(); !slices.Equal(got, tc.want) {
				t.Errorf("SEARCH = %v, want %v", got, tc.want)
			}
		})
	}
	uids, _ := e.mb.UIDs(context.Background(), e.user(t, "alice").ID, mail.Inbox)
	data, err := c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{imap.UIDSetNum(imap.UID(uids[1].UID))}}, nil).Wait()
	if err != nil || !slices.Equal(data.AllUIDs(), []imap.UID{imap.UID(uids[1].UID)}) {
		t.Errorf("UID SEARCH UID: %v %v", data, err)
	}
}
