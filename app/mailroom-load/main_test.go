package main

import (
	"errors"
	"testing"
)

func TestCheckLoopback(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8025", true},
		{"127.8.9.10:25", true},
		{"[::1]:8025", true},
		{"localhost:8025", true},
		{"[::ffff:127.0.0.1]:8025", true},
		{"10.0.0.1:8025", false},
		{"[::]:8025", false},
		{"0.0.0.0:8025", false},
		{"example.com:8025", false},
		{"localhost.example.com:25", false},
		{"[fe80::1%lo]:25", false},
		{"127.0.0.1", false},
	} {
		err := checkLoopback(tc.addr)
		if (err == nil) != tc.ok {
			t.Errorf("checkLoopback(%q) = %v, want ok %v", tc.addr, err, tc.ok)
		}
		if err != nil && !errors.Is(err, errUsage) {
			t.Errorf("checkLoopback(%q) = %v, want errUsage", tc.addr, err)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"1024", 1024}, {"1KB", 1 << 10}, {"10kb", 10 << 10}, {"1MB", 1 << 20}, {"2MiB", 2 << 20}, {"64MB", 64 << 20},
		{"0", 0}, {"65MB", 0}, {"x", 0}, {"-1KB", 0},
	} {
		got, err := parseSize(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("parseSize(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v, want %d", tc.in, got, err, tc.want)
		}
	}
}

// The message's wire size is the size asked for, plus the final dot line,
// and no line starts with a dot (nothing to stuff).
func TestMessageSize(t *testing.T) {
	for _, size := range []int{1 << 10, 10 << 10, 1 << 20} {
		m := message(size)
		if got := len(m) - len(".\r\n"); got != size {
			t.Errorf("message(%d) is %d bytes", size, got)
		}
	}
}
