package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailroom/adapters/certs"
	"mailroom/ports"
)

func pong(string) string { return "250 2.0.0 PONG" }

func TestProbeGivesTheFingerprint(t *testing.T) {
	checkGoroutines(t)
	f := startFakeSMTP(t, pong)
	ep := f.ep
	ep.Fingerprint = "" // Probe needs no trust
	got, err := New(fastConfig()).Probe(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	if got != f.ep.Fingerprint {
		t.Fatalf("Probe = %s, want %s", got, f.ep.Fingerprint)
	}
}

func TestTrust(t *testing.T) {
	checkGoroutines(t)
	f := startFakeSMTP(t, pong)
	_, otherCA := testCert(t)
	pin := f.ep.Fingerprint
	other := certs.FingerprintDER([]byte("another certificate"))
	var colons []string
	for i := 0; i < len(pin); i += 2 {
		colons = append(colons, strings.ToUpper(pin[i:i+2]))
	}
	tests := []struct {
		name    string
		fp, ca  string
		wantErr error
	}{
		{"pinned", pin, "", nil},
		{"pinned with colons and upper case", strings.Join(colons, ":"), "", nil},
		{"changed fingerprint", other, "", ports.ErrFingerprintMismatch},
		{"no pin, no CA", "", "", ports.ErrUntrusted},
		{"malformed pin", "abc", "", ports.ErrUntrusted},
		{"another CA", "", otherCA, ports.ErrUntrusted},
		{"missing CA file", "", "/nonexistent/ca.pem", ports.ErrUntrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := f.ep
			ep.Fingerprint, ep.CAFile = tt.fp, tt.ca
			err := New(fastConfig()).Ping(context.Background(), ep)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Ping = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == ports.ErrFingerprintMismatch {
				for _, want := range []string{"expected " + other, "got " + pin} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
			}
		})
	}
}

func TestTrustCAFile(t *testing.T) {
	checkGoroutines(t)
	cert, caFile := testCert(t)
	srv := startFakeSMTPWith(t, cert, pong)
	ep := srv.ep
	ep.Fingerprint, ep.CAFile = "", caFile
	if err := New(fastConfig()).Ping(context.Background(), ep); err != nil {
		t.Fatalf("Ping with the CA file: %v", err)
	}
	// Both set: both must hold.
	ep.Fingerprint = certs.FingerprintDER([]byte("x"))
	err := New(fastConfig()).Ping(context.Background(), ep)
	if !errors.Is(err, ports.ErrFingerprintMismatch) {
		t.Fatalf("Ping with CA and wrong pin = %v, want ErrFingerprintMismatch", err)
	}
}

func TestTrustCAFileChecksTheName(t *testing.T) {
	checkGoroutines(t)
	// A CA-signed-looking certificate for another name only.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.example.org"},
		DNSNames:  []string{"mail.example.org"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startFakeSMTPWith(t, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pong)
	ep := srv.ep
	ep.Fingerprint, ep.CAFile = "", caFile
	err = New(fastConfig()).Ping(context.Background(), ep)
	if !errors.Is(err, ports.ErrUntrusted) || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("Ping to 127.0.0.1 with a certificate for mail.example.org = %v, want ErrUntrusted", err)
	}
	// The pin alone does not care about names.
	ep.CAFile, ep.Fingerprint = "", certs.FingerprintDER(der)
	if err := New(fastConfig()).Ping(context.Background(), ep); err != nil {
		t.Fatalf("Ping pinned = %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	checkGoroutines(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ep := ports.Endpoint{Host: "127.0.0.1", SMTPPort: port, InboxPort: port, Fingerprint: certs.FingerprintDER(nil)}
	c := New(fastConfig())
	if err := c.Ping(context.Background(), ep); !errors.Is(err, ports.ErrUnreachable) {
		t.Errorf("Ping = %v, want ErrUnreachable", err)
	}
	if _, err := c.Login(context.Background(), ep, "a", "b"); !errors.Is(err, ports.ErrUnreachable) {
		t.Errorf("Login = %v, want ErrUnreachable", err)
	}
	if _, err := c.Probe(context.Background(), ep); !errors.Is(err, ports.ErrUnreachable) {
		t.Errorf("Probe = %v, want ErrUnreachable", err)
	}
}

func TestNormalizeFingerprint(t *testing.T) {
	pin := certs.FingerprintDER([]byte("x"))
	for _, in := range []string{pin, strings.ToUpper(pin), " " + pin + " "} {
		got, err := normalizeFingerprint(in)
		if err != nil || got != pin {
			t.Errorf("normalizeFingerprint(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "zz", pin[:62], pin + "00", "g" + pin[1:]} {
		if _, err := normalizeFingerprint(in); !errors.Is(err, ports.ErrUntrusted) {
			t.Errorf("normalizeFingerprint(%q) = %v, want ErrUntrusted", in, err)
		}
	}
}
