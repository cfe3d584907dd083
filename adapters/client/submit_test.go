package client

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"mailroom/ports"
)

// fakeSession is a session on ep that has not logged in to an inbox server,
// for Send against a fake SMTP server.
func fakeSession(t *testing.T, c *Client, ep ports.Endpoint) *Session {
	t.Helper()
	s := &Session{c: c, ep: ep, user: "a", pass: "password", info: ports.UserInfo{ID: 1, Address: "a@example.test"}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	t.Cleanup(func() { s.Close() })
	return s
}

// startStallingSMTP is a submission server that accepts everything and,
// once in DATA, stops at the first line for which stall is true: it neither
// reads on nor answers until the test ends.
func startStallingSMTP(t *testing.T, stall func(line string) bool) *fakeSMTP {
	t.Helper()
	release := make(chan struct{})
	inData := false
	f := startFakeSMTP(t, func(l string) string {
		switch {
		case inData && stall(l):
			<-release
			return ""
		case inData:
			return ""
		case strings.HasPrefix(l, "AUTH "):
			return "235 2.7.0 OK"
		case l == "DATA":
			inData = true
			return "354 go ahead"
		}
		return "250 2.0.0 OK"
	})
	t.Cleanup(func() { close(release) }) // before the server's cleanup waits for it
	return f
}

// bigDraft carries an attachment of size bytes (none for 0) after a body
// whose first line is "first line".
func bigDraft(size int) ports.Draft {
	d := ports.Draft{To: []string{"b"}, Subject: "s", Body: "first line\n"}
	if size > 0 {
		d.Attachments = []ports.Attachment{{Name: "big.bin", Data: make([]byte, size)}}
	}
	return d
}

// SubmitTimeout bounds the whole Send, whether the server stops reading
// the upload or never answers the final dot. IOTimeout is far longer here:
// the test would time out if SubmitTimeout did not hold.
func TestSendStalledInDataEndsAtSubmitTimeout(t *testing.T) {
	for _, tt := range []struct {
		name  string
		stall func(line string) bool // whether the server stalls at this line
		size  int                    // of an attachment
	}{
		// The server stops reading: the upload blocks once the network's
		// buffers are full.
		{"server stops reading", func(l string) bool { return l == "first line" }, 8 << 20},
		// The server reads it all and never answers the final dot.
		{"server never answers", func(l string) bool { return l == "." }, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			f := startStallingSMTP(t, tt.stall)
			cfg := fastConfig()
			cfg.IOTimeout = time.Hour
			cfg.SubmitTimeout = 300 * time.Millisecond
			s := fakeSession(t, New(cfg), f.ep)
			err := s.Send(context.Background(), bigDraft(tt.size))
			if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ports.ErrUnreachable) {
				t.Fatalf("Send = %v, want DeadlineExceeded and ErrUnreachable", err)
			}
		})
	}
}

// A server that stops reading in the middle of the upload is given up on
// after IOTimeout without progress, long before SubmitTimeout.
func TestSendUploadStallEndsAtIOTimeout(t *testing.T) {
	checkGoroutines(t)
	f := startStallingSMTP(t, func(l string) bool { return l == "first line" })
	cfg := fastConfig()
	cfg.IOTimeout = 300 * time.Millisecond
	cfg.SubmitTimeout = time.Hour
	s := fakeSession(t, New(cfg), f.ep)
	done := make(chan error, 1)
	go func() { done <- s.Send(context.Background(), bigDraft(8<<20)) }()
	select {
	case err := <-done:
		if !errors.Is(err, ports.ErrUnreachable) || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send = %v, want ErrUnreachable from the write deadline (not SubmitTimeout)", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Send still blocked on a server that stopped reading")
	}
}

// A cancel that lands between two commands of a Send stops it before DATA:
// go-smtp's next command clears the deadline that the ctx watcher set, so a
// deadline cannot carry the cancel. The server here cancels while answering
// RCPT.
func TestSendCancelledBetweenCommands(t *testing.T) {
	checkGoroutines(t)
	var mu sync.Mutex
	var cancel context.CancelFunc
	f := startFakeSMTP(t, func(l string) string {
		switch {
		case strings.HasPrefix(l, "AUTH "):
			return "235 2.7.0 OK"
		case strings.HasPrefix(l, "RCPT "):
			mu.Lock()
			cancel()
			mu.Unlock()
		case l == "DATA":
			return "354 go ahead"
		case strings.HasPrefix(l, "MAIL ") || l == "RSET" || l == ".":
		default:
			return "" // the message
		}
		return "250 2.0.0 OK"
	})
	c := New(fastConfig())
	s := fakeSession(t, c, f.ep)
	const n = 100 // the cancel races with the replies; try it often
	for i := 0; i < n; i++ {
		ctx, cancelSend := context.WithCancel(context.Background())
		mu.Lock()
		cancel = cancelSend
		mu.Unlock()
		err := s.Send(ctx, ports.Draft{To: []string{"b"}, Subject: "s", Body: "b"})
		cancelSend()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Send %d, cancelled before DATA = %v, want context.Canceled", i, err)
		}
	}
	for _, l := range f.received() {
		if l == "DATA" {
			t.Fatal("DATA was sent after the cancel")
		}
	}
}
