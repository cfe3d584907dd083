// Package certs owns the servers' TLS identity: it loads a certificate and
// key pair, or loads (creating on first start) a self-signed ECDSA P-256 pair
// in the data directory, and gives the SHA-256 fingerprint clients pin.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names inside the data directory.
const (
	CertFile = "cert.pem"
	KeyFile  = "key.pem"
)

// Validity of a generated certificate.
const Validity = 10 * 365 * 24 * time.Hour

// Load reads a PEM certificate (chain) and key pair.
func Load(certPath, keyPath string) (tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certs: load certificate %s and key %s: %w", certPath, keyPath, err)
	}
	return c, nil
}

// LoadOrCreate loads dir/cert.pem and dir/key.pem, or, when neither exists,
// creates a self-signed pair valid for hosts (plus localhost, 127.0.0.1 and
// ::1). created reports whether it made a new pair. One file without the
// other is an error: we never overwrite half of an identity.
func LoadOrCreate(dir string, hosts []string) (cert tls.Certificate, created bool, err error) {
	cp, kp := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	_, cerr := os.Stat(cp)
	_, kerr := os.Stat(kp)
	switch {
	case cerr == nil && kerr == nil:
		c, err := Load(cp, kp)
		return c, false, err
	case errors.Is(cerr, os.ErrNotExist) && errors.Is(kerr, os.ErrNotExist):
	default:
		return tls.Certificate{}, false, fmt.Errorf("certs: %s and %s must both exist or both be absent", cp, kp)
	}
	certPEM, keyPEM, err := SelfSigned(hosts, time.Now())
	if err != nil {
		return tls.Certificate{}, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, false, fmt.Errorf("certs: %w", err)
	}
	if err := writeFile(kp, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, false, err
	}
	if err := writeFile(cp, certPEM, 0o644); err != nil {
		os.Remove(kp)
		return tls.Certificate{}, false, err
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	return c, true, err
}

// writeFile writes through a temporary file and a rename, so a crash never
// leaves a truncated key behind.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("certs: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("certs: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("certs: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}

// SelfSigned makes a PEM certificate and PKCS#8 key for an ECDSA P-256
// self-signed server certificate. Its SANs are hosts plus localhost,
// 127.0.0.1 and ::1, deduplicated; IPs become IP SANs.
func SelfSigned(hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Mailroom", Organization: []string{"Mailroom self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(Validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		// Not a CA: a user who installs cert.pem as a trust anchor trusts
		// this one server, not whatever else its key could sign. Clients
		// still trust the file itself as a root (Go and OpenSSL accept a
		// self-signed leaf found in the root store).
		IsCA: false,
	}
	seen := map[string]bool{}
	for _, h := range append([]string{"localhost", "127.0.0.1", "::1"}, hosts...) {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	if len(tmpl.DNSNames) > 0 {
		tmpl.Subject.CommonName = tmpl.DNSNames[len(tmpl.DNSNames)-1]
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// Fingerprint is the lower-case hex SHA-256 of the leaf certificate's DER
// bytes: what clients pin and what `mailroomd cert` prints.
func Fingerprint(c tls.Certificate) string {
	if len(c.Certificate) == 0 {
		return ""
	}
	return FingerprintDER(c.Certificate[0])
}

// FingerprintDER is Fingerprint for raw DER bytes.
func FingerprintDER(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// ServerConfig is the TLS configuration every Mailroom listener uses: TLS
// 1.2 or later with this certificate.
func ServerConfig(c tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12}
}
