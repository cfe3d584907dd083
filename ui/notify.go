package ui

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"mailroom/domain/mail"
)

// noticeDelay gathers a burst of new mail into one notification
// ("3 new messages") instead of one per message.
const noticeDelay = 2 * time.Second

// Notifier posts a system notification. The main package's uses
// gioui.org/x/notify (D-Bus on Linux, the notification manager on
// Android); tests use a fake. It may block briefly, so it is never called
// on the frame loop.
type Notifier interface {
	Notify(title, text string) error
}

// notices decides when new mail is worth a notification: only new, unread
// Inbox mail from the watch stream, not one's own, while the window is not
// in front and the user has not turned them off. It is fed from the watch
// goroutine rather than the frame loop: a window in the background (an
// Android app that is not on screen) draws no frames, so results waiting
// for the next frame would never notify.
type notices struct {
	mu        sync.Mutex
	focused   bool // the window is in front (SetFocused)
	off       bool // settings: notifications turned off
	count     int  // new messages since the last notification
	last      mail.Meta
	scheduled bool
}

// SetFocused tells the App whether its window is in front (Gio's
// app.ConfigEvent Focused). In front, no notification is shown and those
// gathered are dropped; going to the background saves the draft being
// typed, since the user may not come back.
func (a *App) SetFocused(focused bool) {
	n := &a.notices
	n.mu.Lock()
	n.focused = focused
	if focused {
		n.count = 0
	}
	n.mu.Unlock()
	if !focused {
		a.flushDraft()
	}
}

// setNotify turns notifications on or off (the settings switch).
func (a *App) setNotify(on bool) {
	a.notices.mu.Lock()
	a.notices.off = !on
	a.notices.mu.Unlock()
}

// noticeMail is called by the watch goroutine for each new entry of
// session s; selfAddr is the signed-in address.
func (a *App) noticeMail(m mail.Meta, selfAddr string) {
	if a.cfg.Notifier == nil || m.Folder != mail.Inbox || m.Seen || strings.EqualFold(m.From, selfAddr) {
		return
	}
	n := &a.notices
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.focused || n.off {
		return
	}
	n.count++
	n.last = m
	if !n.scheduled {
		n.scheduled = true
		a.cfg.AfterFunc(noticeDelay, a.postNotice)
	}
}

// postNotice shows what was gathered since the burst began, if the window
// is still in the background.
func (a *App) postNotice() {
	n := &a.notices
	n.mu.Lock()
	count, last := n.count, n.last
	n.count, n.scheduled = 0, false
	show := count > 0 && !n.focused && !n.off
	n.mu.Unlock()
	if show {
		// A failure has nowhere to be shown: the window is not in front,
		// and the mail is in the list when the user comes back.
		_ = a.cfg.Notifier.Notify(noticeText(count, last))
	}
}

// noticeText is a notification's title and text: the sender and subject
// of one message, or how many came and the newest one's sender.
func noticeText(count int, last mail.Meta) (title, text string) {
	if count == 1 {
		return "New message from " + last.From, subjectOf(last)
	}
	return fmt.Sprintf("%d new messages", count), "The newest from " + last.From + ": " + subjectOf(last)
}
