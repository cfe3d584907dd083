package throttle

import (
	"context"
	"errors"
	"sync"
)

// ErrExhausted is returned by Acquire when the key's budget is spent.
var ErrExhausted = errors.New("throttle: budget spent")

// Ticket is one attempt admitted by Acquire. It holds one token of its
// key's budget back from other attempts until it settles: Spend when the
// attempt counts against the budget (a failed login), Release when it does
// not (a success, or a failure that is ours rather than the client's).
// Every ticket must be settled exactly once; later calls do nothing.
type Ticket struct {
	l    *Limiter // nil: an unlimited ticket, settling does nothing
	b    *bucket
	once sync.Once
}

// Acquire admits one attempt for key, before the expensive or risky work
// (a password check) whose outcome decides whether it counts.
//
// Why it may wait: a token is held for every attempt in flight, so that
// parallel attempts can never overshoot the budget (checking first and
// spending after would let them all pass the check). But holding is not
// spending: when every free token is held by attempts that may yet be
// released (honest logins behind one NAT address, queued for the password
// hasher), refusing would turn a budget of failures into a budget of
// concurrency. So Acquire
//   - admits at once while a token is neither spent nor held;
//   - refuses with ErrExhausted only when the spent tokens alone exhaust
//     the budget (fewer than one left after refill), whatever is in flight;
//   - otherwise waits for an attempt in flight to settle and decides again.
//
// The wait ends when a ticket of this key settles or ctx ends (then it
// returns ctx's error, not ErrExhausted). An unlimited limiter (rate N 0)
// or a nil one admits everything.
func (l *Limiter) Acquire(ctx context.Context, key string) (*Ticket, error) {
	if l == nil || l.rate.N == 0 {
		return &Ticket{}, nil
	}
	l.mu.Lock()
	for {
		b := l.refill(key)
		switch {
		case b.tokens < 1:
			l.mu.Unlock()
			return nil, ErrExhausted
		case b.tokens-float64(b.inflight) >= 1:
			b.inflight++
			l.mu.Unlock()
			return &Ticket{l: l, b: b}, nil
		}
		// tokens >= 1 but all held: inflight > 0, and one of them settles.
		if b.settled == nil {
			b.settled = make(chan struct{})
		}
		ch := b.settled
		b.waiting++
		l.mu.Unlock()
		var err error
		select {
		case <-ch:
		case <-ctx.Done():
			err = ctx.Err()
		}
		l.mu.Lock()
		b.waiting--
		if err != nil {
			l.mu.Unlock()
			return nil, err
		}
	}
}

// Spend settles the ticket as an attempt that counts: its token is gone
// (until the budget refills).
func (t *Ticket) Spend() { t.settle(true) }

// Release settles the ticket as an attempt that does not count: its token
// is free again for the key's other attempts.
func (t *Ticket) Release() { t.settle(false) }

func (t *Ticket) settle(spend bool) {
	if t == nil || t.l == nil {
		return
	}
	t.once.Do(func() {
		l, b := t.l, t.b
		l.mu.Lock()
		defer l.mu.Unlock()
		// b is still the key's bucket: prune keeps buckets with tickets out.
		l.refillBucket(b, l.now())
		b.inflight--
		if spend {
			b.tokens = max(b.tokens-1, 0)
		}
		if b.settled != nil {
			close(b.settled)
			b.settled = nil
		}
	})
}

// Pending reports key's tickets in flight and the Acquire calls waiting
// for one of them to settle, for tests and metrics.
func (l *Limiter) Pending(key string) (inflight, waiting int) {
	if l == nil {
		return 0, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		return b.inflight, b.waiting
	}
	return 0, 0
}
