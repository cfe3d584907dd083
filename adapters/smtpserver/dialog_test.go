package smtpserver

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/domain/throttle"
)

func TestGreetingAndEHLO(t *testing.T) {
	h := newHarness(t, Config{Hostname: "mx.example.test"})
	d := h.dialNoGreeting()
	if g := d.expect("220 "); !strings.Contains(g, "mx.example.test") {
		t.Errorf("greeting %q lacks the hostname", g)
	}
	r := d.cmd("EHLO client.test", "250 ")
	lines := strings.Split(r, "\n")
	for i, l := range lines {
		want := "250-"
		if i == len(lines)-1 {
			want = "250 "
		}
		if !strings.HasPrefix(l, want) {
			t.Errorf("EHLO line %d %q: want prefix %q", i, l, want)
		}
	}
	for _, cap := range []string{"AUTH PLAIN LOGIN", "SIZE 26214400", "PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "CHUNKING"} {
		if !strings.Contains(r, "250-"+cap+"\n") && !strings.HasSuffix(r, "250 "+cap) {
			t.Errorf("EHLO reply lacks %q:\n%s", cap, r)
		}
	}
	if !strings.Contains(r, "\n250-XMAILROOM PING REG GETUSER\n") {
		t.Errorf("EHLO reply lacks the XMAILROOM line:\n%s", r)
	}
	// A second EHLO is rewritten too; HELO is not.
	if r := d.cmd("EHLO again.test", "250 "); strings.Count(r, "XMAILROOM") != 1 {
		t.Errorf("second EHLO:\n%s", r)
	}
	if r := d.cmd("HELO client.test", "250 "); strings.Contains(r, "XMAILROOM") {
		t.Errorf("HELO reply rewritten: %q", r)
	}
	d.cmd("EHLO", "501 ")
	d.cmd("QUIT", "221 ")
	d.expectClosed()
}

func TestPing(t *testing.T) {
	h := newHarness(t, Config{})
	h.user("alice")
	h.user("bob")
	d := h.dial()
	d.cmd("PING", "250 2.0.0 PONG")
	d.cmd("ping extra words", "250 2.0.0 PONG")
	d.login("alice")
	d.cmd("PING", "250 2.0.0 PONG")
	d.cmd("MAIL FROM:<alice@example.test>", "250 ")
	d.cmd("PING", "250 2.0.0 PONG")
	d.cmd("RCPT TO:<bob>", "250 ")
	d.cmd("PING", "250 2.0.0 PONG")
	d.cmd("DATA", "354 ")
	d.send("Subject: ping\r\n\r\nhi\r\n.\r\n")
	d.expect("250 ")
	if got := h.inbox("bob"); len(got) != 1 || body(got[0]) != "Subject: ping\r\n\r\nhi\r\n" {
		t.Fatalf("bob's inbox %q", got)
	}
}

func TestHelp(t *testing.T) {
	h := newHarness(t, Config{})
	d := h.dial()
	r := d.cmd("HELP", "214 ")
	for _, v := range []string{"PING", "REG", "GETUSER", "GET USER", "MAIL", "AUTH"} {
		if !strings.Contains(r, v) {
			t.Errorf("HELP lacks %s:\n%s", v, r)
		}
	}
	d.cmd("HELP REG", "214 ")
}

