package model

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"mailroom/ports"
)

func TestOutboxFile(t *testing.T) {
	dir := t.TempDir()
	items := []OutboxItem{
		{ID: "1", Account: "alice@example.org", Draft: ports.Draft{To: []string{"bob"}, Subject: "Hi",
			Attachments: []ports.Attachment{{Name: "a.bin", Data: []byte{0, 1, 2}}}}, State: Sending},
		{ID: "2", State: NotSent, Reason: "Unknown recipient: mallory"},
	}
	if err := SaveOutbox(dir, items); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, OutboxFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("outbox file: %v %v", fi, err)
	}
	got, err := LoadOutbox(dir)
	if err != nil || len(got) != 2 {
		t.Fatalf("load: %v %v", got, err)
	}
	// One that was on its way when the app stopped is queued again.
	if got[0].State != Queued || got[1].State != NotSent || string(got[0].Draft.Attachments[0].Data) != "\x00\x01\x02" {
		t.Errorf("loaded %+v", got)
	}
	if err := SaveOutbox(dir, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, OutboxFile)); !os.IsNotExist(err) {
		t.Errorf("empty outbox left a file: %v", err)
	}
	// No temporary files are left behind.
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left in dir: %v", ents)
	}
}

func TestRetryAfter(t *testing.T) {
	for _, c := range []struct {
		tries int
		want  time.Duration
	}{{0, 2 * time.Second}, {1, 4 * time.Second}, {3, 16 * time.Second}, {8, 5 * time.Minute}, {1000, 5 * time.Minute}} {
		if got := RetryAfter(c.tries); got != c.want {
			t.Errorf("RetryAfter(%d) = %v, want %v", c.tries, got, c.want)
		}
	}
}

func TestDraftFile(t *testing.T) {
	dir := t.TempDir()
	if _, ok, err := LoadDraft(dir); ok || err != nil {
		t.Fatalf("no draft: %v %v", ok, err)
	}
	d := SavedDraft{Account: "alice@example.org", Draft: ports.Draft{Body: "Dear Bob,"}}
	if err := SaveDraft(dir, d); err != nil {
		t.Fatal(err)
	}
	got, ok, err := LoadDraft(dir)
	if !ok || err != nil || got.Draft.Body != "Dear Bob," {
		t.Fatalf("load: %+v %v %v", got, ok, err)
	}
	if err := SaveDraft(dir, SavedDraft{}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := LoadDraft(dir); ok {
		t.Error("empty draft still on disk")
	}
}
