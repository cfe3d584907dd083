package inboxserver

import (
	"testing"
	"time"
)

func TestLoginTimeout(t *testing.T) {
	const loginTimeout = 300 * time.Millisecond
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.LoginTimeout = loginTimeout }})
	e.user("bob")

	// A connection that never logs in is closed, and says nothing.
	silent := e.dial()
	// One that keeps pinging is closed too: ping does not move the
	// login deadline.
	pinger := e.dial()
	// One that logs in keeps the (long) idle timeout.
	authed := e.login("bob")

	pings := 0
	for deadline := time.Now().Add(5 * time.Second); ; pings++ {
		if time.Now().After(deadline) {
			t.Fatal("a pinging connection that never logged in is still open")
		}
		pinger.conn.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := pinger.conn.Write([]byte(`{"op":"ping"}` + "\n")); err != nil {
			break
		}
		line, err := pinger.readLine(time.Second)
		if err != nil {
			break
		}
		if errCode(t, line) != "ok" {
			t.Fatalf("ping: %s", line)
		}
		time.Sleep(loginTimeout / 10)
	}
	if pings < 3 {
		t.Errorf("only %d pings answered before the close", pings)
	}
	silent.closed(5 * time.Second)
	time.Sleep(2 * loginTimeout)
	authed.ok(`{"op":"ping"}`)
	authed.ok(`{"op":"count","folder":"inbox"}`)
}
