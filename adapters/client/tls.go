package client

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"mailroom/ports"
)

// fingerprint is the lower-case hex SHA-256 of DER bytes, the form
// `mailroomd cert` prints. (adapters/certs has the same function; adapters
// do not import each other.)
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// normalizeFingerprint drops colons, spaces and case, and checks that what
// is left is 64 hex digits.
func normalizeFingerprint(s string) (string, error) {
	s = strings.ToLower(strings.NewReplacer(":", "", " ", "", "-", "").Replace(strings.TrimSpace(s)))
	if len(s) != 2*sha256.Size {
		return "", fmt.Errorf("%w: pinned fingerprint %q is not a SHA-256 in hex", ports.ErrUntrusted, s)
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", fmt.Errorf("%w: pinned fingerprint %q is not a SHA-256 in hex", ports.ErrUntrusted, s)
	}
	return s, nil
}

// tlsConfig builds the trust decision for ep: a pinned fingerprint, a CA
// file, or both (then both must hold). With neither it refuses to connect.
//
// Verification runs in VerifyConnection with InsecureSkipVerify set, the
// documented way to replace crypto/tls's own check, so that every refusal
// wraps ports.ErrFingerprintMismatch or ports.ErrUntrusted.
func tlsConfig(ep ports.Endpoint) (*tls.Config, error) {
	if ep.Fingerprint == "" && ep.CAFile == "" {
		return nil, fmt.Errorf("%w: no pinned fingerprint and no CA file for %s", ports.ErrUntrusted, ep.Host)
	}
	var pin string
	if ep.Fingerprint != "" {
		var err error
		if pin, err = normalizeFingerprint(ep.Fingerprint); err != nil {
			return nil, err
		}
	}
	var roots *x509.CertPool
	if ep.CAFile != "" {
		pem, err := os.ReadFile(ep.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: reading CA file: %v", ports.ErrUntrusted, err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: no PEM certificate in %s", ports.ErrUntrusted, ep.CAFile)
		}
	}
	host := ep.Host
	return &tls.Config{
		ServerName:         host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by VerifyConnection below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("%w: the server sent no certificate", ports.ErrUntrusted)
			}
			leaf := cs.PeerCertificates[0]
			if pin != "" {
				if got := fingerprint(leaf.Raw); got != pin {
					return fmt.Errorf("%w: expected %s, got %s", ports.ErrFingerprintMismatch, pin, got)
				}
			}
			if roots != nil {
				inter := x509.NewCertPool()
				for _, c := range cs.PeerCertificates[1:] {
					inter.AddCert(c)
				}
				_, err := leaf.Verify(x509.VerifyOptions{
					DNSName:       host,
					Roots:         roots,
					Intermediates: inter,
					KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
				})
				if err != nil {
					return fmt.Errorf("%w: %v", ports.ErrUntrusted, err)
				}
			}
			return nil
		},
	}, nil
}

// probeTLS accepts any certificate and records the leaf's fingerprint.
func probeTLS(host string, fp *string) *tls.Config {
	return &tls.Config{
		ServerName:         host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // trust on first use: the caller decides
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("%w: the server sent no certificate", ports.ErrUntrusted)
			}
			*fp = fingerprint(cs.PeerCertificates[0].Raw)
			return nil
		},
	}
}

// dial connects to addr with ep's trust settings.
func (c *Client) dial(ctx context.Context, addr string, ep ports.Endpoint) (*tls.Conn, error) {
	cfg, err := tlsConfig(ep)
	if err != nil {
		return nil, err
	}
	return c.dialTLS(ctx, addr, cfg)
}

// dialTLS connects and runs the handshake under DialTimeout, with the
// deadline set before the handshake starts. Failures other than trust wrap
// ports.ErrUnreachable.
func (c *Client) dialTLS(ctx context.Context, addr string, cfg *tls.Config) (*tls.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	d := net.Dialer{}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, netError(ctx, fmt.Errorf("dial %s: %w", addr, err))
	}
	deadline, _ := ctx.Deadline()
	raw.SetDeadline(deadline)
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		if errors.Is(err, ports.ErrFingerprintMismatch) || errors.Is(err, ports.ErrUntrusted) {
			return nil, err
		}
		return nil, netError(ctx, fmt.Errorf("TLS handshake with %s: %w", addr, err))
	}
	raw.SetDeadline(time.Time{})
	return conn, nil
}

// netError wraps err in ports.ErrUnreachable, unless the caller's context
// was cancelled, which is the caller's doing and is returned as such. A
// deadline that passed wraps both ErrUnreachable and DeadlineExceeded.
func netError(ctx context.Context, err error) error {
	cerr := context.Cause(ctx)
	if dl, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(dl) {
		// The connection's deadline, set from ctx's, fired first.
		cerr = context.DeadlineExceeded
	}
	switch {
	case cerr == nil:
		return fmt.Errorf("%w: %v", ports.ErrUnreachable, err)
	case errors.Is(cerr, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w: %v", ports.ErrUnreachable, cerr, err)
	default:
		return fmt.Errorf("%w: %v", cerr, err)
	}
}

// deadline gives the earlier of ctx's deadline and now+d.
func deadline(ctx context.Context, d time.Duration) time.Time {
	t := time.Now().Add(d)
	if dl, ok := ctx.Deadline(); ok && dl.Before(t) {
		return dl
	}
	return t
}

// watchCtx makes conn's pending IO fail when ctx ends; call the returned
// stop when the IO is over. Set later deadlines with setDeadline, which
// cannot undo it.
func watchCtx(ctx context.Context, conn net.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
}

// setDeadline gives conn a deadline for one exchange, the earlier of ctx's
// and now+d, and fails if ctx has ended. Without that check a cancel that
// came before the call would be lost: watchCtx's deadline in the past,
// already set, is overwritten here, and the exchange runs to its timeout.
func setDeadline(ctx context.Context, conn net.Conn, d time.Duration) error {
	conn.SetDeadline(deadline(ctx, d))
	return ctx.Err()
}
