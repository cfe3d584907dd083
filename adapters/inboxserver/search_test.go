package inboxserver

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"mailroom/adapters/inboxwire"
)

// search finds the user's own entries only, pages like list, and answers
// hostile queries with results or bad_request, never internal.
func TestSearchOp(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user("alice")
	e.user("bob")
	e.user("carol")
	first := e.deliver("alice", []string{"bob", "carol"}, "Quokka one")
	second := e.deliver("alice", []string{"bob"}, "Quokka two")

	c := e.dial()
	c.fails(`{"op":"search","query":"quokka"}`, inboxwire.CodeAuthRequired)
	c.ok(`{"op":"login","user":"bob","password":"` + testPassword + `"}`)
	r := c.ok(`{"op":"search","query":"quok"}`)
	if len(r.Messages) != 2 || r.Messages[0].ID != int64(second[0].ID) || r.Messages[1].ID != int64(first[0].ID) {
		t.Fatalf("search quok = %+v, want bob's two entries newest first", r.Messages)
	}
	r = c.ok(fmt.Sprintf(`{"op":"search","query":"quokka","folder":"inbox","before":%d,"limit":1}`, second[0].ID))
	if len(r.Messages) != 1 || r.Messages[0].ID != int64(first[0].ID) {
		t.Fatalf("second page = %+v", r.Messages)
	}
	if r := c.ok(`{"op":"search","query":"quokka","folder":"sent"}`); len(r.Messages) != 0 {
		t.Errorf("bob's sent: %+v", r.Messages)
	}
	for _, tc := range []struct{ line, code string }{
		{`{"op":"search"}`, inboxwire.CodeBadRequest},
		{`{"op":"search","query":""}`, inboxwire.CodeBadRequest},
		{`{"op":"search","query":"x","folder":""}`, inboxwire.CodeBadRequest},
		{`{"op":"search","query":"x","folder":"nope"}`, inboxwire.CodeNotFound},
		{`{"op":"search","query":"x","limit":0}`, inboxwire.CodeBadRequest},
		{`{"op":"search","query":"x","before":-1}`, inboxwire.CodeBadRequest},
		{`{"op":"search","query":"is:read"}`, inboxwire.CodeBadRequest},
	} {
		c.fails(tc.line, tc.code)
	}
	for _, q := range []string{`"`, `*`, `OR`, `NEAR(`, `'`, "\x00", `(`, `)`, `quokka OR`, `a AND NOT b`,
		strings.Repeat("x", 5000), strings.Repeat(`"(`, 400)} {
		b, _ := json.Marshal(q)
		r := c.do(`{"op":"search","query":` + string(b) + `}`)
		if !r.OK && (r.Error == nil || r.Error.Code != inboxwire.CodeBadRequest) {
			t.Errorf("search %.30q: %+v", q, r.Error)
		}
	}
	// carol shares the first message: she sees her own entry only.
	cc := e.login("carol")
	if r := cc.ok(`{"op":"search","query":"quokka"}`); len(r.Messages) != 1 || r.Messages[0].ID != int64(first[1].ID) {
		t.Errorf("carol's search = %+v", r.Messages)
	}
}