func TestReg(t *testing.T) {
	h := newHarness(t, Config{})
	d := h.dial()
	d.cmd("REG alice secret-pw1", "250 2.1.0")
	for _, tc := range []struct{ line, want string }{
		{"REG", "501 5.5.4"},
		{"REG bob", "501 5.5.4"},
		{"REG bob ", "501 5.5.4"},
		{"REG dave correct horse battery", "250 2.1.0"}, // a passphrase, spaces and all
		{"REG -bad secret-pw1", "553 5.1.3"},
		{"REG b%d secret-pw1", "553 5.1.3"},
		{"REG " + strings.Repeat("a", 65) + " secret-pw1", "553 5.1.3"},
		{"REG bob short", "501 5.7.0"},
		{"REG alice other-password", "550 5.7.1"},
		{"REG ALICE other-password", "550 5.7.1"},
		{"reg Alice other-password", "550 5.7.1"},
		{"Reg Bob longenough", "250 2.1.0"},
	} {
		d.cmd(tc.line, tc.want)
	}
	// The refused REGs changed nothing: alice's password is the first one.
	ctx := context.Background()
	if _, err := h.accounts.Authenticate(ctx, "alice", "secret-pw1"); err != nil {
		t.Errorf("alice's password changed: %v", err)
	}
	if _, err := h.accounts.Authenticate(ctx, "alice", "other-password"); err == nil {
		t.Errorf("a REG for a taken name set its password")
	}
	if _, err := h.accounts.Authenticate(ctx, "dave", "correct horse battery"); err != nil {
		t.Errorf("dave's passphrase: %v", err)
	}
	if _, err := h.accounts.Lookup(ctx, "bob"); err != nil {
		t.Errorf("bob: %v", err)
	}
	// The new account can log in over SMTP.
	d.cmd("EHLO c", "250 ")
	d.cmd("AUTH PLAIN "+plainIR("", "bob", "longenough"), "235 ")
}

func TestRegClosed(t *testing.T) {
	h := newHarnessSetup(t, Config{}, setup{acc: account.Config{RegistrationClosed: true}})
	d := h.dial()
	d.cmd("REG alice secret-pw1", "554 5.7.0")
	d.cmd("REG alice", "501 5.5.4")
	// Not offered while closed (issue 15).
	if r := d.cmd("EHLO c", "250 "); !strings.Contains(r, "XMAILROOM PING GETUSER") || strings.Contains(r, " REG") {
		t.Errorf("EHLO offers REG while registration is closed:\n%s", r)
	}
	if r := d.cmd("HELP", "214 "); strings.Contains(r, "REG ") {
		t.Errorf("HELP offers REG while registration is closed:\n%s", r)
	}
}

func TestRegThrottle(t *testing.T) {
	t.Run("default allows 20 per IP", func(t *testing.T) {
		h := newHarness(t, Config{})
		for c := 0; c < 2; c++ {
			d := h.dial()
			for i := 0; i < 10; i++ {
				d.cmd(fmt.Sprintf("REG user%d-%d password%d", c, i, i), "250 2.1.0")
			}
		}
	})
	t.Run("budget spent", func(t *testing.T) {
		h := newHarnessSetup(t, Config{}, setup{acc: account.Config{RegRate: throttle.Rate{N: 2, Per: time.Hour}}})
		d := h.dial()
		d.cmd("REG alice secret-pw1", "250 2.1.0")
		d.cmd("REG alice secret-pw1", "550 5.7.1") // a refused attempt counts too
		d.cmd("REG bob secret-pw1", "454 4.7.0")
		// Another connection from the same IP shares the budget.
		h.dial().cmd("REG carol secret-pw1", "454 4.7.0")
		if _, err := h.accounts.Lookup(context.Background(), "bob"); err == nil {
			t.Errorf("throttled REG created an account")
		}
	})
}

func TestGetUser(t *testing.T) {
	h := newHarness(t, Config{})
	alice := h.user("alice")
	bob := h.user("bob")
	d := h.dial()
	d.cmd("GETUSER", "530 5.7.0")
	d.cmd("GETUSER bob", "530 5.7.0")
	d.cmd("GET USER bob", "530 5.7.0")
	d.login("alice")
	want := func(id int64, addr string) string { return fmt.Sprintf("250 2.1.5 %d %s", id, addr) }
	if r := d.cmd("GETUSER", "250 2.1.5"); r != want(int64(alice.ID), "alice@example.test") {
		t.Errorf("GETUSER: %q", r)
	}
	for _, line := range []string{"GETUSER bob", "GETUSER BOB@Example.Test", "GET USER bob", "get user Bob", "GET  USER  bob"} {
		if r := d.cmd(line, "250 2.1.5"); r != want(int64(bob.ID), "bob@example.test") {
			t.Errorf("%s: %q", line, r)
		}
	}
	if r := d.cmd("GET USER", "250 2.1.5"); r != want(int64(alice.ID), "alice@example.test") {
		t.Errorf("GET USER: %q", r)
	}
	d.cmd("GETUSER nobody", "550 5.1.1")
	d.cmd("GETUSER bob@elsewhere.test", "550 5.1.1")
	d.cmd("GETUSER -x-", "550 5.1.1")
	d.cmd("GETUSER bob carol", "501 5.5.4")
	d.cmd("GET", "500 5.5.2")
	d.cmd("GET STUFF", "500 5.5.2")
}

