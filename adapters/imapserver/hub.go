package imapserver

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// resubscribeDelay is the pause before the hub subscribes again after the
// feed closed its channel (it fell behind, or the store hiccuped).
const resubscribeDelay = 100 * time.Millisecond

// hub fans the store's change feed out to the selected views: one
// subscription for the whole server, which asks the hub which owners it
// wants, so that changes nobody has selected are never read back.
type hub struct {
	feed ChangeFeed
	log  *zap.Logger

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	views map[account.ID]map[*view]struct{}
}

func newHub(feed ChangeFeed, _ Mailboxes, log *zap.Logger) *hub {
	ctx, cancel := context.WithCancel(context.Background())
	return &hub{feed: feed, log: log, ctx: ctx, cancel: cancel, done: make(chan struct{}),
		views: map[account.ID]map[*view]struct{}{}}
}

// Any and Wants are the feed's Interest.
func (h *hub) Any() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.views) > 0
}

func (h *hub) Wants(owner account.ID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.views[owner]) > 0
}

func (h *hub) add(v *view) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.views[v.owner]
	if m == nil {
		m = map[*view]struct{}{}
		h.views[v.owner] = m
	}
	m[v] = struct{}{}
}

func (h *hub) remove(v *view) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := h.views[v.owner]; m != nil {
		delete(m, v)
		if len(m) == 0 {
			delete(h.views, v.owner)
		}
	}
}

// run subscribes until stop, handing each change to the views of its
// owner and folder. When the feed drops the subscription, every view
// re-reads its folder: changes may have been lost.
func (h *hub) run() {
	defer close(h.done)
	for h.ctx.Err() == nil {
		h.pump(h.feed.SubscribeChanges(h.ctx, h))
		if h.ctx.Err() != nil {
			return
		}
		h.log.Warn("change feed dropped the subscription; selected folders re-read")
		h.each(func(v *view) { v.lost() })
		select {
		case <-time.After(resubscribeDelay):
		case <-h.ctx.Done():
		}
	}
}

func (h *hub) pump(changes <-chan mail.Change) {
	defer func() {
		if v := recover(); v != nil {
			h.log.Error("panic in the change hub", zap.Any("panic", v), zap.Stack("stack"))
		}
	}()
	for ch := range changes {
		h.mu.Lock()
		for v := range h.views[ch.Meta.Owner] {
			if v.folder == ch.Meta.Folder {
				v.queue(ch)
			}
		}
		h.mu.Unlock()
	}
}

func (h *hub) each(f func(v *view)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.views {
		for v := range m {
			f(v)
		}
	}
}

// stop ends the subscription and waits for run to return (if it started).
func (h *hub) stop() {
	h.cancel()
}
