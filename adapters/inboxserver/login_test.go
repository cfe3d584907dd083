package inboxserver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/account"
	"mailroom/domain/throttle"
)

// slowHasher makes every verification take a while, two at a time, as
// real argon2id hashing behind its concurrency limit does, so that
// parallel logins queue up and overlap.
type slowHasher struct {
	account.Hasher
	delay time.Duration
	slots chan struct{}
}

func slow(delay time.Duration) func(account.Hasher) account.Hasher {
	return func(h account.Hasher) account.Hasher {
		return slowHasher{Hasher: h, delay: delay, slots: make(chan struct{}, 2)}
	}
}

func (h slowHasher) Verify(ctx context.Context, hash, password string) (bool, error) {
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	time.Sleep(h.delay)
	return h.Hasher.Verify(ctx, hash, password)
}

func TestParallelBadLoginsKeepToTheBudget(t *testing.T) {
	const n, budget = 45, 5
	e := newEnv(t, envOpts{
		account: func(c *account.Config) { c.AuthFailRate = throttle.Rate{N: budget, Per: time.Hour} },
		hasher:  slow(20 * time.Millisecond),
	})
	e.user("bob")
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = e.dial()
		clients[i].ok(`{"op":"ping"}`) // the session is up
	}
	codes := make(chan string, n)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			c.sendLine(`{"op":"login","user":"bob","password":"wrong password"}`)
			line, err := c.readLine(10 * time.Second)
			if err != nil {
				codes <- err.Error()
				return
			}
			codes <- errCode(t, line)
		})
	}
	wg.Wait()
	close(codes)
	count := map[string]int{}
	for c := range codes {
		count[c]++
	}
	if count[inboxwire.CodeAuthFailed] != budget || count[inboxwire.CodeRateLimited] != n-budget {
		t.Errorf("got %v, want %d %s and %d %s", count, budget, inboxwire.CodeAuthFailed, n-budget, inboxwire.CodeRateLimited)
	}
}

func TestGoodLoginsDoNotSpendTheBudget(t *testing.T) {
	const budget = 2
	e := newEnv(t, envOpts{
		account: func(c *account.Config) { c.AuthFailRate = throttle.Rate{N: budget, Per: time.Hour} },
		cfg:     func(c *Config) { c.MaxLoginFailures = 10 },
	})
	e.user("bob")
	for range 2 * budget {
		e.login("bob")
	}
	var wg sync.WaitGroup
	for range 2 * budget {
		c := e.dial()
		wg.Go(func() { c.ok(fmt.Sprintf(`{"op":"login","user":"bob","password":%q}`, testPassword)) })
	}
	wg.Wait()
	c := e.dial()
	for range budget {
		c.fails(`{"op":"login","user":"bob","password":"wrong password"}`, inboxwire.CodeAuthFailed)
	}
	c.fails(`{"op":"login","user":"bob","password":"wrong password"}`, inboxwire.CodeRateLimited)
}

// Issue 9: 32 offices behind one NAT address log in at once with the
// right password, through a hasher that takes two at a time. With the
// budget at its default of 20 none may be refused: attempts in flight hold
// tokens but only failures spend them. Failures still run into the budget.
func TestConcurrentRightPasswordsAllSucceed(t *testing.T) {
	const n = 32
	e := newEnv(t, envOpts{
		account: func(c *account.Config) { c.AuthFailRate = account.DefaultAuthFailRate },
		hasher:  slow(20 * time.Millisecond),
		cfg:     func(c *Config) { c.MaxLoginFailures = 100 },
	})
	e.user("bob")
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = e.dial()
		clients[i].ok(`{"op":"ping"}`)
	}
	codes := make(chan string, n)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			c.sendLine(fmt.Sprintf(`{"op":"login","user":"bob","password":%q}`, testPassword))
			line, err := c.readLine(20 * time.Second)
			if err != nil {
				codes <- err.Error()
				return
			}
			codes <- errCode(t, line)
		})
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != "ok" {
			t.Errorf("a right password got %s", code)
		}
	}
	c := e.dial()
	for range account.DefaultAuthFailRate.N {
		c.fails(`{"op":"login","user":"bob","password":"wrong password"}`, inboxwire.CodeAuthFailed)
	}
	c.fails(`{"op":"login","user":"bob","password":"wrong password"}`, inboxwire.CodeRateLimited)
	c.fails(`{"op":"login","user":"bob","password":"`+testPassword+`"}`, inboxwire.CodeRateLimited)
}

// errCode gives a response line's error code, or "ok".
func errCode(t *testing.T, line []byte) string {
	var r inboxwire.Response
	if err := json.Unmarshal(line, &r); err != nil {
		return "not a response: " + string(line)
	}
	if r.Error == nil {
		return "ok"
	}
	return r.Error.Code
}

func TestFailedLoginLogsNoClientText(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	e := newEnv(t, envOpts{
		log:     zap.New(core),
		account: func(c *account.Config) { c.AuthFailRate = throttle.Rate{N: 1, Per: time.Hour} },
		cfg:     func(c *Config) { c.MaxLoginFailures = 10 },
	})
	e.user("bob")
	// As long as a line before login may be (8 KiB).
	huge := strings.Repeat("A", 7_000)
	secret := "my secret pass phrase!"
	c := e.dial()
	c.fails(fmt.Sprintf(`{"op":"login","user":"Bob@Example.Test","password":%q}`, secret), inboxwire.CodeAuthFailed)
	c.fails(fmt.Sprintf(`{"op":"login","user":%q,"password":"x"}`, huge), inboxwire.CodeRateLimited)
	c.fails(fmt.Sprintf(`{"op":"login","user":%q,"password":"x"}`, secret), inboxwire.CodeRateLimited)
	c.fails(`{"op":"login","user":"\u0007\u001b[2J\n","password":"x"}`, inboxwire.CodeRateLimited)

	failed := logs.FilterMessage("login failed").All()
	if len(failed) != 4 {
		t.Fatalf("%d login failed lines, want 4: %v", len(failed), logs.All())
	}
	if got := failed[0].ContextMap()["user"]; got != "bob" {
		t.Errorf("a well-formed name is logged as %v, want the normalised bob", got)
	}
	for _, entry := range logs.All() {
		n := len(entry.Message)
		for k, v := range entry.ContextMap() {
			s := fmt.Sprint(v)
			n += len(k) + len(s)
			if strings.Contains(s, "secret") || strings.Contains(s, "AAAAAAAA") || strings.ContainsAny(s, "\x07\x1b\n") {
				t.Errorf("%s: %s=%q carries the client's text", entry.Message, k, s)
			}
		}
		if n > 300 {
			t.Errorf("%s: a %d-byte log line", entry.Message, n)
		}
	}
}
