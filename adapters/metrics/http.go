package metrics

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// readyTimeout bounds one /readyz check: a probe that hangs is a probe
// that failed.
const readyTimeout = 2 * time.Second

// Health answers /healthz and /readyz.
type Health struct {
	// Ready reports nil when the daemon can do its work (the store
	// answers, every listener is up), or what is wrong. Required.
	Ready func(ctx context.Context) error
	// stopping is set when shutdown begins: from then on /healthz says
	// 503, so that a load balancer stops sending work at once.
	stopping atomic.Bool
}

// Stopping marks the process as shutting down.
func (h *Health) Stopping() { h.stopping.Store(true) }

// Handler serves /metrics from the registry, /healthz (200 while the
// process serves, 503 once shutdown began) and /readyz (200 when
// h.Ready says so, else 503 with the reason). Anything else is 404.
func (m *Metrics) Handler(h *Health) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if h.stopping.Load() {
			answer(w, http.StatusServiceUnavailable, "shutting down")
			return
		}
		answer(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if h.stopping.Load() {
			answer(w, http.StatusServiceUnavailable, "shutting down")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := h.Ready(ctx); err != nil {
			answer(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
			return
		}
		answer(w, http.StatusOK, "ready")
	})
	return mux
}

func answer(w http.ResponseWriter, code int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	fmt.Fprintln(w, text)
}
