package inboxwire

import "mailroom/domain/mail"

// EventOf is a change's event for a watcher: message for a new entry,
// removed for one that left its folder, flags for a flag change. ok is
// false for a change no event tells (a new entry whose metadata the feed
// could not read: it was removed at once, and its removed event follows).
func EventOf(c mail.Change) (ev Event, ok bool) {
	id := int64(c.Meta.ID)
	switch c.Kind {
	case mail.ChangeNew:
		if c.Meta.Date.IsZero() {
			return Event{}, false
		}
		m := MetaFrom(c.Meta)
		return Event{Event: EventMessage, Message: &m}, true
	case mail.ChangeExpunge:
		return Event{Event: EventRemoved, ID: &id, Folder: string(c.Meta.Folder)}, true
	case mail.ChangeFlags:
		flags := c.Meta.Flags
		if c.Meta.Seen {
			flags |= mail.FlagSeen
		}
		seen := flags.Has(mail.FlagSeen)
		return Event{Event: EventFlags, ID: &id, Folder: string(c.Meta.Folder), Flags: flags.Names(), Seen: &seen}, true
	}
	return Event{}, false
}
