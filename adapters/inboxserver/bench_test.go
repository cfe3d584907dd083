package inboxserver

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"mailroom/adapters/inboxwire"
	"mailroom/adapters/sqlite"
)

// benchMailbox is how many messages bob's inbox holds in the benchmarks.
const benchMailbox = 100_000

var (
	bigOnce sync.Once
	bigDir  string
	bigPath string
	bigIDs  []int64 // bob's inbox ids, ascending
	bigErr  error
)

// bigDB builds (once per test binary) a database where bob's inbox holds
// benchMailbox messages from alice. The rows go in with plain SQL in one
// transaction through Store.DB: delivering them one by one would take
// minutes of fsyncs. Store.Deliver writes the same rows.
func bigDB(b *testing.B) (string, []int64) {
	b.Helper()
	bigOnce.Do(func() {
		bigDir, bigErr = os.MkdirTemp("", "inboxbench")
		if bigErr != nil {
			return
		}
		bigPath = filepath.Join(bigDir, "mail.db")
		bigIDs, bigErr = populate(bigPath)
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigPath, bigIDs
}

func populate(path string) ([]int64, error) {
	ctx := context.Background()
	o, err := openStore(path)
	if err != nil {
		return nil, err
	}
	defer o.store.Close()
	alice, err := o.acc.Register(ctx, "alice", testPassword)
	if err != nil {
		return nil, err
	}
	bob, err := o.acc.Register(ctx, "bob", testPassword)
	if err != nil {
		return nil, err
	}
	tx, err := o.store.DB().BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	msgStmt, err := tx.PrepareContext(ctx, `INSERT INTO messages (size, from_addr, subject, received, raw) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	entStmt, err := tx.PrepareContext(ctx, `INSERT INTO entries (owner, message_id, folder, rcpts, seen, received) VALUES (?, ?, 'inbox', '["bob@example.test"]', ?, ?)`)
	if err != nil {
		return nil, err
	}
	start := time.Now().Add(-benchMailbox * time.Minute)
	body := strings.Repeat("Some text of a typical short message, wrapped at a sane width.\r\n", 12)
	ids := make([]int64, 0, benchMailbox)
	for i := range benchMailbox {
		subject := fmt.Sprintf("Message number %d about things", i)
		raw := fmt.Sprintf("From: alice@example.test\r\nTo: bob@example.test\r\nSubject: %s\r\nMessage-ID: <%d@example.test>\r\n\r\n%s", subject, i, body)
		at := start.Add(time.Duration(i) * time.Minute).UnixNano()
		res, err := msgStmt.ExecContext(ctx, len(raw), "alice@example.test", subject, at, []byte(raw))
		if err != nil {
			return nil, err
		}
		mid, _ := res.LastInsertId()
		res, err = entStmt.ExecContext(ctx, int64(bob.ID), mid, i%3 == 0, at)
		if err != nil {
			return nil, err
		}
		id, _ := res.LastInsertId()
		ids = append(ids, id)
	}
	_ = alice
	return ids, tx.Commit()
}

// benchEnv serves the big database over real TLS to one logged-in client.
func benchEnv(b *testing.B) (*env, *client, []int64) {
	b.Helper()
	path, ids := bigDB(b)
	e := newEnv(b, envOpts{dbPath: path, log: zap.NewNop(), poll: sqlite.DefaultPollInterval})
	return e, e.login("bob"), ids
}

// timed runs b.N requests made by line(i), each waited for, and reports
// the latency percentiles.
func timed(b *testing.B, c *client, line func(i int) string) {
	b.Helper()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		l := line(i)
		t0 := time.Now()
		r := c.do(l)
		lat = append(lat, time.Since(t0))
		if !r.OK {
			b.Fatalf("%s: %+v", l, errOf(r))
		}
	}
	b.StopTimer()
	reportPercentiles(b, lat, "")
}

func reportPercentiles(b *testing.B, lat []time.Duration, prefix string) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), prefix+"p50-ms")
	b.ReportMetric(pct(0.99), prefix+"p99-ms")
}

func BenchmarkListNewest50(b *testing.B) {
	_, c, _ := benchEnv(b)
	timed(b, c, func(int) string { return `{"op":"list","folder":"inbox","limit":50}` })
}

func BenchmarkListDeep50(b *testing.B) {
	_, c, ids := benchEnv(b)
	// A page about 90,000 entries down from the newest.
	before := ids[len(ids)/10]
	timed(b, c, func(int) string {
		return fmt.Sprintf(`{"op":"list","folder":"inbox","before":%d,"limit":50}`, before)
	})
}

func BenchmarkFetch(b *testing.B) {
	_, c, ids := benchEnv(b)
	rng := rand.New(rand.NewPCG(1, 2))
	timed(b, c, func(int) string {
		return fmt.Sprintf(`{"op":"fetch","id":%d}`, ids[rng.IntN(len(ids))])
	})
}

func BenchmarkCount(b *testing.B) {
	_, c, _ := benchEnv(b)
	timed(b, c, func(int) string { return `{"op":"count","folder":"inbox"}` })
}

// BenchmarkWatchLatency measures, with the store's default 40ms poll, the
// time from Deliver returning in another process (when SMTP would send
// its 250) to the event reaching a watching client over TLS.
func BenchmarkWatchLatency(b *testing.B) {
	b.Run("second-store", func(b *testing.B) {
		e := newEnv(b, envOpts{log: zap.NewNop(), poll: sqlite.DefaultPollInterval})
		bob := e.login("bob")
		e.user("alice")
		e.watch(bob)
		o := openOther(b, e.dbPath)
		sender, err := o.acc.Lookup(context.Background(), "alice")
		if err != nil {
			b.Fatal(err)
		}
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			// Start at a random phase of the poll, as real mail does.
			time.Sleep(time.Duration(rand.IntN(int(sqlite.DefaultPollInterval))))
			metas, err := deliverVia(context.Background(), o.mb, sender, []string{"bob"}, rawMessage("alice", []string{"bob"}, strconv.Itoa(i)))
			if err != nil {
				b.Fatal(err)
			}
			done := time.Now()
			ev := bob.event(5 * time.Second)
			lat = append(lat, time.Since(done))
			if ev.Message == nil || ev.Message.ID != int64(metas[0].ID) {
				b.Fatalf("event %+v, want %d", ev, metas[0].ID)
			}
		}
		b.StopTimer()
		reportPercentiles(b, lat, "")
	})
	b.Run("child-process", func(b *testing.B) {
		e := newEnv(b, envOpts{log: zap.NewNop(), poll: sqlite.DefaultPollInterval})
		bob := e.login("bob")
		e.user("alice")
		e.watch(bob)
		// Events are timestamped as they arrive, by their own goroutine.
		type arrival struct {
			id int64
			at time.Time
		}
		arrivals := make(chan arrival, b.N)
		go func() {
			for range b.N {
				line, err := bob.readLine(10 * time.Second)
				at := time.Now()
				if err != nil {
					close(arrivals)
					return
				}
				var ev inboxwire.Event
				if json.Unmarshal(line, &ev) == nil && ev.Message != nil {
					arrivals <- arrival{ev.Message.ID, at}
				}
			}
			close(arrivals)
		}()
		b.ResetTimer()
		// 53ms apart: not a multiple of the poll, so commits fall at every
		// phase of it.
		lines, wait := startChild(b, e.dbPath, "alice", "bob", "latency", b.N, 53*time.Millisecond)
		returned := map[int64]time.Time{}
		for l := range lines {
			idStr, nsStr, _ := strings.Cut(l, " ")
			id, _ := strconv.ParseInt(idStr, 10, 64)
			ns, _ := strconv.ParseInt(nsStr, 10, 64)
			returned[id] = time.Unix(0, ns)
		}
		wait()
		lat := make([]time.Duration, 0, b.N)
		for a := range arrivals {
			t0, ok := returned[a.id]
			if !ok {
				b.Fatalf("event for unknown entry %d", a.id)
			}
			// The wall clock is shared; an event can beat the child's
			// timestamp by a hair, hence the floor.
			lat = append(lat, max(0, a.at.Sub(t0)))
		}
		b.StopTimer()
		if len(lat) != b.N {
			b.Fatalf("%d events for %d deliveries", len(lat), b.N)
		}
		reportPercentiles(b, lat, "")
	})
}
