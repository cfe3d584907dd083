//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runBlock matches docs/clients.md's runnable blocks: a "<!-- run: PROGRAM -->"
// line, then a sh fence.
var runBlock = regexp.MustCompile("(?s)<!-- run: ([a-z-]+) -->\n```sh\n(.*?)```")

// TestClientRecipes runs every block of docs/clients.md as written (the
// port 8025 becomes the test daemon's) with mailroomd on the PATH, and
// checks that each message reached bob. A block whose program is not
// installed is skipped, and said so.
func TestClientRecipes(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "clients.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := runBlock.FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 4 {
		t.Fatalf("docs/clients.md has %d runnable blocks, want msmtp, s-nail, swaks and curl", len(blocks))
	}
	bin, err := binary()
	if err != nil {
		t.Skipf("no binary: %v", err)
	}
	dir, home := t.TempDir(), t.TempDir()
	mustRun(t, nil, "alice-password\n", "--data", dir, "user", "add", "alice")
	mustRun(t, nil, "bob-password!\n", "--data", dir, "user", "add", "bob")
	d := startDaemon(t, dir, "--imap-addr", "127.0.0.1:0")
	_, port, _ := strings.Cut(d.addrs["smtp"], ":")
	env := append(os.Environ(), "HOME="+home, "MAILROOM_DATA="+dir,
		"PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))

	var sent []string
	for _, b := range blocks {
		program, script := b[1], strings.ReplaceAll(b[2], "8025", port)
		if _, err := exec.LookPath(program); err != nil {
			t.Logf("%s is not installed: its recipe is not run", program)
			continue
		}
		cmd := exec.Command("sh", "-e", "-c", script)
		cmd.Env, cmd.Dir = env, home
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s recipe: %v\n%s\nscript:\n%s", program, err, out, script)
			continue
		}
		sent = append(sent, "from "+program)
	}
	ic := dialInbox(t, d.addrs["inbox"], d.fingerprint)
	mustOK(t, "login", ic.do(`{"tag":1,"op":"login","user":"bob","password":"bob-password!"}`))
	list := ic.do(`{"tag":2,"op":"list","folder":"inbox"}`)
	var got []string
	msgs, _ := list["messages"].([]any)
	for _, m := range msgs {
		if mm, ok := m.(map[string]any); ok {
			got = append(got, mm["subject"].(string))
		}
	}
	for _, s := range sent {
		if !strings.Contains(strings.Join(got, "\n"), s) {
			t.Errorf("bob has no %q; inbox: %q", s, got)
		}
	}
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}
