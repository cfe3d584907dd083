package smtpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

func TestPipelining(t *testing.T) {
	h := newHarness(t, Config{OmitReceived: true})
	alice := h.user("alice")
	h.user("bob")
	h.user("carol")
	d := h.dial()
	// Everything up to DATA in one write, our verbs between standard ones
	// (RFC 2920 lets DATA end a group).
	d.send("EHLO c\r\nPING\r\nAUTH PLAIN " + plainIR("", "alice", "password-alice") + "\r\nGETUSER\r\n" +
		"MAIL FROM:<alice@example.test>\r\nPING\r\nRCPT TO:<bob>\r\nREG dave password-dave\r\n" +
		"RCPT TO:<nobody>\r\nHELP\r\nRCPT TO:<carol@example.test>\r\nGET USER bob\r\nNOOP\r\nDATA\r\n")
	if r := d.expect("250 "); !strings.Contains(r, "XMAILROOM") {
		t.Errorf("EHLO reply %q", r)
	}
	d.expect("250 2.0.0 PONG")
	d.expect("235 ")
	if r := d.expect("250 2.1.5 "); !strings.HasSuffix(r, " alice@example.test") || !strings.Contains(r, " "+itoa(int64(alice.ID))+" ") {
		t.Errorf("GETUSER %q", r)
	}
	d.expect("250 2.0.0 Roger")
	d.expect("250 2.0.0 PONG")
	d.expect("250 2.0.0 I'll make sure <bob@example.test>")
	d.expect("250 2.1.0")
	d.expect("550 5.1.1")
	d.expect("214 ")
	d.expect("250 2.0.0 I'll make sure <carol@example.test>")
	d.expect("250 2.1.5")
	d.expect("250 2.0.0 I have successfully done nothing")
	d.expect("354 ")
	// The message, its end and the next commands in one write too.
	d.send("Subject: pipelined\r\n\r\nPING\r\n.\r\nPING\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<dave>\r\nGETUSER dave\r\nRSET\r\nQUIT\r\n")
	d.expect("250 2.0.0 OK")
	d.expect("250 2.0.0 PONG")
	d.expect("250 ")
	d.expect("250 ")
	d.expect("250 2.1.5 ")
	d.expect("250 2.0.0 Session reset")
	d.expect("221 ")
	d.expectClosed()
	for _, u := range []string{"bob", "carol"} {
		if got := h.inbox(u); len(got) != 1 || got[0] != "Subject: pipelined\r\n\r\nPING\r\n" {
			t.Errorf("%s: %q", u, got)
		}
	}
	if got := h.inbox("dave"); len(got) != 0 {
		t.Errorf("dave: %q", got)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestLongLine(t *testing.T) {
	h := newHarness(t, Config{})
	t.Run("at the limit", func(t *testing.T) {
		d := h.dial()
		d.cmd("NOOP "+strings.Repeat("x", 1995), "250 ") // 2000 octets
		d.cmd("NOOP "+strings.Repeat("x", 1996), "500 5.5.2")
		d.expectClosed()
	})
	t.Run("2 MB without CRLF", func(t *testing.T) {
		d := h.dial()
		d.cmd("PING", "250 ")
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		chunk := []byte(strings.Repeat("A", 64<<10))
		sent := 0
		done := make(chan error, 1)
		go func() {
			// The server stops reading after the limit and closes: the
			// writer then fails, which is expected.
			for sent < 2<<20 {
				d.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
				n, err := d.conn.Write(chunk)
				sent += n
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		r, err := d.reply()
		if !strings.HasPrefix(r, "500 5.5.2") {
			t.Fatalf("reply %q (%v), want 500 5.5.2", r, err)
		}
		d.expectClosed()
		<-done
		runtime.ReadMemStats(&after)
		// The line went to a fixed buffer of MaxLineLength-ish bytes; the
		// client's 2 MB (or what the kernel took of it) never piled up.
		if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 512<<10 {
			t.Errorf("heap in use grew by %d bytes", grew)
		}
		// TotalAlloc includes this test's own 64 KiB chunk and TLS record
		// buffers; a 2 MB line buffer would show.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
			t.Errorf("allocated %d bytes while refusing a long line", alloc)
		}
	})
}

func TestShimBufferBound(t *testing.T) {
	// The bound the memory test relies on, checked directly.
	srv := New(Config{TLS: &tls.Config{}}, fakeAccounts{}, fakeMailboxes(nil), nopLog())
	sh := newShim(srv, nil, testPeer())
	if len(sh.buf) > max(DefaultMaxLineLength+2, readBufSize) || cap(sh.buf) != len(sh.buf) {
		t.Errorf("shim buffer %d/%d", len(sh.buf), cap(sh.buf))
	}
}

func TestHandshakeTimeout(t *testing.T) {
	h := newHarness(t, Config{HandshakeTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(make([]byte, 1))
	if err == nil || isTimeout(err) {
		t.Fatalf("read: %v, want the server to close", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("closed after %v", el)
	}
	// A slow but complete handshake within the deadline is fine.
	h.dial().cmd("PING", "250 ")
}

func TestTimeouts(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		h := newHarness(t, Config{ReadTimeout: 300 * time.Millisecond})
		d := h.dial()
		d.cmd("PING", "250 ")
		d.expect("421 4.4.2")
		d.expectClosed()
	})
	t.Run("pings do not outlive the session", func(t *testing.T) {
		h := newHarness(t, Config{SessionTimeout: 500 * time.Millisecond})
		d := h.dial()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			d.send("PING")
			r, err := d.reply()
			if err != nil || strings.HasPrefix(r, "421 ") {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("session outlived SessionTimeout")
	})
	t.Run("data", func(t *testing.T) {
		h := newHarness(t, Config{DataTimeout: 400 * time.Millisecond})
		h.user("alice")
		h.user("bob")
		d := h.dial()
		d.login("alice")
		d.cmd("MAIL FROM:<alice@example.test>", "250 ")
		d.cmd("RCPT TO:<bob>", "250 ")
		d.cmd("DATA", "354 ")
		// Trickle: each read is within ReadTimeout, the whole is not.
		for i := 0; i < 10; i++ {
			d.conn.Write([]byte("x\r\n"))
			time.Sleep(100 * time.Millisecond)
		}
		d.expect("421 4.4.2")
		d.expectClosed()
		if got := h.inbox("bob"); len(got) != 0 {
			t.Errorf("stored %d", len(got))
		}
	})
}

func TestConnLimits(t *testing.T) {
	h := newHarness(t, Config{MaxConnsPerIP: 2})
	a, b := h.dial(), h.dial()
	c := h.dialNoGreeting()
	c.expect("421 4.7.0")
	c.expectClosed()
	a.cmd("QUIT", "221 ")
	a.expectClosed()
	// The slot frees once the server has seen the close.
	deadline := time.Now().Add(5 * time.Second)
	for {
		d := h.dialNoGreeting()
		r, _ := d.reply()
		if strings.HasPrefix(r, "220 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot never freed: %q", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.cmd("PING", "250 ")

	h2 := newHarness(t, Config{MaxConns: 1})
	h2.dial()
	h2.dialNoGreeting().expect("421 4.7.0")
}

func TestShutdown(t *testing.T) {
	h := newHarness(t, Config{})
	h.user("alice")
	h.user("bob")
	idle := h.dial()
	idle.cmd("EHLO c", "250 ")
	busy := h.dial()
	busy.login("alice")
	busy.cmd("MAIL FROM:<alice@example.test>", "250 ")
	busy.cmd("RCPT TO:<bob>", "250 ")
	busy.cmd("DATA", "354 ")
	busy.send("Subject: in flight\r\n\r\nfirst half\r\n")

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- h.srv.Shutdown(ctx)
	}()
	idle.expect("421 4.3.2")
	idle.expectClosed()
	// No new connections.
	if c, err := tls.Dial("tcp", h.addr, clientTLS()); err == nil {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("a new connection was served during shutdown")
		}
		c.Close()
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a transaction in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	busy.send("second half\r\n.\r\n")
	busy.expect("250 ")
	busy.expect("421 4.3.2")
	busy.expectClosed()
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got := h.inbox("bob"); len(got) != 1 {
		t.Fatalf("in-flight message: %d stored", len(got))
	}
}

func TestShutdownDeadline(t *testing.T) {
	h := newHarness(t, Config{})
	h.user("alice")
	h.user("bob")
	busy := h.dial()
	busy.login("alice")
	busy.cmd("MAIL FROM:<alice@example.test>", "250 ")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := h.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
	busy.expectClosed()
}

// TestErrorTable covers every row of errorReplies, and the fallback.
func TestErrorTable(t *testing.T) {
	want := map[error]string{
		account.ErrThrottled:          "454 4.7.0",
		account.ErrRegistrationClosed: "554 5.7.0",
		account.ErrAuthzRefused:       "535 5.7.8",
		account.ErrBadUsername:        "553 5.1.3",
		account.ErrUsernameTaken:      "550 5.7.1",
		account.ErrWeakPassword:       "501 5.7.0",
		account.ErrBadCredentials:     "535 5.7.8",
		account.ErrNoSuchUser:         "550 5.1.1",
		mail.ErrNoSuchRecipient:       "550 5.1.1",
		mail.ErrTooManyRecipients:     "452 4.5.3",
		mail.ErrNoRecipients:          "554 5.5.0",
		mail.ErrTooLarge:              "552 5.3.4",
		smtp.ErrDataTooLarge:          "552 5.3.4",
		errors.New("disk on fire"):    "451 4.3.0",
		mail.ErrNotFound:              "451 4.3.0",
		context.DeadlineExceeded:      "451 4.3.0",
	}
	for _, row := range errorReplies {
		if _, ok := want[row.err]; !ok {
			t.Errorf("table row %v has no expectation here", row.err)
		}
	}
	for err, code := range want {
		wrapped := errors.Join(errors.New("context"), err)
		for _, e := range []error{err, wrapped} {
			r, known := replyFor(e)
			if got := r.String(); !strings.HasPrefix(got, code+" ") {
				t.Errorf("replyFor(%v) = %q, want %s", e, got, code)
			}
			if strings.Contains(r.Text, "disk") {
				t.Errorf("detail leaked into the reply: %q", r.Text)
			}
			if wantKnown := code != "451 4.3.0"; known != wantKnown {
				t.Errorf("replyFor(%v) known = %v", e, known)
			}
			// The class of the basic and enhanced codes agree (RFC 3463 §2).
			if r.Code/100 != r.Enh[0] {
				t.Errorf("%q: classes differ", r)
			}
		}
	}
}
