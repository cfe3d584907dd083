package main

import (
	"crypto/tls"

	"go.uber.org/zap"

	"mailroom/adapters/smtpserver"
	"mailroom/domain/mail"
)

// newSMTPServer wires the SMTP adapter from the daemon's settings.
func newSMTPServer(cfg config, tc *tls.Config, acc smtpserver.Accounts, mb *mail.Service, obs smtpserver.Observer, log *zap.Logger) server {
	// --min-free 0 turns the check off; so does a system without statfs.
	var freeSpace func() (uint64, error)
	if cfg.MinFree > 0 {
		freeSpace = freeSpaceProbe(cfg.DataDir)
		if freeSpace == nil {
			log.Warn("free disk space is not checked on this system", zap.String("flag", "--min-free"))
		}
	}
	return smtpserver.New(smtpserver.Config{
		// Registration policy, login and REG budgets: the account
		// service's (accountConfig); the recipient cap: the mail service's.
		Hostname:          cfg.Domain,
		TLS:               tc,
		MaxMessageBytes:   cfg.MaxMessage,
		MaxConns:          cfg.MaxConns,
		MaxConnsPerIP:     cfg.MaxConnsPerIP,
		HandshakeTimeout:  cfg.HandshakeTimeout,
		ReadTimeout:       cfg.SMTPReadTimeout,
		WriteTimeout:      cfg.SMTPWriteTimeout,
		DataTimeout:       cfg.SMTPDataTimeout,
		SessionTimeout:    cfg.SMTPSessionTimeout,
		AuthTimeout:       cfg.SMTPAuthTimeout,
		MaxInflightBytes:  cfg.MaxInflight,
		MaxAuthFailures:   cfg.MaxAuthFailures,
		MaxLineLength:     cfg.MaxLine,
		MaxProtocolErrors: cfg.MaxProtocolErrors,
		FreeSpace:         freeSpace,
		MinFreeBytes:      cfg.MinFree,
		Observer:          obs,
	}, acc, mb, log.Named("smtp"))
}
