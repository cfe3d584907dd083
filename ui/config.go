package ui

import (
	"time"

	"mailroom/ports"
)

// Config wires an App.
type Config struct {
	// Client reaches servers. Required.
	Client ports.Client
	// DataDir holds settings.json. Required.
	DataDir string
	// Invalidate asks the window for a new frame; it is called from any
	// goroutine. Default: do nothing.
	Invalidate func()
	// SaveFile stores an attachment and returns where it went. nil hides
	// the save buttons.
	SaveFile func(name string, data []byte) (string, error)
	// Dark is the theme used until the user picks one in settings.
	Dark bool
	// Now is the clock for relative dates. Default time.Now.
	Now func() time.Time
	// Timeout bounds each small network call (lists, counts, lookups,
	// previews, deletes). Default 20s.
	Timeout time.Duration
	// TransferTimeout bounds the calls that move a whole message: Send
	// and the reader's Fetch. A 25 MiB message takes minutes on a slow
	// uplink (18 MB at 5 Mbit/s is about 30s; at 1 Mbit/s 2.5 minutes).
	// Default 10m.
	TransferTimeout time.Duration
	// AfterFunc calls f on its own goroutine after d and returns a func
	// that stops it, reporting whether it did (the undo snackbar's timer).
	// Default: time.AfterFunc.
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
	// PickFile asks the user for a file to attach (the platform's file
	// chooser) and returns it with its name; it blocks until the user has
	// chosen. It reads at most max bytes (the signed-in server's
	// attachment cap) and returns ErrTooLarge for a bigger file.
	// ErrNoFile means they cancelled. nil hides the Attach button.
	PickFile func(max int64) (ports.Attachment, error)
	// WheelNotch is the scroll distance in pixels that one mouse-wheel
	// notch reports on this platform (Gio's X11 backend: 20); a notch then
	// scrolls three lines. 0 leaves the wheel as the platform reports it
	// (Gio's Wayland and Android backends scale a notch themselves).
	WheelNotch float32
	// Notifier shows new-mail notifications while the window is not in
	// front (see App.SetFocused). nil: none, and no settings switch.
	Notifier Notifier
	// OpenFile opens a file with the platform's default program
	// (xdg-open): "Open in browser" for HTML mail. nil hides the action.
	OpenFile func(path string) error
	// DraftRaw builds the whole message (RFC 5322) for a draft from the
	// address from, as Send would, to store it in the server's Drafts
	// folder. nil keeps drafts on this device only.
	DraftRaw func(d ports.Draft, from string) ([]byte, error)
}
