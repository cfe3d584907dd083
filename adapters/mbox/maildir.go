package mbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNotMaildir: the directory has neither cur nor new.
var ErrNotMaildir = errors.New("mbox: not a Maildir (no cur or new directory)")

// IsMaildir reports whether dir looks like a Maildir.
func IsMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

// ReadMaildir calls fn with each message of the Maildir dir: new/ then
// cur/, each in name order (a Maildir name starts with the delivery time,
// so this is about delivery order); tmp/ is skipped, being messages still
// being written. Date is the file's modification time, Seen its S flag. A
// file over max bytes (0: no bound) is given to fn as ErrTooLarge, and
// reading goes on; an error fn returns stops it.
func ReadMaildir(dir string, max int64, fn func(name string, m Message, err error) error) error {
	if !IsMaildir(dir) {
		return fmt.Errorf("%s: %w", dir, ErrNotMaildir)
	}
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
		for _, e := range entries {
			if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			path := filepath.Join(dir, sub, e.Name())
			m, err := readMaildirFile(path, e, max)
			if err := fn(path, m, err); err != nil {
				return err
			}
		}
	}
	return nil
}

func readMaildirFile(path string, e fs.DirEntry, max int64) (Message, error) {
	fi, err := e.Info()
	if err != nil {
		return Message{}, err
	}
	if max > 0 && fi.Size() > max {
		return Message{}, fmt.Errorf("%w (%d bytes, over %d)", ErrTooLarge, fi.Size(), max)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return Message{}, err
	}
	m := Message{Raw: raw, Date: fi.ModTime()}
	// "unique:2,FLAGS": the flags are capital letters in ASCII order.
	if _, info, ok := strings.Cut(e.Name(), ":2,"); ok {
		m.Seen = strings.ContainsRune(info, 'S')
	}
	return m, nil
}
