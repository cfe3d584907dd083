package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"mailroom/adapters/certs"
	"mailroom/adapters/inboxserver"
	"mailroom/adapters/sqlite"
	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/domain/throttle"
)

// server is what serve needs from an adapter's server.
type server interface {
	Serve(ln net.Listener) error
	Shutdown(ctx context.Context) error
}

// newLogger builds the daemon's logger on w. It never logs passwords, AUTH
// payloads or bodies: the adapters do not hand them to it.
func newLogger(cfg config, w io.Writer) *zap.Logger {
	ec := zap.NewProductionEncoderConfig()
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	ec.EncodeDuration = zapcore.StringDurationEncoder
	var enc zapcore.Encoder
	if cfg.LogFormat == "json" {
		enc = zapcore.NewJSONEncoder(ec)
	} else {
		ec.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), cfg.LogLevel))
}

// offRate is how the servers spell "no budget": their zero Rate means the
// default, so --x-rate off becomes a negative N.
func offRate(r throttle.Rate) throttle.Rate {
	if r.N == 0 {
		return throttle.Rate{N: -1}
	}
	return r
}

// serve runs the servers that mode names ("serve": both, "smtp", "inbox")
// until ctx ends, then shuts them down within cfg.Grace and closes the
// database.
func (c *cli) serve(ctx context.Context, cfg config, mode string) int {
	log := newLogger(cfg, c.stderr)
	defer log.Sync()
	fatal := func(msg string, err error) int {
		log.Error(msg, zap.Error(err))
		return exitError
	}

	// Hold the data directory's lock while the certificate or the schema
	// may be created: see lockDataDir.
	unlock, err := lockDataDir(cfg)
	if err != nil {
		return fatal("data directory", err)
	}
	cert, src, err := loadCert(cfg)
	if err != nil {
		unlock()
		return fatal("certificate", err)
	}
	fingerprint := certs.Fingerprint(cert)
	log.Info("certificate", zap.String("sha256", fingerprint), zap.String("file", src.CertFile), zap.Bool("created", src.Created))
	store, err := openStore(ctx, cfg)
	unlock()
	if err != nil {
		if ctx.Err() != nil {
			log.Info("stopped while starting", zap.Error(err))
			return exitOK
		}
		return fatal("database", err)
	}
	feed := store.Feed(sqlite.FeedConfig{})
	closeDB := func() {
		feed.Close()
		if err := store.Close(); err != nil {
			log.Error("closing the database", zap.Error(err))
		}
	}

	acc := account.NewService(store, newHasher(cfg), account.Config{Domain: cfg.Domain}, nil)
	// Before listening: the first unknown-user login must cost what any
	// failed login costs.
	if err := acc.Warm(ctx); err != nil {
		closeDB()
		return fatal("password hasher", err)
	}
	mb := mail.NewService(store, acc, feed, mail.Config{MaxMessageBytes: cfg.MaxMessage}, nil)
	tlsConf := certs.ServerConfig(cert)

	type running struct {
		name string
		srv  server
		ln   net.Listener
	}
	var servers []running
	closeAll := func() {
		for _, r := range servers {
			r.ln.Close()
		}
	}
	listen := func(name, addr string, srv server) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		servers = append(servers, running{name: name, srv: srv, ln: ln})
		return nil
	}
	if mode == "serve" || mode == "smtp" {
		if err := listen("smtp", cfg.SMTPAddr, newSMTPServer(cfg, tlsConf, acc, mb, log)); err != nil {
			closeAll()
			closeDB()
			return fatal("listen", err)
		}
	}
	if mode == "serve" || mode == "inbox" {
		srv := inboxserver.New(inboxserver.Config{
			TLS:              tlsConf,
			LoginFailRate:    offRate(cfg.AuthFailRate),
			HandshakeTimeout: cfg.HandshakeTimeout,
			IdleTimeout:      cfg.InboxIdleTimeout,
			LoginTimeout:     cfg.InboxLoginTimeout,
			MaxLoginFailures: cfg.MaxAuthFailures,
			MaxConns:         cfg.MaxConns,
			MaxConnsPerIP:    cfg.MaxConnsPerIP,
			MaxLine:          int(cfg.InboxMaxLine),
			SendQueue:        cfg.InboxSendQueue,
			SendQueueBytes:   int(cfg.InboxSendQueueBytes),
		}, acc, mb, feed, log)
		if err := listen("inbox", cfg.InboxAddr, srv); err != nil {
			closeAll()
			closeDB()
			return fatal("listen", err)
		}
	}

	type stopped struct {
		name string
		err  error
	}
	errc := make(chan stopped, len(servers))
	var wg sync.WaitGroup
	for _, r := range servers {
		log.Info("listening", zap.String("adapter", r.name), zap.String("addr", r.ln.Addr().String()))
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- stopped{r.name, r.srv.Serve(r.ln)}
		}()
	}
	log.Info("mailroomd started",
		zap.String("mode", mode), zap.String("version", versionString()),
		zap.String("domain", cfg.Domain), zap.String("registration", cfg.Registration),
		zap.String("data", cfg.DataDir), zap.String("sha256", fingerprint),
		zap.Int("pid", os.Getpid()))

	code := exitOK
	select {
	case <-ctx.Done():
		log.Info("shutting down", zap.Duration("grace", cfg.Grace))
	case st := <-errc:
		// A server stopped on its own (its listener failed): take the
		// others down too, and say so in the exit code.
		log.Error("server stopped", zap.String("adapter", st.name), zap.Error(st.err))
		code = exitError
	}

	sctx, cancel := context.WithTimeout(context.Background(), cfg.Grace)
	defer cancel()
	var swg sync.WaitGroup
	for _, r := range servers {
		swg.Add(1)
		go func() {
			defer swg.Done()
			start := time.Now()
			if err := r.srv.Shutdown(sctx); err != nil {
				log.Warn("grace period over: connections closed", zap.String("adapter", r.name), zap.Error(err))
				return
			}
			log.Info("stopped", zap.String("adapter", r.name), zap.Duration("took", time.Since(start)))
		}()
	}
	swg.Wait()
	wg.Wait()
	close(errc)
	for st := range errc {
		if st.err != nil && !errors.Is(st.err, inboxserver.ErrServerClosed) {
			log.Warn("serve", zap.String("adapter", st.name), zap.Error(st.err))
		}
	}
	closeDB()
	log.Info("mailroomd stopped")
	return code
}
