package model

import (
	"time"

	"mailroom/domain/mail"
	"mailroom/ports"
)

// OutboxFile and DraftFile are the outbox's and the compose draft's file
// names in the data directory.
const (
	OutboxFile = "outbox.json"
	DraftFile  = "draft.json"
)

// OutboxState is where a queued message stands.
type OutboxState string

const (
	// Queued waits for the server to be reachable.
	Queued OutboxState = "queued"
	// Sending is on its way now.
	Sending OutboxState = "sending"
	// NotSent was refused for good (an unknown recipient, too large);
	// Reason says why. It stays until the user edits or removes it.
	NotSent OutboxState = "not-sent"
)

// OutboxItem is a message that could not be sent when the user pressed
// Send. It is kept on disk until it is sent or the user cancels it.
type OutboxItem struct {
	ID string `json:"id"`
	// Account is the address that sends it: only its session sends it.
	Account string      `json:"account"`
	Draft   ports.Draft `json:"draft"`
	State   OutboxState `json:"state"`
	Reason  string      `json:"reason,omitempty"`
	Tries   int         `json:"tries"`
	Queued  time.Time   `json:"queued"`
	// Next is when the next try is due (zero: at the next reconnect).
	Next time.Time `json:"next,omitzero"`
}

// LoadOutbox reads the outbox from dir. A message that was being sent when
// the app stopped is queued again: whether it reached the server is not
// known, and sending twice beats never sending.
func LoadOutbox(dir string) ([]OutboxItem, error) {
	var items []OutboxItem
	_, err := readJSON(dir, OutboxFile, &items)
	for i := range items {
		if items[i].State == Sending {
			items[i].State = Queued
		}
	}
	return items, err
}

// SaveOutbox writes the outbox to dir (0600, atomically); an empty outbox
// removes the file.
func SaveOutbox(dir string, items []OutboxItem) error {
	if len(items) == 0 {
		return removeFile(dir, OutboxFile)
	}
	return writeJSON(dir, OutboxFile, items)
}

// RetryAfter is the wait before try n+1 of a queued message: 2s doubling
// up to 5 minutes.
func RetryAfter(tries int) time.Duration {
	d := 2 * time.Second
	for range min(tries, 10) {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

// SavedDraft is the message being composed, saved as it is typed so that
// closing compose or the app loses nothing.
type SavedDraft struct {
	Account string      `json:"account"`
	Draft   ports.Draft `json:"draft"`
	Saved   time.Time   `json:"saved"`
	// ServerID is the draft's copy in the server's Drafts folder, which
	// the next store replaces (0: none).
	ServerID mail.EntryID `json:"server_id,omitempty"`
}

// Empty reports whether the draft holds nothing worth keeping.
func (d SavedDraft) Empty() bool {
	return len(d.Draft.To) == 0 && d.Draft.Subject == "" && d.Draft.Body == "" && len(d.Draft.Attachments) == 0
}

// LoadDraft reads the saved draft from dir; ok is false when there is none.
func LoadDraft(dir string) (d SavedDraft, ok bool, err error) {
	ok, err = readJSON(dir, DraftFile, &d)
	return d, ok && err == nil && !d.Empty(), err
}

// SaveDraft writes d to dir (0600, atomically); an empty draft removes the
// file.
func SaveDraft(dir string, d SavedDraft) error {
	if d.Empty() {
		return removeFile(dir, DraftFile)
	}
	return writeJSON(dir, DraftFile, d)
}
