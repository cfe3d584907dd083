package inboxserver

import (
	"sync"
	"testing"
	"time"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/mail"
)

// TestAppendLineBudget: long request lines share MaxInflightBytes. While
// one append's half-sent line holds most of it, appends sent in parallel
// on other connections are refused with an untagged busy and closed, and
// none is stored; the holder's append then completes, the budget is all
// given back, and a later append succeeds.
func TestAppendLineBudget(t *testing.T) {
	const limit = 1 << 20
	e := newEnv(t, envOpts{
		cfg: func(c *Config) {
			c.MaxLine = 16 << 10
			c.MaxInflightBytes = 2 << 20 // one 1 MiB append's line (1.4 MiB) and some
			c.lineWait = 50 * time.Millisecond
		},
		mail: func(c *mail.Config) { c.MaxMessageBytes = limit },
	})
	line := appendLine(1, "drafts", draftRaw("big", limit), "") + "\n"
	lineMax := inboxwire.RequestLineLimit(limit)

	holder := e.login("bob")
	const half = 800 << 10 // past half of the line's largest buffer
	holder.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := holder.conn.Write([]byte(line[:half])); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the holder's line to take its buffer", func() bool {
		return e.srv.inflight.InUse() > int64(lineMax)
	})

	const refused = 3
	var wg sync.WaitGroup
	for range refused {
		c := e.login("bob")
		wg.Go(func() {
			go func() {
				c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
				c.conn.Write([]byte(line)) // the server reads it all
			}()
			got, err := c.readLine(10 * time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			r := c.response2(got)
			if r.OK || r.Error == nil || r.Error.Code != inboxwire.CodeBusy || len(r.Tag) != 0 {
				t.Errorf("an append over the budget: %s, want an untagged busy", got)
			}
			c.closed(10 * time.Second)
		})
	}
	wg.Wait()
	if n := e.count("bob", mail.Drafts); n != 0 {
		t.Fatalf("%d drafts after the refusals, want 0", n)
	}

	holder.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := holder.conn.Write([]byte(line[half:])); err != nil {
		t.Fatal(err)
	}
	if r := holder.response(); !r.OK || r.Message == nil || r.Message.Size != limit {
		t.Fatalf("the holder's append: %+v", r)
	}
	eventually(t, "the budget to be free", func() bool { return e.srv.inflight.InUse() == 0 })
	if peak, budget := e.srv.inflight.Peak(), e.srv.cfg.MaxInflightBytes; peak > budget {
		t.Errorf("lines held %d bytes at most, over the budget %d", peak, budget)
	}
	// Released: the holder's connection goes on, and a new one appends.
	holder.ok(`{"op":"ping"}`)
	e.login("bob").ok(appendLine(2, "drafts", draftRaw("later", limit), ""))
	if n := e.count("bob", mail.Drafts); n != 2 {
		t.Errorf("%d drafts, want 2", n)
	}
}
