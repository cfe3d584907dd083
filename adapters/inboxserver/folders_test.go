package inboxserver

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/mail"
)

// The folder ops need a login, check their fields, and act on the user's
// own folders only.
func TestFolderOps(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user("alice")
	e.user("bob")
	in := e.deliver("alice", []string{"bob"}, "Hi Bob")[0]

	c := e.dial()
	for _, op := range []string{
		`{"op":"folders"}`, `{"op":"create_folder","folder":"x"}`, `{"op":"rename_folder","folder":"x","to":"y"}`,
		`{"op":"delete_folder","folder":"x"}`, fmt.Sprintf(`{"op":"move","id":%d,"folder":"trash"}`, in.ID),
		fmt.Sprintf(`{"op":"flags","id":%d}`, in.ID),
	} {
		c.fails(op, inboxwire.CodeAuthRequired)
	}
	c.ok(`{"op":"login","user":"bob","password":"` + testPassword + `"}`)
	for _, tc := range []struct{ line, code string }{
		{`{"op":"create_folder"}`, inboxwire.CodeBadRequest},
		{`{"op":"rename_folder","folder":"x"}`, inboxwire.CodeBadRequest},
		{`{"op":"delete_folder"}`, inboxwire.CodeBadRequest},
		{`{"op":"move","folder":"trash"}`, inboxwire.CodeBadRequest},
		{fmt.Sprintf(`{"op":"move","id":%d}`, in.ID), inboxwire.CodeBadRequest},
		{`{"op":"flags"}`, inboxwire.CodeBadRequest},
		{fmt.Sprintf(`{"op":"flags","id":%d,"remove":["recent"]}`, in.ID), inboxwire.CodeBadRequest},
		{`{"op":"create_folder","folder":"a/"}`, inboxwire.CodeBadRequest},
		{`{"op":"create_folder","folder":"SENT"}`, inboxwire.CodeExists},
		{`{"op":"rename_folder","folder":"inbox","to":"x"}`, inboxwire.CodeBadRequest},
		{`{"op":"delete_folder","folder":"nope"}`, inboxwire.CodeNotFound},
		{`{"op":"count","folder":"nope"}`, inboxwire.CodeNotFound},
	} {
		c.fails(tc.line, tc.code)
	}

	c.ok(`{"op":"create_folder","folder":"Private"}`)
	w := e.login("bob")
	e.watch(w)
	c.fails(fmt.Sprintf(`{"op":"move","id":%d,"folder":"private"}`, in.ID), inboxwire.CodeNotFound) // names are exact
	r := c.ok(fmt.Sprintf(`{"op":"move","id":%d,"folder":"Private"}`, in.ID))
	if r.ID == nil || *r.ID <= int64(in.ID) {
		t.Fatalf("move answered %+v, want a new id", r)
	}
	moved := *r.ID
	if ev := w.event(5 * time.Second); ev.Message == nil || ev.Message.ID != moved || ev.Message.Folder != "Private" {
		t.Errorf("watch event %+v, want the moved entry", ev)
	}
	c.fails(fmt.Sprintf(`{"op":"fetch","id":%d}`, in.ID), inboxwire.CodeNotFound)
	r = c.ok(fmt.Sprintf(`{"op":"flags","id":%d,"add":["Flagged","\\Answered"]}`, moved))
	if want := []string{"answered", "flagged"}; !reflect.DeepEqual(r.Flags, want) {
		t.Errorf("flags = %q, want %q", r.Flags, want)
	}
	c.ok(fmt.Sprintf(`{"op":"seen","id":%d,"seen":true}`, moved))
	r = c.ok(`{"op":"list","folder":"Private"}`)
	if len(r.Messages) != 1 || r.Messages[0].ID != moved || !r.Messages[0].Seen ||
		!reflect.DeepEqual(r.Messages[0].Flags, []string{"seen", "answered", "flagged"}) {
		t.Errorf("list Private = %+v", r.Messages)
	}
	r = c.ok(`{"op":"folders"}`)
	if n := len(r.Folders); n != 5 || r.Folders[4] != (inboxwire.Folder{Name: "Private", Total: 1}) || r.Folders[0].Special != "inbox" {
		t.Errorf("folders = %+v", r.Folders)
	}

	// alice sees none of it.
	a := e.login("alice")
	if r := a.ok(`{"op":"folders"}`); len(r.Folders) != 4 {
		t.Errorf("alice's folders = %+v", r.Folders)
	}
	for _, line := range []string{
		`{"op":"list","folder":"Private"}`, `{"op":"count","folder":"Private"}`,
		`{"op":"delete_folder","folder":"Private"}`, `{"op":"rename_folder","folder":"Private","to":"Mine"}`,
		fmt.Sprintf(`{"op":"move","id":%d,"folder":"inbox"}`, moved), fmt.Sprintf(`{"op":"flags","id":%d}`, moved),
	} {
		a.fails(line, inboxwire.CodeNotFound)
	}
	if m, err := e.mb.Fetch(t.Context(), e.user("bob").ID, mail.EntryID(moved)); err != nil || m.Folder != "Private" {
		t.Errorf("bob's entry after alice's tries: %+v, %v", m.Meta, err)
	}
}
