package mbox

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRoundTripByteExact(t *testing.T) {
	date := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	msgs := []Message{
		{Sender: "alice@example.org", Date: date, Raw: []byte("Subject: one\r\n\r\nFrom the start\r\n>From quoted\r\n>>From twice\r\nFrom: not a header here\r\n")},
		{Sender: "Bob <bob@example.org>", Date: date.Add(time.Hour), Raw: []byte("Subject: two\n\nends in a blank line\n\n")},
		{Sender: "", Date: date, Raw: []byte("Subject: three\r\n\r\nFrom \r\n\r\n")},
		{Sender: "x@y", Date: date, Raw: []byte("\n")},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, m := range msgs {
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	file := buf.String()
	for _, want := range []string{
		"From alice@example.org Wed Mar  4 05:06:07 2026\n",
		"\r\n>From the start\r\n>>From quoted\r\n>>>From twice\r\nFrom: not",
		"From bob@example.org Wed Mar  4 06:06:07 2026\n",
		"From MAILER-DAEMON ",
	} {
		if !strings.Contains(file, want) {
			t.Errorf("mbox lacks %q:\n%s", want, file)
		}
	}
	r := NewReader(strings.NewReader(file), 0)
	for i, want := range msgs {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(got.Raw, want.Raw) {
			t.Errorf("message %d: got %q, want %q", i, got.Raw, want.Raw)
		}
		if !got.Date.Equal(want.Date) {
			t.Errorf("message %d: date %v, want %v", i, got.Date, want.Date)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("after the last: %v, want EOF", err)
	}
}

func TestReaderLimitsAndErrors(t *testing.T) {
	if _, err := NewReader(strings.NewReader("Subject: x\n\nbody\n"), 0).Next(); !errors.Is(err, ErrNotMbox) {
		t.Errorf("no From line: %v", err)
	}
	if _, err := NewReader(strings.NewReader(""), 0).Next(); err != io.EOF {
		t.Errorf("empty: %v, want EOF", err)
	}
	big := "From a Thu Jan  1 00:00:00 1970\n" + strings.Repeat("x", 100) + "\n\n"
	if _, err := NewReader(strings.NewReader(big), 50).Next(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	// mboxo without the blank line and a foreign date form.
	r := NewReader(strings.NewReader("From a Thu Jan  1 00:00:00 +0000 1970\nA: 1\n\nx\nFrom b Thu Jan  1 00:00:00 1970\nB: 2\n"), 0)
	m1, _ := r.Next()
	m2, err := r.Next()
	if string(m1.Raw) != "A: 1\n\nx\n" || string(m2.Raw) != "B: 2\n" || err != nil || m1.Date.IsZero() {
		t.Errorf("got %q %v, %q %v", m1.Raw, m1.Date, m2.Raw, err)
	}
}

func TestReadMaildir(t *testing.T) {
	dir := t.TempDir()
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"new/1700000002.x.host":      "Subject: new\n\n",
		"cur/1700000001.y.host:2,RS": "Subject: seen\n\n",
		"cur/1700000003.z.host:2,":   "Subject: big\n\n" + strings.Repeat("x", 100),
		"tmp/1700000004.w.host":      "Subject: half-written\n\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := ReadMaildir(dir, 50, func(name string, m Message, err error) error {
		switch {
		case errors.Is(err, ErrTooLarge):
			got = append(got, "too large")
		case err != nil:
			return err
		default:
			got = append(got, strings.TrimSpace(string(m.Raw))+map[bool]string{true: " (seen)"}[m.Seen])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Subject: new,Subject: seen (seen),too large"; strings.Join(got, ",") != want {
		t.Errorf("got %q, want %q", strings.Join(got, ","), want)
	}
	if err := ReadMaildir(t.TempDir(), 0, nil); !errors.Is(err, ErrNotMaildir) {
		t.Errorf("empty dir: %v", err)
	}
}

// FuzzRoundTrip: any message that ends in a line ending comes back byte
// for byte, alone or between others.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nFrom here\r\n>From there\r\n"))
	f.Add([]byte("\n\n\n"))
	f.Add([]byte(">>>>From \n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) == 0 || raw[len(raw)-1] != '\n' {
			raw = append(raw, '\n')
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		for _, m := range [][]byte{[]byte("A: 1\n"), raw, []byte("B: 2\n")} {
			w.Write(Message{Sender: "s", Raw: m})
		}
		w.Flush()
		r := NewReader(&buf, 0)
		r.Next()
		got, err := r.Next()
		if err != nil || !bytes.Equal(got.Raw, raw) {
			t.Fatalf("got %q, %v; want %q", got.Raw, err, raw)
		}
		if last, err := r.Next(); err != nil || string(last.Raw) != "B: 2\n" {
			t.Fatalf("last %q, %v", last.Raw, err)
		}
	})
}
