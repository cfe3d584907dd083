package imapserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/domain/throttle"
)

// deliverRaw delivers raw from one user to others, as SMTP would.
func (e *env) deliverRaw(t *testing.T, from string, to []string, raw string) {
	t.Helper()
	ctx := context.Background()
	env := e.mb.NewEnvelope(e.user(t, from))
	for _, r := range to {
		e.user(t, r)
		if _, err := env.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.mb.DeliverEnvelope(ctx, env, []byte(strings.ReplaceAll(raw, "\n", "\r\n"))); err != nil {
		t.Fatal(err)
	}
}

// The search fixture: alice's INBOX, after a first message is expunged,
// holds these three (sequence numbers 1 to 3). "zebrafish" is in the
// bodies of 1 (base64) and 3 (quoted-printable, cut by a soft line
// break), never as raw bytes.
var (
	searchGone = `From: bob@example.test
To: alice@example.test
Subject: gone
Message-ID: <gone@example.test>

zebrafish that was expunged
`
	searchBase64 = `From: Bob Builder <bob@example.test>
To: alice@example.test
Subject: Quarterly meeting notes
Message-ID: <m1@example.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

` + base64.StdEncoding.EncodeToString([]byte("The zebrafish budget is approved.\r\n")) + "\n"
	searchPlain = `From: Carol <carol@example.test>
To: alice@example.test
Subject: lunch
Message-ID: <m2@example.test>
Content-Type: text/plain

See you at noon @ the cafe.
`
	searchQP = `From: bob@example.test
To: alice@example.test
Cc: dave@example.test
Subject: Weekly report
Message-ID: <m3@example.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Numbers for the zebra=
fish tank, caf=C3=A9 included.
`
	// searchWalrus goes to carol only: a word alice's mail lacks.
	searchWalrus = `From: bob@example.test
To: carol@example.test
Subject: walrus zebrafish
Message-ID: <w@example.test>

walrus
`
)

// searchFixture fills e as above and gives alice's client, INBOX
// selected, with 1 \Seen and 3 \Flagged.
func searchFixture(t *testing.T, e *env) *imapclient.Client {
	t.Helper()
	for _, raw := range []string{searchBase64, searchQP} {
		if bytes.Contains(bytes.ToLower([]byte(raw)), []byte("zebrafish")) {
			t.Fatalf("fixture holds zebrafish as raw bytes:\n%s", raw)
		}
	}
	e.deliverRaw(t, "bob", []string{"carol"}, searchPlain) // carol's UID 1
	e.deliverRaw(t, "bob", []string{"carol"}, searchWalrus)
	e.deliverRaw(t, "bob", []string{"alice"}, searchGone)
	e.deliverRaw(t, "bob", []string{"alice"}, searchBase64)
	e.deliverRaw(t, "carol", []string{"alice"}, searchPlain)
	e.deliverRaw(t, "bob", []string{"alice"}, searchQP)
	c := e.login("alice", nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	store := func(seq uint32, f imap.Flag) {
		t.Helper()
		if _, err := c.Store(imap.SeqSetNum(seq), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{f}}, nil).Collect(); err != nil {
			t.Fatal(err)
		}
	}
	store(1, imap.FlagDeleted)
	if _, err := c.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	store(1, imap.FlagSeen)
	store(3, imap.FlagFlagged)
	return c
}

func text(s ...string) imap.SearchCriteria { return imap.SearchCriteria{Text: s} }

func header(key, value string) imap.SearchCriteriaHeaderField {
	return imap.SearchCriteriaHeaderField{Key: key, Value: value}
}

func TestSearchIndex(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		c := searchFixture(t, e)
		many := make([]string, mail.MaxQueryTerms+2)
		for i := range many {
			many[i] = "zebrafish"
		}
		tests := []struct {
			name string
			c    imap.SearchCriteria
			want []uint32
		}{
			{"base64 body word by BODY", imap.SearchCriteria{Body: []string{"zebrafish"}}, []uint32{1, 3}},
			{"base64 body word by TEXT", text("ZebraFish"), []uint32{1, 3}},
			{"last word is a prefix", text("zebr"), []uint32{1, 3}},
			{"phrase in order", text("zebrafish budget"), []uint32{1}},
			{"phrase out of order", text("budget zebrafish"), nil},
			{"decoded charset", text("café"), []uint32{3}},
			{"prefix of both spellings", text("caf"), []uint32{2, 3}},
			{"BODY is the body only", imap.SearchCriteria{Body: []string{"meeting"}}, nil},
			{"TEXT finds the subject", text("meeting"), []uint32{1}},
			{"SUBJECT prefix", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{header("Subject", "meet")}}, []uint32{1}},
			{"SUBJECT phrase prefix", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{header("Subject", "quarterly meet")}}, []uint32{1}},
			{"SUBJECT not in the body", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{header("Subject", "zebrafish")}}, nil},
			{"FROM display name", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{header("From", "builder")}}, []uint32{1}},
			{"FROM address", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{header("From", "bob@example.test")}}, []uint32{1, 3}},
			{"TO holds Cc", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{header("To", "dave")}}, []uint32{3}},
			{"word not present", text("nonexistentword"), nil},
			{"another user's word", text("walrus"), nil},
			{"punctuation only: BODY scan", imap.SearchCriteria{Body: []string{"@"}}, []uint32{2}},
			{"punctuation only: TEXT scan", text("@"), []uint32{1, 2, 3}},
			{"empty SUBJECT: has the field", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{header("Subject", "")}}, []uint32{1, 2, 3}},
			{"CC stays a scan", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{header("Cc", "dave@")}}, []uint32{3}},
			{"word and punctuation", text("zebrafish", "@"), []uint32{1, 3}},
			{"with FLAGGED", imap.SearchCriteria{Text: []string{"zebrafish"}, Flag: []imap.Flag{imap.FlagFlagged}}, []uint32{3}},
			{"with UNSEEN", imap.SearchCriteria{Text: []string{"zebrafish"}, NotFlag: []imap.Flag{imap.FlagSeen}}, []uint32{3}},
			{"with a sequence set", imap.SearchCriteria{Text: []string{"zebrafish"}, SeqNum: []imap.SeqSet{imap.SeqSetNum(2, 3)}}, []uint32{3}},
			{"with LARGER", imap.SearchCriteria{Text: []string{"zebrafish"}, Larger: 1}, []uint32{1, 3}},
			{"more keys than a query's terms", text(many...), []uint32{1, 3}},
			{"OR stays a scan", imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{{Body: []string{"zebrafish"}}, {Header: []imap.SearchCriteriaHeaderField{header("Subject", "lunch")}}}}}, []uint32{2}},
			{"OR of flags and subject", imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{{Flag: []imap.Flag{imap.FlagFlagged}}, {Header: []imap.SearchCriteriaHeaderField{header("Subject", "lunch")}}}}}, []uint32{2, 3}},
			{"NOT stays a scan", imap.SearchCriteria{Not: []imap.SearchCriteria{{Header: []imap.SearchCriteriaHeaderField{header("Subject", "lunch")}}}}, []uint32{1, 3}},
			{"index AND NOT", imap.SearchCriteria{Text: []string{"zebrafish"}, Not: []imap.SearchCriteria{{Header: []imap.SearchCriteriaHeaderField{header("Subject", "meeting")}}}}, []uint32{3}},
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

		t.Run("UID SEARCH and RETURN", func(t *testing.T) {
			uids, err := e.mb.UIDs(context.Background(), e.user(t, "alice").ID, mail.Inbox)
			if err != nil || len(uids) != 3 {
				t.Fatalf("UIDs: %v %v", uids, err)
			}
			data, err := c.UIDSearch(&imap.SearchCriteria{Text: []string{"zebrafish"}}, nil).Wait()
			want := []imap.UID{imap.UID(uids[0].UID), imap.UID(uids[2].UID)}
			if err != nil || !slices.Equal(data.AllUIDs(), want) {
				t.Errorf("UID SEARCH TEXT = %v %v, want %v", data, err, want)
			}
			opts := &imap.SearchOptions{ReturnMin: true, ReturnMax: true, ReturnCount: true}
			data, err = c.Search(&imap.SearchCriteria{Text: []string{"zebrafish"}}, opts).Wait()
			if err != nil || data.Min != 1 || data.Max != 3 || data.Count != 2 {
				t.Errorf("SEARCH RETURN (MIN MAX COUNT) = %+v %v, want 1 3 2", data, err)
			}
		})

		t.Run("the other user finds their own", func(t *testing.T) {
			cc := e.login("carol", nil)
			if _, err := cc.Select("INBOX", nil).Wait(); err != nil {
				t.Fatal(err)
			}
			data, err := cc.Search(&imap.SearchCriteria{Text: []string{"walrus"}}, nil).Wait()
			if err != nil || !slices.Equal(data.AllSeqNums(), []uint32{2}) {
				t.Errorf("carol's SEARCH TEXT walrus = %v %v, want [2]", data, err)
			}
			data, err = cc.Search(&imap.SearchCriteria{Text: []string{"zebrafish"}}, nil).Wait()
			if err != nil || !slices.Equal(data.AllSeqNums(), []uint32{2}) {
				t.Errorf("carol's SEARCH TEXT zebrafish = %v %v, want [2]", data, err)
			}
		})
	})
}

