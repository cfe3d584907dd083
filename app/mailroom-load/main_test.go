package main

import (
	"errors"
	"strings"
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

// Every body's wire size is the size asked for, plus the final dot line;
// no line starts with a dot (nothing to stuff) or is longer than 78
// columns; --text words gives distinct bodies.
func TestMessageSize(t *testing.T) {
	for _, text := range []string{"filler", "words"} {
		for _, size := range []int{1 << 10, 10 << 10, 1 << 20} {
			bodies := messages(size, text)
			if want := map[string]int{"filler": 1, "words": wordBodies}[text]; len(bodies) != want {
				t.Fatalf("%s: %d bodies, want %d", text, len(bodies), want)
			}
			seen := map[string]bool{}
			for _, m := range bodies {
				if got := len(m) - len(".\r\n"); got != size {
					t.Fatalf("%s message(%d) is %d bytes", text, size, got)
				}
				for _, line := range strings.Split(strings.TrimSuffix(string(m), "\r\n"), "\r\n") {
					if len(line) > 78 || line != "." && strings.HasPrefix(line, ".") {
						t.Fatalf("%s message(%d) has the line %q", text, size, line)
					}
				}
				_, body, _ := strings.Cut(string(m), "\r\n\r\n")
				if seen[body] {
					t.Fatalf("%s: two bodies of size %d are the same", text, size)
				}
				seen[body] = true
			}
		}
	}
}
