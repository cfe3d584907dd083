package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"mailroom/domain/mail"
	"mailroom/ports"
)

var (
	_ ports.ChangeFeed = (*Feed)(nil)
	_ ports.Notifier   = (*Feed)(nil)
)

// Feed defaults.
const (
	DefaultPollInterval = 40 * time.Millisecond
	DefaultFeedBuffer   = 256
	// feedBatch bounds one catch-up query; the poller repeats it until it
	// has read everything.
	feedBatch = 1000
)

// FeedConfig configures a Feed.
type FeedConfig struct {
	// PollInterval is how often the poller reads PRAGMA data_version to
	// notice commits made by other connections and processes. Default 40ms.
	PollInterval time.Duration
	// Buffer is each subscriber's channel capacity. A subscriber that many
	// entries behind is dropped (its channel closed). Default 256.
	Buffer int
}

// Feed streams every committed mailbox entry, of every owner, in id order.
// One poller serves all subscribers: it holds one read connection and
// watches PRAGMA data_version, which changes when any other connection,
// in this process or another, commits; Notify makes it look at once.
type Feed struct {
	s    *Store
	cfg  FeedConfig
	kick chan struct{}
	ctx  context.Context
	stop context.CancelFunc
	done chan struct{}
	once sync.Once

	mu     sync.Mutex
	closed bool
	last   mail.EntryID // newest entry fanned out (or skipped for lack of subscribers)
	subs   map[*subscriber]struct{}
}

type subscriber struct {
	ch        chan mail.Meta
	from      mail.EntryID // deliver only ids above this
	stopAfter func() bool
}

// Feed starts a change feed over the store. Close (or the Store's Close)
// stops it.
func (s *Store) Feed(cfg FeedConfig) *Feed {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultFeedBuffer
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Feed{
		s: s, cfg: cfg,
		kick: make(chan struct{}, 1),
		ctx:  ctx, stop: cancel,
		done: make(chan struct{}),
		subs: map[*subscriber]struct{}{},
	}
	// Registering under s.mu's read lock orders it before Close's write
	// lock, so Close either sees this feed or this call sees closed.
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		close(f.done)
		f.Close()
		return f
	}
	s.feedsMu.Lock()
	s.feeds = append(s.feeds, f)
	s.feedsMu.Unlock()
	go f.run()
	return f
}

// Subscribe delivers entries with id greater than the newest entry at the
// time of the call, in id order. The channel is closed when ctx ends, when
// the subscriber falls Buffer entries behind (it must then resync by
// listing), or when the feed stops.
func (f *Feed) Subscribe(ctx context.Context) <-chan mail.Meta {
	sub := &subscriber{ch: make(chan mail.Meta, f.cfg.Buffer)}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || ctx.Err() != nil {
		close(sub.ch)
		return sub.ch
	}
	// Read the newest id under f.mu: the poller fans out under f.mu too, so
	// it either fanned out before this read (and those ids are <= newest) or
	// fans out after the subscriber is registered.
	var newest mail.EntryID
	err := f.s.rdb.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM entries`).Scan(&newest)
	switch {
	case err == nil && len(f.subs) == 0:
		// Nobody was listening, so the poller may be behind: skip it ahead.
		f.last = newest
	case err == nil:
	case len(f.subs) > 0:
		newest = f.last // the poller's position is good enough
	default:
		close(sub.ch)
		return sub.ch
	}
	sub.from = max(newest, f.last)
	f.subs[sub] = struct{}{}
	sub.stopAfter = context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.dropLocked(sub)
	})
	return sub.ch
}

// Notify tells the feed that entries were just committed in this process, so
// the poller looks now rather than at its next tick. It never blocks.
func (f *Feed) Notify([]mail.Meta) {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// Close stops the poller and closes every subscriber's channel.
func (f *Feed) Close() error {
	f.once.Do(func() {
		f.stop()
		<-f.done
		f.mu.Lock()
		defer f.mu.Unlock()
		f.closed = true
		for sub := range f.subs {
			f.dropLocked(sub)
		}
	})
	return nil
}

func (f *Feed) dropLocked(sub *subscriber) {
	if _, ok := f.subs[sub]; !ok {
		return
	}
	delete(f.subs, sub)
	close(sub.ch)
	if sub.stopAfter != nil {
		sub.stopAfter()
	}
}

func (f *Feed) run() {
	defer close(f.done)
	t := time.NewTicker(f.cfg.PollInterval)
	defer t.Stop()
	var conn *sql.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	version := int64(-1)
	for {
		kicked := false
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
		case <-f.kick:
			kicked = true
		}
		f.mu.Lock()
		n := len(f.subs)
		f.mu.Unlock()
		if n == 0 {
			continue
		}
		if conn == nil {
			c, err := f.s.rdb.Conn(f.ctx)
			if err != nil {
				continue // try again next tick
			}
			conn = c
		}
		var v int64
		if err := conn.QueryRowContext(f.ctx, `PRAGMA data_version`).Scan(&v); err != nil {
			conn.Close()
			conn, version = nil, -1
			continue
		}
		if v == version && !kicked {
			continue
		}
		if err := f.catchUp(conn); err != nil {
			version = -1 // look again next tick
			continue
		}
		version = v
	}
}

// catchUp fans out every entry after f.last.
func (f *Feed) catchUp(conn *sql.Conn) error {
	for {
		f.mu.Lock()
		after := f.last
		f.mu.Unlock()
		metas, err := entriesAfter(f.ctx, conn, after, feedBatch)
		if err != nil {
			return fmt.Errorf("sqlite: feed: %w", err)
		}
		if len(metas) == 0 {
			return nil
		}
		f.mu.Lock()
		f.fanOutLocked(metas)
		f.last = max(f.last, metas[len(metas)-1].ID)
		f.mu.Unlock()
		if len(metas) < feedBatch {
			return nil
		}
	}
}

func (f *Feed) fanOutLocked(metas []mail.Meta) {
	for sub := range f.subs {
		for _, m := range metas {
			if m.ID <= sub.from {
				continue
			}
			select {
			case sub.ch <- m:
				sub.from = m.ID
			default:
				f.dropLocked(sub) // too far behind: it resyncs by listing
			}
			if _, ok := f.subs[sub]; !ok {
				break
			}
		}
	}
}