func TestAuth(t *testing.T) {
	h := newHarness(t, Config{})
	h.user("alice")
	t.Run("plain initial response", func(t *testing.T) {
		d := h.dial()
		d.cmd("EHLO c", "250 ")
		d.cmd("AUTH PLAIN "+plainIR("", "alice", "password-alice"), "235 2.0.0")
		d.cmd("AUTH PLAIN "+plainIR("", "alice", "password-alice"), "503 ")
	})
	t.Run("plain challenge, own authzid, any case", func(t *testing.T) {
		d := h.dial()
		d.cmd("EHLO c", "250 ")
		d.cmd("AUTH PLAIN", "334 ")
		d.cmd(plainIR("Alice@example.test", "ALICE", "password-alice"), "235 ")
	})
	t.Run("login", func(t *testing.T) {
		d := h.dial()
		d.cmd("EHLO c", "250 ")
		if r := d.cmd("AUTH LOGIN", "334 "); r != "334 "+b64("Username:") {
			t.Errorf("LOGIN challenge %q", r)
		}
		if r := d.cmd(b64("alice@example.test"), "334 "); r != "334 "+b64("Password:") {
			t.Errorf("LOGIN challenge %q", r)
		}
		d.cmd(b64("password-alice"), "235 ")
	})
	t.Run("login initial response", func(t *testing.T) {
		d := h.dial()
		d.cmd("EHLO c", "250 ")
		d.cmd("AUTH LOGIN "+b64("alice"), "334 "+b64("Password:"))
		d.cmd(b64("password-alice"), "235 ")
	})
	t.Run("refusals", func(t *testing.T) {
		d := h.dial()
		d.cmd("AUTH PLAIN "+plainIR("", "alice", "password-alice"), "502 ") // before EHLO
		d.cmd("EHLO c", "250 ")
		wrong := d.cmd("AUTH PLAIN "+plainIR("", "alice", "wrong-password"), "535 5.7.8")
		d = h.dial()
		d.cmd("EHLO c", "250 ")
		unknown := d.cmd("AUTH PLAIN "+plainIR("", "nobody", "wrong-password"), "535 5.7.8")
		if wrong != unknown {
			t.Errorf("wrong password %q and unknown user %q differ", wrong, unknown)
		}
		d = h.dial()
		d.cmd("EHLO c", "250 ")
		d.cmd("AUTH PLAIN "+plainIR("bob", "alice", "password-alice"), "535 5.7.8")
		d = h.dial()
		d.cmd("EHLO c", "250 ")
		d.cmd("AUTH PLAIN "+b64("no-nuls"), "501 5.5.4")
		d.cmd("AUTH PLAIN !!!", "501 5.5.2") // RFC 4954 §4: invalid base64 (go-smtp says 454)
		d.cmd("AUTH CRAM-MD5", "504 5.7.4")
		d.cmd("AUTH LOGIN", "334 ")
		d.cmd("*", "501 ")
		d.cmd("PING", "250 2.0.0 PONG")
	})
	t.Run("a line answering a challenge is not a command", func(t *testing.T) {
		d := h.dial()
		d.cmd("EHLO c", "250 ")
		d.cmd("AUTH LOGIN", "334 ")
		d.cmd("PING", "334 ") // base64 of some bytes, taken as the username
		d.cmd(b64("password-alice"), "535 ")
	})
}

