package listener

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

var (
	certOnce sync.Once
	certTLS  tls.Certificate
	certPool *x509.CertPool
)

// testCert is a self-signed ECDSA certificate for 127.0.0.1, made once.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "listener test"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			panic(err)
		}
		certTLS = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
		certPool = x509.NewCertPool()
		certPool.AddCert(leaf)
	})
	return certTLS, certPool
}

// busyReply is the test servers' Busy: one line naming the cap.
func busyReply(l Limit) []byte { return []byte("BUSY " + l.String() + "\n") }

// echo is a handler that answers each line with itself, ends on "quit",
// and stops at Shutdown between lines.
func echo(c *Conn) {
	c.OnShutdown(func() { c.Raw.SetReadDeadline(time.Now()) })
	r := bufio.NewReader(c.TLS)
	for {
		if c.ShuttingDown() {
			return
		}
		line, err := r.ReadString('\n')
		if err != nil || line == "quit\n" {
			return
		}
		if _, err := c.TLS.Write([]byte(line)); err != nil {
			return
		}
	}
}

// env is a listener Server on 127.0.0.1:0.
type env struct {
	t       *testing.T
	srv     *Server
	addr    string
	pool    *x509.CertPool
	serveCh chan error
}

func newEnv(t *testing.T, cfg Config, h Handler, log *zap.Logger) *env {
	t.Helper()
	cert, pool := testCert(t)
	cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if log == nil {
		log = zaptest.NewLogger(t)
	}
	e := &env{t: t, srv: New(cfg, h, log), pool: pool, serveCh: make(chan error, 1)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	go func() { e.serveCh <- e.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		select {
		case err := <-e.serveCh:
			if !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Shutdown")
		}
	})
	return e
}

// client is one test connection, read line by line.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// dialTLS connects with cfg's TLS settings on top of the test's trust.
func (e *env) dialTLS(cfg *tls.Config) (*client, error) {
	e.t.Helper()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg.RootCAs = e.pool
	cfg.ServerName = "127.0.0.1"
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", e.addr, cfg)
	if err != nil {
		return nil, err
	}
	e.t.Cleanup(func() { conn.Close() })
	return &client{t: e.t, conn: conn, r: bufio.NewReader(conn)}, nil
}

func (e *env) dial() *client {
	e.t.Helper()
	c, err := e.dialTLS(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// dialRaw opens a TCP connection without TLS.
func (e *env) dialRaw() net.Conn {
	e.t.Helper()
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	return conn
}

// readLine gives the next line without its newline, or an error.
func (c *client) readLine() (string, error) {
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := c.r.ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}

// say sends line and expects it back.
func (c *client) say(line string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(line + "\n")); err != nil {
		c.t.Fatal(err)
	}
	got, err := c.readLine()
	if err != nil || got != line {
		c.t.Fatalf("sent %q, got %q, %v", line, got, err)
	}
}

// expectLine reads one line and wants it to be want.
func (c *client) expectLine(want string) {
	c.t.Helper()
	got, err := c.readLine()
	if err != nil || got != want {
		c.t.Fatalf("got %q, %v; want %q", got, err, want)
	}
}

// closed wants the server to have closed the connection: a read ends in
// EOF or a reset, not a timeout.
func (c *client) closed() {
	c.t.Helper()
	got, err := c.readLine()
	var ne net.Error
	switch {
	case err == nil:
		c.t.Fatalf("got %q, want the connection closed", got)
	case errors.As(err, &ne) && ne.Timeout():
		c.t.Fatal("connection still open")
	}
}

// eventually polls cond until it holds, failing after a few seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) rejecting() int {
	e.srv.mu.Lock()
	defer e.srv.mu.Unlock()
	return e.srv.rejecting
}
