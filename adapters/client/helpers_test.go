package client

import (
	"bufio"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mailroom/adapters/certs"
	"mailroom/ports"
)

// testCert makes a self-signed pair for 127.0.0.1 and writes its PEM to a
// file usable as Endpoint.CAFile.
func testCert(t *testing.T) (cert tls.Certificate, caFile string) {
	t.Helper()
	certPEM, keyPEM, err := certs.SelfSigned(nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, caFile
}

// fakeSMTP is a scripted SMTP server over implicit TLS: it greets, answers
// EHLO and QUIT itself, and asks reply for every other line. An empty reply
// writes nothing (for the lines of a message after DATA).
type fakeSMTP struct {
	ep    ports.Endpoint
	mu    sync.Mutex
	lines []string // commands received, EHLO and QUIT included
}

func startFakeSMTP(t *testing.T, reply func(line string) string) *fakeSMTP {
	t.Helper()
	cert, _ := testCert(t)
	return startFakeSMTPWith(t, cert, reply)
}

func startFakeSMTPWith(t *testing.T, cert tls.Certificate, reply func(line string) string) *fakeSMTP {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", certs.ServerConfig(cert))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSMTP{}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				if _, err := c.Write([]byte("220 fake ESMTP\r\n")); err != nil {
					return
				}
				for {
					l, err := br.ReadString('\n')
					if err != nil {
						return
					}
					l = strings.TrimRight(l, "\r\n")
					f.mu.Lock()
					f.lines = append(f.lines, l)
					f.mu.Unlock()
					var r string
					switch verb, _, _ := strings.Cut(l, " "); strings.ToUpper(verb) {
					case "EHLO":
						r = "250-fake\r\n250 AUTH PLAIN"
					case "QUIT":
						c.Write([]byte("221 2.0.0 bye\r\n"))
						return
					default:
						r = reply(l)
					}
					if r == "" {
						continue
					}
					if _, err := c.Write([]byte(r + "\r\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	f.ep = ports.Endpoint{Host: "127.0.0.1", SMTPPort: port, Fingerprint: certs.Fingerprint(cert)}
	return f
}

func (f *fakeSMTP) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lines...)
}

// checkGoroutines fails the test if, after it, more goroutines run than
// before it (a leak), allowing a moment for the exiting ones.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		var now int
		for i := 0; i < 100; i++ {
			now = runtime.NumGoroutine()
			if now <= before {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Errorf("goroutines: %d before, %d after; stacks:\n%s", before, now, buf[:n])
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

func fastConfig() Config {
	return Config{
		DialTimeout:  5 * time.Second,
		IOTimeout:    5 * time.Second,
		MinBackoff:   20 * time.Millisecond,
		MaxBackoff:   200 * time.Millisecond,
		PingInterval: time.Second,
	}
}
