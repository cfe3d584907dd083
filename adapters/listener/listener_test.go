package listener

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestEchoAndConnFields(t *testing.T) {
	got := make(chan *Conn, 1)
	e := newEnv(t, Config{}, func(c *Conn) {
		got <- c
		echo(c)
	}, nil)
	c := e.dial()
	c.say("hello")
	lc := <-got
	if lc.IP != "127.0.0.1" || lc.Key != "127.0.0.1" || lc.Start.IsZero() || lc.TLS == nil || lc.Raw == nil {
		t.Errorf("conn fields: ip %q key %q start %v", lc.IP, lc.Key, lc.Start)
	}
	if n := e.srv.OpenConns(); n != 1 {
		t.Errorf("OpenConns = %d, want 1", n)
	}
	c.conn.Write([]byte("quit\n"))
	c.closed()
	eventually(t, "the slot to be released", func() bool { return e.srv.OpenConns() == 0 })
	if lc.Context().Err() == nil {
		t.Error("the connection's context outlived its handler")
	}
}

func TestCaps(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // "" means closed without a reply
	}{
		{"global", Config{MaxConns: 2, MaxConnsPerIP: 10, Busy: busyReply}, "BUSY max_conns"},
		{"per ip", Config{MaxConns: 10, MaxConnsPerIP: 2, Busy: busyReply}, "BUSY max_conns_per_ip"},
		{"no Busy: silent", Config{MaxConnsPerIP: 2}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg, echo, nil)
			a, b := e.dial(), e.dial()
			a.say("a")
			b.say("b")
			over, err := e.dialTLS(nil)
			switch {
			case tt.want != "":
				if err != nil {
					t.Fatalf("refused client's handshake: %v", err)
				}
				over.expectLine(tt.want)
				over.closed()
			case err == nil:
				// TLS 1.3 may finish the client's side before the
				// server's close arrives; the first read then fails.
				over.closed()
			}
			a.conn.Write([]byte("quit\n"))
			a.closed()
			eventually(t, "a slot to free up", func() bool { return e.srv.OpenConns() == 1 })
			e.dial().say("c")
		})
	}
}

func TestBusyRepliesAreBounded(t *testing.T) {
	e := newEnv(t, Config{MaxConns: 1, Busy: busyReply}, echo, nil)
	e.dial().say("in")
	// Clients over the cap that never handshake hold every reject slot.
	var raws []net.Conn
	for range maxRejecting {
		raws = append(raws, e.dialRaw())
	}
	eventually(t, "every reject slot taken", func() bool { return e.rejecting() == maxRejecting })
	if c, err := e.dialTLS(nil); err == nil {
		c.closed()
	}
	for _, r := range raws {
		r.Close()
	}
	eventually(t, "the reject slots to free up", func() bool { return e.rejecting() == 0 })
	c, err := e.dialTLS(nil)
	if err != nil {
		t.Fatal(err)
	}
	c.expectLine("BUSY max_conns")
}

func TestHandshakeDeadline(t *testing.T) {
	tests := []struct {
		name  string
		write func(net.Conn) // what the client sends, until the server closes
	}{
		{"silent", func(net.Conn) {}},
		{"trickles its hello", func(c net.Conn) {
			// A TLS handshake record header, then one byte at a time:
			// the deadline is for the whole handshake, not per read.
			c.Write([]byte{0x16, 0x03, 0x01, 0x01, 0x00})
			for {
				time.Sleep(20 * time.Millisecond)
				if _, err := c.Write([]byte{0}); err != nil {
					return
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var served atomic.Int32
			e := newEnv(t, Config{HandshakeTimeout: 200 * time.Millisecond}, func(c *Conn) { served.Add(1) }, nil)
			raw := e.dialRaw()
			go tt.write(raw)
			raw.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err := io.ReadAll(raw)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the client was not dropped")
			}
			eventually(t, "the slot to be released", func() bool { return e.srv.OpenConns() == 0 })
			if served.Load() != 0 {
				t.Error("the handler ran without a handshake")
			}
		})
	}
}

func TestGarbageOnTheTLSPort(t *testing.T) {
	junk := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range junk {
		junk[i] = byte(rng.UintN(256))
	}
	tests := []struct {
		name string
		send []byte
	}{
		{"SMTP in plaintext", []byte("EHLO example.test\r\nMAIL FROM:<a@b>\r\n")},
		{"JSON line in plaintext", []byte(`{"op":"login","user":"bob","password":"x"}` + "\n")},
		{"HTTP", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{"random bytes", junk},
		{"record header with an absurd length", append([]byte{0x16, 0x03, 0x01, 0xff, 0xff}, junk...)},
	}
	var served atomic.Int32
	e := newEnv(t, Config{HandshakeTimeout: time.Second}, func(c *Conn) {
		served.Add(1)
		echo(c)
	}, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := e.dialRaw()
			raw.SetDeadline(time.Now().Add(5 * time.Second))
			raw.Write(tt.send) // may fail once the server has closed
			_, err := io.ReadAll(raw)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the server kept the connection open")
			}
		})
	}
	eventually(t, "every slot to be released", func() bool { return e.srv.OpenConns() == 0 })
	if served.Load() != 0 {
		t.Errorf("the handler ran %d times for garbage", served.Load())
	}
	e.dial().say("still serving")
}

