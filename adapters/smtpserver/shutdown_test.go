package smtpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"testing"
	"time"
)

// TestShutdownClosesLeftoverConns covers the last step of Shutdown: a
// connection still registered when ctx ends (here one go-smtp never saw, as
// between the handshake and the handoff) is closed, and closing it releases
// its slot under s.mu. Shutdown must not hold s.mu while it does that.
func TestShutdownClosesLeftoverConns(t *testing.T) {
	srv := New(Config{TLS: &tls.Config{}}, fakeAccounts{}, fakeMailboxes{}, nopLog())
	sh := newShim(srv, &fuzzConn{}, "192.0.2.1", "192.0.2.1", time.Now())
	srv.mu.Lock()
	srv.conns[sh] = struct{}{}
	srv.total++
	srv.perIP[sh.key]++
	srv.mu.Unlock()

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown: %v, want the deadline", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown deadlocked closing a leftover connection")
	}
	if !sh.closed.Load() {
		t.Error("leftover connection not closed")
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.conns) != 0 || srv.total != 0 || len(srv.perIP) != 0 {
		t.Errorf("slot not released: conns %d, total %d, perIP %v", len(srv.conns), srv.total, srv.perIP)
	}
}
