package ui

import (
	"mailroom/domain/mail"
)

// Live list updates from the watch stream: an entry that left its folder
// (deleted, expunged or moved away, by this client or another) and an
// entry whose flags changed. Both come after the fact, so each is applied
// where it is found and is a no-op where the list already agrees (this
// client's own delete, move or mark echoing back).

// onRemoved takes entry id out of the lists, the search results and the
// counts. If the reader showed it, the next message opens beside the list
// (the list comes back on a phone), and a toast says why it went.
func (a *App) onRemoved(s *session, id mail.EntryID) {
	if s.hidden(id) {
		return // the delete waiting for its undo: already out of the list
	}
	a.mailbox.search.drop(id)
	shown := a.reader.shown && a.reader.meta.ID == id
	listed := false
	for _, p := range s.folders {
		if i := p.Index(id); i >= 0 {
			a.leaveMessage(s, p.Items[i]) // an entry is in one folder
			listed = true
			break
		}
	}
	if shown {
		if !listed {
			// Opened from search results: no row to leave, only the reader.
			if a.top() == routeReader {
				a.back()
			}
			a.reader.close()
		}
		a.showToast("The open message was moved or deleted.")
	}
	a.refreshCounts()
}

// onFlagged shows another client's change of an entry's flags: its row's
// unread mark and the unread count at once, and the reader's Mark
// read/unread action.
func (a *App) onFlagged(s *session, m mail.Meta) {
	if p := s.folders[m.Folder]; p != nil {
		if wasSeen, ok := p.SetFlags(m.ID, m.Flags, m.Seen); ok && wasSeen != m.Seen {
			if m.Seen {
				s.unseen[m.Folder] = max(0, s.unseen[m.Folder]-1)
			} else {
				s.unseen[m.Folder]++
			}
		}
	}
	a.mailbox.search.setFlags(m)
	if a.reader.shown && a.reader.meta.ID == m.ID {
		a.reader.meta.Flags, a.reader.meta.Seen = m.Flags, m.Seen
	}
	a.refreshCounts()
}

// drop takes id out of the search results.
func (b *searchBox) drop(id mail.EntryID) {
	for i := range b.results {
		if b.results[i].ID == id {
			b.results = append(b.results[:i:i], b.results[i+1:]...)
			return
		}
	}
}

// setFlags updates an entry in the search results.
func (b *searchBox) setFlags(m mail.Meta) {
	for i := range b.results {
		if b.results[i].ID == m.ID {
			b.results[i].Flags, b.results[i].Seen = m.Flags, m.Seen
		}
	}
}