// TestSearchIndexExpungedElsewhere: an entry another session expunged is
// still in this session's view (EXPUNGE is not sent during SEARCH), but
// the index no longer gives it.
func TestSearchIndexExpungedElsewhere(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.deliverRaw(t, "bob", []string{"alice"}, searchBase64)
		e.deliverRaw(t, "bob", []string{"alice"}, searchQP)
		c := e.login("alice", nil)
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		ctx, alice := context.Background(), e.user(t, "alice")
		uids, err := e.mb.UIDs(ctx, alice.ID, mail.Inbox)
		if err != nil || len(uids) != 2 {
			t.Fatalf("UIDs: %v %v", uids, err)
		}
		if _, err := e.mb.StoreFlags(ctx, alice.ID, []mail.EntryID{uids[0].ID}, mail.FlagsAdd, mail.FlagDeleted); err != nil {
			t.Fatal(err)
		}
		if _, err := e.mb.Expunge(ctx, alice.ID, mail.Inbox, nil); err != nil {
			t.Fatal(err)
		}
		data, err := c.UIDSearch(&imap.SearchCriteria{Text: []string{"zebrafish"}}, nil).Wait()
		if err != nil || !slices.Equal(data.AllUIDs(), []imap.UID{imap.UID(uids[1].UID)}) {
			t.Errorf("UID SEARCH TEXT zebrafish = %v %v, want [%d]", data, err, uids[1].UID)
		}
	})
}

