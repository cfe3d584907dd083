package smtpserver

import (
	"fmt"
	"strings"
	"testing"
)

// messageOf is a message of exactly n bytes (n ≥ 20), CRLF-ended, with no
// line that needs dot-stuffing.
func messageOf(n int) string {
	const head = "Subject: size\r\n\r\n"
	body := n - len(head) - 2
	var b strings.Builder
	b.WriteString(head)
	for body > 0 {
		l := min(body, 76)
		if body-l > 0 && body-l < 2 {
			l-- // leave room for the next line's CRLF
		}
		b.WriteString(strings.Repeat("x", l))
		body -= l
		if body > 0 {
			b.WriteString("\r\n")
			body -= 2
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

func TestMessageOf(t *testing.T) {
	for n := 20; n < 400; n++ {
		if m := messageOf(n); len(m) != n || !strings.HasSuffix(m, "\r\n") {
			t.Fatalf("messageOf(%d) has %d bytes: %q", n, len(m), m)
		}
	}
}

// TestSizeLimitExact: MaxMessageBytes is the largest message accepted,
// as SIZE= at MAIL already says. A message of exactly the limit is stored,
// by DATA and by BDAT; one byte more is 552 5.3.4. The Received header is
// added only when the stored message still fits the limit.
func TestSizeLimitExact(t *testing.T) {
	const limit = 2000
	for _, omit := range []bool{true, false} {
		t.Run(fmt.Sprintf("OmitReceived=%v", omit), func(t *testing.T) {
			h := newHarness(t, Config{MaxMessageBytes: limit, OmitReceived: omit})
			h.user("alice")
			h.user("bob")
			d := h.dial()
			d.login("alice")
			if r := d.cmd("EHLO c", "250 "); !strings.Contains(r, fmt.Sprintf("250-SIZE %d\n", limit)) {
				t.Errorf("EHLO does not advertise SIZE %d:\n%s", limit, r)
			}
			exact := messageOf(limit)

			d.cmd(fmt.Sprintf("MAIL FROM:<alice@example.test> SIZE=%d", limit), "250 ")
			d.cmd("RCPT TO:<bob>", "250 ")
			d.cmd("DATA", "354 ")
			d.send(exact + ".\r\n")
			d.expect("250 ")

			d.cmd(fmt.Sprintf("MAIL FROM:<alice@example.test> SIZE=%d", limit+1), "552 5.3.4")
			d.cmd("MAIL FROM:<alice@example.test>", "250 ")
			d.cmd("RCPT TO:<bob>", "250 ")
			d.cmd("DATA", "354 ")
			d.send(messageOf(limit+1) + ".\r\n")
			d.expect("552 5.3.4")
			d.cmd("PING", "250 2.0.0 PONG")

			d.cmd("MAIL FROM:<alice@example.test>", "250 ")
			d.cmd("RCPT TO:<bob>", "250 ")
			d.send(fmt.Sprintf("BDAT %d LAST\r\n%s", limit, exact))
			d.expect("250 ")

			d.cmd("MAIL FROM:<alice@example.test>", "250 ")
			d.cmd("RCPT TO:<bob>", "250 ")
			// limit+1 in two chunks, the second passing go-smtp's own check
			// (it has the byte of headroom).
			d.send(fmt.Sprintf("BDAT %d\r\n%s", limit-1, exact[:limit-2]+"\n"))
			d.expect("250 ")
			d.send("BDAT 2 LAST\r\n\r\n")
			d.expect("552 5.3.4")
			d.cmd("PING", "250 2.0.0 PONG")

			// The largest message with room for the header gets it.
			small := messageOf(limit - 300)
			d.sendMail("alice@example.test", []string{"bob"}, small)

			got := h.inbox("bob")
			if len(got) != 3 {
				t.Fatalf("bob has %d messages, want 3", len(got))
			}
			for i, m := range got[:2] {
				if m != exact {
					t.Errorf("message %d: stored %d bytes, want the %d sent, unchanged", i, len(m), limit)
				}
			}
			if omit && got[2] != small || !omit && (body(got[2]) != small || got[2] == small) {
				t.Errorf("small message stored as %q", got[2][:min(len(got[2]), 120)])
			}
		})
	}
}
