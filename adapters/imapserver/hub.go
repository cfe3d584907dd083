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

	// subMu orders subscribing and unsubscribing with the views coming
	// and going. It is taken before mu and before the feed's own lock
	// (SubscribeChanges), never under them: the feed calls Any and Wants,
	// which take mu, with its lock held.
	subMu sync.Mutex
	sub   context.CancelFunc // ends the current subscription; nil: none
	// subDone is closed when the current subscription's follower has
	// returned: remove waits for it, so that no change of an ended
	// subscription reaches a view added after it.
	subDone chan struct{}

	mu    sync.Mutex
	views map[account.ID]map[*view]struct{}
}

func newHub(feed ChangeFeed, _ Mailboxes, log *zap.Logger) *hub {
	ctx, cancel := context.WithCancel(context.Background())
	return &hub{feed: feed, log: log, ctx: ctx, cancel: cancel, views: map[account.ID]map[*view]struct{}{}}
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
		done := make(chan struct{})
		h.sub, h.subDone = cancel, done
		changes := h.feed.SubscribeChanges(ctx, h)
		go func() {
			defer close(done)
			h.follow(ctx, changes)
		}()
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
		// The follower queues without blocking and never takes subMu,
		// so this wait ends.
		<-h.subDone
		h.sub, h.subDone = nil, nil
	}
}

// follow pumps one subscription until ctx ends. When the feed drops it
// (the hub fell behind, or the store hiccuped), follow subscribes again
// and then has every view re-read its folder: changes may have been lost
// before the new subscription, none after it.
func (h *hub) follow(ctx context.Context, changes <-chan mail.Change) {
	for {
		h.pump(ctx, changes)
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

// pump queues each change for the views of its folder until the
// subscription ends; what is still buffered once ctx is done is dropped.
func (h *hub) pump(ctx context.Context, changes <-chan mail.Change) {
	defer func() {
		if v := recover(); v != nil {
			h.log.Error("panic in the change hub", zap.Any("panic", v), zap.Stack("stack"))
		}
	}()
	for ch := range changes {
		if ctx.Err() != nil {
			return
		}
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

// stop ends the subscription, if any.
func (h *hub) stop() {
	h.cancel()
}
