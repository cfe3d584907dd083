package account

// LoginPending exposes the login guard's tickets in flight and waiters for
// client, so tests settle attempts only once the others really wait.
func LoginPending(s *Service, client string) (inflight, waiting int) {
	return s.logins.Pending(client)
}

// CachedLogins is the number of entries in the credential cache.
func CachedLogins(s *Service) int { return s.creds.len() }

// CachedRecipients is the number of entries in the recipient cache.
func CachedRecipients(s *Service) int {
	s.rcpts.mu.Lock()
	defer s.rcpts.mu.Unlock()
	return len(s.rcpts.m)
}
