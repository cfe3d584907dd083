package smtpserver

// Observer is told what the server does, for metrics; the daemon wires one
// to its metrics adapter, so that this package knows nothing of how they
// are kept. Its methods run on connection goroutines: they must be cheap
// and safe for concurrent use.
type Observer interface {
	// Transaction is called once for each mail transaction that reached
	// DATA or BDAT, with the reply code the client got for it.
	Transaction(code int)
}

// OpenConns is the number of open connections, TLS handshakes included:
// what Config.MaxConns counts.
func (s *Server) OpenConns() int { return s.ln.OpenConns() }
