package smtpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailroom/adapters/listener"
	"mailroom/domain/account"
)

// TestReadTimeoutFromFirstByte: ReadTimeout runs from a command's first
// byte; trickling more bytes does not move it (issue 9).
func TestReadTimeoutFromFirstByte(t *testing.T) {
	const timeout = 600 * time.Millisecond
	h := newHarness(t, Config{ReadTimeout: timeout})
	t.Run("a slow but whole line in time", func(t *testing.T) {
		d := h.dial()
		for _, b := range []byte("PING\r\n") {
			d.conn.Write([]byte{b})
			time.Sleep(60 * time.Millisecond)
		}
		d.expect("250 2.0.0 PONG")
	})
	t.Run("a trickled line", func(t *testing.T) {
		d := h.dial()
		stop := make(chan struct{})
		defer close(stop)
		start := time.Now()
		go func() {
			// One byte every 150 ms: each read is well within the timeout,
			// the line is not (30 bytes take 4.5 s).
			for _, b := range []byte("NOOP " + strings.Repeat("x", 23) + "\r\n") {
				select {
				case <-stop:
					return
				case <-time.After(150 * time.Millisecond):
				}
				if _, err := d.conn.Write([]byte{b}); err != nil {
					return
				}
			}
		}()
		d.expect("421 4.4.2")
		d.expectClosed()
		if el := time.Since(start); el > timeout+150*time.Millisecond+time.Second {
			t.Errorf("closed after %v, want about %v after the first byte", el, timeout)
		}
	})
}

// TestStrictLineEnds: command lines and SASL responses end with CRLF, and
// a SASL response that is not base64 is 501 5.5.2 (RFC 4954 §4).
func TestStrictLineEnds(t *testing.T) {
	h := newHarness(t, Config{})
	h.user("alice")
	d := h.dial()
	d.cmd("EHLO c", "250 ")
	for _, tc := range []struct{ send, want string }{
		{"PING\n", "500 5.5.2"},
		{"PING\r\r\n", "500 5.5.2"},
		{"NOOP\n", "500 5.5.2"},
		{"AUTH PLAIN !!!not-base64!!!\r\n", "501 5.5.2"},
		{"AUTH PLAIN\r\n", "334 "},
		{"!!!not-base64!!!\r\n", "501 5.5.2"},
		{"AUTH LOGIN\r\n", "334 "},
		{"!!!\r\n", "501 5.5.2"},
		{"AUTH LOGIN\r\n", "334 "},
		{b64("alice") + "\r\n", "334 "},
		{b64("password-alice") + "\n", "500 5.5.2"},
		{"AUTH LOGIN\r\n", "334 "},
		{"*\r\n", "501 5.0.0"}, // the client's cancel, as go-smtp answers it
		{"PING\r\n", "250 2.0.0 PONG"},
	} {
		d.send(tc.send)
		if r := d.expect(tc.want); strings.Contains(r, "454") {
			t.Errorf("%q: %q", tc.send, r)
		}
	}
	// Still not logged in, and in step: a good AUTH works.
	d.cmd("AUTH PLAIN "+plainIR("", "alice", "password-alice"), "235 ")
}

// TestContentLineEnds: bare LFs in the content are stored as CRLF; a bare
// CR is stored as it came; the end is still only CRLF.CRLF.
func TestContentLineEnds(t *testing.T) {
	h := newHarness(t, Config{OmitReceived: true, MaxMessageBytes: 200})
	h.user("alice")
	h.user("bob")
	d := h.dial()
	d.login("alice")
	d.sendMail("alice@example.test", []string{"bob"}, "Subject: mixed\nX-A: 1\r\n\r\nline1\nline2\r\nbare\rcr\n.\nstill in\r\n")
	want := "Subject: mixed\r\nX-A: 1\r\n\r\nline1\r\nline2\r\nbare\rcr\r\n.\r\nstill in\r\n"
	if got := h.inbox("bob"); len(got) != 1 || got[0] != want {
		t.Fatalf("stored %q\nwant %q", got, want)
	}
	// A message that fits as sent but not once its bare LFs are CRLF is
	// refused, so that no stored message exceeds the limit.
	d.cmd("MAIL FROM:<alice@example.test>", "250 ")
	d.cmd("RCPT TO:<bob>", "250 ")
	d.cmd("DATA", "354 ")
	d.send("a\n" + strings.Repeat("x", 196) + "\r\n.\r\n") // 200 bytes as sent
	d.expect("552 5.3.4")
	d.cmd("PING", "250 2.0.0 PONG")
}

