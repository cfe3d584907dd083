package inboxserver

// OpenConns is the number of open connections, TLS handshakes included:
// what Config.MaxConns counts. The daemon reads it for its metrics.
func (s *Server) OpenConns() int { return s.ln.OpenConns() }

// Watchers is the number of connections watching for new mail.
func (s *Server) Watchers() int { return int(s.hub.n.Load()) }
