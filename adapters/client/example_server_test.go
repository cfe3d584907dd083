package client

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"mailroom/adapters/argon2"
	"mailroom/adapters/certs"
	"mailroom/adapters/inboxserver"
	"mailroom/adapters/smtpserver"
	"mailroom/adapters/sqlite"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// StartExampleServer runs a real Mailroom (SMTP and inbox servers over TLS,
// a SQLite file in a temporary directory) on 127.0.0.1 for the package's
// runnable Example, which has no *testing.T. It gives the host and ports,
// and a func that stops everything. Test-only: it lives in a _test.go file.
func StartExampleServer() (host string, smtpPort, inboxPort int, stop func()) {
	dir, err := os.MkdirTemp("", "mailroom-example-")
	must(err)
	ctx := context.Background()
	store, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "mail.db")})
	must(err)
	feed := store.Feed(sqlite.FeedConfig{PollInterval: 10 * time.Millisecond})
	acc := account.NewService(store, argon2.New(cheapArgon2, 0), account.Config{Domain: "example.test"}, nil)
	mb := mail.NewService(store, acc, feed, mail.Config{}, nil)
	certPEM, keyPEM, err := certs.SelfSigned(nil, time.Now())
	must(err)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	must(err)
	log := zap.NewNop()
	smtp := smtpserver.New(smtpserver.Config{Hostname: "example.test", TLS: certs.ServerConfig(cert)}, acc, mb, log)
	inbox := inboxserver.New(inboxserver.Config{TLS: certs.ServerConfig(cert)}, acc, mb, feed, log)
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	iln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	done := make(chan struct{}, 2)
	go func() { smtp.Serve(sln); done <- struct{}{} }()
	go func() { inbox.Serve(iln); done <- struct{}{} }()
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		smtp.Shutdown(ctx)
		inbox.Shutdown(ctx)
		<-done
		<-done
		feed.Close()
		store.Close()
		os.RemoveAll(dir)
	}
	return "127.0.0.1", sln.Addr().(*net.TCPAddr).Port, iln.Addr().(*net.TCPAddr).Port, stop
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
