package main

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
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
// columns; --text words and mail give distinct bodies.
func TestMessageSize(t *testing.T) {
	for _, text := range []string{"filler", "words", "mail"} {
		for _, size := range []int{1 << 10, minMailSize, 10 << 10, 1 << 20} {
			if text == "mail" && size < minMailSize {
				continue
			}
			bodies := messages(size, text)
			if want := map[string]int{"filler": 1, "words": wordBodies, "mail": wordBodies}[text]; len(bodies) != want {
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

// --text mail is well-formed MIME: its text is the same words as plain
// text and as HTML, and about a third of its bytes.
func TestMailMessage(t *testing.T) {
	const size = 10 << 10
	raw := messages(size, "mail")[7]
	raw = raw[:len(raw)-len(".\r\n")]
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	var plain, html string
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		ct := p.Header.Get("Content-Type")
		types = append(types, ct)
		if strings.HasPrefix(ct, "text/plain") {
			plain = string(b)
		} else {
			html = string(b)
		}
	}
	if len(types) != 2 || !strings.HasPrefix(types[0], "text/plain") || !strings.HasPrefix(types[1], "text/html") {
		t.Fatalf("parts %q, want text/plain and text/html", types)
	}
	first, _, _ := strings.Cut(plain, "\r\n")
	if first == "" || !strings.Contains(html, first) {
		t.Fatalf("the HTML does not hold the plain text's first line %q", first)
	}
	if share := float64(len(plain)) / size; share < 0.25 || share > 0.45 {
		t.Errorf("plain text is %.0f%% of the message, want about a third", 100*share)
	}
}
