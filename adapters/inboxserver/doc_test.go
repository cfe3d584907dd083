package inboxserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"mailroom/adapters/inboxwire"
)

// docPath is the protocol document whose examples this test runs.
const docPath = "../../docs/protocol.md"

// A dialogue is one fenced block of "C: " (client) and "S: " (server)
// lines in docs/protocol.md. Each runs on a fresh connection, in document
// order, against one server whose mailbox starts as the document says:
// alice (id 1) and bob (id 2); alice sent bob "Hello" (entries 1 inbox,
// 2 sent) and then "Lunch?" (entries 3 and 4), with the bodies whose
// previews the document shows.
type docStep struct {
	client bool
	line   string
	lineNo int
}

type dialogue struct {
	start int
	steps []docStep
}

// docBlocks gives the dialogues and the bodies of the ```json blocks.
func docBlocks(t *testing.T) (dialogues []dialogue, jsonBlocks []string) {
	t.Helper()
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	inFence, lang := false, ""
	var cur dialogue
	var body strings.Builder
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			if !inFence {
				inFence, lang = true, strings.TrimPrefix(line, "```")
				cur, body = dialogue{start: n}, strings.Builder{}
				continue
			}
			inFence = false
			if len(cur.steps) > 0 {
				dialogues = append(dialogues, cur)
			}
			if lang == "json" {
				jsonBlocks = append(jsonBlocks, body.String())
			}
			continue
		}
		if !inFence {
			continue
		}
		body.WriteString(line + "\n")
		switch {
		case strings.HasPrefix(line, "C: "):
			cur.steps = append(cur.steps, docStep{client: true, line: line[3:], lineNo: n})
		case strings.HasPrefix(line, "S: "):
			cur.steps = append(cur.steps, docStep{line: line[3:], lineNo: n})
		}
	}
	return dialogues, jsonBlocks
}

func TestProtocolDocExamples(t *testing.T) {
	dialogues, jsonBlocks := docBlocks(t)
	if len(dialogues) < 10 {
		t.Fatalf("found %d dialogues in %s", len(dialogues), docPath)
	}
	for _, b := range jsonBlocks {
		var v map[string]any
		if err := json.Unmarshal([]byte(b), &v); err != nil {
			t.Errorf("json block %q: %v", b, err)
		} else if _, isEvent := v["event"]; !isEvent {
			if _, err := inboxwire.DecodeRequest([]byte(strings.ReplaceAll(b, "\n", ""))); err != nil {
				t.Errorf("json block %q is not a valid request: %v", b, err)
			}
		}
	}

	e := newEnv(t, envOpts{})
	e.user("alice")
	e.user("bob")
	e.deliverDoc("alice", "bob", "Hello", "Hi Bob,\r\n\r\nwelcome to Mailroom! Write back when you get this.\r\n\r\n-- \r\nAlice\r\n")
	e.deliverDoc("alice", "bob", "Lunch?", "Are you free for lunch at noon? The new place on Main Street has a terrace.\r\n")

	for _, d := range dialogues {
		c := e.dial()
		for _, st := range d.steps {
			if st.client {
				c.sendLine(st.line)
				continue
			}
			var want map[string]any
			if err := json.Unmarshal([]byte(st.line), &want); err != nil {
				t.Fatalf("%s:%d: the documented response is not JSON: %v", docPath, st.lineNo, err)
			}
			if ev, ok := want["event"]; ok && ev == inboxwire.EventMessage {
				// Make the documented event happen.
				m := want["message"].(map[string]any)
				from := strings.Split(m["from"].(string), "@")[0]
				to := strings.Split(m["to"].([]any)[0].(string), "@")[0]
				e.deliverDoc(from, to, m["subject"].(string), m["preview"].(string)+"\r\n")
			}
			line, err := c.readLine(5 * time.Second)
			if err != nil {
				t.Fatalf("%s:%d: reading the response: %v", docPath, st.lineNo, err)
			}
			var got map[string]any
			if err := json.Unmarshal(line, &got); err != nil {
				t.Fatalf("%s:%d: server sent %s: %v", docPath, st.lineNo, line, err)
			}
			if diff := docDiff("", want, got); diff != "" {
				t.Errorf("%s:%d: %s\n documented: %s\n server:     %s", docPath, st.lineNo, diff, st.line, line)
			}
		}
		c.conn.Close()
	}
}

// deliverDoc delivers a message as the document shows it: the fetch
// example's raw is the "Hello" message, and its preview is its body's start.
func (e *env) deliverDoc(from, to, subject, body string) {
	e.t.Helper()
	e.user(to)
	raw := "From: " + from + "@" + testDomain + "\r\nTo: " + to + "@" + testDomain + "\r\nSubject: " + subject + "\r\n\r\n" + body
	if _, err := deliverVia(context.Background(), e.mb, e.user(from), []string{to}, []byte(raw)); err != nil {
		e.t.Fatal(err)
	}
}

// docDiff compares a documented value with the server's: same keys,
// same values, except values that differ from run to run (date, size,
// raw) and error messages (human text), whose presence and type count.
func docDiff(key string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return key + ": not an object"
		}
		for k := range w {
			if _, ok := g[k]; !ok {
				return "missing " + key + "." + k
			}
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				return "undocumented " + key + "." + k
			}
		}
		for k := range w {
			if d := docDiff(k, w[k], g[k]); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return key + ": documented " + strings.TrimSpace(jsonString(w)) + ", got " + strings.TrimSpace(jsonString(got))
		}
		for i := range w {
			if d := docDiff(key, w[i], g[i]); d != "" {
				return d
			}
		}
		return ""
	}
	switch key {
	case "date", "size", "raw", "message":
		if reflect.TypeOf(want) != reflect.TypeOf(got) {
			return key + ": wrong type"
		}
		return ""
	}
	if !reflect.DeepEqual(want, got) {
		return key + ": documented " + jsonString(want) + ", got " + jsonString(got)
	}
	return ""
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