func TestPanicEndsOnlyItsConnection(t *testing.T) {
	tests := []struct {
		name      string
		line      string
		lastWords bool
	}{
		{"in the handler", "panic", true},
		{"in the handler, no last words", "panic", false},
		{"in a goroutine that defers Recover", "gopanic", true},
		{"in the last words too", "panic twice", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zap.ErrorLevel)
			e := newEnv(t, Config{}, func(c *Conn) {
				if tt.lastWords {
					c.OnPanic(func() {
						c.TLS.Write([]byte("LAST WORDS\n"))
						if tt.line == "panic twice" {
							panic("boom in the last words")
						}
					})
				}
				r := bufio.NewReader(c.TLS)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch line {
					case "panic\n", "panic twice\n":
						panic("boom")
					case "gopanic\n":
						done := make(chan struct{})
						go func() {
							defer close(done)
							defer c.Recover()
							panic("boom in a goroutine")
						}()
						<-done
						continue // the next read fails: Recover closed the socket
					}
					c.TLS.Write([]byte(line))
				}
			}, zap.New(core))
			other := e.dial()
			other.say("before")
			c := e.dial()
			c.say("hello")
			c.conn.Write([]byte(tt.line + "\n"))
			if tt.lastWords {
				c.expectLine("LAST WORDS")
			}
			c.closed()
			other.say("after") // the other connection is untouched
			e.dial().say("new")
			eventually(t, "the slot to be released", func() bool { return e.srv.OpenConns() == 2 })
			entries := logs.FilterMessage("panic serving connection").All()
			if len(entries) != 1 {
				t.Fatalf("%d panic log entries, want 1", len(entries))
			}
			fields := entries[0].ContextMap()
			if stack, _ := fields["stack"].(string); !strings.Contains(stack, "TestPanicEndsOnlyItsConnection") {
				t.Errorf("the stack does not show the panicking handler:\n%s", stack)
			}
			if fields["remote"] != "127.0.0.1" {
				t.Errorf("remote = %v", fields["remote"])
			}
		})
	}
}

func TestShutdownWaitsForTheRequestInHand(t *testing.T) {
	release := make(chan struct{})
	inHand := make(chan struct{})
	woken := make(chan struct{})
	e := newEnv(t, Config{}, func(c *Conn) {
		c.OnShutdown(func() { close(woken) })
		r := bufio.NewReader(c.TLS)
		if _, err := r.ReadString('\n'); err != nil {
			return
		}
		close(inHand)
		<-release
		c.TLS.Write([]byte("done\n"))
	}, nil)
	c := e.dial()
	c.conn.Write([]byte("work\n"))
	<-inHand
	shut := make(chan error, 1)
	go func() { shut <- e.srv.Shutdown(context.Background()) }()
	<-woken
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in hand", err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := e.dialTLS(nil); err == nil {
		t.Error("a new connection was served after Shutdown started")
	}
	close(release)
	c.expectLine("done")
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-e.serveCh; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve gave %v, want ErrServerClosed", err)
	}
	e.serveCh <- ErrServerClosed // for the cleanup's check
}

func TestShutdownWakesIdleHandlers(t *testing.T) {
	e := newEnv(t, Config{}, echo, nil)
	a, b := e.dial(), e.dial()
	a.say("a")
	b.say("b")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	a.closed()
	b.closed()
	if n := e.srv.OpenConns(); n != 0 {
		t.Errorf("OpenConns = %d after Shutdown", n)
	}
}

func TestShutdownCutsAndCounts(t *testing.T) {
	ctxErrs := make(chan error, 2)
	e := newEnv(t, Config{}, func(c *Conn) {
		c.TLS.Write([]byte("hi\n"))
		// Deaf to Shutdown: only the cut ends this read.
		c.TLS.Read(make([]byte, 1))
		ctxErrs <- c.Context().Err()
	}, nil)
	a, b := e.dial(), e.dial()
	a.expectLine("hi")
	b.expectLine("hi")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := e.srv.Shutdown(ctx)
	var cut *CutError
	if !errors.As(err, &cut) || cut.Conns != 2 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown gave %v, want a CutError for 2 connections wrapping DeadlineExceeded", err)
	}
	for range 2 {
		if err := <-ctxErrs; !errors.Is(err, context.Canceled) {
			t.Errorf("a cut handler's context: %v", err)
		}
	}
	a.closed()
	b.closed()
}

func TestServeAfterShutdown(t *testing.T) {
	e := newEnv(t, Config{}, echo, nil)
	if err := e.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-e.serveCh; !errors.Is(err, ErrServerClosed) {
		t.Errorf("running Serve gave %v", err)
	}
	e.serveCh <- ErrServerClosed
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown gave %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("Serve after Shutdown left its listener open")
	}
}

func TestServeReturnsListenerErrors(t *testing.T) {
	e := newEnv(t, Config{}, echo, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if err := e.srv.Serve(ln); err == nil || errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve on a closed listener gave %v", err)
	}
	e.dial().say("other listener still serves")
}

var cbcSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
}

func TestOnlyAEADSuites(t *testing.T) {
	tests := []struct {
		name string
		cfg  *tls.Config
		ok   bool
	}{
		{"TLS 1.2, CBC only", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: cbcSuites}, false},
		{"TLS 1.2, AES-GCM", &tls.Config{MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, true},
		{"TLS 1.2, ChaCha20-Poly1305", &tls.Config{MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}, true},
		{"TLS 1.2, CBC first", &tls.Config{MaxVersion: tls.VersionTLS12,
			CipherSuites: append(cbcSuites[:len(cbcSuites):len(cbcSuites)], tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)}, true},
		{"TLS 1.3", &tls.Config{MinVersion: tls.VersionTLS13}, true},
		{"TLS 1.1", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, false},
	}
	e := newEnv(t, Config{}, echo, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := e.dialTLS(tt.cfg)
			if !tt.ok {
				if err == nil {
					t.Fatalf("handshake succeeded with suite %s", tls.CipherSuiteName(c.conn.(*tls.Conn).ConnectionState().CipherSuite))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.say("ok")
			if s := c.conn.(*tls.Conn).ConnectionState().CipherSuite; bytes.Contains([]byte(tls.CipherSuiteName(s)), []byte("CBC")) {
				t.Errorf("negotiated %s", tls.CipherSuiteName(s))
			}
		})
	}
}

// TestCBCControl shows that the CBC-only client of TestOnlyAEADSuites would
// get through a stock Go TLS server: that test fails if the filter goes.
func TestCBCControl(t *testing.T) {
	cert, pool := testCert(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		tc := tls.Server(nc, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		tc.Handshake()
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
		RootCAs: pool, ServerName: "127.0.0.1", MaxVersion: tls.VersionTLS12, CipherSuites: cbcSuites,
	})
	if err != nil {
		t.Fatalf("a stock server refused the CBC client too (%v): TestOnlyAEADSuites proves nothing", err)
	}
	c.Close()
}

func TestServerTLS(t *testing.T) {
	in := &tls.Config{MinVersion: tls.VersionTLS10}
	got := serverTLS(in)
	if got.MinVersion != tls.VersionTLS12 || in.MinVersion != tls.VersionTLS10 {
		t.Errorf("MinVersion %x (input now %x): want 1.2, input untouched", got.MinVersion, in.MinVersion)
	}
	if len(got.CipherSuites) != len(aeadSuites) {
		t.Errorf("suites %v, want the AEAD list", got.CipherSuites)
	}
	mixed := serverTLS(&tls.Config{CipherSuites: append([]uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, cbcSuites...)})
	if len(mixed.CipherSuites) != 1 || mixed.CipherSuites[0] != tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 {
		t.Errorf("a mixed list became %v, want its AEAD suite only", mixed.CipherSuites)
	}
	if v := serverTLS(&tls.Config{MinVersion: tls.VersionTLS13}).MinVersion; v != tls.VersionTLS13 {
		t.Errorf("MinVersion 1.3 lowered to %x", v)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a CBC-only list did not panic")
			}
		}()
		serverTLS(&tls.Config{CipherSuites: cbcSuites})
	}()
}

func TestNewPanicsOnNilDependency(t *testing.T) {
	cert, _ := testCert(t)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	tests := []struct {
		name string
		cfg  Config
		h    Handler
		log  *zap.Logger
	}{
		{"nil TLS", Config{}, echo, zap.NewNop()},
		{"nil handler", Config{TLS: tlsCfg}, nil, zap.NewNop()},
		{"nil logger", Config{TLS: tlsCfg}, echo, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("New did not panic")
				}
			}()
			New(tt.cfg, tt.h, tt.log)
		})
	}
}

func TestCutErrorText(t *testing.T) {
	err := error(&CutError{Conns: 3, Err: context.DeadlineExceeded})
	if !strings.Contains(err.Error(), "3 connection") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v", err)
	}
}

// TestPlainTextReply: a client that speaks plain text to the TLS port
// reads Config.PlainText in clear and is closed at once, not after the
// handshake timeout; TLS clients are unaffected (the byte peeked at goes
// back to the handshake).
func TestPlainTextReply(t *testing.T) {
	const line = "PLAIN: this port speaks TLS\n"
	e := newEnv(t, Config{HandshakeTimeout: 5 * time.Second, PlainText: []byte(line)}, echo, nil)
	for _, send := range []string{"EHLO example.test\r\n", `{"op":"ping"}` + "\n", "x"} {
		raw := e.dialRaw()
		raw.SetDeadline(time.Now().Add(3 * time.Second))
		start := time.Now()
		raw.Write([]byte(send))
		got, err := io.ReadAll(raw)
		if string(got) != line {
			t.Errorf("sent %q: read %q (%v), want %q", send, got, err, line)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("sent %q: closed after %v", send, el)
		}
	}
	eventually(t, "every slot to be released", func() bool { return e.srv.OpenConns() == 0 })
	e.dial().say("TLS still works")
}
