package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHandler(t *testing.T) {
	m := New()
	m.Servers("smtp")
	m.SMTPTransaction(250)
	m.SMTPTransaction(451)
	m.SMTPTransaction(552)
	m.SMTPTransaction(554)
	m.Delivered(3 * time.Millisecond)
	m.Throttled("smtp")
	m.AuthFailed("imap")
	m.Connections("smtp", func() int { return 7 })
	m.Watchers(func() int { return 2 })
	m.FeedLag(func() int64 { return -1 })
	m.GroupCommit(func() int64 { return 10 }, func() int64 { return 4 })

	var ready error
	h := &Health{Ready: func(context.Context) error { return ready }}
	srv := httptest.NewServer(m.Handler(h))
	defer srv.Close()

	_, text := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`mailroom_smtp_transactions_total{result="2xx"} 1`,
		`mailroom_smtp_transactions_total{result="4xx"} 1`,
		`mailroom_smtp_transactions_total{result="5xx"} 2`,
		`mailroom_deliveries_total 1`,
		`mailroom_store_commit_seconds_bucket{le="0.005"} 1`,
		`mailroom_throttled_total{server="smtp"} 1`,
		`mailroom_auth_failures_total{server="imap"} 1`,
		`mailroom_auth_failures_total{server="smtp"} 0`,
		`mailroom_connections{server="smtp"} 7`,
		`mailroom_watchers 2`,
		`mailroom_feed_lag_entries -1`,
		`mailroom_store_write_requests_total 10`,
		`mailroom_store_group_commits_total 4`,
		`go_goroutines `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	for _, tc := range []struct {
		ready    error
		stopping bool
		path     string
		code     int
		body     string
	}{
		{nil, false, "/healthz", 200, "ok"},
		{nil, false, "/readyz", 200, "ready"},
		{errors.New("the database does not answer"), false, "/readyz", 503, "not ready: the database does not answer"},
		{errors.New("x"), false, "/healthz", 200, "ok"},
		{nil, true, "/healthz", 503, "shutting down"},
		{nil, true, "/readyz", 503, "shutting down"},
		{nil, true, "/nothing", 404, ""},
	} {
		ready = tc.ready
		if tc.stopping {
			h.Stopping()
		}
		code, body := get(t, srv.URL+tc.path)
		if code != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("%s (ready %v, stopping %v): %d %q, want %d %q", tc.path, tc.ready, tc.stopping, code, body, tc.code, tc.body)
		}
	}
}
