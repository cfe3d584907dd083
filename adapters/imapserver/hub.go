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

// hub fans the store's change feed out to the selected views. It holds
// one subscription for the whole server, and only while some session has
// a folder selected (IDLE without one waits for nothing): with nobody
// selected the feed reads nothing back. The subscription asks the hub
// which owners it wants, so that changes nobody has selected are never
// read back either.
type hub struct {
	feed ChangeFeed
	log  *zap.Logger

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// subMu orders subscribing and unsubscribing with the views coming
	// and going. It is taken before mu and before the feed's own lock
	// (SubscribeChanges), never under them: the feed calls Any and Wants,
	// which take mu, with its lock held.
	subMu sync.Mutex
	sub   context.CancelFunc // ends the current subscription; nil: none

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

// add makes v receive its folder's changes. The first view subscribes;
// SubscribeChanges returns once the feed has fixed where the subscription
// starts, so every change committed after add returns reaches v: Select
// calls add before it reads the folder.
func (h *hub) add(v *view) {
	h.subMu.Lock()
	defer h.subMu.Unlock()
	h.mu.Lock()
	m := h.views[v.owner]
	if m == nil {
		m = map[*view]struct{}{}
		h.views[v.owner] = m
	}
	m[v] = struct{}{}
	h.mu.Unlock()
	if h.sub == nil && h.ctx.Err() == nil {
		ctx, cancel := context.WithCancel(h.ctx)
		h.sub = cancel
		changes := h.feed.SubscribeChanges(ctx, h)
		go h.follow(ctx, changes)
	}
}

// remove stops v's changes; the last view ends the subscription.
func (h *hub) remove(v *view) {
	h.subMu.Lock()
	defer h.subMu.Unlock()
	h.mu.Lock()
	if m := h.views[v.owner]; m != nil {
		delete(m, v)
		if len(m) == 0 {
			delete(h.views, v.owner)
		}
	}
	empty := len(h.views) == 0
	h.mu.Unlock()
	if empty && h.sub != nil {
		h.sub()
		h.sub = nil
	}
}

// run holds the hub open until stop; the subscriptions come and go with
// the views.
func (h *hub) run() {
	defer close(h.done)
	<-h.ctx.Done()
}

// follow pumps one subscription until ctx ends. When the feed drops it
// (the hub fell behind, or the store hiccuped), follow subscribes again
// and then has every view re-read its folder: changes may have been lost
// before the new subscription, none after it.
func (h *hub) follow(ctx context.Context, changes <-chan mail.Change) {
	for {
		h.pump(changes)
		if ctx.Err() != nil {
			return
		}
		h.log.Warn("change feed dropped the subscription; selected folders re-read")
		select {
		case <-time.After(resubscribeDelay):
		case <-ctx.Done():
			return
		}
		changes = h.feed.SubscribeChanges(ctx, h)
		h.each(func(v *view) { v.lost() })
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
