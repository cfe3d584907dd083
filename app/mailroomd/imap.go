package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"

	"go.uber.org/zap"

	"mailroom/adapters/imapserver"
	"mailroom/domain/mail"
)

// newIMAPServer wires the IMAP adapter from the daemon's settings; its
// IDLE updates come from the run's change feed.
func newIMAPServer(cfg config, tc *tls.Config, acc imapserver.Accounts, mb *mail.Service, db *storeWiring, log *zap.Logger) (server, error) {
	feed, ok := db.feed.(imapserver.ChangeFeed)
	if !ok {
		return nil, fmt.Errorf("imap: the %T change feed has no SubscribeChanges", db.feed)
	}
	return imapserver.New(imapserver.Config{
		TLS:              tc,
		HandshakeTimeout: cfg.HandshakeTimeout,
		MaxLoginFailures: cfg.MaxAuthFailures,
		MaxMessageBytes:  cfg.MaxMessage,
		MaxConns:         cfg.MaxConns,
		MaxConnsPerIP:    cfg.MaxConnsPerIP,
		MaxInflightBytes: cfg.MaxInflight,
	}, acc, mb, feed, log.Named("imap")), nil
}

// optAddrValue is a listen address that may be empty: "" turns the
// server off.
type optAddrValue struct{ p *string }

func (v optAddrValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v optAddrValue) Set(s string) error {
	if s == "" {
		*v.p = ""
		return nil
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	*v.p = s
	return nil
}