// countingStore counts account lookups by name.
type countingStore struct {
	account.Store
	byName atomic.Int64
}

func (s *countingStore) AccountByName(ctx context.Context, name account.Username) (account.Account, error) {
	s.byName.Add(1)
	return s.Store.AccountByName(ctx, name)
}

// TestOneLookupPerRecipient: a transaction with 3 recipients costs 3
// account lookups, at RCPT, and none at DATA (issue 8).
func TestOneLookupPerRecipient(t *testing.T) {
	var counted *countingStore
	h := newHarnessSetup(t, Config{}, setup{accStore: func(s account.Store) account.Store {
		counted = &countingStore{Store: s}
		return counted
	}})
	for _, n := range []string{"alice", "bob", "carol", "dave"} {
		h.user(n)
	}
	d := h.dial()
	d.login("alice")
	counted.byName.Store(0)
	d.cmd("MAIL FROM:<alice@example.test>", "250 ")
	for _, r := range []string{"bob", "carol@example.test", "dave", "BOB@example.test"} {
		d.cmd("RCPT TO:<"+r+">", "250 ")
	}
	atRcpt := counted.byName.Load()
	d.cmd("DATA", "354 ")
	d.send("Subject: three\r\n\r\nhi\r\n.\r\n")
	d.expect("250 2.0.0 OK: stored")
	if got := counted.byName.Load(); atRcpt != 3 || got != 3 {
		t.Errorf("lookups: %d after RCPT, %d after DATA; want 3 and 3", atRcpt, got)
	}
	for _, n := range []string{"bob", "carol", "dave"} {
		if len(h.inbox(n)) != 1 {
			t.Errorf("%s did not get the message once", n)
		}
	}
}

// TestLongPasswordThroughAUTH: a password over 72 bytes counts whole (no
// bcrypt-style truncation anywhere on the way).
func TestLongPasswordThroughAUTH(t *testing.T) {
	h := newHarness(t, Config{})
	pw := strings.Repeat("p", 72) + "-the-rest-counts"
	if _, err := h.accounts.Register(context.Background(), "alice", pw); err != nil {
		t.Fatal(err)
	}
	d := h.dial()
	d.cmd("EHLO c", "250 ")
	d.cmd("AUTH PLAIN "+plainIR("", "alice", strings.Repeat("p", 72)+"-the-rest-differs"), "535 5.7.8")
	d.cmd("AUTH PLAIN "+plainIR("", "alice", strings.Repeat("p", 72)), "535 5.7.8")
	d.cmd("AUTH PLAIN "+plainIR("", "alice", pw), "235 ")
}

// TestTenThousandLineHeader goes through the real server and is stored
// byte for byte.
func TestTenThousandLineHeader(t *testing.T) {
	h := newHarness(t, Config{OmitReceived: true})
	h.user("alice")
	h.user("bob")
	var b strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&b, "X-Line-%d: value %d\r\n", i, i)
	}
	b.WriteString("Subject: tall\r\n\r\nbody\r\n")
	d := h.dial()
	d.login("alice")
	d.sendMail("alice@example.test", []string{"bob"}, b.String())
	if got := h.inbox("bob"); len(got) != 1 || got[0] != b.String() {
		t.Fatalf("stored %d messages, first of %d bytes; want %d bytes", len(got), len(got[0]), b.Len())
	}
}

