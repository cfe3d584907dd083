package listener

import (
	"net"
	"sync"
)

// Handoff is a net.Listener for protocol libraries that can only serve a
// listener (go-smtp, go-imap): the core accepts and handshakes each
// connection and the server's Handler gives it to the library through a
// Handoff, so the library never accepts anything itself.
type Handoff struct {
	ch     chan net.Conn
	closed chan struct{}
	close  sync.Once
	start  sync.Once
	addr   net.Addr
}

// NewHandoff makes an open Handoff.
func NewHandoff() *Handoff {
	return &Handoff{ch: make(chan net.Conn), closed: make(chan struct{})}
}

// Start runs serve (the library's Serve) on the Handoff once, however often
// it is called; addr is what Addr reports (the first real listener's).
func (h *Handoff) Start(addr net.Addr, serve func(net.Listener) error) {
	h.start.Do(func() {
		h.addr = addr
		go serve(h)
	})
}

// Give hands c to the library's Accept and reports whether it was taken;
// it gives up when lc's server starts shutting down or the Handoff closes.
func (h *Handoff) Give(lc *Conn, c net.Conn) bool {
	select {
	case h.ch <- c:
		return true
	case <-lc.ShutdownStarted():
	case <-h.closed:
	}
	return false
}

// Accept yields the next connection given, or net.ErrClosed once closed.
func (h *Handoff) Accept() (net.Conn, error) {
	select {
	case c := <-h.ch:
		return c, nil
	case <-h.closed:
		return nil, net.ErrClosed
	}
}

// Close makes Accept return net.ErrClosed; it is idempotent (the server's
// Shutdown and the library's Close both call it).
func (h *Handoff) Close() error {
	h.close.Do(func() { close(h.closed) })
	return nil
}

// Addr is the address Start was given.
func (h *Handoff) Addr() net.Addr { return h.addr }
