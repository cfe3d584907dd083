package main

import (
	"crypto/rand"

	"mailroom/domain/account"
)

// accountConfig is the account service's part of the settings. The login
// and registration budgets live in the one Service every server of the
// process shares, so a client has one budget across SMTP and inbox.
func accountConfig(cfg config) account.Config {
	ttl := cfg.AuthCacheTTL
	if ttl == 0 {
		ttl = -1 // the Service's zero means its default; --auth-cache-ttl 0 means off
	}
	return account.Config{
		Domain:             cfg.Domain,
		RegistrationClosed: cfg.Registration == "closed",
		RegRate:            offRate(cfg.RegRate),
		AuthFailRate:       offRate(cfg.AuthFailRate),
		CredentialCacheTTL: ttl,
		Random:             rand.Reader, // the cache's per-process key
	}
}
