package smtpserver

// What the shim mirrors of go-smtp's internals, and nothing else.
//
// The shim stands between the client and go-smtp (shim.go says why), so it
// must know, byte for byte, where go-smtp's own parsing will put a command
// line, the end of a message and the end of a BDAT chunk: were the two to
// disagree, bytes the client sent as message content could be read as
// commands (SMTP smuggling), or a command could be swallowed as content.
// go-smtp exports none of this, so it is copied here from the version
// below (mirroredGoSMTP); TestGoSMTPMirrorVersion fails when go.mod moves
// go-smtp off it. After an upgrade, compare each piece with the file named
// on it, then update mirroredGoSMTP.

import (
	"bytes"
	"encoding/base64"
	"math"
	"strconv"
	"strings"
)

// mirroredGoSMTP is the go-smtp version (go.mod) this file mirrors.
const mirroredGoSMTP = "v0.25.1"

// goSMTPDataOK is the reply go-smtp's conn.go (handleData, handleBdat)
// gives an accepted message; rewrite.go words it as ours.
const goSMTPDataOK = "250 2.0.0 OK: queued\r\n"

// The states of go-smtp's dataReader (data.go), mirrored exactly.
const (
	dsBeginLine = iota
	dsDot
	dsDotCR
	dsCR
	dsData
	dsEOF
)

// dataStep is go-smtp's dataReader transition function (data.go): only
// CRLF "." CRLF reaches dsEOF.
func dataStep(state int, b byte) int {
	switch state {
	case dsBeginLine:
		switch b {
		case '.':
			return dsDot
		case '\r':
			return dsCR
		}
	case dsDot:
		if b == '\r' {
			return dsDotCR
		}
	case dsDotCR:
		if b == '\n' {
			return dsEOF
		}
	case dsCR:
		if b == '\n' {
			return dsBeginLine
		}
	case dsData:
		if b == '\r' {
			return dsCR
		}
	}
	return dsData
}

// decodeData is go-smtp's dataReader.Read (data.go) over a block: it
// appends to out what dataReader would give for in, starting in state, and
// reports the state after the bytes it used. It stops after the end marker
// (dsEOF), and uses all of in otherwise. Like dataReader, it drops a dot
// at a line's start, and also the CR of a ".\r" not followed by LF.
// In the middle of a line (dsData) only CR changes the state, so a run up
// to the next CR is copied at once: that is what makes it fast.
func decodeData(state int, in, out []byte) (int, int, []byte) {
	i := 0
	for i < len(in) {
		if state == dsData {
			j := bytes.IndexByte(in[i:], '\r')
			if j < 0 {
				return state, len(in), append(out, in[i:]...)
			}
			out = append(out, in[i:i+j+1]...)
			i += j + 1
			state = dsCR
			continue
		}
		b := in[i]
		i++
		switch state {
		case dsBeginLine:
			if b == '.' {
				state = dsDot
				continue
			}
		case dsDot:
			if b == '\r' {
				state = dsDotCR
				continue
			}
		case dsDotCR:
			if b == '\n' {
				return dsEOF, i, out
			}
		}
		state = dataStep(state, b)
		out = append(out, b)
	}
	return state, i, out
}

// saslResponseOK mirrors go-smtp's decodeSASLResponse (conn.go): "=" is
// an empty response, anything else must be standard base64.
func saslResponseOK(s string) bool {
	if s == "=" {
		return true
	}
	_, err := base64.StdEncoding.DecodeString(s)
	return err == nil
}

// authInitialResponse mirrors how go-smtp's handleAuth (conn.go) finds an
// AUTH command's initial response: the second field of the arguments.
func authInitialResponse(text string) (string, bool) {
	if len(text) < 5 {
		return "", false
	}
	parts := strings.Fields(text[5:])
	if len(parts) < 2 {
		return "", false
	}
	return parts[1], true
}

// goSMTPVerbs are the verbs go-smtp's (*Conn).handle (conn.go) knows
// (HELP is ours).
var goSMTPVerbs = map[string]bool{
	"HELO": true, "EHLO": true, "LHLO": true, "MAIL": true, "RCPT": true,
	"DATA": true, "BDAT": true, "RSET": true, "NOOP": true, "QUIT": true,
	"VRFY": true, "AUTH": true, "STARTTLS": true, "SEND": true, "SOML": true,
	"SAML": true, "EXPN": true, "TURN": true,
}

// goSMTPVerb mirrors go-smtp's parseCmd (parse.go): it reports the verb
// go-smtp would dispatch for line, and false when go-smtp would call it a
// syntax error or an unknown command.
func goSMTPVerb(line string) (string, bool) {
	if strings.HasPrefix(strings.ToUpper(line), "STARTTLS") {
		return "STARTTLS", true
	}
	var v string
	switch {
	case len(line) < 4 || len(line) == 5:
		return "", false
	case len(line) == 4:
		v = line
	case line[4] != ' ':
		return "", false
	default:
		v = line[:4]
	}
	v = strings.ToUpper(v)
	return v, goSMTPVerbs[v]
}

// bdatSize mirrors go-smtp's handleBdat argument checks (conn.go): ok means
// go-smtp will read exactly size bytes of chunk after the command line.
func bdatSize(line string) (size int64, ok bool) {
	if len(line) < 5 {
		return 0, false
	}
	args := strings.Fields(strings.TrimSpace(line[5:]))
	if len(args) == 0 || len(args) > 2 {
		return 0, false
	}
	if len(args) == 2 && !strings.EqualFold(args[1], "LAST") {
		return 0, false
	}
	n, err := strconv.ParseUint(args[0], 10, 32)
	if err != nil {
		return 0, false
	}
	return int64(n), true
}

// clampSize rewrites a MAIL FROM SIZE= value of more digits than go-smtp
// parses (handleMail in conn.go takes 32 bits and calls a larger number a
// syntax error) to the largest it does, so that an oversized declaration
// gets go-smtp's 552 5.3.4 like any other (RFC 1870 §6.1).
func clampSize(line []byte) (out []byte, ok bool) {
	const verb = "MAIL FROM:"
	if len(line) < len(verb) || !strings.EqualFold(string(line[:len(verb)]), verb) {
		return line, false
	}
	fields := strings.Split(string(trimEOL(line)), " ")
	for i, f := range fields {
		k, v, found := strings.Cut(f, "=")
		if !found || !strings.EqualFold(k, "SIZE") || v == "" || strings.Trim(v, "0123456789") != "" {
			continue
		}
		if _, err := strconv.ParseUint(v, 10, 32); err != nil {
			fields[i] = k + "=" + strconv.FormatUint(math.MaxUint32, 10)
			ok = true
		}
	}
	if !ok {
		return line, false
	}
	return []byte(strings.Join(fields, " ") + "\r\n"), true
}
