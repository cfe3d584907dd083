package inboxserver

import (
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// hub maps each account to its watching connections. It is the change
// feed's Interest: while nobody watches, the feed reads nothing back, and
// it reads the metadata of watched owners' entries only.
type hub struct {
	mu       sync.RWMutex
	watchers map[int64]map[*conn]struct{}
	n        atomic.Int64 // watchers, for Any without the lock
}

// Any reports whether anyone watches (the feed's Interest).
func (h *hub) Any() bool { return h.n.Load() > 0 }

// Wants reports whether owner's entries are watched (the feed's
// Interest). The feed calls it under its own lock; the hub never calls
// the feed, so the two locks are always taken in that order.
func (h *hub) Wants(owner account.ID) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.watchers[int64(owner)]) > 0
}

func (h *hub) add(c *conn, owner int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.watchers[owner]
	if set == nil {
		set = map[*conn]struct{}{}
		h.watchers[owner] = set
	}
	if _, ok := set[c]; !ok {
		set[c] = struct{}{}
		h.n.Add(1)
	}
}

func (h *hub) remove(c *conn, owner int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := h.watchers[owner]; set != nil {
		if _, ok := set[c]; ok {
			delete(set, c)
			h.n.Add(-1)
		}
		if len(set) == 0 {
			delete(h.watchers, owner)
		}
	}
}

// deliver pushes an entry to its owner's watchers, encoding it once.
func (h *hub) deliver(m mail.Meta) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	set := h.watchers[int64(m.Owner)]
	if len(set) == 0 {
		return
	}
	meta := inboxwire.MetaFrom(m)
	line, err := inboxwire.AppendLine(nil, inboxwire.Event{Event: inboxwire.EventMessage, Message: &meta})
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
// entry it delivers, before watchers are told to resync: a feed that keeps
// failing at once then costs them one re-list, not one per retry.
const resyncAfter = time.Second

// runFeed holds the server's one change-feed subscription and fans it out.
// When the feed closes the subscription (this server fell behind, or the
// feed failed), it subscribes again and, once the new subscription holds,
// sends every watcher a resync event: entries committed in the gap were
// not pushed, so clients list again. The event goes out after the new
// subscription exists, so a list made on receiving it misses nothing.
func (s *Server) runFeed() {
	defer close(s.feedDone)
	resync, _ := inboxwire.AppendLine(nil, inboxwire.Event{Event: inboxwire.EventResync})
	var backoff time.Duration
	pending := false // a gap awaits its resync event
	for {
		ch := s.feed.SubscribeInterest(s.feedCtx, &s.hub)
		var timer <-chan time.Time
		if pending {
			timer = time.After(resyncAfter)
		}
		alive := false
	recv:
		for {
			select {
			case m, ok := <-ch:
				if !ok {
					break recv
				}
				if pending {
					s.sendResync(resync)
					pending, timer = false, nil
				}
				alive = true
				s.hub.deliver(m)
			case <-timer:
				s.sendResync(resync)
				pending, timer, alive = false, nil, true
			case <-s.feedCtx.Done():
				return
			}
		}
		if s.feedCtx.Err() != nil {
			return
		}
		pending = true
		if alive {
			backoff = 0
		} else {
			backoff = min(max(2*backoff, 50*time.Millisecond), 5*time.Second)
		}
		s.log.Warn("change feed subscription closed; resubscribing", zap.Duration("retry_in", backoff))
		select {
		case <-time.After(backoff):
		case <-s.feedCtx.Done():
			return
		}
	}
}

func (s *Server) sendResync(line []byte) {
	n := s.hub.broadcast(line)
	s.log.Info("sent resync to watchers", zap.Int("watchers", n))
}