func TestAuthFailureLimits(t *testing.T) {
	t.Run("per session", func(t *testing.T) {
		h := newHarness(t, Config{})
		h.user("alice")
		d := h.dial()
		d.cmd("EHLO c", "250 ")
		d.cmd("AUTH PLAIN "+plainIR("", "alice", "wrong-1"), "535 5.7.8")
		d.cmd("AUTH LOGIN "+b64("alice"), "334 ")
		d.cmd(b64("wrong-2"), "535 5.7.8")
		d.cmd("AUTH PLAIN "+plainIR("", "alice", "wrong-3"), "421 4.7.0")
		d.expectClosed()
	})
	t.Run("default per-IP budget allows 10", func(t *testing.T) {
		h := newHarness(t, Config{})
		h.user("alice")
		for i := 0; i < 10; i++ {
			d := h.dial()
			d.cmd("EHLO c", "250 ")
			d.cmd("AUTH PLAIN "+plainIR("", "alice", "wrong"), "535 5.7.8")
		}
		d := h.dial()
		d.login("alice")
	})
	t.Run("per IP", func(t *testing.T) {
		h := newHarnessSetup(t, Config{}, setup{acc: account.Config{AuthFailRate: throttle.Rate{N: 2, Per: time.Hour}}})
		h.user("alice")
		d := h.dial()
		d.cmd("EHLO c", "250 ")
		d.cmd("AUTH PLAIN "+plainIR("", "alice", "wrong-1"), "535 5.7.8")
		d = h.dial()
		d.cmd("EHLO c", "250 ")
		d.cmd("AUTH PLAIN "+plainIR("", "nobody", "wrong-2"), "535 5.7.8")
		d = h.dial()
		d.cmd("EHLO c", "250 ")
		// Spent: even the right password is not checked.
		d.cmd("AUTH PLAIN "+plainIR("", "alice", "password-alice"), "454 4.7.0")
		d.cmd("AUTH LOGIN", "334 ")
		d.cmd(b64("alice"), "334 ")
		d.cmd(b64("password-alice"), "454 4.7.0")
	})
}

func TestMailFrom(t *testing.T) {
	h := newHarness(t, Config{MaxMessageBytes: 1000})
	h.user("alice")
	h.user("bob")
	d := h.dial()
	d.cmd("MAIL FROM:<alice@example.test>", "502 ") // before EHLO (go-smtp)
	d.cmd("EHLO c", "250 ")
	d.cmd("MAIL FROM:<alice@example.test>", "530 5.7.0")
	d.cmd("AUTH PLAIN "+plainIR("", "alice", "password-alice"), "235 ")
	d.cmd("MAIL FROM:<bob@example.test>", "553 5.7.1")
	d.cmd("MAIL FROM:<alice@elsewhere.test>", "553 5.7.1")
	d.cmd("MAIL FROM:<alice>", "501 5.5.2") // RFC 5321 wants a domain; go-smtp says so
	d.cmd("MAIL FROM:<>", "553 5.7.1")
	d.cmd("MAIL FROM:<alice@example.test> SIZE=1001", "552 5.3.4")
	d.cmd("MAIL FROM:<alice@example.test> SIZE=99999999999", "552 5.3.4")
	d.cmd("MAIL FROM:<Alice@Example.TEST> SIZE=1000", "250 ")
	d.cmd("RSET", "250 ")
	d.cmd("MAIL FROM:<alice@example.test> BODY=8BITMIME", "250 ")
}

func TestRcptTo(t *testing.T) {
	h := newHarness(t, Config{})
	h.user("alice")
	h.user("bob")
	d := h.dial()
	d.login("alice")
	d.cmd("RCPT TO:<bob>", "502 ") // before MAIL (go-smtp)
	d.cmd("MAIL FROM:<alice@example.test>", "250 ")
	d.cmd("RCPT TO:<bob@example.test>", "250 ")
	d.cmd("RCPT TO:<BOB@EXAMPLE.TEST>", "250 ")
	d.cmd("RCPT TO:<Bob>", "250 ")
	d.cmd("RCPT TO:<nobody@example.test>", "550 5.1.1")
	d.cmd("RCPT TO:<bob@elsewhere.test>", "550 5.1.1")
	d.cmd("RCPT TO:<postmaster@gmail.com>", "550 5.1.1")
	d.cmd("DATA", "354 ")
	d.send("Subject: x\r\n\r\nonce\r\n.\r\n")
	d.expect("250 ")
	if got := h.inbox("bob"); len(got) != 1 {
		t.Fatalf("bob got %d copies, want 1", len(got))
	}
}

