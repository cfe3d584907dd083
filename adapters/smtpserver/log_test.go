package smtpserver

import (
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestLogging checks the one summary line per transaction and that no
// password, AUTH payload or message body reaches the log at any level.
func TestLogging(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	h := newHarnessLog(t, Config{}, zap.New(core))
	h.user("alice")
	h.user("bob")
	d := h.dial()
	d.cmd("REG carol SECRET-REG-PW", "250 ")
	d.cmd("EHLO c", "250 ")
	badIR := plainIR("", "alice", "SECRET-WRONG-PW")
	d.cmd("AUTH PLAIN "+badIR, "535 ")
	d.cmd("AUTH LOGIN", "334 ")
	d.cmd(b64("alice"), "334 ")
	d.cmd(b64("password-alice"), "235 ")
	d.sendMail("alice@example.test", []string{"bob", "carol"}, "Subject: SECRET-SUBJECT\r\n\r\nSECRET-BODY\r\n")
	d.cmd("MAIL FROM:<alice@example.test>", "250 ")
	d.cmd("RCPT TO:<bob>", "250 ")
	d.cmd("DATA", "354 ")
	h.store.Close()
	d.send("Subject: x\r\n\r\nSECRET-BODY-2\r\n.\r\n")
	d.expect("451 4.3.0")
	d.cmd("QUIT", "221 ")
	d.expectClosed()

	var all strings.Builder
	var tx []observer.LoggedEntry
	for _, e := range logs.All() {
		fmt.Fprintf(&all, "%s %v\n", e.Message, e.ContextMap())
		if e.Message == "transaction" {
			tx = append(tx, e)
		}
	}
	for _, secret := range []string{"SECRET", "password-alice", badIR, b64("password-alice")} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("log contains %q:\n%s", secret, all.String())
		}
	}
	if len(tx) != 2 {
		t.Fatalf("%d transaction lines, want 2:\n%s", len(tx), all.String())
	}
	ok, failed := tx[0].ContextMap(), tx[1].ContextMap()
	for _, k := range []string{"from", "rcpts", "size", "result", "duration", "remote"} {
		if _, found := ok[k]; !found {
			t.Errorf("transaction line lacks %q: %v", k, ok)
		}
	}
	if ok["from"] != "alice@example.test" || ok["result"] != "250 2.0.0 OK: stored" { // what the client got
		t.Errorf("success line %v", ok)
	}
	if !strings.HasPrefix(failed["result"].(string), "451 4.3.0") || failed["error"] == nil {
		t.Errorf("failure line %v: want 451 with the detail in the log", failed)
	}
}
