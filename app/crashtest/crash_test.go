package crashtest

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mailroom/adapters/client"
	"mailroom/domain/mail"
	"mailroom/ports"
)

const password = "crash-password-1"

var users = []string{"ann", "ben", "cat", "dan"}

// rounds is MAILROOM_SOAK_ROUNDS, default 5.
func rounds(t *testing.T) int {
	s := os.Getenv("MAILROOM_SOAK_ROUNDS")
	if s == "" {
		return 5
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("MAILROOM_SOAK_ROUNDS=%q: want a positive number", s)
	}
	return n
}

// TestKill9 is the durability test: see the package comment.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real daemon")
	}
	bin := buildDaemon(t)
	data := filepath.Join(t.TempDir(), "data")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d (the kill points are random)", seed)
	rnd := rand.New(rand.NewPCG(seed, 0))

	d := startDaemon(t, bin, data)
	c := client.New(client.Config{})
	ctx := context.Background()
	for _, u := range users {
		if err := c.Register(ctx, d.ep, u, password); err != nil {
			t.Fatalf("register %s: %v", u, err)
		}
	}
	var all []*sent
	n := rounds(t)
	hits := make(map[point]int)
	for r := range n {
		if r > 0 {
			d = startDaemon(t, bin, data)
		}
		k := &killer{at: point(rnd.IntN(int(numPoints))), left: 1 + rnd.IntN(8), kill: d.sigkill}
		senders := make([]*sender, 1+rnd.IntN(3))
		var wg sync.WaitGroup
		for i := range senders {
			s := &sender{id: "r" + strconv.Itoa(r) + "-s" + strconv.Itoa(i), from: rnd.IntN(len(users)),
				users: users, pass: password, rnd: rand.New(rand.NewPCG(rnd.Uint64(), 0)), k: k}
			senders[i] = s
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.run(d.smtpAddr())
			}()
		}
		// The point may never come (every sender failed first): then the
		// round ends with a kill anyway.
		fallback := time.AfterFunc(20*time.Second, d.sigkill)
		wg.Wait()
		fallback.Stop()
		d.sigkill()
		k.mu.Lock()
		if k.hit {
			hits[k.at]++
		}
		k.mu.Unlock()
		for _, s := range senders {
			all = append(all, s.log...)
		}
	}
	d = startDaemon(t, bin, data)
	got := readBack(t, c, d.ep)
	d.stop(t)
	acked := check(t, all, got)
	t.Logf("%d rounds, kills %v, %d messages acknowledged, %d more reached DATA", n, hitSummary(hits), acked, len(all)-acked)
}

func hitSummary(h map[point]int) string {
	var parts []string
	for p := range numPoints {
		parts = append(parts, p.String()+": "+strconv.Itoa(h[p]))
	}
	return strings.Join(parts, ", ")
}

// copyOf is one stored copy of a message.
type copyOf struct {
	mailbox string // "user/folder"
	raw     []byte
}

// readBack logs in as every user and fetches every entry of both folders,
// keyed by the test's message id (from the Subject).
func readBack(t *testing.T, c *client.Client, ep ports.Endpoint) map[string][]copyOf {
	t.Helper()
	ctx := context.Background()
	got := make(map[string][]copyOf)
	for _, u := range users {
		s, err := c.Login(ctx, ep, u, password)
		if err != nil {
			t.Fatalf("login %s after the last restart: %v", u, err)
		}
		for _, f := range []mail.Folder{mail.Inbox, mail.Sent} {
			var before mail.EntryID
			for {
				page, err := s.List(ctx, f, before, 0)
				if err != nil {
					t.Fatalf("list %s/%s: %v", u, f, err)
				}
				if len(page) == 0 {
					break
				}
				for _, m := range page {
					b, err := s.Fetch(ctx, m.ID)
					if err != nil {
						t.Fatalf("fetch %s/%s %d: %v", u, f, m.ID, err)
					}
					id := strings.TrimPrefix(m.Subject, "crash ")
					got[id] = append(got[id], copyOf{mailbox: u + "/" + string(f), raw: b.Raw})
					before = m.ID
				}
			}
		}
		s.Close()
	}
	return got
}

// check compares what was sent with what is stored; it gives the number
// of acknowledged messages.
func check(t *testing.T, all []*sent, got map[string][]copyOf) int {
	t.Helper()
	acked := 0
	known := make(map[string]bool)
	for _, m := range all {
		known[m.id] = true
		if m.acked {
			acked++
		}
		want := map[string]bool{users[m.from] + "/sent": true}
		for _, r := range m.rcpts {
			want[users[r]+"/inbox"] = true
		}
		copies := got[m.id]
		seen := make(map[string]int)
		for _, cp := range copies {
			seen[cp.mailbox]++
			if !want[cp.mailbox] {
				t.Errorf("message %s is in %s, which is not one of its mailboxes", m.id, cp.mailbox)
			}
			// The server prepends its Received header; the rest must be
			// exactly what was sent.
			if !bytes.HasSuffix(cp.raw, m.raw) || !bytes.HasPrefix(cp.raw, []byte("Received: ")) {
				t.Errorf("message %s in %s is not byte-exact (%d bytes stored, %d sent)", m.id, cp.mailbox, len(cp.raw), len(m.raw))
			}
		}
		for mb, n := range seen {
			if n > 1 {
				t.Errorf("message %s is in %s %d times", m.id, mb, n)
			}
		}
		switch {
		case m.acked && len(seen) != len(want):
			t.Errorf("acknowledged message %s is in %d of its %d mailboxes", m.id, len(seen), len(want))
		case !m.acked && len(seen) != 0 && len(seen) != len(want):
			t.Errorf("unacknowledged message %s is in only %d of its %d mailboxes", m.id, len(seen), len(want))
		}
	}
	for id, copies := range got {
		if !known[id] {
			t.Errorf("stored message %q (%d copies) was never sent", id, len(copies))
		}
	}
	return acked
}