func TestTooManyRecipients(t *testing.T) {
	h := newHarness(t, Config{})
	h.user("alice")
	h.user("bob")
	d := h.dial()
	d.login("alice")
	var b strings.Builder
	b.WriteString("MAIL FROM:<alice@example.test>\r\n")
	for i := 0; i < 101; i++ {
		b.WriteString("RCPT TO:<bob@example.test>\r\n")
	}
	d.send(b.String())
	d.expect("250 ")
	for i := 0; i < 100; i++ {
		d.expect("250 ")
	}
	d.expect("452 4.5.3")
}

func TestData(t *testing.T) {
	h := newHarness(t, Config{Hostname: "mx.example.test"})
	h.user("alice")
	h.user("bob")
	h.user("carol")
	d := h.dial()
	d.login("alice")
	msg := "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: hello\r\n\r\n" +
		"line one\r\n..leading dot\r\n.\r\nNOT-the-end (that was a lone dot line, unstuffed)\r\n" +
		"\xe2\x9c\x93 8bit\r\n"
	stuffed := strings.ReplaceAll(msg, "\r\n.", "\r\n..")
	d.sendMail("alice@example.test", []string{"bob", "carol@example.test"}, stuffed)
	for _, u := range []string{"bob", "carol"} {
		got := h.inbox(u)
		if len(got) != 1 {
			t.Fatalf("%s: %d messages", u, len(got))
		}
		if body(got[0]) != msg {
			t.Errorf("%s: stored %q, want %q", u, body(got[0]), msg)
		}
		if !strings.HasPrefix(got[0], "Received: from client.test ([127.0.0.1])\r\n\tby mx.example.test (Mailroom) with ESMTPSA\r\n") {
			t.Errorf("Received header: %q", got[0][:min(200, len(got[0]))])
		}
	}
	a, _ := h.accounts.Lookup(context.Background(), "alice")
	if sent, err := h.mail.List(context.Background(), a.ID, mail.Sent, 0, 10); err != nil || len(sent) != 1 {
		t.Errorf("alice's sent folder: %v, %v", sent, err)
	}
}

func TestDataOmitReceived(t *testing.T) {
	h := newHarness(t, Config{OmitReceived: true})
	h.user("alice")
	h.user("bob")
	d := h.dial()
	d.login("alice")
	d.sendMail("alice@example.test", []string{"bob"}, "Subject: raw\r\n\r\nexact\r\n")
	if got := h.inbox("bob"); len(got) != 1 || got[0] != "Subject: raw\r\n\r\nexact\r\n" {
		t.Errorf("stored %q", got)
	}
}

func TestDataTooLarge(t *testing.T) {
	h := newHarness(t, Config{MaxMessageBytes: 2000})
	h.user("alice")
	h.user("bob")
	d := h.dial()
	d.login("alice")
	d.cmd("MAIL FROM:<alice@example.test>", "250 ")
	d.cmd("RCPT TO:<bob>", "250 ")
	d.cmd("DATA", "354 ")
	d.send("Subject: big\r\n\r\n" + strings.Repeat("0123456789012345678901234567890123456789\r\n", 100) + ".\r\n")
	d.expect("552 5.3.4")
	d.cmd("PING", "250 2.0.0 PONG") // the rest of the message was not read as commands
	if got := h.inbox("bob"); len(got) != 0 {
		t.Fatalf("stored %d messages", len(got))
	}
	// A message that fits goes through on the same connection.
	d.sendMail("alice@example.test", []string{"bob"}, "Subject: small\r\n\r\nok\r\n")
}

func TestDataStoreFailure(t *testing.T) {
	h := newHarness(t, Config{})
	h.user("alice")
	h.user("bob")
	d := h.dial()
	d.login("alice")
	d.cmd("MAIL FROM:<alice@example.test>", "250 ")
	d.cmd("RCPT TO:<bob>", "250 ")
	d.cmd("DATA", "354 ")
	h.store.Close()
	d.send("Subject: lost\r\n\r\nstore is gone\r\n.\r\n")
	d.expect("451 4.3.0")
}

