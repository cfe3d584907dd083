package smtpserver

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestByteBudget(t *testing.T) {
	ctx := context.Background()
	b := newByteBudget(100)
	if !b.acquire(ctx, 60, 0) || !b.acquire(ctx, 40, 0) {
		t.Fatal("acquire within the budget failed")
	}
	if b.acquire(ctx, 1, 10*time.Millisecond) {
		t.Fatal("acquired past the budget")
	}
	if b.acquire(ctx, 101, time.Hour) {
		t.Fatal("acquired more than the whole budget")
	}
	// A waiter gets what a release frees.
	got := make(chan bool, 1)
	go func() { got <- b.acquire(ctx, 50, 10*time.Second) }()
	time.Sleep(20 * time.Millisecond)
	b.release(60)
	if !<-got {
		t.Fatal("waiter did not get the released bytes")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if b.acquire(cctx, 20, time.Hour) {
		t.Fatal("acquired with the budget spent and ctx done")
	}
	b.release(40)
	b.release(50)
	if b.inUse() != 0 || b.maxUsed() != 100 {
		t.Fatalf("in use %d, peak %d", b.inUse(), b.maxUsed())
	}
}

func TestReadMessage(t *testing.T) {
	ctx := context.Background()
	body := bytes.Repeat([]byte("0123456789abcdef"), 20_000) // 320 000 bytes
	for _, tc := range []struct {
		name   string
		prefix string
		limit  int64
		wantN  int64
	}{
		{"fits", "", 1 << 20, int64(len(body))},
		{"fits with prefix", "Received: x\r\n", 1 << 20, int64(len(body))},
		{"exactly", "Received: x\r\n", int64(len(body)), int64(len(body))},
		{"too big", "Received: x\r\n", 1000, 1001},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newByteBudget(4 << 20)
			buf, n, held, err := b.readMessage(ctx, bytes.NewReader(body), []byte(tc.prefix), tc.limit, 0)
			if err != nil || n != tc.wantN {
				t.Fatalf("n %d, err %v; want %d", n, err, tc.wantN)
			}
			if string(buf) != tc.prefix+string(body[:n]) {
				t.Fatalf("buffer holds %d bytes, not prefix and message", len(buf))
			}
			if held != int64(cap(buf)) || b.inUse() != held {
				t.Fatalf("held %d, cap %d, budget in use %d", held, cap(buf), b.inUse())
			}
			if maxCap := int64(len(tc.prefix)) + tc.limit + 1; held > maxCap {
				t.Fatalf("held %d, more than the largest message needs (%d)", held, maxCap)
			}
			b.release(held)
		})
	}
	t.Run("budget spent", func(t *testing.T) {
		const budget = 100 << 10
		b := newByteBudget(budget)
		_, n, held, err := b.readMessage(ctx, bytes.NewReader(body), nil, 1<<20, 10*time.Millisecond)
		// The buffer doubles from inflightChunk until the next step would
		// pass the budget; what it holds then is full.
		want := int64(inflightChunk)
		for 2*want <= budget {
			want *= 2
		}
		if !errors.Is(err, errInflightBudget) || held != want || b.inUse() != held || n != want {
			t.Fatalf("n %d, held %d, in use %d, err %v", n, held, b.inUse(), err)
		}
		b.release(held)
	})
}

// TestInflightBudget: messages whose content has not ended hold buffer
// space out of one server-wide budget. Once it is spent, a further
// message is refused 452 4.3.1 after a short wait, its content is
// discarded, the session goes on, and the space comes back when the
// holders finish or disconnect.
func TestInflightBudget(t *testing.T) {
	const (
		limit   = 100_000
		perMsg  = limit + 1 // OmitReceived: a full buffer is limit+1
		holders = 2
		refused = 5
	)
	cfg := Config{MaxMessageBytes: limit, MaxInflightBytes: holders*perMsg + 1000, OmitReceived: true}
	cfg.inflightWait = 100 * time.Millisecond
	h := newHarness(t, cfg)
	h.user("alice")
	h.user("bob")
	budget := h.srv.inflight
	content := messageOf(70_000) // past the first 64 KiB: the buffer grows to its largest

	start := func() *dialog {
		d := h.dial()
		d.login("alice")
		d.cmd("MAIL FROM:<alice@example.test>", "250 ")
		d.cmd("RCPT TO:<bob>", "250 ")
		d.cmd("DATA", "354 ")
		d.send(content)
		return d
	}
	waitInUse := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for budget.inUse() != want {
			if time.Now().After(deadline) {
				t.Fatalf("budget in use %d, want %d", budget.inUse(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	var held []*dialog
	for i := 1; i <= holders; i++ {
		held = append(held, start())
		waitInUse(int64(i) * perMsg)
	}
	// More unfinished messages at once: none gets room.
	var wg sync.WaitGroup
	late := make([]*dialog, refused)
	for i := range late {
		wg.Add(1)
		go func() {
			defer wg.Done()
			late[i] = start()
		}()
	}
	wg.Wait()
	for _, d := range late {
		// The reply comes when the content ends (RFC 5321 has no way to
		// interrupt DATA); the rest of it is discarded, not read as
		// commands.
		d.send("PING\r\n.\r\n")
		d.expect("452 4.3.1")
		d.cmd("PING", "250 2.0.0 PONG")
	}
	if peak := budget.maxUsed(); peak > cfg.MaxInflightBytes {
		t.Fatalf("budget peaked at %d, over its %d", peak, cfg.MaxInflightBytes)
	}
	if got := h.inbox("bob"); len(got) != 0 {
		t.Fatalf("refused messages stored: %d", len(got))
	}

	// The holders finish; their space comes back.
	for _, d := range held {
		d.send(".\r\n")
		d.expect("250 ")
	}
	waitInUse(0)
	// A refused client's retry goes through.
	late[0].sendMail("alice@example.test", []string{"bob"}, content)
	if got := h.inbox("bob"); len(got) != holders+1 || got[0] != content {
		t.Fatalf("bob has %d messages", len(got))
	}

	// A client that disconnects mid-message gives its space back too.
	d := start()
	waitInUse(perMsg)
	d.conn.Close()
	waitInUse(0)

	// And so does one that resets between BDAT chunks.
	d = h.dial()
	d.login("alice")
	d.cmd("MAIL FROM:<alice@example.test>", "250 ")
	d.cmd("RCPT TO:<bob>", "250 ")
	d.send("BDAT 70000\r\n" + content)
	d.expect("250 ")
	waitInUse(perMsg)
	d.cmd("RSET", "250 ")
	waitInUse(0)
	if peak := budget.maxUsed(); peak > cfg.MaxInflightBytes {
		t.Fatalf("budget peaked at %d, over its %d", peak, cfg.MaxInflightBytes)
	}
}
