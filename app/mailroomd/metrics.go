package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"mailroom/adapters/metrics"
	"mailroom/adapters/postgres"
	"mailroom/adapters/smtpserver"
	"mailroom/adapters/sqlite"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// observability is a serve run's metrics and health, when --metrics-addr
// is set. A nil *observability is off: every method then hands back what
// it was given, so the wiring reads the same either way.
type observability struct {
	m      *metrics.Metrics
	health *metrics.Health
}

func newObservability(cfg config) *observability {
	if cfg.MetricsAddr == "" {
		return nil
	}
	m := metrics.New()
	m.Servers("smtp", "inbox", "imap")
	return &observability{m: m, health: &metrics.Health{}}
}

// accounts gives server its view of the account service: failed and
// throttled logins counted under its name.
func (o *observability) accounts(acc *account.Service, server string) observedAccounts {
	return observedAccounts{Service: acc, server: server, o: o}
}

// store gives the mail service its store, with each delivery counted and
// timed.
func (o *observability) store(st store) mail.Store {
	if o == nil {
		return st
	}
	return timedStore{store: st, m: o.m}
}

// smtpObserver is the SMTP server's Observer, or nil.
func (o *observability) smtpObserver() smtpserver.Observer {
	if o == nil {
		return nil
	}
	return smtpObserver{o.m}
}

// smtpObserver counts SMTP transactions by reply class.
type smtpObserver struct{ m *metrics.Metrics }

func (o smtpObserver) Transaction(code int) { o.m.SMTPTransaction(code) }

// watch registers the gauges read from the running node: connections per
// server, inbox watchers, the feed's lag and the SQLite writer's counters.
func (o *observability) watch(n *node) {
	if o == nil {
		return
	}
	for _, r := range n.servers {
		if oc, ok := r.srv.(interface{ OpenConns() int }); ok {
			o.m.Connections(r.name, oc.OpenConns)
		}
		if w, ok := r.srv.(interface{ Watchers() int }); ok {
			o.m.Watchers(w.Watchers)
		}
	}
	if f, ok := n.db.feed.(*sqlite.Feed); ok {
		o.m.FeedLag(func() int64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			lag, err := f.Lag(ctx)
			if err != nil {
				return -1
			}
			return lag
		})
	}
	if s, ok := n.db.store.(*sqlite.Store); ok {
		o.m.GroupCommit(
			func() int64 { return s.WriterStats().Requests },
			func() int64 { return s.WriterStats().Commits },
		)
	}
	o.health.Ready = n.ready
}

// server is the HTTP server for /metrics, /healthz and /readyz.
func (o *observability) server() server {
	return pprofServer{&http.Server{Handler: o.m.Handler(o.health), ReadHeaderTimeout: 10 * time.Second}}
}

// stopping turns /healthz and /readyz to 503 as shutdown begins.
func (o *observability) stopping() {
	if o != nil {
		o.health.Stopping()
	}
}

// errServerDown: /readyz while a server's listener has stopped.
var errServerDown = errors.New("a server is not accepting connections")

// ready is /readyz: every server accepting, and the store answering.
func (n *node) ready(ctx context.Context) error {
	if int(n.up.Load()) != len(n.servers) {
		return errServerDown
	}
	var err error
	switch s := n.db.store.(type) {
	case *sqlite.Store:
		err = s.Ping(ctx)
	case *postgres.Store:
		err = s.Pool().Ping(ctx)
	}
	if err != nil {
		return fmt.Errorf("the database does not answer: %w", err)
	}
	return nil
}

// observedAccounts is the account service as one server sees it, with its
// failed and throttled logins counted. With o nil it counts nothing.
type observedAccounts struct {
	*account.Service
	server string
	o      *observability
}

func (a observedAccounts) Login(ctx context.Context, client, username, password string) (account.Account, error) {
	acc, err := a.Service.Login(ctx, client, username, password)
	a.count(err)
	return acc, err
}

func (a observedAccounts) LoginAs(ctx context.Context, client, authzid, username, password string) (account.Account, error) {
	acc, err := a.Service.LoginAs(ctx, client, authzid, username, password)
	a.count(err)
	return acc, err
}

func (a observedAccounts) SignUp(ctx context.Context, client, username, password string) (account.Account, error) {
	acc, err := a.Service.SignUp(ctx, client, username, password)
	if a.o != nil && errors.Is(err, account.ErrThrottled) {
		a.o.m.Throttled(a.server)
	}
	return acc, err
}

func (a observedAccounts) count(err error) {
	switch {
	case a.o == nil || err == nil:
	case errors.Is(err, account.ErrThrottled):
		a.o.m.Throttled(a.server)
	case errors.Is(err, account.ErrBadCredentials), errors.Is(err, account.ErrAuthzRefused):
		a.o.m.AuthFailed(a.server)
	}
}

// timedStore counts and times the store calls that commit a new message.
type timedStore struct {
	store
	m *metrics.Metrics
}

func (s timedStore) Deliver(ctx context.Context, msg mail.NewMessage, entries []mail.NewEntry) ([]mail.Meta, error) {
	start := time.Now()
	metas, err := s.store.Deliver(ctx, msg, entries)
	if err == nil {
		s.m.Delivered(time.Since(start))
	}
	return metas, err
}

func (s timedStore) Append(ctx context.Context, msg mail.NewMessage, e mail.NewEntry, dedup bool) (mail.Meta, bool, error) {
	start := time.Now()
	meta, existed, err := s.store.Append(ctx, msg, e, dedup)
	if err == nil && !existed {
		s.m.Delivered(time.Since(start))
	}
	return meta, existed, err
}