func TestBareLFDotDoesNotEndData(t *testing.T) {
	h := newHarness(t, Config{OmitReceived: true})
	h.user("alice")
	h.user("bob")
	d := h.dial()
	d.login("alice")
	d.cmd("MAIL FROM:<alice@example.test>", "250 ")
	d.cmd("RCPT TO:<bob>", "250 ")
	d.cmd("DATA", "354 ")
	// Smuggling attempts and our verbs inside a body: all text.
	content := "Subject: smuggle\r\n\r\nbefore\n.\nMAIL FROM:<bob@example.test>\n" +
		"\r\n.\nRCPT TO:<carol>\r\n.\rDATA\r\nPING\r\nREG mallory password1\r\nGETUSER\r\nHELP\r\nQUIT\r\n"
	d.send(content + ".\r\n")
	d.expect("250 ")
	got := h.inbox("bob")
	// Dot-unstuffing (RFC 5321 §4.5.2) removes the dot that starts a line
	// after CRLF; go-smtp's reader also drops the CR of ".\r<not LF>".
	want := strings.Replace(content, "\r\n.\rDATA", "\r\nDATA", 1)
	want = strings.Replace(want, "\r\n.\nRCPT", "\r\n\nRCPT", 1)
	// Once the end was found, bare LFs are stored as CRLF.
	want = crlf(want)
	if len(got) != 1 || got[0] != want {
		t.Fatalf("stored %q\nwant      %q", got, want)
	}
	if _, err := h.accounts.Lookup(context.Background(), "mallory"); err == nil {
		t.Errorf("REG inside a message body ran")
	}
	d.cmd("PING", "250 2.0.0 PONG")
}

func TestBDAT(t *testing.T) {
	h := newHarness(t, Config{OmitReceived: true})
	h.user("alice")
	h.user("bob")
	d := h.dial()
	d.login("alice")
	if r := d.cmd("EHLO c", "250 "); !strings.Contains(r, "CHUNKING") {
		t.Fatalf("CHUNKING not advertised:\n%s", r)
	}
	d.cmd("MAIL FROM:<alice@example.test>", "250 ")
	d.cmd("RCPT TO:<bob>", "250 ")
	chunk1 := "Subject: chunks\r\n\r\nPING\r\nREG eve password1\r\n"
	chunk2 := ".\r\n\n.\nBDAT 5\r\n"
	d.send(fmt.Sprintf("BDAT %d\r\n%s", len(chunk1), chunk1))
	d.expect("250 ")
	d.cmd("PING", "250 2.0.0 PONG")
	d.send(fmt.Sprintf("BDAT %d LAST\r\n%sPING\r\n", len(chunk2), chunk2))
	d.expect("250 ")
	d.expect("250 2.0.0 PONG")
	if got := h.inbox("bob"); len(got) != 1 || got[0] != crlf(chunk1+chunk2) {
		t.Fatalf("stored %q", got)
	}
	// A BDAT go-smtp refuses before the transaction still has its chunk read.
	d.send("BDAT 6 LAST\r\nPING\r\n")
	d.expect("502 ")
	d.cmd("PING", "250 2.0.0 PONG")
	// A malformed BDAT has no chunk: the next line is a command.
	d.send("BDAT x\r\nPING\r\n")
	d.expect("501 ")
	d.expect("250 2.0.0 PONG")
}

func TestUnknownCommandsAndProtocolErrors(t *testing.T) {
	h := newHarness(t, Config{MaxProtocolErrors: 4})
	d := h.dial()
	d.cmd("FOO", "500 5.5.2")
	d.cmd("", "500 5.5.2")
	d.cmd("MAILX FROM:<a>", "500 5.5.2")
	d.send("XYZZY")
	d.expect("500 5.5.2")
	d.expect("421 4.7.0")
	d.expectClosed()

	d = h.dial()
	d.send("EHLO a\rb\r\n")
	d.expect("500 5.5.2")
	d.send("NOOP \x00\r\n")
	d.expect("500 5.5.2")

	// go-smtp's own limit (3) no longer applies.
	d = h.dial()
	d.cmd("FOO", "500 ")
	d.cmd("BAR", "500 ")
	d.cmd("BAZ", "500 ")
	d.cmd("PING", "250 ")
}
