package listener

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"time"

	"go.uber.org/zap"
)

// recordTypeHandshake is the first byte of every TLS ClientHello: the
// record layer's content type "handshake" (RFC 8446 §5.1, RFC 5246 §6.2.1).
const recordTypeHandshake = 0x16

// errPlainText is a client that spoke plain text to the implicit-TLS port.
var errPlainText = errors.New("listener: plain text on the TLS port")

// handshake runs the server side of TLS on nc, under the deadline the
// caller set. It first reads one byte: a client whose first byte cannot
// start a TLS record is answered Config.PlainText (if any) and refused
// with errPlainText. The byte is handed back to the TLS stack in front of
// the rest, so the handshake reads the very bytes the client sent.
func (s *Server) handshake(nc net.Conn) (*tls.Conn, error) {
	var first [1]byte
	if _, err := io.ReadFull(nc, first[:]); err != nil {
		return nil, err
	}
	if first[0] != recordTypeHandshake {
		s.sayPlainText(nc)
		return nil, errPlainText
	}
	tc := tls.Server(&peekedConn{Conn: nc, first: first[:]}, s.cfg.TLS)
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	return tc, nil
}

// sayPlainText writes Config.PlainText to a plaintext client and lingers
// a little, reading what it sent, so that closing with its input unread
// (a TCP reset) does not destroy the line before the client reads it.
func (s *Server) sayPlainText(nc net.Conn) {
	if s.cfg.PlainText == nil {
		return
	}
	if _, err := nc.Write(s.cfg.PlainText); err != nil {
		return
	}
	if tcp, ok := nc.(*net.TCPConn); ok {
		tcp.CloseWrite() // FIN
	}
	nc.SetReadDeadline(time.Now().Add(rejectLinger))
	io.CopyN(io.Discard, nc, rejectLingerBytes)
}

// peekedConn gives back the byte handshake read before the rest of the
// connection.
type peekedConn struct {
	net.Conn
	first []byte
}

func (c *peekedConn) Read(p []byte) (int, error) {
	if len(c.first) > 0 && len(p) > 0 {
		n := copy(p, c.first)
		c.first = c.first[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// logHandshake logs a failed handshake at debug level: a port scanner or a
// client with the wrong settings, nothing an operator must act on.
func (s *Server) logHandshake(ip string, err error) {
	if errors.Is(err, errPlainText) {
		s.log.Debug("plain text on the TLS port", zap.String("remote", ip),
			zap.Bool("answered", s.cfg.PlainText != nil))
		return
	}
	s.log.Debug("tls handshake", zap.String("remote", ip), zap.Error(err))
}
