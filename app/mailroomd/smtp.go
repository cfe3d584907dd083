package main

import (
	"crypto/tls"

	"go.uber.org/zap"

	"mailroom/adapters/smtpserver"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// newSMTPServer wires the SMTP adapter from the daemon's settings.
func newSMTPServer(cfg config, tc *tls.Config, acc *account.Service, mb *mail.Service, log *zap.Logger) server {
	return smtpserver.New(smtpserver.Config{
		Hostname:           cfg.Domain,
		TLS:                tc,
		MaxMessageBytes:    cfg.MaxMessage,
		RegistrationClosed: cfg.Registration == "closed",
		RegRate:            offRate(cfg.RegRate),
		AuthFailRate:       offRate(cfg.AuthFailRate),
	}, acc, mb, log.Named("smtp"))
}
