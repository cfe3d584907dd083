package main

import (
	"crypto/tls"

	"go.uber.org/zap"

	"mailroom/adapters/imapserver"
	"mailroom/domain/mail"
)

// newIMAPServer wires the IMAP adapter from the daemon's settings; its
// IDLE updates come from the run's change feed, its SEARCH text keys go
// through the store's full-text index.
func newIMAPServer(cfg config, tc *tls.Config, acc imapserver.Accounts, mb *mail.Service, db *storeWiring, log *zap.Logger) server {
	return imapserver.New(imapserver.Config{
		TLS:              tc,
		HandshakeTimeout: cfg.HandshakeTimeout,
		MaxLoginFailures: cfg.MaxAuthFailures,
		MaxMessageBytes:  cfg.MaxMessage,
		MaxConns:         cfg.MaxConns,
		MaxConnsPerIP:    cfg.MaxConnsPerIP,
		MaxInflightBytes: cfg.MaxInflight,
		Index:            db.store,
	}, acc, mb, db.feed, log.Named("imap"))
}
