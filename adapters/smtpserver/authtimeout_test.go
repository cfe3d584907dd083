package smtpserver

import (
	"strings"
	"testing"
	"time"
)

// TestAuthTimeout: a session that has not logged in within AuthTimeout is
// told 421 4.7.0 and closed, however busy it keeps itself; a logged-in one
// is not.
func TestAuthTimeout(t *testing.T) {
	const timeout = 400 * time.Millisecond
	h := newHarness(t, Config{AuthTimeout: timeout})
	h.user("alice")

	t.Run("idle", func(t *testing.T) {
		d := h.dial()
		d.cmd("EHLO c", "250 ")
		d.expect("421 4.7.0")
		d.expectClosed()
	})
	t.Run("busy with commands", func(t *testing.T) {
		d := h.dial()
		start := time.Now()
		for {
			d.send("NOOP")
			r, err := d.reply()
			if err != nil {
				t.Fatalf("connection ended without 421: %v", err)
			}
			if strings.HasPrefix(r, "421 4.7.0") {
				break
			}
			if !strings.HasPrefix(r, "250 ") {
				t.Fatalf("reply %q", r)
			}
			if time.Since(start) > 5*time.Second {
				t.Fatal("an unauthenticated session outlived AuthTimeout")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if el := time.Since(start); el < timeout/2 {
			t.Errorf("closed after %v, before AuthTimeout", el)
		}
		d.expectClosed()
	})
	t.Run("in the middle of AUTH LOGIN", func(t *testing.T) {
		d := h.dial()
		d.cmd("EHLO c", "250 ")
		d.cmd("AUTH LOGIN", "334 ")
		d.expect("421 4.7.0")
		d.expectClosed()
	})
	t.Run("logged in", func(t *testing.T) {
		d := h.dial()
		d.login("alice")
		for end := time.Now().Add(2 * timeout); time.Now().Before(end); {
			d.cmd("NOOP", "250 ")
			time.Sleep(50 * time.Millisecond)
		}
		d.cmd("GETUSER", "250 ")
	})
}
