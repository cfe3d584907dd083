package listener

import (
	"context"
	"maps"
	"slices"
)

// Shutdown stops the server: it closes the listeners (Serve returns
// ErrServerClosed), closes connections still handshaking or being refused,
// runs every live connection's OnShutdown funcs, and waits for every
// handler to return. Handlers finish the request in hand and close.
//
// If ctx ends first, Shutdown cuts what is left: it cancels every
// connection's context, closes every socket, waits for the handlers to
// return (a handler must heed one or the other), and returns a *CutError
// that counts them and wraps ctx.Err(). It returns nil when nothing had to
// be cut.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.shutdown {
		s.shutdown = true
		close(s.closing)
	}
	for ln := range s.listeners {
		ln.Close()
	}
	for nc := range s.handshaking {
		nc.Close()
	}
	live := slices.Collect(maps.Keys(s.live))
	s.mu.Unlock()
	for _, c := range live {
		c.wake()
	}

	// admit adds to wg only before shutdown is set, so Wait cannot race
	// with an Add from zero.
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
	}
	s.cancel() // every connection's context
	s.mu.Lock()
	cut := slices.Collect(maps.Keys(s.live))
	for nc := range s.handshaking {
		nc.Close() // a handshake that finished meanwhile closes itself
	}
	s.mu.Unlock()
	for _, c := range cut {
		c.Raw.Close()
	}
	<-done
	if len(cut) == 0 {
		return nil
	}
	return &CutError{Conns: len(cut), Err: ctx.Err()}
}
