package mail_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// Search on the fake store records the query it was given.
func (s *mailStore) Search(_ context.Context, owner account.ID, q mail.Query, before mail.EntryID, limit int) ([]mail.Meta, error) {
	s.searchArgs = append(s.searchArgs, q)
	return nil, nil
}

func TestParseQuery(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	any := func(prefix bool, w ...string) mail.Term { return mail.Term{Words: w, Prefix: prefix} }
	tests := []struct {
		in   string
		want mail.Query
	}{
		{"hello", mail.Query{Terms: []mail.Term{any(true, "hello")}}},
		{"Hello Wor", mail.Query{Terms: []mail.Term{any(false, "hello"), any(true, "wor")}}},
		{`"Exact Phrase" x`, mail.Query{Terms: []mail.Term{any(false, "exact", "phrase"), any(true, "x")}}},
		{`x "exact phrase"`, mail.Query{Terms: []mail.Term{any(false, "x"), any(false, "exact", "phrase")}}},
		{`from:alice@example.com`, mail.Query{Terms: []mail.Term{{Field: mail.FieldFrom, Words: []string{"alice", "example", "com"}}}}},
		{`to:bob subject:"big news"`, mail.Query{Terms: []mail.Term{{Field: mail.FieldTo, Words: []string{"bob"}},
			{Field: mail.FieldSubject, Words: []string{"big", "news"}}}}},
		{`in:INBOX is:unread is:Flagged has:attachment`, mail.Query{Folder: mail.Inbox, Unread: true, Flagged: true, HasAttachment: true}},
		{`before:2024-02-01 after:2024-01-01`, mail.Query{Before: day("2024-02-01"), After: day("2024-01-01")}},
		{`a -b -"c d" -from:e`, mail.Query{Terms: []mail.Term{any(false, "a")}, Not: []mail.Term{any(false, "b"),
			any(false, "c", "d"), {Field: mail.FieldFrom, Words: []string{"e"}}}}},
		{`foo:bar`, mail.Query{Terms: []mail.Term{any(true, "foo", "bar")}}},
		{`x OR NEAR(y* 'z`, mail.Query{Terms: []mail.Term{any(false, "x"), any(false, "or"), any(false, "near", "y"), any(true, "z")}}},
		{`"open quote`, mail.Query{Terms: []mail.Term{any(false, "open", "quote")}}},
		{"café\x00ü", mail.Query{Terms: []mail.Term{any(true, "café", "ü")}}},
	}
	for _, tt := range tests {
		got, err := mail.ParseQuery(tt.in)
		if err != nil {
			t.Errorf("ParseQuery(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseQuery(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseQueryBad(t *testing.T) {
	for _, in := range []string{"", "   ", `"`, "*", "(", ")", "-", "is:read", "has:money", "before:yesterday",
		"after:2024-13-01", "in:", "in:a//b", "-is:unread", "-in:inbox", strings.Repeat("a", 5000), "\xff",
		strings.Repeat("w ", mail.MaxQueryTerms+1)} {
		if q, err := mail.ParseQuery(in); !errors.Is(err, mail.ErrBadQuery) {
			t.Errorf("ParseQuery(%.40q) = %+v, %v; want ErrBadQuery", in, q, err)
		}
	}
}

func TestSearchWords(t *testing.T) {
	got := mail.SearchWords(`Alice <alice@Example.COM>, "naïve" x-y_z ` + strings.Repeat("é", 40))
	want := []string{"alice", "alice", "example", "com", "naïve", "x", "y", "z", strings.Repeat("é", 32)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SearchWords = %q, want %q", got, want)
	}
}

func TestNewSearchDoc(t *testing.T) {
	raw := "From: Alice Smith <alice@example.com>\r\nTo: Bob <bob@example.org>\r\nSubject: =?utf-8?q?Caf=C3=A9_plans?=\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\nMeet at the caf=C3=A9.\r\n--b\r\nContent-Type: application/pdf\r\n" +
		"Content-Disposition: attachment; filename=\"menu.pdf\"\r\n\r\nJVBERi0=\r\n--b--\r\n"
	got := mail.NewSearchDoc([]byte(raw), "bounce@example.com")
	want := mail.SearchDoc{Subject: "café plans", From: "bounce example com alice smith alice example com",
		To: "bob bob example org", Body: "meet at the café", Files: "menu pdf", Attachment: true}
	if got != want {
		t.Errorf("NewSearchDoc\n got %+v\nwant %+v", got, want)
	}
}

func TestServiceSearch(t *testing.T) {
	h := newHarness(t, 0)
	if _, err := h.svc.Search(context.Background(), 1, "x", "", 0, mail.MaxLimit+1); !errors.Is(err, mail.ErrBadLimit) {
		t.Errorf("limit over: %v", err)
	}
	if _, err := h.svc.Search(context.Background(), 1, `"`, "", 0, 0); !errors.Is(err, mail.ErrBadQuery) {
		t.Errorf("bad query: %v", err)
	}
	if _, err := h.svc.Search(context.Background(), 1, "x in:sent", "Inbox", 0, 0); err != nil {
		t.Fatal(err)
	}
	if got := h.store.searchArgs; len(got) != 1 || got[0].Folder != mail.Inbox {
		t.Errorf("store got %+v, want one query in inbox", got)
	}
}

// FuzzParseQuery: any text parses or is ErrBadQuery, and what reaches a
// store is only search words.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{`hello wor`, `"exact phrase"`, `from:a@b.c to:"x y" subject:z in:inbox is:unread`,
		`has:attachment before:2024-01-01 after:2023-01-01 -spam`, `" * OR NEAR( ' ) (`, "\x00", `-"`, `in:"a b"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := mail.ParseQuery(s)
		if err != nil {
			if !errors.Is(err, mail.ErrBadQuery) && !errors.Is(err, mail.ErrBadFolder) {
				t.Fatalf("ParseQuery(%q): %v", s, err)
			}
			return
		}
		if len(q.Terms)+len(q.Not) > mail.MaxQueryTerms {
			t.Fatalf("%d terms", len(q.Terms)+len(q.Not))
		}
		for _, tm := range append(q.Terms, q.Not...) {
			if len(tm.Words) == 0 {
				t.Fatalf("empty term in %+v", q)
			}
			for _, w := range tm.Words {
				if w == "" || len(w) > mail.MaxWordBytes || !utf8.ValidString(w) || strings.ContainsAny(w, "\"*'()\x00 :") {
					t.Fatalf("word %q from %q", w, s)
				}
			}
		}
	})
}
