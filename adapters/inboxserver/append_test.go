package inboxserver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/mail"
)

func draftRaw(subject string, size int) []byte {
	head := "From: bob@" + testDomain + "\r\nTo: alice@" + testDomain + "\r\nSubject: " + subject + "\r\n\r\n"
	body := strings.Repeat("d", max(size-len(head), 0))
	return []byte(head + body)
}

func appendLine(tag int, folder string, raw []byte, flags string) string {
	return fmt.Sprintf(`{"tag":%d,"op":"append","folder":%q,"raw":%q%s}`,
		tag, folder, base64.StdEncoding.EncodeToString(raw), flags)
}

func TestAppendStoresADraft(t *testing.T) {
	e := newEnv(t, envOpts{})
	watcher := e.login("bob")
	e.watch(watcher)
	bob := e.login("bob")
	raw := draftRaw("Plans for Friday", 200)

	line := appendLine(1, "drafts", raw, `,"flags":["draft","seen"]`)
	bob.sendLine(line)
	got, err := bob.readLine(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(got, []byte(`"raw"`)) {
		t.Errorf("the answer carries raw: %s", got)
	}
	r := bob.response2(got)
	m := r.Message
	if !r.OK || m == nil || m.Folder != "drafts" || m.Subject != "Plans for Friday" || !m.Seen ||
		strings.Join(m.Flags, ",") != "seen,draft" || m.Size != int64(len(raw)) {
		t.Fatalf("append answered %s", got)
	}
	f := bob.ok(fmt.Sprintf(`{"op":"fetch","id":%d}`, m.ID))
	if !bytes.Equal(f.Message.Raw, raw) {
		t.Errorf("fetch gave %q, want %q", f.Message.Raw, raw)
	}
	if l := bob.ok(`{"op":"list","folder":"drafts"}`); len(l.Messages) != 1 || l.Messages[0].ID != m.ID {
		t.Errorf("drafts list %+v", l.Messages)
	}
	if ev := watcher.event(5 * time.Second); ev.Event != inboxwire.EventMessage || ev.Message == nil || ev.Message.ID != m.ID {
		t.Errorf("the other session's watch got %+v, want the draft", ev)
	}
	// No flags: none, and an empty message is a message.
	r = bob.ok(appendLine(2, "Drafts", nil, ""))
	if r.Message == nil || r.Message.Seen || len(r.Message.Flags) != 0 || r.Message.Folder != "drafts" {
		t.Errorf("flagless append gave %+v", r.Message)
	}
}

// response2 decodes a response line read already.
func (c *client) response2(line []byte) inboxwire.Response {
	c.t.Helper()
	var r inboxwire.Response
	if err := json.Unmarshal(line, &r); err != nil {
		c.t.Fatalf("bad response %.200s: %v", line, err)
	}
	return r
}

func TestAppendRefusals(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.dial()
	c.fails(appendLine(1, "drafts", []byte("x"), ""), inboxwire.CodeAuthRequired)
	bob := e.login("bob")
	for _, tc := range []struct {
		name, line, code, message string
	}{
		{"no such folder", appendLine(1, "Archive", []byte("x"), ""), inboxwire.CodeNotFound, "no such folder"},
		{"bad folder", appendLine(2, "a//b", []byte("x"), ""), inboxwire.CodeBadRequest, ""},
		{"bad base64", `{"tag":3,"op":"append","folder":"drafts","raw":"not base64!"}`, inboxwire.CodeBadRequest, ""},
		{"raw not a string", `{"tag":4,"op":"append","folder":"drafts","raw":42}`, inboxwire.CodeBadRequest, ""},
		{"unknown flag", appendLine(5, "drafts", []byte("x"), `,"flags":["important"]`), inboxwire.CodeBadRequest, ""},
		{"no raw", `{"tag":6,"op":"append","folder":"drafts"}`, inboxwire.CodeBadRequest, `bad request: missing "raw"`},
		{"no folder", `{"tag":7,"op":"append","raw":""}`, inboxwire.CodeBadRequest, `bad request: missing "folder"`},
	} {
		r := bob.fails(tc.line, tc.code)
		if tc.message != "" && r.Error.Message != tc.message {
			t.Errorf("%s: message %q, want %q", tc.name, r.Error.Message, tc.message)
		}
	}
	if n := e.count("bob", mail.Drafts); n != 0 {
		t.Errorf("drafts hold %d after refusals", n)
	}
}

// TestAppendSizeLimit: the line limit after login follows the message
// limit, whatever MaxLine says: a draft at the limit is stored; one byte
// over, with a line that still fits, is a tagged too_large and the session
// goes on; a line longer than the limit is an untagged too_large and the
// end. Nothing over the limit is stored.
func TestAppendSizeLimit(t *testing.T) {
	const limit = 100 << 10
	e := newEnv(t, envOpts{
		cfg:  func(c *Config) { c.MaxLine = 1 << 10 },
		mail: func(c *mail.Config) { c.MaxMessageBytes = limit },
	})
	bob := e.login("bob")
	bob.ok(appendLine(1, "drafts", draftRaw("at the limit", limit), ""))
	r := bob.fails(appendLine(2, "drafts", draftRaw("one over", limit+1), ""), inboxwire.CodeTooLarge)
	if string(r.Tag) != "2" || !strings.Contains(r.Error.Message, fmt.Sprint(limit)) {
		t.Errorf("one over: %+v, want tag 2 and the limit in words", r)
	}
	bob.ok(`{"op":"ping"}`)
	if n := e.count("bob", mail.Drafts); n != 1 {
		t.Fatalf("%d drafts, want 1", n)
	}
	// The line limit: base64 of the limit plus room for the rest.
	huge := appendLine(3, "drafts", draftRaw("far over", inboxwire.RequestLineLimit(limit)), "")
	go func() {
		bob.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		bob.conn.Write([]byte(huge + "\n")) // fails part way once the server closes: fine
	}()
	line, err := bob.readLine(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r = bob.response2(line)
	if r.OK || r.Error == nil || r.Error.Code != inboxwire.CodeTooLarge || len(r.Tag) != 0 {
		t.Fatalf("a line over the limit: %s, want an untagged too_large", line)
	}
	bob.closed(10 * time.Second)
	if n := e.count("bob", mail.Drafts); n != 1 {
		t.Errorf("%d drafts after the refused line, want 1", n)
	}
}

// TestAppendDefaultLimits: with the daemon's defaults (1 MiB MaxLine, 25
// MiB messages) a draft of exactly 25 MiB is stored.
func TestAppendDefaultLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("sends a 33 MiB line")
	}
	e := newEnv(t, envOpts{})
	bob := e.login("bob")
	raw := draftRaw("big", int(e.mb.MaxMessageBytes()))
	bob.sendLine(appendLine(1, "drafts", raw, ""))
	line, err := bob.readLine(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r := bob.response2(line); !r.OK || r.Message == nil || r.Message.Size != int64(len(raw)) {
		t.Fatalf("a draft of %d bytes: %.300s", len(raw), line)
	}
}