// TestBadDotAfterOversizedBody: past the limit the server keeps looking
// for the end, and still only CRLF.CRLF ends it: commands hidden behind a
// bare-LF dot are content, discarded.
func TestBadDotAfterOversizedBody(t *testing.T) {
	h := newHarness(t, Config{MaxMessageBytes: 1000})
	h.user("alice")
	h.user("bob")
	d := h.dial()
	d.login("alice")
	d.cmd("MAIL FROM:<alice@example.test>", "250 ")
	d.cmd("RCPT TO:<bob>", "250 ")
	d.cmd("DATA", "354 ")
	d.send(strings.Repeat("x", 3000) + "\n.\nREG mallory password1\r\n.\rPING\r\n\n.\r\n" +
		strings.Repeat("y", 3000) + "\r\n.\r\n")
	d.expect("552 5.3.4")
	d.cmd("PING", "250 2.0.0 PONG")
	if _, err := h.accounts.Lookup(context.Background(), "mallory"); err == nil {
		t.Errorf("a REG inside the oversized body ran")
	}
	if got := h.inbox("bob"); len(got) != 0 {
		t.Errorf("stored %d messages", len(got))
	}
}

// TestNotTLSOnTheSMTPPort: a plaintext client reads one clear line saying
// the port speaks TLS; garbage is closed; the server keeps serving.
func TestNotTLSOnTheSMTPPort(t *testing.T) {
	h := newHarness(t, Config{HandshakeTimeout: 2 * time.Second})
	for _, tc := range []struct {
		name, send, want string
	}{
		{"EHLO in plaintext", "EHLO client.test\r\n", replyImplicitTLS.String() + "\r\n"},
		{"a JSON line", `{"op":"ping"}` + "\n", replyImplicitTLS.String() + "\r\n"},
		{"a TLS record header and garbage", "\x16\x03\x01\x00\x05garbage-garbage", ""}, // a TLS alert at most
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", h.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte(tc.send))
			got, err := io.ReadAll(c)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the server kept the connection open")
			}
			if tc.want == "" && strings.Contains(string(got), "421") || tc.want != "" && string(got) != tc.want {
				t.Errorf("read %q, want %q", got, tc.want)
			}
		})
	}
	h.dial().cmd("PING", "250 2.0.0 PONG")
}

// TestPanicInHandler: a panic while serving one connection answers it 421
// 4.3.0 and closes it; the process and every other connection go on.
func TestPanicInHandler(t *testing.T) {
	cfg := Config{hook: func(e string) {
		if e == "PANIC NOW" || e == eventContent {
			panic("injected: " + e)
		}
	}}
	h := newHarness(t, cfg)
	h.user("alice")
	h.user("bob")
	other := h.dial()
	other.login("alice")

	d := h.dial()
	d.cmd("PING", "250 ")
	d.cmd("PANIC NOW", "421 4.3.0")
	d.expectClosed()

	d = h.dial()
	d.login("alice")
	d.cmd("MAIL FROM:<alice@example.test>", "250 ")
	d.cmd("RCPT TO:<bob>", "250 ")
	d.cmd("DATA", "354 ")
	d.expect("421 4.3.0")
	d.expectClosed()

	other.cmd("PING", "250 2.0.0 PONG")
	h.dial().cmd("PING", "250 2.0.0 PONG")
	deadline := time.Now().Add(5 * time.Second)
	for h.srv.ln.OpenConns() > 3 { // other and the last PING's, plus at most one closing
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open", h.srv.ln.OpenConns())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestShutdownCutsAndCounts: a transaction still open when the grace ends
// is cut, and Shutdown says how many were.
func TestShutdownCutsAndCounts(t *testing.T) {
	h := newHarness(t, Config{})
	h.user("alice")
	h.user("bob")
	busy := h.dial()
	busy.login("alice")
	busy.cmd("MAIL FROM:<alice@example.test>", "250 ")
	busy.cmd("RCPT TO:<bob>", "250 ")
	busy.cmd("DATA", "354 ")
	busy.send("Subject: half\r\n\r\n")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := h.srv.Shutdown(ctx)
	var cut *listener.CutError
	if !errors.As(err, &cut) || cut.Conns != 1 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want a CutError counting 1", err)
	}
	busy.expectClosed()
	if _, err := tls.Dial("tcp", h.addr, clientTLS()); err == nil {
		t.Error("dialled after Shutdown")
	}
}
