package smtpserver

import (
	"context"
	"crypto/tls"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// segmentConn is the client side of a session that sends its input in the
// segments given, one per Read, and records each Write the shim makes.
type segmentConn struct {
	fuzzConn
	segments []string
	writes   []string
}

func (c *segmentConn) Read(p []byte) (int, error) {
	if len(c.segments) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.segments[0])
	if c.segments[0] = c.segments[0][n:]; c.segments[0] == "" {
		c.segments = c.segments[1:]
	}
	return n, nil
}

func (c *segmentConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, string(p))
	return len(p), nil
}

// The replies to pipelined commands leave in one write (RFC 2920 §3.1),
// in order, while the 250 after DATA leaves alone, the moment the message
// is stored, even when the client's next command is already waiting.
func TestPipelinedRepliesBatched(t *testing.T) {
	store := &fakeStore{}
	srv := New(Config{TLS: &tls.Config{}}, fakeAccounts{}, fakeMailboxes(store), nopLog())
	auth := "AUTH PLAIN " + plainIR("", "alice", "password-alice") + "\r\n"
	c := &segmentConn{segments: []string{
		"EHLO x\r\n" + auth,
		"MAIL FROM:<alice@example.test>\r\nPING\r\nRCPT TO:<bob>\r\nRCPT TO:<nobody>\r\nDATA\r\n",
		"Subject: s\r\n\r\nbody\r\n.\r\nNOOP\r\nQUIT\r\n",
	}}
	srv.smtp.Serve(&oneConnListener{c: newShim(srv, c, testPeer())})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.smtp.Shutdown(ctx); err != nil && err != smtp.ErrServerClosed {
		t.Fatalf("session did not end: %v", err)
	}
	want := [][]string{
		{"220 "},
		{"250-", "250 ", "235 "},                 // EHLO's lines, held until AUTH's reply
		{"250 ", "250 ", "250 ", "550 ", "354 "}, // MAIL, PING, RCPT, RCPT, DATA
		{"250 2.0.0 OK: stored"},                 // not held behind NOOP
		{"250 ", "221 "},                         // NOOP held until QUIT's reply
	}
	if len(c.writes) != len(want) {
		t.Fatalf("%d writes, want %d: %q", len(c.writes), len(want), c.writes)
	}
	for i, w := range c.writes {
		lines := strings.SplitAfter(w, "\r\n")
		lines = lines[:len(lines)-1]
		var finals []string
		for _, l := range lines {
			if code, final := replyCode([]byte(l)); code != 0 && (final || l[3] == '-') {
				finals = append(finals, l)
			}
		}
		if i == 1 {
			// EHLO's reply has several lines: keep its first and last.
			finals = []string{finals[0], finals[len(finals)-2], finals[len(finals)-1]}
		}
		if len(finals) != len(want[i]) {
			t.Fatalf("write %d holds %q, want replies %q", i, w, want[i])
		}
		for j, prefix := range want[i] {
			if !strings.HasPrefix(finals[j], prefix) {
				t.Errorf("write %d, reply %d: %q, want %q…", i, j, finals[j], prefix)
			}
		}
	}
	if got := len(store.messages()); got != 1 {
		t.Errorf("%d messages stored, want 1", got)
	}
}
