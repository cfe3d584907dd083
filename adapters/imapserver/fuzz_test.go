package imapserver

import (
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"

	"mailroom/domain/mail"
)

// FuzzResolve: any sequence or UID range over any view gives ascending,
// distinct, in-range indexes, and never panics.
func FuzzResolve(f *testing.F) {
	f.Add(uint32(1), uint32(0), uint32(5), uint8(3), false)
	f.Add(uint32(0), uint32(0), uint32(0), uint8(0), true)
	f.Add(uint32(7), uint32(2), uint32(100), uint8(9), true)
	f.Fuzz(func(t *testing.T, start, stop, n uint32, gap uint8, uid bool) {
		n %= 2000
		v := &view{}
		uidAt := uint32(0)
		for i := uint32(0); i < n; i++ {
			uidAt += 1 + uint32(gap)%5
			v.add(uidAt, mail.EntryID(i+1), 0)
		}
		var set imap.NumSet = imap.SeqSet{{Start: start, Stop: stop}}
		if uid {
			set = imap.UIDSet{{Start: imap.UID(start), Stop: imap.UID(stop)}}
		}
		idx := v.resolve(set)
		if !slices.IsSorted(idx) || len(slices.Compact(slices.Clone(idx))) != len(idx) {
			t.Fatalf("resolve(%v) = %v: not ascending and distinct", set, idx)
		}
		for _, i := range idx {
			if i < 0 || i >= len(v.uids) {
				t.Fatalf("resolve(%v) = %v: index out of range (n=%d)", set, idx, n)
			}
		}
	})
}

// FuzzFolderName: a name the client sends either fails to parse or comes
// back on the wire as a name that parses to the same folder.
func FuzzFolderName(f *testing.F) {
	for _, s := range []string{"INBOX", "inbox", "Sent/2024", "a/b/c", "Ünïcode", "a//b", "/x", "trash/", "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		folder, err := parseName(s)
		if err != nil {
			return
		}
		back, err := parseName(wireName(folder))
		if err != nil || back != folder {
			t.Fatalf("%q → %q → wire %q → %q, %v", s, folder, wireName(folder), back, err)
		}
	})
}
