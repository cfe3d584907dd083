package model

import (
	"sort"

	"mailroom/domain/mail"
)

// PageSize is how many entries one List call asks for.
const PageSize = 50

// prefetchRows is how close to the end of the loaded rows the list may get
// before the next page is asked for.
const prefetchRows = 15

// Pager is one folder's loaded entries, newest first (id descending), and
// the state of paging further back with List(folder, before, PageSize).
type Pager struct {
	Items   []mail.Meta
	Loaded  bool // the first page has arrived
	Done    bool // there is nothing older to load
	Loading bool
	Err     error
}

// Next reports whether another page should be loaded now, given the index
// of the last row on screen, and the before cursor for it. It marks the
// pager loading; the caller must follow with Append or Fail.
func (p *Pager) Next(lastVisible int) (before mail.EntryID, ok bool) {
	if p.Loading || p.Done || p.Err != nil {
		return 0, false
	}
	if p.Loaded && lastVisible < len(p.Items)-prefetchRows {
		return 0, false
	}
	p.Loading = true
	if n := len(p.Items); n > 0 {
		before = p.Items[n-1].ID
	}
	return before, true
}

// Append adds a page that List returned. A short page ends the paging.
func (p *Pager) Append(page []mail.Meta, limit int) {
	p.Loading, p.Loaded, p.Err = false, true, nil
	for _, m := range page {
		p.insert(m, true)
	}
	if len(page) < limit {
		p.Done = true
	}
}

// Fail records a failed load; Retry clears it so Next tries again.
func (p *Pager) Fail(err error) { p.Loading, p.Err = false, err }

// Retry allows loading again after a failure.
func (p *Pager) Retry() { p.Err = nil }

// Insert puts m at its place by id, replacing an entry with the same id.
// It returns the index it went to and whether it was new.
func (p *Pager) Insert(m mail.Meta) (int, bool) { return p.insert(m, false) }

func (p *Pager) insert(m mail.Meta, paging bool) (int, bool) {
	i := sort.Search(len(p.Items), func(i int) bool { return p.Items[i].ID <= m.ID })
	if i < len(p.Items) && p.Items[i].ID == m.ID {
		p.Items[i] = m
		return i, false
	}
	// An entry older than everything loaded belongs to a page not loaded
	// yet, unless paging is done.
	if !paging && i == len(p.Items) && len(p.Items) > 0 && !p.Done {
		return -1, false
	}
	p.Items = append(p.Items, mail.Meta{})
	copy(p.Items[i+1:], p.Items[i:])
	p.Items[i] = m
	return i, true
}

// Restore puts back an entry that Remove took out (an undone delete), even
// when it was the oldest one loaded, and reports where it went.
func (p *Pager) Restore(m mail.Meta) (int, bool) { return p.insert(m, true) }

// Index gives the position of id, or -1.
func (p *Pager) Index(id mail.EntryID) int {
	i := sort.Search(len(p.Items), func(i int) bool { return p.Items[i].ID <= id })
	if i < len(p.Items) && p.Items[i].ID == id {
		return i
	}
	return -1
}

// SetSeen flags the entry id if it is loaded and reports whether it changed.
func (p *Pager) SetSeen(id mail.EntryID, seen bool) bool {
	if i := p.Index(id); i >= 0 && p.Items[i].Seen != seen {
		p.Items[i].Seen = seen
		return true
	}
	return false
}

// Remove drops the entry id and returns the index it had, or -1.
func (p *Pager) Remove(id mail.EntryID) int {
	i := p.Index(id)
	if i >= 0 {
		p.Items = append(p.Items[:i], p.Items[i+1:]...)
	}
	return i
}

// SetFlags gives the entry id, if loaded, its new flags and seen state
// (another client changed them) and reports whether it was loaded and
// whether it had been seen before.
func (p *Pager) SetFlags(id mail.EntryID, flags mail.Flags, seen bool) (wasSeen, ok bool) {
	i := p.Index(id)
	if i < 0 {
		return false, false
	}
	wasSeen = p.Items[i].Seen
	p.Items[i].Flags, p.Items[i].Seen = flags, seen
	return wasSeen, true
}
