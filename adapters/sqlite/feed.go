package sqlite

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

// Feed streams every committed mailbox entry, of every owner, in id order
// (Subscribe, SubscribeInterest), and the change log in Seq order
// (SubscribeChanges).
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
	last   mail.EntryID // newest entry fanned out (or skipped for lack of interest)
	subs   map[*subscriber]struct{}
	// changes holds the SubscribeChanges subscribers (changefeed.go).
	changes changeSubs

	// Test hooks: how many queries read entry rows back (ids and owners
	// only), how many read entries' metadata (the join), how many read
	// the change log, how many times the poller woke and how many times
	// it read data_version.
	rowReads, metaReads, changeReads, wakes, versionReads atomic.Int64

	notified atomic.Int64 // the newest entry id given to Notify
}

type subscriber struct {
	ch        chan mail.Meta
	from      mail.EntryID // deliver only ids above this
	in        Interest     // nil: every entry
	stopAfter func() bool
}

// Interest is what a SubscribeInterest subscriber watches; the feed asks it
// before reading anything back. While no subscriber has Any, the feed reads
// nothing at all, not even data_version: it knows where interest would
// start from the ids given to Notify (Notify every commit of this process
// with its entries). It reads the metadata only of entries whose owner
// some subscriber Wants.
//
// Both methods must be cheap and safe for concurrent use, and must not call
// the Feed: the poller calls them, Wants with the feed's lock held.
//
// An owner wanted from time T gets every entry committed after T (and
// possibly some committed before it: up to a poll interval before, or, for
// commits of other processes or not given to Notify, since the last entry
// Notify was given; skip those by id). So make the interest visible before relying on it, e.g. register a
// watcher before answering its watch request.
type Interest = ports.Interest

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
	f.changes.subs = map[*changeSub]struct{}{}
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
// listing), or when the feed stops. A Subscribe subscriber makes the feed
// read every committed entry's metadata; prefer SubscribeInterest.
func (f *Feed) Subscribe(ctx context.Context) <-chan mail.Meta {
	return f.subscribe(ctx, nil)
}

