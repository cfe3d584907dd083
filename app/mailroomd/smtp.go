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
	// --min-free 0 turns the check off; so does a system without statfs.
	var freeSpace func() (uint64, error)
	if cfg.MinFree > 0 {
		freeSpace = freeSpaceProbe(cfg.DataDir)
		if freeSpace == nil {
			log.Warn("free disk space is not checked on this system", zap.String("flag", "--min-free"))
		}
	}
	return smtpserver.New(smtpserver.Config{
		Hostname:           cfg.Domain,
		TLS:                tc,
		MaxMessageBytes:    cfg.MaxMessage,
		RegistrationClosed: cfg.Registration == "closed",
		RegRate:            offRate(cfg.RegRate),
		AuthFailRate:       offRate(cfg.AuthFailRate),
		MaxRecipients:      cfg.MaxRecipients,
		MaxConns:           cfg.MaxConns,
		MaxConnsPerIP:      cfg.MaxConnsPerIP,
		HandshakeTimeout:   cfg.HandshakeTimeout,
		ReadTimeout:        cfg.SMTPReadTimeout,
		WriteTimeout:       cfg.SMTPWriteTimeout,
		DataTimeout:        cfg.SMTPDataTimeout,
		SessionTimeout:     cfg.SMTPSessionTimeout,
		AuthTimeout:        cfg.SMTPAuthTimeout,
		MaxInflightBytes:   cfg.MaxInflight,
		MaxAuthFailures:    cfg.MaxAuthFailures,
		MaxLineLength:      cfg.MaxLine,
		MaxProtocolErrors:  cfg.MaxProtocolErrors,
		FreeSpace:          freeSpace,
		MinFreeBytes:       cfg.MinFree,
	}, acc, mb, log.Named("smtp"))
}
