package main

import (
	"crypto/tls"

	"go.uber.org/zap"

	"mailroom/adapters/inboxserver"
	"mailroom/domain/mail"
)

// newInboxServer wires the inbox adapter from the daemon's settings; it
// pushes new mail from the run's change feed.
func newInboxServer(cfg config, tc *tls.Config, acc inboxserver.Accounts, mb *mail.Service, db *storeWiring, log *zap.Logger) server {
	return inboxserver.New(inboxserver.Config{
		TLS:              tc,
		HandshakeTimeout: cfg.HandshakeTimeout,
		IdleTimeout:      cfg.InboxIdleTimeout,
		LoginTimeout:     cfg.InboxLoginTimeout,
		MaxLoginFailures: cfg.MaxAuthFailures,
		MaxConns:         cfg.MaxConns,
		MaxConnsPerIP:    cfg.MaxConnsPerIP,
		MaxLine:          int(cfg.InboxMaxLine),
		MaxInflightBytes: cfg.MaxInflight,
		SendQueue:        cfg.InboxSendQueue,
		SendQueueBytes:   int(cfg.InboxSendQueueBytes),
	}, acc, mb, db.feed, log)
}