// SubscribeInterest is Subscribe for the entries of the owners in wants,
// asked when each entry is read: see Interest. in must not be nil.
func (f *Feed) SubscribeInterest(ctx context.Context, in Interest) <-chan mail.Meta {
	if in == nil {
		panic("sqlite: SubscribeInterest with a nil Interest")
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
	// Read the newest id under f.mu: the poller fans out under f.mu too, so
	// it either fanned out before this read (and those ids are <= newest) or
	// fans out after the subscriber is registered.
	newest, err := f.s.newestEntry(ctx)
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
// the poller looks now rather than at its next tick. It never blocks. The
// newest id among metas lets an idle poller move on without reading
// anything (skipIdleLocked).
func (f *Feed) Notify(metas []mail.Meta) {
	for _, m := range metas {
		for {
			old := f.notified.Load()
			if int64(m.ID) <= old || f.notified.CompareAndSwap(old, int64(m.ID)) {
				break
			}
		}
	}
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

func (f *Feed) run() {
	defer close(f.done)
	t := time.NewTicker(f.cfg.PollInterval)
	defer t.Stop()
	var fc *feedConn
	defer func() { fc.close() }()
	// The data_version each stream last read up to; -1: read again. The
	// change log's is left behind while nobody wants changes, so that the
	// first look after interest returns catches up by sequence.
	entVersion, chVersion := int64(-1), int64(-1)
	for {
		kicked := false
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
		case <-f.kick:
			kicked = true
		}
		f.wakes.Add(1)
		// Loaded before Any is asked: see skipIdleLocked.
		notified := mail.EntryID(f.notified.Load())
		f.mu.Lock()
		entries, changes := len(f.subs) > 0 && !f.skipIdleLocked(notified), f.changesWantedLocked()
		f.mu.Unlock()
		if !entries {
			entVersion = -1 // when interest returns, look whatever data_version says
		}
		if !entries && !changes {
			continue // nobody watches: nothing is read, not even data_version
		}
		if fc == nil {
			c, err := f.s.openFeedConn(f.ctx)
			if err != nil {
				continue // try again next tick
			}
			fc = c
		}
		v, err := fc.dataVersion(f.ctx)
		f.versionReads.Add(1)
		if err != nil {
			fc.close()
			fc, entVersion, chVersion = nil, -1, -1
			continue
		}
		if entries && (v != entVersion || kicked) {
			entVersion = v
			if f.catchUp(fc) != nil {
				entVersion = -1 // look again next tick
			}
		}
		if changes && (v != chVersion || kicked) {
			chVersion = v
			if f.catchUpChanges(fc) != nil {
				chVersion = -1
			}
		}
	}
}

// skipIdleLocked reports whether every entry subscriber has an Interest
// and none has Any(): then the poller reads nothing for them and moves
// f.last up to notified, the newest entry Notify was given. That entry
// and every one below it were committed before notified was loaded, so
// before Any() was asked and found false: no interest that begins later
// can want them. Entries of other processes above it are read by id when
// interest returns.
func (f *Feed) skipIdleLocked(notified mail.EntryID) bool {
	for sub := range f.subs {
		if sub.in == nil || sub.in.Any() {
			return false
		}
	}
	f.last = max(f.last, notified)
	return true
}

// catchUp fans out every entry after f.last that some subscriber wants.
func (f *Feed) catchUp(fc *feedConn) error {
	for {
		f.mu.Lock()
		after := f.last
		all, ins := f.interestsLocked()
		f.mu.Unlock()
		var metas []mail.Meta
		var last mail.EntryID
		var n int
		var err error
		if all {
			metas, err = fc.metasAfter(f.ctx, after, feedBatch)
			f.metaReads.Add(1)
			if n = len(metas); n > 0 {
				last = metas[n-1].ID
			}
		} else {
			metas, last, n, err = f.readWanted(fc, after, ins)
		}
		if err != nil {
			return err
		}
		f.mu.Lock()
		f.fanOutLocked(metas)
		f.last = max(f.last, last)
		f.mu.Unlock()
		if n < feedBatch {
			return nil
		}
	}
}

// interestsLocked tells whether some subscriber wants every entry, and
// otherwise gives the subscribers' interests.
func (f *Feed) interestsLocked() (all bool, ins []Interest) {
	for sub := range f.subs {
		if sub.in == nil {
			return true, nil
		}
		ins = append(ins, sub.in)
	}
	return false, ins
}

// readWanted reads entries after after for interest subscribers: ids and
// owners first, then the metadata of the wanted ones only. It gives the
// metas, the id the feed may advance to, and how many entries it looked at
// (feedBatch: there may be more).
func (f *Feed) readWanted(fc *feedConn, after mail.EntryID, ins []Interest) ([]mail.Meta, mail.EntryID, int, error) {
	if !anyInterest(ins) {
		// The newest id is read before asking again: an interest that
		// begins after the second ask still gets every entry above newest.
		newest, err := fc.newest(f.ctx)
		if err != nil {
			return nil, 0, 0, err
		}
		if !anyInterest(ins) {
			return nil, newest, 0, nil
		}
	}
	refs, err := fc.refsAfter(f.ctx, after, feedBatch)
	f.rowReads.Add(1)
	if err != nil || len(refs) == 0 {
		return nil, 0, 0, err
	}
	var wanted []mail.EntryID
	for _, r := range refs {
		for _, in := range ins {
			if in.Wants(r.owner) {
				wanted = append(wanted, r.id)
				break
			}
		}
	}
	last := refs[len(refs)-1].id
	if len(wanted) == 0 {
		return nil, last, len(refs), nil
	}
	metas, err := fc.metasByID(f.ctx, wanted)
	f.metaReads.Add(1)
	return metas, last, len(refs), err
}

func anyInterest(ins []Interest) bool {
	for _, in := range ins {
		if in.Any() {
			return true
		}
	}
	return false
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