// TestSearchIndexPages: the index's answer is read page by page (each
// twice the last); past maxIndexHits candidates the folder is scanned,
// with the scan's raw-substring meaning (the base64 word is not found
// then).
func TestSearchIndexPages(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := searchFixture(t, e)
	for _, tc := range []struct {
		page, bound int
		want        []uint32
	}{
		{indexPage, maxIndexHits, []uint32{1, 3}},
		{1, maxIndexHits, []uint32{1, 3}},
		{1, 2, []uint32{1, 3}},
		{1, 1, nil},
		{indexPage, 1, nil},
	} {
		t.Run(fmt.Sprintf("page %d bound %d", tc.page, tc.bound), func(t *testing.T) {
			defer func(page, bound int) { indexPage, maxIndexHits = page, bound }(indexPage, maxIndexHits)
			indexPage, maxIndexHits = tc.page, tc.bound
			data, err := c.Search(&imap.SearchCriteria{Text: []string{"zebrafish"}}, nil).Wait()
			if err != nil || !slices.Equal(data.AllSeqNums(), tc.want) {
				t.Errorf("SEARCH TEXT zebrafish = %v %v, want %v", data, err, tc.want)
			}
		})
	}
}

// TestSearchWithoutIndex: a server given no index scans, as before.
func TestSearchWithoutIndex(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.Index = nil }})
	c := searchFixture(t, e)
	for _, tc := range []struct {
		c    imap.SearchCriteria
		want []uint32
	}{
		{text("zebrafish"), nil},
		{text("noon @ the"), []uint32{2}},
		{imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{header("Subject", "eting no")}}, []uint32{1}},
	} {
		data, err := c.Search(&tc.c, nil).Wait()
		if err != nil || !slices.Equal(data.AllSeqNums(), tc.want) {
			t.Errorf("SEARCH %+v = %v %v, want %v", tc.c, data, err, tc.want)
		}
	}
}

