package imapserver

import (
	"slices"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// metaBatch bounds the UIDs of one MetasByUID call.
const metaBatch = 256

// maxPending bounds the changes a view queues between polls; past it the
// queue is dropped and the view re-reads its folder at the next poll.
const maxPending = 4096

// view is a session's selected folder as its client knows it: the
// sequence map (index i is sequence number i+1) with each entry's id and
// last announced flags. Only the session's command goroutine, or its Idle
// goroutine while go-imap waits for DONE, touches the map; the hub only
// queues changes (mu).
type view struct {
	owner       account.ID
	folder      mail.Folder
	uidValidity uint32
	readOnly    bool

	uids  []uint32
	ids   []mail.EntryID
	flags []mail.Flags

	mu      sync.Mutex
	pending []mail.Change
	resync  bool
	wake    chan struct{} // one token: changes are pending
}

func newView(owner account.ID, info mail.FolderInfo, readOnly bool) *view {
	return &view{owner: owner, folder: info.Name, uidValidity: info.UIDValidity,
		readOnly: readOnly, wake: make(chan struct{}, 1)}
}

func (v *view) load(entries []mail.UIDEntry) {
	v.uids = make([]uint32, len(entries))
	v.ids = make([]mail.EntryID, len(entries))
	v.flags = make([]mail.Flags, len(entries))
	for i, e := range entries {
		v.uids[i], v.ids[i], v.flags[i] = e.UID, e.ID, e.Flags
	}
}

// queue is the hub's (and the session's own) way in: a change to this
// view's folder, applied at the next poll.
func (v *view) queue(ch mail.Change) {
	v.mu.Lock()
	if len(v.pending) >= maxPending {
		v.pending, v.resync = nil, true
	} else if !v.resync {
		v.pending = append(v.pending, ch)
	}
	v.mu.Unlock()
	v.notify()
}

// lost makes the view re-read its folder at the next poll: the feed fell
// behind and changes may be missing.
func (v *view) lost() {
	v.mu.Lock()
	v.pending, v.resync = nil, true
	v.mu.Unlock()
	v.notify()
}

func (v *view) notify() {
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// take gives the changes to apply now. Without allowExpunge (FETCH, STORE,
// SEARCH: RFC 9051 §7.5.1) it stops before the first expunge and leaves a
// resync for later.
func (v *view) take(allowExpunge bool) (changes []mail.Change, resync bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if allowExpunge {
		changes, resync = v.pending, v.resync
		v.pending, v.resync = nil, false
		return changes, resync
	}
	i := slices.IndexFunc(v.pending, func(c mail.Change) bool { return c.Kind == mail.ChangeExpunge })
	if i < 0 {
		i = len(v.pending)
	}
	changes = slices.Clone(v.pending[:i])
	v.pending = slices.Delete(v.pending, 0, i)
	return changes, false
}

// find gives the index of uid, or -1.
func (v *view) find(uid uint32) int {
	i, ok := slices.BinarySearch(v.uids, uid)
	if !ok {
		return -1
	}
	return i
}

func (v *view) last() uint32 {
	if len(v.uids) == 0 {
		return 0
	}
	return v.uids[len(v.uids)-1]
}

// add appends an entry that entered the folder; it reports false for one
// the view already has (UIDs only grow, so anything not above the last is
// known or already gone).
func (v *view) add(uid uint32, id mail.EntryID, f mail.Flags) bool {
	if uid <= v.last() {
		return false
	}
	v.uids = append(v.uids, uid)
	v.ids = append(v.ids, id)
	v.flags = append(v.flags, f)
	return true
}

func (v *view) remove(i int) {
	v.uids = slices.Delete(v.uids, i, i+1)
	v.ids = slices.Delete(v.ids, i, i+1)
	v.flags = slices.Delete(v.flags, i, i+1)
}

// apply writes the updates for changes: EXISTS once for a run of new
// entries, FETCH FLAGS for a flag change the client has not seen, EXPUNGE
// for an entry it still has. Changes the view already reflects (its own
// commands, a snapshot newer than the change) say nothing.
func (v *view) apply(w *imapserver.UpdateWriter, changes []mail.Change) error {
	grew := false
	for _, ch := range changes {
		if ch.UIDValidity != 0 && ch.UIDValidity != v.uidValidity {
			continue // a folder of the same name, deleted and created again
		}
		m := ch.Meta
		if ch.Kind == mail.ChangeNew {
			grew = v.add(m.UID, m.ID, m.Flags) || grew
			continue
		}
		if grew {
			if err := w.WriteNumMessages(uint32(len(v.uids))); err != nil {
				return err
			}
			grew = false
		}
		i := v.find(m.UID)
		if i < 0 {
			continue
		}
		switch ch.Kind {
		case mail.ChangeFlags:
			if v.flags[i] == m.Flags {
				continue
			}
			v.flags[i] = m.Flags
			if err := w.WriteMessageFlags(uint32(i+1), imap.UID(m.UID), imapFlags(m.Flags)); err != nil {
				return err
			}
		case mail.ChangeExpunge:
			v.remove(i)
			if err := w.WriteExpunge(uint32(i + 1)); err != nil {
				return err
			}
		}
	}
	if grew {
		return w.WriteNumMessages(uint32(len(v.uids)))
	}
	return nil
}

// reload brings the view in line with the folder as stored, announcing
// the difference: after the change feed fell behind.
func (v *view) reload(w *imapserver.UpdateWriter, entries []mail.UIDEntry) error {
	now := make(map[uint32]mail.UIDEntry, len(entries))
	for _, e := range entries {
		now[e.UID] = e
	}
	for i := len(v.uids) - 1; i >= 0; i-- {
		e, ok := now[v.uids[i]]
		switch {
		case !ok:
			v.remove(i)
			if err := w.WriteExpunge(uint32(i + 1)); err != nil {
				return err
			}
		case e.Flags != v.flags[i]:
			v.flags[i] = e.Flags
			if err := w.WriteMessageFlags(uint32(i+1), imap.UID(e.UID), imapFlags(e.Flags)); err != nil {
				return err
			}
		}
	}
	grew := false
	for _, e := range entries {
		grew = v.add(e.UID, e.ID, e.Flags) || grew
	}
	if grew {
		return w.WriteNumMessages(uint32(len(v.uids)))
	}
	return nil
}

// resolve turns a sequence or UID set into view indexes, ascending and
// without repeats. "*" is the last message; "n:*" with n past the end
// still names the last one (RFC 9051 §6.4.8's rule for UIDs, applied to
// both). Numbers the view lacks are left out.
func (v *view) resolve(set imap.NumSet) []int {
	var out []int
	n := len(v.uids)
	if n == 0 {
		return nil
	}
	switch set := set.(type) {
	case imap.SeqSet:
		for _, r := range set {
			lo, hi := span(r.Start, r.Stop, uint32(n))
			for s := max(lo, 1); s <= min(hi, uint32(n)); s++ {
				out = append(out, int(s-1))
			}
		}
	case imap.UIDSet:
		for _, r := range set {
			lo, hi := span(uint32(r.Start), uint32(r.Stop), v.last())
			i, _ := slices.BinarySearch(v.uids, lo)
			for ; i < n && v.uids[i] <= hi; i++ {
				out = append(out, i)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// span orders a range with "*" (0) read as star.
func span(a, b, star uint32) (lo, hi uint32) {
	if a == 0 {
		a = star
	}
	if b == 0 {
		b = star
	}
	return min(a, b), max(a, b)
}

// imapFlags and mailFlags translate flags. Keywords are not kept
// (PERMANENTFLAGS has no \*): mailFlags drops them.
var flagTable = []struct {
	m mail.Flags
	i imap.Flag
}{
	{mail.FlagSeen, imap.FlagSeen}, {mail.FlagAnswered, imap.FlagAnswered},
	{mail.FlagFlagged, imap.FlagFlagged}, {mail.FlagDeleted, imap.FlagDeleted},
	{mail.FlagDraft, imap.FlagDraft},
}

func imapFlags(f mail.Flags) []imap.Flag {
	out := []imap.Flag{}
	for _, e := range flagTable {
		if f&e.m != 0 {
			out = append(out, e.i)
		}
	}
	return out
}

func mailFlags(flags []imap.Flag) mail.Flags {
	var f mail.Flags
	for _, fl := range flags {
		for _, e := range flagTable {
			if strings.EqualFold(string(fl), string(e.i)) {
				f |= e.m
			}
		}
	}
	return f
}

// allFlags are FLAGS and PERMANENTFLAGS: exactly what is stored.
var allFlags = imapFlags(mail.AllFlags)
