package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// damagedFile gives the path of a damaged database file.
type damagedFile func(t *testing.T) string

func garbageFile(t *testing.T) string {
	path := dbPath(t)
	junk := make([]byte, 64<<10)
	r := rand.NewChaCha8([32]byte{9})
	r.Read(junk)
	if err := os.WriteFile(path, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// corruptPageFile gives a real database, several hundred pages long, with
// garbage written over one page in its middle.
func corruptPageFile(t *testing.T) string {
	path := dbPath(t)
	s, err := Open(context.Background(), Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	alice := mkAccount(t, s, "alice")
	for i := range 300 {
		deliver(t, s, alice, fmt.Sprint("message ", i, strings.Repeat(" padding", 60)), alice)
	}
	if err := s.Close(); err != nil { // checkpoints: every page is in the file
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("WAL left after Close (%v): the damage could be masked", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	pages := fi.Size() / page
	if pages < 100 {
		t.Fatalf("only %d pages", pages)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xa5}, page), pages/2*page); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpenRefusesDamagedFile(t *testing.T) {
	tests := []struct {
		name string
		make damagedFile
		// openWhenSkipped: with SkipQuickCheck the damage goes unseen.
		openWhenSkipped bool
	}{
		{"garbage", garbageFile, false},
		{"corrupt page", corruptPageFile, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.make(t)
			_, err := Open(context.Background(), Config{Path: path})
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Open = %v; want ErrDamaged naming %s", err, path)
			}
			t.Logf("Open: %v", err)

			s, err := Open(context.Background(), Config{Path: path, SkipQuickCheck: true})
			switch {
			case tt.openWhenSkipped && err != nil:
				t.Fatalf("Open with SkipQuickCheck = %v", err)
			case tt.openWhenSkipped:
				s.Close()
			case err == nil:
				s.Close()
				t.Fatal("Open with SkipQuickCheck opened a file that is not a database")
			case !strings.Contains(err.Error(), path):
				t.Fatalf("Open with SkipQuickCheck = %v; want the error to name %s", err, path)
			}
		})
	}
}
