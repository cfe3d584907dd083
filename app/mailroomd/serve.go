package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"mailroom/adapters/certs"
	"mailroom/adapters/inboxserver"
	"mailroom/adapters/listener"
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

// serve runs the servers that mode names ("serve": all three, "smtp",
// "inbox", "imap")
// until ctx ends, then shuts them down within cfg.Grace and closes the
// database. It exits 1 when a server stopped on its own or when the grace
// ran out and connections were cut.
func (c *cli) serve(ctx context.Context, cfg config, mode string) int {
	log := newLogger(cfg, c.stderr)
	defer log.Sync()
	if cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.MemoryLimit)
	}
	n, err := build(ctx, cfg, mode, log)
	if err != nil {
		se := stepError{step: "start", err: err}
		errors.As(err, &se)
		errText := scrub(se.err.Error(), urlSecrets(cfg.DB))
		if se.step == "database" && ctx.Err() != nil {
			log.Info("stopped while starting", zap.String("error", errText))
			return exitOK
		}
		log.Error(se.step, zap.String("error", errText), zap.String("db", cfg.DBName()))
		return exitError
	}
	code := n.run(ctx, cfg, mode)
	if !n.shutdown(cfg.Grace) {
		code = exitError
	}
	n.db.close()
	log.Info("mailroomd stopped", zap.Int("exit", code))
	return code
}

// stepError is a start-up failure and the step it happened in, which is
// the message it is logged with.
type stepError struct {
	step string
	err  error
}

func (e stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e stepError) Unwrap() error { return e.err }

// running is one server on its listener.
type running struct {
	name string
	srv  server
	ln   net.Listener
}

// node is one serve run, wired: its servers on their listeners, and the
// database they share.
type node struct {
	log         *zap.Logger
	db          *storeWiring
	servers     []running
	fingerprint string
	// served holds each server's Serve result, once it returns.
	served chan stopped
	wg     sync.WaitGroup
	// up counts the servers whose Serve is running, for /readyz.
	up atomic.Int32
	// obs is the run's metrics and health; nil when --metrics-addr is off.
	obs *observability
	// bound are the listeners opened before the data directory, until
	// add hands them to their servers.
	bound map[string]net.Listener
}

type stopped struct {
	name string
	err  error
}

// build opens the data directory (certificate, database) and the listeners
// that mode names. On error nothing is left open and the error is a
// stepError.
func build(ctx context.Context, cfg config, mode string, log *zap.Logger) (*node, error) {
	bound, err := bindListeners(cfg, mode)
	if err != nil {
		return nil, stepError{"listen", err}
	}
	cert, st, err := openData(ctx, cfg, log)
	if err != nil {
		closeAll(bound)
		return nil, err
	}
	if cfg.Postgres() && cfg.MinFree > 0 {
		// --min-free measures the disk under --data, which holds no mail
		// when PostgreSQL does: PostgreSQL answers for its own disk.
		log.Info("free disk space is not checked: the mail is in PostgreSQL", zap.String("flag", "--min-free"))
		cfg.MinFree = 0
	}
	n := &node{log: log, db: newStoreWiring(st, log), fingerprint: certs.Fingerprint(cert), obs: newObservability(cfg), bound: bound}
	acc := account.NewService(st, newHasher(cfg), accountConfig(cfg), nil)
	// Before listening: the first unknown-user login must cost what any
	// failed login costs.
	if err := acc.Warm(ctx); err != nil {
		closeAll(bound)
		n.db.close()
		return nil, stepError{"password hasher", err}
	}
	mb := mail.NewService(n.obs.store(st), acc, n.db.feed, mail.Config{MaxMessageBytes: cfg.MaxMessage, MaxRecipients: cfg.MaxRecipients}, nil)
	if err := n.listen(cfg, mode, certs.ServerConfig(cert), acc, mb); err != nil {
		n.closeListeners()
		n.db.close()
		return nil, stepError{"listen", err}
	}
	return n, nil
}

// openData takes the data directory's lock while the certificate or the
// schema may be created (see lockDataDir), loads the certificate and opens
// the database.
func openData(ctx context.Context, cfg config, log *zap.Logger) (tls.Certificate, store, error) {
	unlock, err := lockDataDir(cfg, func(msg string) { log.Warn(msg, zap.String("data", cfg.DataDir)) })
	if err != nil {
		return tls.Certificate{}, nil, stepError{"data directory", err}
	}
	defer unlock()
	cert, src, err := loadCert(cfg)
	if err != nil {
		return tls.Certificate{}, nil, stepError{"certificate", err}
	}
	log.Info("certificate", zap.String("sha256", certs.Fingerprint(cert)), zap.String("file", src.CertFile), zap.Bool("created", src.Created))
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return tls.Certificate{}, nil, stepError{"database", err}
	}
	log.Info("database", zap.String("db", cfg.DBName()))
	return cert, st, nil
}

