package client

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"mailroom/domain/mail"
	"mailroom/ports"
)

func TestMessageRoundTrip(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	pdf := bytes.Repeat([]byte{0, 1, 2, 0xff, '\n', '.'}, 5000)
	tests := []struct {
		name string
		d    ports.Draft
	}{
		{"plain ASCII", ports.Draft{To: []string{"bob"}, Subject: "Hello", Body: "Hi Bob,\nsee you.\n"}},
		{"non-ASCII subject and body", ports.Draft{
			To: []string{"bob@example.org", "carol"}, Subject: "Grüße — 日本語 ✓",
			Body: "Straße\n.\nA line starting with a dot, and a long one: " + strings.Repeat("x", 200) + "\n",
		}},
		{"attachments and a reply", ports.Draft{
			To: []string{"bob"}, Subject: "files", Body: "two files",
			InReplyTo: "<abc.123@example.org>",
			Attachments: []ports.Attachment{
				{Name: "report.pdf", ContentType: "application/pdf", Data: pdf},
				{Name: "notes ü.txt", ContentType: "text/plain; charset=utf-8", Data: []byte("line 1\nline 2\n")},
				{Name: "blob", Data: []byte{1, 2, 3}},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := BuildMessage(tt.d, "alice@example.org", now)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasSuffix(raw, []byte("\r\n")) && len(tt.d.Attachments) > 0 {
				t.Errorf("message does not end in CRLF")
			}
			head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
			for _, b := range head {
				if b >= 0x80 {
					t.Fatalf("header block is not ASCII:\n%s", head)
				}
			}
			for _, want := range []string{"From: <alice@example.org>", "Mime-Version: 1.0", "Date: Sun, 01 Mar 2026 12:00:00 +0000", "Message-Id: <"} {
				if !bytes.Contains(head, []byte(want)) {
					t.Errorf("header lacks %q:\n%s", want, head)
				}
			}
			// What the server stores as the subject and recipients.
			h := mail.ParseHeader(raw)
			if h.Subject != tt.d.Subject {
				t.Errorf("server-side subject = %q, want %q", h.Subject, tt.d.Subject)
			}
			if len(h.To) != len(tt.d.To) || !strings.HasSuffix(h.To[0], "@example.org") {
				t.Errorf("server-side To = %v", h.To)
			}
			if tt.d.InReplyTo != "" {
				for _, want := range []string{"In-Reply-To: <abc.123@example.org>", "References: <abc.123@example.org>"} {
					if !bytes.Contains(head, []byte(want)) {
						t.Errorf("header lacks %q", want)
					}
				}
			}

			var b ports.Body
			parseMessage(raw, &b)
			if b.Text != tt.d.Body {
				t.Errorf("Text = %q, want %q", b.Text, tt.d.Body)
			}
			if !strings.HasSuffix(b.MessageID, "@example.org") {
				t.Errorf("MessageID = %q", b.MessageID)
			}
			if len(b.Attachments) != len(tt.d.Attachments) {
				t.Fatalf("%d attachments, want %d", len(b.Attachments), len(tt.d.Attachments))
			}
			for i, a := range tt.d.Attachments {
				got := b.Attachments[i]
				wantCT, _, _ := strings.Cut(a.ContentType, ";")
				if wantCT == "" {
					wantCT = "application/octet-stream"
				}
				if got.Name != a.Name || got.ContentType != wantCT || !bytes.Equal(got.Data, a.Data) {
					t.Errorf("attachment %d = %q %q (%d bytes), want %q %q (%d bytes)",
						i, got.Name, got.ContentType, len(got.Data), a.Name, wantCT, len(a.Data))
				}
			}
		})
	}
}

func TestParseMessageLenient(t *testing.T) {
	tests := []struct {
		name       string
		raw        string
		text, html string
		atts       int
	}{
		{"not MIME", "From: a@b\r\nSubject: hi\r\n\r\nJust text.\r\nTwo lines.\r\n", "Just text.\nTwo lines.\n", "", 0},
		{"bare LF", "Subject: hi\n\nbody\n", "body\n", "", 0},
		{"no header at all", "just some bytes", "just some bytes", "", 0},
		{"latin-1", "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nStra=DFe\r\n",
			"Straße\n", "", 0},
		{"unknown charset", "Content-Type: text/plain; charset=x-nonsense\r\n\r\nplain bytes\r\n", "plain bytes\n", "", 0},
		{"alternative", "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=XX\r\n\r\n" +
			"--XX\r\nContent-Type: text/plain\r\n\r\nplain\r\n" +
			"--XX\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html</p>\r\n--XX--\r\n", "plain", "<p>html</p>", 0},
		{"broken multipart", "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n" +
			"--XX\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--XX\r\nContent-Type: application/octet-stream\r\n", "first", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b ports.Body
			parseMessage([]byte(tt.raw), &b)
			if b.Text != tt.text || b.HTML != tt.html || len(b.Attachments) != tt.atts {
				t.Errorf("got text %q html %q %d attachments; want %q %q %d", b.Text, b.HTML, len(b.Attachments), tt.text, tt.html, tt.atts)
			}
		})
	}
}

func FuzzParseMessage(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nbody"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\nx\r\n--a--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var b ports.Body
		parseMessage(raw, &b) // must not panic
	})
}
