package imapserver

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailroom/domain/mail"
)

// needTool finds an interop tool. Missing, the test is skipped, or fails
// when MAILROOM_REQUIRE_INTEROP=1 (CI installs them: .ci/run).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("MAILROOM_REQUIRE_INTEROP") == "1" {
			t.Fatalf("%s is required (MAILROOM_REQUIRE_INTEROP=1): %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

func runTool(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out.String())
	}
	return out.String()
}

func (e *env) port() string {
	_, p, _ := net.SplitHostPort(e.addr)
	return p
}

// pythonFlow is the whole flow through Python's imaplib: login,
// capabilities, LIST, CREATE, SELECT, FETCH, STORE, SEARCH, APPEND, COPY,
// MOVE, EXPUNGE, STATUS, LOGOUT. Every step asserts.
const pythonFlow = `
import imaplib, ssl, sys
host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL(host, port, ssl_context=ctx)
typ, caps = m.capability(); assert b"IMAP4rev2" in caps[0] and b"AUTH=PLAIN" in caps[0], caps
m.login(user, pw)
typ, caps = m.capability(); assert b"IDLE" in caps[0] and b"MOVE" in caps[0] and b"SPECIAL-USE" in caps[0], caps
typ, boxes = m.list(); names = b" ".join(boxes)
for want in (b'"INBOX"', b"\\Sent", b"\\Drafts", b"\\Trash"):
    assert want in names or want.strip(b'"') in names, (want, boxes)
assert m.create("Python/Box")[0] == "OK"
typ, data = m.select("INBOX"); assert typ == "OK" and int(data[0]) == 2, data
typ, data = m.fetch("1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
assert typ == "OK" and b"Subject: one" in data[0][1], data
typ, data = m.fetch("2", "(BODY[])"); assert b"Hello two." in data[0][1], data
typ, data = m.fetch("2", "(FLAGS)"); assert b"\\Seen" in data[0], data
typ, data = m.store("1", "+FLAGS", "(\\Flagged)"); assert b"\\Flagged" in data[0], data
typ, data = m.search(None, "FLAGGED"); assert data[0].split() == [b"1"], data
typ, data = m.search(None, 'SUBJECT "two"'); assert data[0].split() == [b"2"], data
typ, data = m.search(None, 'BODY "hello tw"'); assert data[0].split() == [b"2"], data
typ, data = m.uid("SEARCH", "ALL"); assert len(data[0].split()) == 2, data
msg = b"From: py@example.test\r\nSubject: appended\r\nMessage-ID: <py1@example.test>\r\n\r\nbody\r\n"
typ, data = m.append("Python/Box", "(\\Seen)", None, msg); assert typ == "OK" and b"APPENDUID" in data[0], data
typ, data = m.copy("1", "Python/Box"); assert typ == "OK", data
imaplib.Commands.setdefault("MOVE", ("SELECTED",))
typ, data = m._simple_command("MOVE", "2", "Trash"); assert typ == "OK", data
typ, data = m.select("INBOX"); assert int(data[0]) == 1, data
m.store("1", "+FLAGS", "(\\Deleted)"); typ, data = m.expunge(); assert data == [b"1"], data
typ, data = m.status("Python/Box", "(MESSAGES UNSEEN)"); assert b"MESSAGES 2" in data[0], data
typ, data = m.status("Trash", "(MESSAGES)"); assert b"MESSAGES 1" in data[0], data
m.logout()
print("python flow ok")
`

func TestInteropPython(t *testing.T) {
	py := needTool(t, "python3")
	e := newEnv(t, envOpts{})
	e.deliver(t, "bob", []string{"alice"}, "one")
	e.deliver(t, "bob", []string{"alice"}, "two")
	e.user(t, "alice")
	out := runTool(t, "", py, "-c", pythonFlow, "127.0.0.1", e.port(), "alice", testPassword)
	if !strings.Contains(out, "python flow ok") {
		t.Fatalf("python: %s", out)
	}
	uids, _ := e.mb.UIDs(context.Background(), e.user(t, "alice").ID, mail.Inbox)
	if len(uids) != 0 {
		t.Errorf("INBOX after the flow: %+v", uids)
	}
}

