// Package metrics owns Mailroom's Prometheus metrics and the HTTP endpoints
// that monitoring points at: /metrics (the registry, Go runtime and process
// collectors included), /healthz and /readyz. The servers and stores know
// nothing of Prometheus: each declares the small observer or counter it
// offers, and app/mailroomd wires this package's methods to them.
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every Mailroom metric.
const Namespace = "mailroom"

// commitBuckets span a group commit on an SSD (a millisecond) to a stalled
// disk (several seconds).
var commitBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// Metrics holds the registry and the metrics the daemon updates. It is
// safe for concurrent use.
type Metrics struct {
	reg          *prometheus.Registry
	smtpTx       *prometheus.CounterVec
	deliveries   prometheus.Counter
	authFailures *prometheus.CounterVec
	throttled    *prometheus.CounterVec
	commit       prometheus.Histogram
}

// New makes a registry with the Go runtime and process collectors and
// Mailroom's own metrics, at zero.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m := &Metrics{
		reg: reg,
		smtpTx: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "smtp_transactions_total",
			Help: "SMTP mail transactions (DATA or BDAT) ended, by the class of the reply the client got: 2xx, 4xx or 5xx.",
		}, []string{"result"}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "deliveries_total",
			Help: "Messages committed to the store (SMTP deliveries and IMAP APPENDs).",
		}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "auth_failures_total",
			Help: "Failed logins (bad credentials, refused authorization identity), by server.",
		}, []string{"server"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "throttled_total",
			Help: "Logins and registrations refused because the client's per-IP budget was spent, by server.",
		}, []string{"server"}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "store_commit_seconds",
			Help:    "Time from handing a delivery to the store until it is committed (queueing for the group commit included).",
			Buckets: commitBuckets,
		}),
	}
	// Every result class exists from the start, so that rate() over a
	// class that has not happened yet reads 0, not "no data".
	for _, c := range []string{"2xx", "4xx", "5xx"} {
		m.smtpTx.WithLabelValues(c)
	}
	reg.MustRegister(m.smtpTx, m.deliveries, m.authFailures, m.throttled, m.commit)
	return m
}

// Registry gives the registry, for tests and for collectors the daemon
// adds itself.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SMTPTransaction counts one SMTP transaction by its reply code's class.
func (m *Metrics) SMTPTransaction(code int) {
	m.smtpTx.WithLabelValues(codeClass(code)).Inc()
}

// codeClass is "2xx", "4xx" or "5xx" (anything else is its own first digit
// and "xx", which the SMTP server never gives for a transaction).
func codeClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}

// Delivered counts one message committed and how long the store took.
func (m *Metrics) Delivered(took time.Duration) {
	m.deliveries.Inc()
	m.commit.Observe(took.Seconds())
}

// Committed records a store unit of work that is not a new message.
func (m *Metrics) Committed(took time.Duration) { m.commit.Observe(took.Seconds()) }

// AuthFailed counts a failed login on server ("smtp", "inbox", "imap").
func (m *Metrics) AuthFailed(server string) { m.authFailures.WithLabelValues(server).Inc() }

// Throttled counts a login or registration refused by the per-IP budget.
func (m *Metrics) Throttled(server string) { m.throttled.WithLabelValues(server).Inc() }

// Servers makes the per-server series exist at zero, so that a dashboard
// shows 0 rather than nothing for a server that has seen no failure yet.
func (m *Metrics) Servers(names ...string) {
	for _, n := range names {
		m.authFailures.WithLabelValues(n)
		m.throttled.WithLabelValues(n)
	}
}

// Connections reports server's open connections (handshakes included)
// through f, read at each scrape.
func (m *Metrics) Connections(server string, f func() int) {
	m.gaugeFunc("connections", "Open connections, TLS handshakes included, by server.",
		prometheus.Labels{"server": server}, func() float64 { return float64(f()) })
}

// Watchers reports the inbox connections watching for new mail.
func (m *Metrics) Watchers(f func() int) {
	m.gaugeFunc("watchers", "Inbox protocol connections watching for new mail.", nil,
		func() float64 { return float64(f()) })
}

// FeedLag reports how many entries the change feed has still to read
// and push, read at each scrape: the newest committed entry's id less the
// newest the feed has fanned out; 0 while nobody subscribes. f gives -1
// when it cannot tell (the database did not answer); that scrape shows -1.
func (m *Metrics) FeedLag(f func() int64) {
	m.gaugeFunc("feed_lag_entries", "Entries committed that the change feed has not yet pushed to its subscribers (0 while nobody subscribes; -1: unknown).", nil,
		func() float64 { return float64(f()) })
}

// GroupCommit reports the SQLite writer's counters: write requests taken
// and the transactions they were committed in. Their rates' ratio is the
// mean group-commit batch size.
func (m *Metrics) GroupCommit(requests, commits func() int64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: Namespace, Name: "store_write_requests_total",
		Help: "Write requests the SQLite writer has taken; divided by store_group_commits_total, the mean group-commit batch size.",
	}, func() float64 { return float64(requests()) }))
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: Namespace, Name: "store_group_commits_total",
		Help: "Transactions the SQLite writer has begun, each holding one batch of write requests.",
	}, func() float64 { return float64(commits()) }))
}

func (m *Metrics) gaugeFunc(name, help string, labels prometheus.Labels, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: name, Help: help, ConstLabels: labels,
	}, f))
}
