package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestLoadOrCreateMakesAndReloadsPair(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c1, created, err := LoadOrCreate(dir, []string{"mail.example.test", "MAIL.example.test", "10.0.0.7"})
	if err != nil || !created {
		t.Fatalf("first start: created=%v err=%v", created, err)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %o, want 600", st.Mode().Perm())
	}
	leaf, err := x509.ParseCertificate(c1.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("key is %T, want ECDSA P-256", leaf.PublicKey)
	}
	if leaf.IsCA || leaf.KeyUsage&x509.KeyUsageCertSign != 0 {
		t.Fatal("the self-signed certificate can sign other certificates")
	}
	if want := []string{"localhost", "mail.example.test"}; !slices.Equal(leaf.DNSNames, want) {
		t.Fatalf("DNS SANs %v, want %v", leaf.DNSNames, want)
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if want := []string{"127.0.0.1", "::1", "10.0.0.7"}; !slices.Equal(ips, want) {
		t.Fatalf("IP SANs %v, want %v", ips, want)
	}
	c2, created, err := LoadOrCreate(dir, nil)
	if err != nil || created {
		t.Fatalf("second start: created=%v err=%v", created, err)
	}
	if Fingerprint(c1) != Fingerprint(c2) || len(Fingerprint(c1)) != 64 {
		t.Fatalf("fingerprint changed across restarts: %s vs %s", Fingerprint(c1), Fingerprint(c2))
	}
}

func TestLoadOrCreateRefusesHalfAPair(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, CertFile), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(dir, nil); err == nil {
		t.Fatal("a lone cert.pem was accepted or overwritten")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, CertFile)); string(b) != "x" {
		t.Fatal("cert.pem was overwritten")
	}
}

func TestServerConfigHandshakeAndPin(t *testing.T) {
	c, _, err := LoadOrCreate(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", ServerConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	pool := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(c.Certificate[0])
	pool.AddCert(leaf)
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MaxVersion: tls.VersionTLS11})
	if err == nil {
		conn.Close()
		t.Fatal("TLS 1.1 accepted")
	}
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	conn, err = tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("verifying against the cert as a CA: %v", err)
	}
	defer conn.Close()
	if got := FingerprintDER(conn.ConnectionState().PeerCertificates[0].Raw); got != Fingerprint(c) {
		t.Fatalf("peer fingerprint %s, want %s", got, Fingerprint(c))
	}
}