func TestInteropCurl(t *testing.T) {
	curl := needTool(t, "curl")
	e := newEnv(t, envOpts{})
	e.deliver(t, "bob", []string{"alice"}, "for curl")
	base := "imaps://127.0.0.1:" + e.port() + "/"
	list := runTool(t, "", curl, "-sS", "-k", "--max-time", "30", "-u", "alice:"+testPassword, base)
	for _, want := range []string{"INBOX", "Sent", "Drafts", "Trash"} {
		if !strings.Contains(list, want) {
			t.Errorf("curl LIST lacks %s:\n%s", want, list)
		}
	}
	uids, _ := e.mb.UIDs(context.Background(), e.user(t, "alice").ID, mail.Inbox)
	body := runTool(t, "", curl, "-sS", "-k", "--max-time", "30", "-u", "alice:"+testPassword,
		fmt.Sprintf("%sINBOX;UID=%d", base, uids[0].UID))
	if !strings.Contains(body, "Subject: for curl") || !strings.Contains(body, "Hello for curl.") {
		t.Errorf("curl FETCH:\n%s", body)
	}
}

// TestInteropMbsync syncs every folder to a Maildir with isync's mbsync,
// flags one message and moves another locally, syncs back, and checks the
// server.
func TestInteropMbsync(t *testing.T) {
	mbsync := needTool(t, "mbsync")
	e := newEnv(t, envOpts{})
	e.deliver(t, "bob", []string{"alice"}, "keep and flag")
	e.deliver(t, "bob", []string{"alice"}, "move me")
	e.deliver(t, "alice", []string{"bob"}, "sent by alice")
	ctx, alice := context.Background(), e.user(t, "alice")
	if _, err := e.mb.CreateFolder(ctx, alice.ID, "Archive"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile := filepath.Join(dir, "cert.pem")
	cert, _ := testCert()
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	maildir := filepath.Join(dir, "mail") + "/"
	if err := os.Mkdir(maildir, 0o700); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(dir, "mbsyncrc")
	conf := fmt.Sprintf(`IMAPAccount mr
Host 127.0.0.1
Port %s
User alice
Pass "%s"
SSLType IMAPS
CertificateFile %s

IMAPStore mr-remote
Account mr

MaildirStore mr-local
Path %s
Inbox %sINBOX
SubFolders Verbatim

Channel mr
Far :mr-remote:
Near :mr-local:
Patterns *
Create Both
Expunge Both
SyncState *
`, e.port(), testPassword, certFile, maildir, maildir)
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	runTool(t, "", mbsync, "-c", rc, "-a")
	for _, f := range []string{"INBOX", "Sent", "Drafts", "Trash", "Archive"} {
		if _, err := os.Stat(filepath.Join(maildir, f, "cur")); err != nil {
			t.Fatalf("maildir lacks %s: %v", f, err)
		}
	}
	inbox := maildirFiles(t, filepath.Join(maildir, "INBOX"))
	if len(inbox) != 2 {
		t.Fatalf("INBOX in the maildir: %v", inbox)
	}
	var flag, move string
	for _, p := range inbox {
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte("Subject: keep and flag")) {
			flag = p
		} else {
			move = p
		}
	}
	// Flag: the Maildir info suffix gains F. Move: into Archive, without
	// the ",U=" that names a UID of the old folder.
	if err := os.Rename(flag, flagged(flag)); err != nil {
		t.Fatal(err)
	}
	base := filepath.Base(move)
	if i := strings.Index(base, ",U="); i >= 0 {
		j := strings.IndexByte(base[i:], ':')
		base = base[:i] + base[i+j:]
	}
	if err := os.Rename(move, filepath.Join(maildir, "Archive", "cur", base)); err != nil {
		t.Fatal(err)
	}
	runTool(t, "", mbsync, "-c", rc, "-a")

	left, _ := e.mb.UIDs(ctx, alice.ID, mail.Inbox)
	if len(left) != 1 || !left[0].Flags.Has(mail.FlagFlagged) {
		t.Errorf("server INBOX after sync back: %+v", left)
	}
	arch, _ := e.mb.UIDs(ctx, alice.ID, "Archive")
	if len(arch) != 1 {
		t.Fatalf("server Archive after sync back: %+v", arch)
	}
	msg, _ := e.mb.Fetch(ctx, alice.ID, arch[0].ID)
	if !bytes.Contains(msg.Raw, []byte("Subject: move me")) {
		t.Errorf("Archive holds %q", msg.Raw)
	}
}

func maildirFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"cur", "new"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			out = append(out, filepath.Join(dir, sub, e.Name()))
		}
	}
	return out
}

// flagged gives a Maildir file name with the F flag added (in cur/).
func flagged(p string) string {
	dir, base := filepath.Dir(filepath.Dir(p)), filepath.Base(p)
	name, info, ok := strings.Cut(base, ":2,")
	if !ok {
		return filepath.Join(dir, "cur", base+":2,F")
	}
	return filepath.Join(dir, "cur", name+":2,F"+info)
}
