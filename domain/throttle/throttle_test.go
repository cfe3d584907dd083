package throttle

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rate
		err  bool
	}{
		{"30/10m", Rate{30, 10 * time.Minute}, false},
		{" 5/1s ", Rate{5, time.Second}, false},
		{"0", Rate{}, false},
		{"off", Rate{}, false},
		{"5", Rate{}, true},
		{"x/1m", Rate{}, true},
		{"-1/1m", Rate{}, true},
		{"5/0s", Rate{}, true},
		{"5/banana", Rate{}, true},
	} {
		got, err := ParseRate(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, err %v", tc.in, got, err, tc.want, tc.err)
		}
		if err != nil && !errors.Is(err, ErrBadRate) {
			t.Errorf("ParseRate(%q) error %v is not ErrBadRate", tc.in, err)
		}
	}
}

func TestLimiterBudgetAndRefill(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	l := New(Rate{N: 3, Per: time.Minute}, c.now)
	for i := 0; i < 3; i++ {
		if !l.Allow("a") {
			t.Fatalf("attempt %d refused within budget", i+1)
		}
	}
	if l.Allow("a") {
		t.Fatal("fourth attempt allowed")
	}
	if !l.Allow("b") {
		t.Fatal("another key shares the budget")
	}
	c.t = c.t.Add(20 * time.Second) // one token back
	if !l.Allow("a") {
		t.Fatal("no refill after a third of the period")
	}
	if l.Allow("a") {
		t.Fatal("refilled more than one token")
	}
	c.t = c.t.Add(time.Hour)
	for i := 0; i < 3; i++ {
		if !l.Allow("a") {
			t.Fatal("budget not capped back to N after a long pause")
		}
	}
	if l.Allow("a") {
		t.Fatal("refill exceeded N")
	}
}

func TestLimiterUnlimitedAndNil(t *testing.T) {
	var nilL *Limiter
	if !nilL.Allow("x") {
		t.Fatal("nil limiter must allow")
	}
	l := New(Rate{}, nil)
	for i := 0; i < 1000; i++ {
		if !l.Allow("x") {
			t.Fatal("unlimited limiter refused")
		}
	}
}

func TestLimiterBoundedMemory(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	l := New(Rate{N: 1, Per: time.Hour}, c.now)
	for i := 0; i < MaxKeys+10; i++ {
		c.t = c.t.Add(time.Millisecond)
		l.Allow(strconv.Itoa(i))
	}
	if n := len(l.buckets); n > MaxKeys {
		t.Fatalf("%d buckets kept, bound is %d", n, MaxKeys)
	}
	if l.Allow(strconv.Itoa(MaxKeys + 9)) {
		t.Fatal("the newest key was evicted instead of the oldest")
	}
}

func TestClientKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::ffff", "2001:db8:1:2::/64"}, // same /64, same budget
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
		{"not an ip", "not an ip"},
	} {
		if got := ClientKey(tc.in); got != tc.want {
			t.Errorf("ClientKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
