package postgres

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"mailroom/domain/mail"
	"mailroom/ports"
)

var (
	_ ports.ChangeFeed = (*Feed)(nil)
	_ mail.Notifier    = (*Feed)(nil)
)

// Feed defaults.
const (
	DefaultFeedBuffer     = 256
	DefaultReconnectDelay = time.Second
	DefaultGapPoll        = 20 * time.Millisecond
	DefaultMaxGapWait     = 10 * time.Second
	DefaultKeepAlive      = 30 * time.Second
	DefaultPoll           = 250 * time.Millisecond
	// feedBatch bounds one catch-up query; the feed repeats it until it has
	// read everything.
	feedBatch = 1000
)

// FeedConfig configures a Feed.
type FeedConfig struct {
	// Buffer is each subscriber's channel capacity. A subscriber that many
	// entries behind is dropped (its channel closed). Default 256.
	Buffer int
	// ReconnectDelay is how long the listener waits before connecting again
	// after it lost its connection or failed to connect. Default 1s.
	ReconnectDelay time.Duration
	// KeepAlive is how long the listener waits for a notification before it
	// checks that its connection still works. Default 30s; the Poll, when
	// shorter, checks it sooner.
	KeepAlive time.Duration
	// Poll is how long the listener waits for a notification before it
	// reads the newest entry id and change seq itself, and reads the new
	// entries and changes if they moved: a write whose host died between
	// its COMMIT and its NOTIFY reaches watchers that much later, never
	// not at all. The poll also checks the connection. Default 250ms.
	Poll time.Duration
	// GapPoll is how often the feed looks again while it holds entries back
	// behind a gap in the ids (see Feed). Default 20ms.
	GapPoll time.Duration
	// MaxGapWait bounds that hold: after it, a gap is taken for ids that will
	// never commit. Default 10s.
	MaxGapWait time.Duration
}

// Feed streams every committed mailbox entry, of every owner and from every
// host sharing the database, in id order (Subscribe, SubscribeInterest), and
// the change log in Seq order (SubscribeChanges, changefeed.go).
//
// A listener goroutine holds its own connection (not one of the pool's) and
// LISTENs on the channel every write NOTIFYs on just after its commit, and
// polls the newest id and seq when it has heard nothing for Poll. Each
// notification, each poll that saw them move, and each (re)connection,
// wakes a worker that reads the entries after the
// last one it fanned out, from the table: a notification is only a hint, so
// nothing committed while the listener was down is lost.
//
// Ids are drawn from a sequence before commit, so they commit out of order:
// delivery A takes id 10, B takes 11, B commits first. Fanning out 11 then
// would skip 10 for good. So the worker fans out only up to the first gap in
// the ids; behind a gap it notes the transactions in flight in this database
// and fans out past the gap once they have all ended (the ids then either
// committed, and are read, or never will). MaxGapWait bounds the wait when
// an unrelated transaction stays open.
type Feed struct {
	s    *Store
	cfg  FeedConfig
	kick chan struct{}
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
	once sync.Once

	mu     sync.Mutex
	closed bool
	last   mail.EntryID // newest entry fanned out (or skipped for lack of subscribers)
	hold   *gapHold     // the gap entries are held back behind, if any
	final  mail.EntryID // no id at or below this can still commit
	subs   map[*subscriber]struct{}
	// changes holds the SubscribeChanges subscribers (changefeed.go).
	changes changeSubs

	// For tests: how many times the listener has begun listening, and the
	// backend pid of its connection.
	listens     atomic.Int64
	listenerPID atomic.Uint32
}

type subscriber struct {
	ch        chan mail.Meta
	from      mail.EntryID // deliver only ids above this
	in        Interest     // nil: every entry
	stopAfter func() bool
}

// Interest is what a SubscribeInterest subscriber watches (ports.Interest,
// the one shape both stores take). Wants is asked for each entry,
// with the feed's lock held: it must be cheap, safe for concurrent use, and
// must not call the Feed. Any is part of the shared shape; this feed reads
// every committed entry whatever it says (a delivery's NOTIFY does not say
// whose entries it holds).
type Interest = ports.Interest

// Feed starts a change feed over the store. Close (or the Store's Close)
// stops it.
func (s *Store) Feed(cfg FeedConfig) *Feed {
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultFeedBuffer
	}
	if cfg.ReconnectDelay <= 0 {
		cfg.ReconnectDelay = DefaultReconnectDelay
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = DefaultKeepAlive
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.GapPoll <= 0 {
		cfg.GapPoll = DefaultGapPoll
	}
	if cfg.MaxGapWait <= 0 {
		cfg.MaxGapWait = DefaultMaxGapWait
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Feed{
		s: s, cfg: cfg,
		kick: make(chan struct{}, 1),
		ctx:  ctx, stop: cancel,
		subs: map[*subscriber]struct{}{},
	}
	f.changes.subs = map[*changeSub]struct{}{}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		f.Close()
		return f
	}
	s.feeds = append(s.feeds, f)
	f.wg.Add(2)
	go f.listen()
	go f.work()
	return f
}

// Subscribe delivers entries with id greater than the newest entry at the
// time of the call, in id order. The channel is closed when ctx ends, when
// the subscriber falls Buffer entries behind (it must then resync by
// listing), or when the feed stops.
func (f *Feed) Subscribe(ctx context.Context) <-chan mail.Meta {
	return f.subscribe(ctx, nil)
}

// SubscribeInterest is Subscribe for the entries of the owners in wants,
// asked when each entry is fanned out: see Interest. in must not be nil.
func (f *Feed) SubscribeInterest(ctx context.Context, in Interest) <-chan mail.Meta {
	if in == nil {
		panic("postgres: SubscribeInterest with a nil Interest")
	}
	return f.subscribe(ctx, in)
}

func (f *Feed) subscribe(ctx context.Context, in Interest) <-chan mail.Meta {
	sub := &subscriber{ch: make(chan mail.Meta, f.cfg.Buffer), in: in}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || ctx.Err() != nil {
		close(sub.ch)
		return sub.ch
	}
	// Read the newest id under f.mu: the worker fans out under f.mu too, so
	// it either fanned out before this read (and those ids are <= newest) or
	// fans out after the subscriber is registered.
	var newest int64
	err := f.s.pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM entries`).Scan(&newest)
	switch {
	case err == nil && len(f.subs) == 0:
		// Nobody was listening, so the worker may be behind: skip it ahead.
		f.last, f.hold = mail.EntryID(newest), nil
	case err == nil:
	case len(f.subs) > 0:
		newest = int64(f.last) // the worker's position is good enough
	default:
		close(sub.ch)
		return sub.ch
	}
	sub.from = max(mail.EntryID(newest), f.last)
	f.subs[sub] = struct{}{}
	sub.stopAfter = context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.dropLocked(sub)
	})
	return sub.ch
}

// Notify tells the feed that entries were just committed in this process, so
// that it reads them now even if the listener is reconnecting. It never
// blocks.
func (f *Feed) Notify([]mail.Meta) {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// Close stops the listener and the worker and closes every subscriber's
// channel.
func (f *Feed) Close() error {
	f.once.Do(func() {
		f.stop()
		f.wg.Wait()
		f.mu.Lock()
		defer f.mu.Unlock()
		f.closed = true
		for sub := range f.subs {
			f.dropLocked(sub)
		}
		for sub := range f.changes.subs {
			f.dropChangeLocked(sub)
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

func (f *Feed) fanOutLocked(metas []mail.Meta) {
	for sub := range f.subs {
		for _, m := range metas {
			if m.ID <= sub.from || (sub.in != nil && !sub.in.Wants(m.Owner)) {
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