func TestPlanIndex(t *testing.T) {
	tests := []struct {
		name      string
		c         imap.SearchCriteria
		ok        bool
		terms     []mail.Term
		checks    int
		restText  []string
		restHdr   int
		restBodyN int
	}{
		{"no text key", imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}}, false, nil, 0, nil, 0, 0},
		{"punctuation only", text("@", "--"), false, nil, 0, []string{"@", "--"}, 0, 0},
		{"TEXT", text("Hello, World"), true, []mail.Term{{Field: mail.FieldAny, Words: []string{"hello", "world"}, Prefix: true}}, 0, nil, 0, 0},
		{"BODY is checked too", imap.SearchCriteria{Body: []string{"x"}}, true, []mail.Term{{Field: mail.FieldAny, Words: []string{"x"}, Prefix: true}}, 1, nil, 0, 0},
		{"headers", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{header("SUBJECT", "a"), header("From", "b"), header("to", "c"), header("Cc", "d"), header("Subject", "")}}, true,
			[]mail.Term{{Field: mail.FieldSubject, Words: []string{"a"}, Prefix: true}, {Field: mail.FieldFrom, Words: []string{"b"}, Prefix: true}, {Field: mail.FieldTo, Words: []string{"c"}, Prefix: true}}, 0, nil, 2, 0},
		{"too long for a query", text(strings.Repeat("a ", mail.MaxQueryBytes)), false, nil, 0, []string{strings.Repeat("a ", mail.MaxQueryBytes)}, 0, 0},
		{"under OR and NOT", imap.SearchCriteria{Not: []imap.SearchCriteria{text("a")}, Or: [][2]imap.SearchCriteria{{text("b"), text("c")}}}, false, nil, 0, nil, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := planIndex(&tc.c, "Archive")
			if ok != tc.ok {
				t.Fatalf("ok = %v", ok)
			}
			if !slices.EqualFunc(p.query.Terms, tc.terms, func(a, b mail.Term) bool {
				return a.Field == b.Field && a.Prefix == b.Prefix && slices.Equal(a.Words, b.Words)
			}) {
				t.Errorf("terms = %+v, want %+v", p.query.Terms, tc.terms)
			}
			if p.query.Folder != "Archive" || len(p.checks) != tc.checks || !slices.Equal(p.rest.Text, tc.restText) ||
				len(p.rest.Header) != tc.restHdr || len(p.rest.Body) != tc.restBodyN {
				t.Errorf("plan = %+v", p)
			}
			if len(p.rest.Not) != len(tc.c.Not) || len(p.rest.Or) != len(tc.c.Or) {
				t.Errorf("OR/NOT not kept: %+v", p.rest)
			}
		})
	}
	many := text(slices.Repeat([]string{"w"}, mail.MaxQueryTerms+3)...)
	if p, ok := planIndex(&many, ""); !ok || len(p.query.Terms) != mail.MaxQueryTerms || len(p.checks) != 3 {
		t.Errorf("%d keys: %d terms, %d checks", mail.MaxQueryTerms+3, len(p.query.Terms), len(p.checks))
	}
}