// listen opens a listener for each server mode names, and for pprof when
// --pprof-addr is set.
func (n *node) listen(cfg config, mode string, tc *tls.Config, acc *account.Service, mb *mail.Service) error {
	if mode == "serve" || mode == "smtp" {
		if err := n.add("smtp", cfg.SMTPAddr, newSMTPServer(cfg, tc, n.obs.accounts(acc, "smtp"), mb, n.obs.smtpObserver(), n.log)); err != nil {
			return err
		}
	}
	if mode == "serve" || mode == "inbox" {
		if err := n.add("inbox", cfg.InboxAddr, newInboxServer(cfg, tc, n.obs.accounts(acc, "inbox"), mb, n.db, n.log)); err != nil {
			return err
		}
	}
	if (mode == "serve" && cfg.IMAPAddr != "") || mode == "imap" {
		if cfg.IMAPAddr == "" {
			return fmt.Errorf("imap: --imap-addr is empty")
		}
		if err := n.add("imap", cfg.IMAPAddr, newIMAPServer(cfg, tc, n.obs.accounts(acc, "imap"), mb, n.db, n.log)); err != nil {
			return err
		}
	}
	if cfg.PprofAddr != "" {
		if err := n.add("pprof", cfg.PprofAddr, newPprofServer()); err != nil {
			return err
		}
	}
	if n.obs != nil {
		n.obs.watch(n) // before adding itself: it watches the mail servers
		if err := n.add("metrics", cfg.MetricsAddr, n.obs.server()); err != nil {
			return err
		}
	}
	return nil
}

// add gives srv its listener: the one bindListeners opened for name, else
// a new one on addr.
func (n *node) add(name, addr string, srv server) error {
	ln, ok := n.bound[name]
	delete(n.bound, name)
	if !ok {
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	n.servers = append(n.servers, running{name: name, srv: srv, ln: ln})
	return nil
}

func (n *node) closeListeners() {
	for _, r := range n.servers {
		r.ln.Close()
	}
	closeAll(n.bound)
}

// run serves until ctx ends or a server stops on its own, and gives the
// exit code so far.
func (n *node) run(ctx context.Context, cfg config, mode string) int {
	n.served = make(chan stopped, len(n.servers))
	for _, r := range n.servers {
		n.log.Info("listening", zap.String("adapter", r.name), zap.String("addr", r.ln.Addr().String()))
		n.wg.Add(1)
		n.up.Add(1)
		go func() {
			defer n.wg.Done()
			err := r.srv.Serve(r.ln)
			n.up.Add(-1)
			n.served <- stopped{r.name, err}
		}()
	}
	n.log.Info("mailroomd started",
		zap.String("mode", mode), zap.String("version", versionString()),
		zap.String("domain", cfg.Domain), zap.String("registration", cfg.Registration),
		zap.String("data", cfg.DataDir), zap.String("db", cfg.DBName()), zap.String("sha256", n.fingerprint),
		zap.Int("pid", os.Getpid()))

	select {
	case <-ctx.Done():
		n.log.Info("shutting down", zap.Duration("grace", cfg.Grace))
		return exitOK
	case st := <-n.served:
		// A server stopped on its own (its listener failed): take the
		// others down too, and say so in the exit code.
		n.log.Error("server stopped", zap.String("adapter", st.name), zap.Error(st.err))
		return exitError
	}
}

// shutdown stops every server within grace and waits for their Serve to
// return. It reports false when any server's Shutdown failed: the grace
// ran out and the connections still open were cut, so transfers in flight
// were lost (their clients retry) and the exit code must say so.
func (n *node) shutdown(grace time.Duration) bool {
	n.obs.stopping()
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var mu sync.Mutex
	clean := true
	var swg sync.WaitGroup
	for _, r := range n.servers {
		swg.Add(1)
		go func() {
			defer swg.Done()
			start := time.Now()
			if err := r.srv.Shutdown(sctx); err != nil {
				fields := []zap.Field{zap.String("adapter", r.name), zap.Error(err)}
				// A server on the listener core counts what it cut.
				var cut *listener.CutError
				if errors.As(err, &cut) {
					fields = append(fields, zap.Int("cut", cut.Conns))
				}
				n.log.Error("grace period over: connections cut", fields...)
				mu.Lock()
				clean = false
				mu.Unlock()
				return
			}
			n.log.Info("stopped", zap.String("adapter", r.name), zap.Duration("took", time.Since(start)))
		}()
	}
	swg.Wait()
	n.wg.Wait()
	close(n.served)
	for st := range n.served {
		if st.err != nil && !closedOnPurpose(st.err) {
			n.log.Warn("serve", zap.String("adapter", st.name), zap.Error(st.err))
		}
	}
	return clean
}

// closedOnPurpose reports whether a Serve error only says that Shutdown
// was called.
func closedOnPurpose(err error) bool {
	return errors.Is(err, listener.ErrServerClosed) || errors.Is(err, inboxserver.ErrServerClosed) || errors.Is(err, http.ErrServerClosed)
}
