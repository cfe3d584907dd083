//go:build linux

package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailroom/domain/mail"
)

// TestDiskFullRecovers fills a real small filesystem with deliveries until
// the store refuses, checks that every acknowledged delivery is on disk and
// no refused one is, frees space by removing a filler file and delivers
// again through the same Store: no restart.
func TestDiskFullRecovers(t *testing.T) {
	tests := []struct {
		name         string
		fs, filler   int
		maxWAL       int64
		messageBytes int
	}{
		{"4MiB fs, 1MiB WAL bound, 1MiB freed", 4 << 20, 1 << 20, 1 << 20, 32 << 10},
		// The case of issue 9, with the default bound.
		{"8MiB fs, default WAL bound, 2MiB freed", 8 << 20, 2 << 20, 0, 10 << 10},
		{"16MiB fs, default WAL bound, 2MiB freed", 16 << 20, 2 << 20, 0, 10 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := mountTmpfs(t, tt.fs)
			path := filepath.Join(dir, "mailroom.db")
			filler := filepath.Join(dir, "filler")
			if err := os.WriteFile(filler, bytes.Repeat([]byte{0xff}, tt.filler), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(ctx, Config{Path: path, MaxWAL: tt.maxWAL})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { s.Close() }()
			alice := mkAccount(t, s, "alice")
			bob := mkAccount(t, s, "bob")

			acked := map[mail.EntryID]string{} // bob's entry → subject
			refused := map[string]bool{}
			deliverOne := func(subject string) error {
				body := bytes.Repeat([]byte(subject+" 0123456789abcdef0123456789abcdef\r\n"), tt.messageBytes/48)
				metas, err := s.Deliver(ctx, newMsg(subject, body), []mail.NewEntry{
					{Owner: bob.ID, Folder: mail.Inbox}, {Owner: alice.ID, Folder: mail.Sent}})
				if err == nil {
					acked[metas[0].ID] = subject
				} else {
					refused[subject] = true
				}
				return err
			}
			fails := 0
			for i := 0; fails < 5; i++ {
				if i == 10_000 {
					t.Fatal("the filesystem never filled up")
				}
				if err := deliverOne(fmt.Sprint("m", i)); err != nil {
					fails++
					if fails == 1 {
						t.Logf("refused after %d deliveries: %v", len(acked), err)
					}
				}
			}
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
			// Service resumes: not one delivery that squeezes in, but as many
			// as half the freed space holds.
			for i := range tt.filler / tt.messageBytes / 2 {
				if err := deliverOne(fmt.Sprint("after", i)); err != nil {
					t.Fatalf("Deliver %d after freeing %d bytes: %v", i, tt.filler, err)
				}
			}

			// Every acknowledged message, and none refused, survives a reopen.
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s, err = Open(ctx, Config{Path: path})
			if err != nil {
				t.Fatal(err)
			}
			metas, err := s.List(ctx, bob.ID, mail.Inbox, 0, 100_000)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range metas {
				if acked[m.ID] != m.Subject || refused[m.Subject] {
					t.Errorf("entry %d %q is stored but was not acknowledged", m.ID, m.Subject)
				}
			}
			if len(metas) != len(acked) {
				t.Errorf("%d of bob's entries stored, %d acknowledged", len(metas), len(acked))
			}
		})
	}
}

// TestDeletedWhileOpen removes the database file under a running store.
// SQLite itself would go on writing to the removed file, which vanishes
// when the process ends; the store refuses writes instead, with
// ErrFileGone, and goes on serving reads.
func TestDeletedWhileOpen(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	s := openAt(t, path, Config{})
	alice := mkAccount(t, s, "alice")
	deliver(t, s, alice, "before", alice)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	_, err := s.Deliver(ctx, newMsg("after", nil), []mail.NewEntry{{Owner: alice.ID, Folder: mail.Inbox}})
	if !errors.Is(err, ErrFileGone) {
		t.Fatalf("Deliver after the file was removed = %v, want ErrFileGone", err)
	}
	if err := s.SetSeen(ctx, alice.ID, 1, true); !errors.Is(err, ErrFileGone) {
		t.Fatalf("SetSeen = %v, want ErrFileGone", err)
	}
	metas, err := s.List(ctx, alice.ID, mail.Inbox, 0, 10)
	if err != nil || len(metas) != 1 || metas[0].Subject != "before" {
		t.Fatalf("List = %+v, %v; want the entry from before", metas, err)
	}
	// A new file at the same path is another database: still refused.
	s2 := openAt(t, path, Config{})
	mkAccount(t, s2, "someone")
	if _, err := s.CreateAccount(ctx, "bob", "h", t0); !errors.Is(err, ErrFileGone) {
		t.Fatalf("CreateAccount with the file replaced = %v, want ErrFileGone", err)
	}
}

// TestOpenReadOnlyFile opens a database on a read-only filesystem: as root
// (CI) file modes do not bind, so the test mounts a tmpfs and remounts it
// read-only; otherwise a 0400 file in a 0500 directory does. Either way
// Open fails and names the file.
func TestOpenReadOnlyFile(t *testing.T) {
	var dir string
	if os.Geteuid() == 0 {
		dir = mountTmpfs(t, 1<<20)
	} else {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "mailroom.db")
	s, err := Open(context.Background(), Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	mkAccount(t, s, "alice")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		remountReadOnly(t, dir)
	} else {
		if err := os.Chmod(path, 0o400); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
	}
	for _, skip := range []bool{false, true} {
		s, err := Open(context.Background(), Config{Path: path, SkipQuickCheck: skip})
		if err == nil {
			s.Close()
			t.Fatalf("Open(SkipQuickCheck=%v) of a read-only file succeeded", skip)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("Open(SkipQuickCheck=%v) = %v; want the error to name %s", skip, err, path)
		}
		t.Logf("SkipQuickCheck=%v: %v", skip, err)
	}
}
