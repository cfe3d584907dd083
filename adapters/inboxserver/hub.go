package inboxserver

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// hub maps each account to its watching connections and fans the change
// feed out to them: a new entry (message), an entry gone from its folder
// (removed), an entry's new flags (flags). It holds one subscription for
// the whole server, and only while someone watches; it is that
// subscription's Interest, so the feed reads back only the changes of
// watched owners, and nothing at all while nobody watches.
type hub struct {
	feed ChangeFeed
	log  *zap.Logger

	// subMu orders subscribing and unsubscribing with watchers coming and
	// going. It is taken before mu and before the feed's own lock
	// (SubscribeChanges), never under them: the feed calls Any and Wants,
	// which take mu, with its lock held.
	subMu   sync.Mutex
	sub     context.CancelFunc // ends the current subscription; nil: none
	subDone chan struct{}      // closed when its follower has returned
	stopped bool               // Shutdown: subscribe no more

	mu       sync.RWMutex
	watchers map[int64]map[*conn]struct{}
	n        atomic.Int64 // watchers, for Any without the lock
}

func newHub(feed ChangeFeed, log *zap.Logger) *hub {
	return &hub{feed: feed, log: log, watchers: map[int64]map[*conn]struct{}{}}
}

// Any reports whether anyone watches (the feed's Interest).
func (h *hub) Any() bool { return h.n.Load() > 0 }

// Wants reports whether owner's entries are watched (the feed's
// Interest). The feed calls it under its own lock; the hub never calls
// the feed under mu, so the two locks are always taken in that order.
func (h *hub) Wants(owner account.ID) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.watchers[int64(owner)]) > 0
}

// add makes c receive its owner's changes. The first watcher subscribes;
// SubscribeChanges returns once the feed has fixed where the subscription
// starts, so every change committed after add returns reaches c.
func (h *hub) add(c *conn, owner int64) {
	h.subMu.Lock()
	defer h.subMu.Unlock()
	h.mu.Lock()
	set := h.watchers[owner]
	if set == nil {
		set = map[*conn]struct{}{}
		h.watchers[owner] = set
	}
	if _, ok := set[c]; !ok {
		set[c] = struct{}{}
		h.n.Add(1)
	}
	h.mu.Unlock()
	if h.sub == nil && !h.stopped {
		ctx, cancel := context.WithCancel(context.Background())
		ch := h.feed.SubscribeChanges(ctx, h)
		h.sub, h.subDone = cancel, make(chan struct{})
		go h.follow(ctx, ch, h.subDone)
	}
}

// remove stops c's changes; the last watcher ends the subscription, and
// waits for its follower, so that two never overlap (an old one could
// push a stale change after a new watcher has listed).
func (h *hub) remove(c *conn, owner int64) {
	h.subMu.Lock()
	defer h.subMu.Unlock()
	h.mu.Lock()
	if set := h.watchers[owner]; set != nil {
		if _, ok := set[c]; ok {
			delete(set, c)
			h.n.Add(-1)
		}
		if len(set) == 0 {
			delete(h.watchers, owner)
		}
	}
	empty := len(h.watchers) == 0
	h.mu.Unlock()
	if empty {
		h.unsubscribeLocked()
	}
}

// stop ends the subscription for good (Shutdown).
func (h *hub) stop() {
	h.subMu.Lock()
	defer h.subMu.Unlock()
	h.stopped = true
	h.unsubscribeLocked()
}

func (h *hub) unsubscribeLocked() {
	if h.sub != nil {
		h.sub()
		<-h.subDone
		h.sub, h.subDone = nil, nil
	}
}

// deliver pushes a change to its owner's watchers, encoding it once.
func (h *hub) deliver(ch mail.Change) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	set := h.watchers[int64(ch.Meta.Owner)]
	if len(set) == 0 {
		return
	}
	ev, ok := inboxwire.EventOf(ch)
	if !ok {
		return
	}
	line, err := inboxwire.AppendLine(nil, ev)
	if err != nil {
		return // cannot happen with these types
	}
	for c := range set {
		c.push(line)
	}
}

// broadcast pushes one line to every watcher; it gives how many.
func (h *hub) broadcast(line []byte) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for _, set := range h.watchers {
		for c := range set {
			c.push(line)
			n++
		}
	}
	return n
}

// resyncAfter is how long a new subscription must stay open, or the first
// change it delivers, before watchers are told to resync: a feed that keeps
// failing at once then costs them one re-list, not one per retry.
const resyncAfter = time.Second

// follow fans one subscription out until ctx ends. When the feed closes
// it (this server fell behind, or the feed failed), follow subscribes
// again and, once the new subscription holds, sends every watcher a
// resync event: changes committed in the gap were not pushed, so clients
// list again. The event goes out after the new subscription exists, so a
// list made on receiving it misses nothing.
func (h *hub) follow(ctx context.Context, ch <-chan mail.Change, done chan struct{}) {
	defer close(done)
	resync, _ := inboxwire.AppendLine(nil, inboxwire.Event{Event: inboxwire.EventResync})
	var backoff time.Duration
	pending := false // a gap awaits its resync event
	for {
		var timer <-chan time.Time
		if pending {
			timer = time.After(resyncAfter)
		}
		alive := false
	recv:
		for {
			select {
			case c, ok := <-ch:
				if !ok {
					break recv
				}
				if ctx.Err() != nil {
					return // unsubscribed: what is buffered is for nobody
				}
				if pending {
					h.sendResync(resync)
					pending, timer = false, nil
				}
				alive = true
				h.deliver(c)
			case <-timer:
				h.sendResync(resync)
				pending, timer, alive = false, nil, true
			case <-ctx.Done():
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		pending = true
		if alive {
			backoff = 0
		} else {
			backoff = min(max(2*backoff, 50*time.Millisecond), 5*time.Second)
		}
		h.log.Warn("change feed subscription closed; resubscribing", zap.Duration("retry_in", backoff))
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		ch = h.feed.SubscribeChanges(ctx, h)
	}
}

func (h *hub) sendResync(line []byte) {
	n := h.broadcast(line)
	h.log.Info("sent resync to watchers", zap.Int("watchers", n))
}
