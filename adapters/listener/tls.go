package listener

import (
	"crypto/tls"
	"slices"
)

// aeadSuites are the TLS 1.2 suites a Mailroom listener offers: ECDHE key
// exchange (forward secrecy) with an AEAD cipher. CBC suites, which Go
// still enables by default, are left out: they are the ones with a history
// of padding-oracle and timing attacks (Lucky13), and every client that
// speaks TLS 1.2 has GCM. TLS 1.3's suites are all AEAD and not
// configurable.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// serverTLS is in with TLS 1.2 at least and AEAD suites only. It panics
// when in names cipher suites and none of them is AEAD: a wiring error.
func serverTLS(in *tls.Config) *tls.Config {
	c := in.Clone()
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	if len(c.CipherSuites) == 0 {
		c.CipherSuites = slices.Clone(aeadSuites)
		return c
	}
	c.CipherSuites = slices.DeleteFunc(slices.Clone(c.CipherSuites), func(id uint16) bool {
		return !slices.Contains(aeadSuites, id)
	})
	if len(c.CipherSuites) == 0 {
		panic("listener: TLS.CipherSuites holds no ECDHE AEAD suite")
	}
	return c
}
