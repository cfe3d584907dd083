package inboxserver

import (
	"sync"
	"time"

	"go.uber.org/zap"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/mail"
)

// hub maps each account to its watching connections.
type hub struct {
	mu       sync.RWMutex
	watchers map[int64]map[*conn]struct{}
}

func (h *hub) add(c *conn, owner int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.watchers[owner]
	if set == nil {
		set = map[*conn]struct{}{}
		h.watchers[owner] = set
	}
	set[c] = struct{}{}
}

func (h *hub) remove(c *conn, owner int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := h.watchers[owner]; set != nil {
		delete(set, c)
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
		ch := s.feed.Subscribe(s.feedCtx)
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
