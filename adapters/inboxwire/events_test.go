package inboxwire

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"mailroom/domain/mail"
)

// The watch events' wire form, byte for byte (docs/protocol.md, watch).
func TestEventOf(t *testing.T) {
	at := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	full := mail.Meta{ID: 5, Owner: 2, Folder: mail.Inbox, From: "a@x", To: []string{"b@x"}, Subject: "s", Date: at, Size: 9}
	for _, tc := range []struct {
		name string
		c    mail.Change
		want string // "" when no event
	}{
		{"new", mail.Change{Kind: mail.ChangeNew, Meta: full},
			`{"event":"message","message":{"id":5,"folder":"inbox","from":"a@x","to":["b@x"],"subject":"s","preview":"","date":"2026-05-04T12:00:00Z","size":9,"seen":false,"flags":[]}}`},
		{"new but gone before it was read", mail.Change{Kind: mail.ChangeNew, Meta: mail.Meta{ID: 5, Owner: 2, Folder: mail.Inbox}}, ""},
		{"removed", mail.Change{Kind: mail.ChangeExpunge, Meta: mail.Meta{ID: 3, Owner: 2, Folder: "Work/2026", Flags: mail.FlagDeleted}},
			`{"event":"removed","id":3,"folder":"Work/2026"}`},
		{"flags", mail.Change{Kind: mail.ChangeFlags, Meta: mail.Meta{ID: 5, Owner: 2, Folder: mail.Inbox, Flags: mail.FlagSeen | mail.FlagFlagged, Seen: true}},
			`{"event":"flags","id":5,"folder":"inbox","flags":["seen","flagged"],"seen":true}`},
		{"no flags", mail.Change{Kind: mail.ChangeFlags, Meta: mail.Meta{ID: 5, Owner: 2, Folder: mail.Inbox}},
			`{"event":"flags","id":5,"folder":"inbox","flags":[],"seen":false}`},
		{"seen only in Seen", mail.Change{Kind: mail.ChangeFlags, Meta: mail.Meta{ID: 5, Folder: mail.Inbox, Seen: true}},
			`{"event":"flags","id":5,"folder":"inbox","flags":["seen"],"seen":true}`},
		{"unknown kind", mail.Change{Kind: 9, Meta: full}, ""},
	} {
		ev, ok := EventOf(tc.c)
		if !ok {
			if tc.want != "" {
				t.Errorf("%s: no event, want %s", tc.name, tc.want)
			}
			continue
		}
		b, err := AppendLine(nil, ev)
		if err != nil || string(b) != tc.want+"\n" {
			t.Errorf("%s: got %s, %v; want %s", tc.name, b, err, tc.want)
		}
	}
}

func TestAppendRequestAndResponse(t *testing.T) {
	raw := []byte("Subject: x\r\n\r\nhi\r\n")
	line := `{"tag":1,"op":"append","folder":"drafts","raw":"` + base64.StdEncoding.EncodeToString(raw) + `","flags":["draft"]}`
	req, err := DecodeRequest([]byte(line))
	if err != nil || req.Op != OpAppend || *req.Folder != "drafts" || !bytes.Equal(req.Raw, raw) || len(req.Flags) != 1 {
		t.Fatalf("append request: %+v, %v", req, err)
	}
	// The client's encoding of an empty message keeps raw.
	b, _ := AppendLine(nil, Request{Op: OpAppend, Folder: new("drafts"), Raw: []byte{}})
	if req, err := DecodeRequest(b); err != nil || req.Raw == nil || len(req.Raw) != 0 {
		t.Errorf("empty raw: %s gave %+v, %v", b, req, err)
	}
	if _, err := DecodeRequest([]byte(`{"op":"append","folder":"drafts","raw":"a!"}`)); !errors.Is(err, ErrBadRequest) {
		t.Errorf("bad base64 = %v, want ErrBadRequest", err)
	}
	// An append is answered a meta only: no raw.
	b, _ = AppendLine(nil, Response{OK: true, Message: &Message{Meta: MetaFrom(mail.Meta{ID: 8})}})
	if bytes.Contains(b, []byte(`"raw"`)) {
		t.Errorf("append response carries raw: %s", b)
	}
}

// A request at RequestLineLimit of a message limit holds a message of that
// size.
func TestRequestLineLimitHoldsTheLargestAppend(t *testing.T) {
	const limit = 300 << 10
	b, err := AppendLine(nil, Request{Tag: []byte(`"` + strings.Repeat("t", 1000) + `"`), Op: OpAppend,
		Folder: new(strings.Repeat("\u0001", 255)), Raw: make([]byte, limit), Flags: mail.AllFlags.Names()})
	if err != nil {
		t.Fatal(err)
	}
	lr := NewLineReader(bytes.NewReader(b), RequestLineLimit(limit))
	if _, err := lr.ReadLine(); err != nil {
		t.Errorf("a %d-byte append line: %v", len(b), err)
	}
	if RequestLineLimit(25<<20) != 35_018_072 {
		t.Errorf("RequestLineLimit(25 MiB) = %d, as documented 35,018,072", RequestLineLimit(25<<20))
	}
}
