package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"
)

// newPprofServer serves net/http/pprof for --pprof-addr on a mux of its
// own. Importing net/http/pprof also registers its handlers on
// http.DefaultServeMux; nothing in the daemon serves that mux, so they are
// reachable only here.
func newPprofServer() server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // also the named profiles: heap, goroutine, allocs, …
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No WriteTimeout: a CPU profile or trace answers after the seconds it
	// was asked for, and pprof refuses a duration above WriteTimeout.
	return pprofServer{&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
}

// pprofServer stops at once on shutdown: a profile being taken is no
// transfer to finish, and must not hold the daemon's exit for the grace
// period or turn a clean stop into a failed one.
type pprofServer struct{ *http.Server }

func (s pprofServer) Shutdown(context.Context) error {
	s.Server.Close()
	return nil
}

// errNotLoopback: pprof shows memory contents (heap profiles hold strings),
// command lines and goroutine stacks, so it is served on loopback only;
// reach it from elsewhere through an SSH tunnel.
var errNotLoopback = errors.New("want a loopback address such as 127.0.0.1:6060 or [::1]:6060 (pprof exposes the process's memory; use an SSH tunnel to reach it from elsewhere)")

// loopbackAddrValue is a listen address on a loopback IP; empty or "off"
// means off.
type loopbackAddrValue struct{ p *string }

func (v loopbackAddrValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v loopbackAddrValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if s == "" || s == "off" {
		*v.p = ""
		return nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	// An IP literal only: a name such as localhost is whatever the
	// resolver says at start, and Listen binds only one of its addresses.
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address: %w", s, errNotLoopback)
	}
	*v.p = s
	return nil
}
