package smtpserver

import (
	"bytes"
	"errors"

	"github.com/emersion/go-sasl"
)

// SASL mechanism names (RFC 4616 PLAIN; LOGIN is the de-facto mechanism of
// draft-murchison-sasl-login).
const (
	mechPlain = "PLAIN"
	mechLogin = "LOGIN"
)

// errMalformedSASL is a client response that does not decode.
var errMalformedSASL = errors.New("smtpserver: malformed SASL response")

// authenticator checks one login. It returns nil or the *smtp.SMTPError to
// answer.
type authenticator func(identity, username, password string) error

// decodePlain splits an RFC 4616 PLAIN message:
// [authzid] NUL authcid NUL passwd, with authcid and passwd non-empty and
// no further NUL.
func decodePlain(msg []byte) (identity, username, password string, err error) {
	parts := bytes.Split(msg, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 || len(parts[2]) == 0 {
		return "", "", "", errMalformedSASL
	}
	return string(parts[0]), string(parts[1]), string(parts[2]), nil
}

// plainServer is PLAIN (RFC 4616). Unlike go-sasl's, a malformed message
// gets an SMTP reply of ours instead of a bare error.
type plainServer struct {
	auth authenticator
	done bool
}

func (s *plainServer) Next(response []byte) (challenge []byte, done bool, err error) {
	if s.done {
		return nil, true, sasl.ErrUnexpectedClientResponse
	}
	if response == nil {
		// No initial response: RFC 4954 §4 empty challenge ("334 ").
		return []byte{}, false, nil
	}
	s.done = true
	identity, username, password, err := decodePlain(response)
	if err != nil {
		return nil, true, replyBadSASLResponse.err()
	}
	return nil, true, s.auth(identity, username, password)
}

// LOGIN challenges. go-smtp base64-encodes them.
var (
	loginUsernameChallenge = []byte("Username:")
	loginPasswordChallenge = []byte("Password:")
)

// loginServer is the LOGIN mechanism: the server asks "Username:" then
// "Password:", and the client answers each (an initial response to AUTH
// LOGIN is taken as the username). go-sasl has only a LOGIN client.
type loginServer struct {
	auth     authenticator
	step     int
	username string
}

func (s *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch s.step {
	case 0:
		if response == nil {
			s.step = 1
			return loginUsernameChallenge, false, nil
		}
		s.step = 1
		fallthrough
	case 1:
		if len(response) == 0 || bytes.IndexByte(response, 0) >= 0 {
			s.step = 3
			return nil, true, replyBadSASLResponse.err()
		}
		s.username = string(response)
		s.step = 2
		return loginPasswordChallenge, false, nil
	case 2:
		s.step = 3
		if len(response) == 0 || bytes.IndexByte(response, 0) >= 0 {
			return nil, true, replyBadSASLResponse.err()
		}
		return nil, true, s.auth("", s.username, string(response))
	}
	return nil, true, sasl.ErrUnexpectedClientResponse
}

// saslLine checks a line that answers a 334 challenge before go-smtp
// decodes it. A line that does not end in CRLF, or is not base64 (RFC 4954
// §4 wants 501; go-smtp answers 454 4.7.0), is handed to go-smtp as "*",
// the client's own cancel, and go-smtp's reply to that (501 5.0.0) is
// replaced by ours (rewrite.go).
func (c *shimConn) saslLine(line []byte) []byte {
	text, crlf := bytes.CutSuffix(line, []byte("\r\n"))
	var r reply
	switch {
	case !crlf:
		r = replyBareLF
	case string(text) == "*" || saslResponseOK(string(text)):
		return line
	default:
		r = replyBadBase64
	}
	c.saslReplace = &r
	return []byte("*\r\n")
}
