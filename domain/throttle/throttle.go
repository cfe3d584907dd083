// Package throttle owns Mailroom's abuse budgets: a per-key (per client IP)
// token bucket written as "N/duration", used for registrations, failed
// logins and the like, with tickets for attempts whose cost is known only
// when they end (see Acquire). It is pure; time comes in as a func.
package throttle

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrBadRate is returned by ParseRate.
var ErrBadRate = errors.New("throttle: rate must look like N/duration, e.g. 20/10m")

// Rate allows N events per Per, refilled smoothly. N 0 means unlimited.
type Rate struct {
	N   int
	Per time.Duration
}

// ParseRate parses "N/duration" ("30/10m", "5/1s"); "0" or "off" means unlimited.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "0" || strings.EqualFold(s, "off") {
		return Rate{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("%w: %q", ErrBadRate, s)
	}
	count, err := strconv.Atoi(n)
	if err != nil || count < 0 {
		return Rate{}, fmt.Errorf("%w: %q", ErrBadRate, s)
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return Rate{}, fmt.Errorf("%w: %q", ErrBadRate, s)
	}
	return Rate{N: count, Per: d}, nil
}

func (r Rate) String() string {
	if r.N == 0 {
		return "off"
	}
	return strconv.Itoa(r.N) + "/" + r.Per.String()
}

// MaxKeys bounds the memory a Limiter uses: beyond it, buckets that have
// refilled completely are forgotten first.
const MaxKeys = 100_000

type bucket struct {
	tokens float64
	last   time.Time
	// inflight counts the tickets out on this bucket (see Acquire); each
	// holds one of tokens back from the others until it settles.
	inflight int
	// waiting counts Acquire calls blocked on settled.
	waiting int
	// settled is closed (and cleared) when a ticket settles; made only
	// when someone waits.
	settled chan struct{}
}

// busy reports whether a ticket or a waiter still points at b, so that it
// must not be forgotten.
func (b *bucket) busy() bool { return b.inflight > 0 || b.waiting > 0 }

// Limiter keeps one bucket per key. It is safe for concurrent use.
type Limiter struct {
	rate    Rate
	now     func() time.Time
	maxKeys int // MaxKeys; tests shrink it

	mu      sync.Mutex
	buckets map[string]*bucket
}

// New makes a Limiter; now defaults to time.Now.
func New(rate Rate, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: rate, now: now, maxKeys: MaxKeys, buckets: map[string]*bucket{}}
}

// Rate is the configured rate.
func (l *Limiter) Rate() Rate { return l.rate }

// Allow spends one token of key's budget and reports whether there was one.
func (l *Limiter) Allow(key string) bool {
	if l == nil || l.rate.N == 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key)
	// Tokens held by tickets in flight are not free to take.
	if b.tokens-float64(b.inflight) < 1 {
		return false
	}
	b.tokens--
	return true
}

func (l *Limiter) refill(key string) *bucket {
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.prune(now)
		}
		b = &bucket{tokens: float64(l.rate.N), last: now}
		l.buckets[key] = b
		return b
	}
	l.refillBucket(b, now)
	return b
}

func (l *Limiter) refillBucket(b *bucket, now time.Time) {
	if el := now.Sub(b.last); el > 0 {
		b.tokens += float64(l.rate.N) * float64(el) / float64(l.rate.Per)
		if b.tokens > float64(l.rate.N) {
			b.tokens = float64(l.rate.N)
		}
		b.last = now
	}
}

// prune forgets full buckets (they carry no state), then, if still over
// the bound, an arbitrary tenth of the rest: under a flood of fresh keys
// this keeps the cost amortised O(1) per key instead of a scan per key.
// A bucket with tickets out or waiters is kept: its tickets settle on it.
func (l *Limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.last) >= l.rate.Per && !b.busy() {
			delete(l.buckets, k)
		}
	}
	for k, b := range l.buckets {
		if len(l.buckets) < l.maxKeys*9/10 {
			break
		}
		if !b.busy() {
			delete(l.buckets, k)
		}
	}
}

// ClientKey is the key a client's budgets and connection caps are counted
// under: an IPv4 address as it is, an IPv6 address as the /64 it lies in.
// One host or site commonly holds a whole /64, so counting single IPv6
// addresses would let it multiply every per-IP budget at will. An
// IPv4-mapped IPv6 address counts as its IPv4 address; anything that does
// not parse is its own key.
func ClientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}