func TestHasPhrase(t *testing.T) {
	tests := []struct {
		text  string
		words []string
		want  bool
	}{
		{"quarterly meeting notes", []string{"meet"}, true},
		{"quarterly meeting notes", []string{"quarterly", "meet"}, true},
		{"quarterly meeting notes", []string{"quarter", "meeting"}, false},
		{"quarterly meeting notes", []string{"meeting", "quarterly"}, false},
		{"quarterly meeting notes", []string{"notes", "x"}, false},
		{"", []string{"a"}, false},
		{"a b a c", []string{"a", "c"}, true},
	}
	for _, tc := range tests {
		if got := hasPhrase(tc.text, tc.words); got != tc.want {
			t.Errorf("hasPhrase(%q, %q) = %v", tc.text, tc.words, got)
		}
	}
}

// countingMailboxes is the real mail service, counting the raw messages
// the server reads.
type countingMailboxes struct {
	Mailboxes
	fetches atomic.Int64
}

func (m *countingMailboxes) Fetch(ctx context.Context, owner account.ID, id mail.EntryID) (mail.Message, error) {
	m.fetches.Add(1)
	return m.Mailboxes.Fetch(ctx, owner, id)
}

// TestSearchIndexReadsCandidatesOnly: with the index, a SEARCH reads the
// raw message of no entry but the candidates that a remaining key must
// check; only OR and NOT of text keys read the folder.
func TestSearchIndexReadsCandidatesOnly(t *testing.T) {
	e := &env{t: t, dbPath: filepath.Join(t.TempDir(), "mail.db")}
	e.node = openNode(t, e.dbPath, account.Config{Domain: testDomain, AuthFailRate: throttle.Rate{N: -1}})
	mb := &countingMailboxes{Mailboxes: e.mb}
	serveEnv(t, e, Config{Index: e.store}, mb, e.feed)
	for i := range 20 {
		e.deliver(t, "bob", []string{"alice"}, fmt.Sprintf("note %d", i))
	}
	e.deliverRaw(t, "bob", []string{"alice"}, searchBase64)
	c := e.login("alice", nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	all := make([]uint32, 21) // "note" is a prefix of "notes" too
	for i := range all {
		all[i] = uint32(i + 1)
	}
	tests := []struct {
		name    string
		c       imap.SearchCriteria
		want    []uint32
		fetches int64
	}{
		{"TEXT", text("zebrafish"), []uint32{21}, 0},
		{"TEXT and UNSEEN", imap.SearchCriteria{Text: []string{"zebrafish"}, NotFlag: []imap.Flag{imap.FlagSeen}}, []uint32{21}, 0},
		{"SUBJECT of every entry", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{header("Subject", "note")}}, all, 0},
		{"BODY checks its candidate", imap.SearchCriteria{Body: []string{"zebrafish"}}, []uint32{21}, 1},
		{"a scanned key on the candidate", text("zebrafish", "@"), []uint32{21}, 1},
		{"OR reads the folder", imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{text("zzz"), {Flag: []imap.Flag{imap.FlagFlagged}}}}}, nil, 21},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := mb.fetches.Load()
			data, err := c.Search(&tc.c, nil).Wait()
			if err != nil {
				t.Fatal(err)
			}
			if got := data.AllSeqNums(); !slices.Equal(got, tc.want) {
				t.Errorf("SEARCH = %v, want %v", got, tc.want)
			}
			if n := mb.fetches.Load() - before; n != tc.fetches {
				t.Errorf("%d raw messages read, want %d", n, tc.fetches)
			}
		})
	}
}
