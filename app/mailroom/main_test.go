//go:build gui

package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailroom/ui"
)

func TestOpenAttachment(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(p, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := openAttachment(p, ui.MaxAttachBytes)
	if err != nil || a.Name != "notes.txt" || !strings.HasPrefix(a.ContentType, "text/plain") || string(a.Data) != "hello\n" {
		t.Fatalf("openAttachment = %q %q %q, %v", a.Name, a.ContentType, a.Data, err)
	}
	// Too big by its size: refused without reading.
	big := filepath.Join(dir, "big.iso")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(ui.MaxAttachBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if a, err := openAttachment(big, ui.MaxAttachBytes); !errors.Is(err, ui.ErrTooLarge) || a.Name != "big.iso" || a.Data != nil {
		t.Fatalf("big file: %q %d bytes, %v", a.Name, len(a.Data), err)
	}
}

func TestReadAttachmentUnknownSize(t *testing.T) {
	// A stream whose size is not known is cut one byte past the cap.
	r := bytes.NewReader(make([]byte, ui.MaxAttachBytes+10))
	if _, err := readAttachment(r, "pipe", -1, ui.MaxAttachBytes); !errors.Is(err, ui.ErrTooLarge) {
		t.Fatalf("over the cap: %v", err)
	}
	a, err := readAttachment(bytes.NewReader(make([]byte, ui.MaxAttachBytes)), "exact.bin", -1, ui.MaxAttachBytes)
	if err != nil || len(a.Data) != ui.MaxAttachBytes || a.ContentType != "application/octet-stream" {
		t.Fatalf("at the cap: %d bytes %q, %v", len(a.Data), a.ContentType, err)
	}
}

// The cap is the one the UI passes (the signed-in server's), not a constant:
// a server with a bigger --max-message takes bigger files.
func TestReadAttachmentHonoursTheGivenCap(t *testing.T) {
	big := int64(ui.MaxAttachBytes) + 1000
	a, err := readAttachment(bytes.NewReader(make([]byte, big)), "big.bin", big, 2*ui.MaxAttachBytes)
	if err != nil || int64(len(a.Data)) != big {
		t.Fatalf("under a larger cap: %d bytes, %v", len(a.Data), err)
	}
	if _, err := readAttachment(bytes.NewReader(make([]byte, 100)), "small.bin", -1, 99); !errors.Is(err, ui.ErrTooLarge) {
		t.Fatalf("over a small cap: %v", err)
	}
}

func TestWriteNewNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	for i, want := range []string{"runbook.txt", "runbook (2).txt", "runbook (3).txt"} {
		p, err := writeNew(dir, "runbook.txt", []byte{byte(i)})
		if err != nil || filepath.Base(p) != want {
			t.Fatalf("write %d: %q, %v", i, p, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "runbook.txt")); !bytes.Equal(b, []byte{0}) {
		t.Errorf("first file overwritten: %v", b)
	}
}
