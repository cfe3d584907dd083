package smtpserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// fuzzConn is the client side of a session: Read yields the input in
// chunks of a fuzzed size, then EOF; Write collects the replies.
type fuzzConn struct {
	in    []byte
	chunk int
	out   bytes.Buffer
}

func (c *fuzzConn) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.chunk, len(c.in))
	copy(p, c.in[:n])
	c.in = c.in[n:]
	return n, nil
}

func (c *fuzzConn) Write(p []byte) (int, error)          { return c.out.Write(p) }
func (c *fuzzConn) Close() error                         { return nil }
func (c *fuzzConn) LocalAddr() net.Addr                  { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 465} }
func (c *fuzzConn) RemoteAddr() net.Addr                 { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 4242} }
func (c *fuzzConn) SetDeadline(time.Time) error          { return nil }
func (c *fuzzConn) SetReadDeadline(time.Time) error      { return nil }
func (c *fuzzConn) SetWriteDeadline(time.Time) error     { return nil }
func (c *fuzzConn) ConnectionState() tls.ConnectionState { return tls.ConnectionState{} }

// oneConnListener gives go-smtp a single connection.
type oneConnListener struct {
	once sync.Once
	c    net.Conn
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	var c net.Conn
	l.once.Do(func() { c = l.c })
	if c == nil {
		return nil, net.ErrClosed
	}
	return c, nil
}
func (l *oneConnListener) Close() error   { return nil }
func (l *oneConnListener) Addr() net.Addr { return &net.TCPAddr{} }

// runSession plays input through the shim and go-smtp and gives the
// replies and the delivered messages.
func runSession(t testing.TB, input []byte, chunk int) (string, [][]byte) {
	store := &fakeStore{}
	srv := New(Config{TLS: &tls.Config{}, MaxMessageBytes: 4096, MaxLineLength: 200, MaxProtocolErrors: 50},
		fakeAccounts{}, fakeMailboxes(store), nopLog())
	fc := &fuzzConn{in: input, chunk: max(chunk, 1)}
	sh := newShim(srv, fc, testPeer())
	srv.smtp.Serve(&oneConnListener{c: sh})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.smtp.Shutdown(ctx); err != nil && err != smtp.ErrServerClosed {
		t.Fatalf("session did not end: %v", err)
	}
	return fc.out.String(), store.messages()
}

var replyLineRE = regexp.MustCompile(`^[2-5][0-9][0-9][ -][^\r\n]*$`)

func fuzzSeeds(f *testing.F) {
	auth := "AUTH PLAIN " + plainIR("", "alice", "password-alice") + "\r\n"
	for _, s := range []string{
		"EHLO x\r\nPING\r\nQUIT\r\n",
		"EHLO x\r\n" + auth + "MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n..dot\r\n.\r\nPING\r\nQUIT\r\n",
		"EHLO x\r\n" + auth + "MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob>\r\nDATA\r\nx\n.\nPING\r\n\r\n.\r\nGETUSER bob\r\n",
		"EHLO x\r\n" + auth + "MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob>\r\nBDAT 6\r\nPING\r\nBDAT 0 LAST\r\nPING\r\n",
		"EHLO x\r\nAUTH LOGIN\r\nUElORw==\r\n" + b64("password-alice") + "\r\nGET USER alice\r\n",
		"EHLO x\r\nAUTH LOGIN " + b64("alice") + "\r\n" + b64("password-alice") + "\r\nGETUSER\r\n",
		"REG carol password1\r\nREG alice password1\r\nREG x\r\nHELP\r\nSTARTTLS\r\n",
		"PING\r\n" + strings.Repeat("A", 300) + "\r\nPING\r\n",
		"EHLO x\r\n" + auth + "MAIL FROM:<alice@example.test> SIZE=99999999999\r\nRCPT TO:bob\r\n",
		"\r\n\n \r\nFOO\r\nBDAT\r\nBDAT 5 NOTLAST\r\nBDAT 3\r\nabcDATA\r\n",
		"EHLO x\r\n" + auth + "MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob>\r\nDATA\r\n\r\r\n.\r\n.\rX\r\n.\r\nQUIT\r\n",
		// Strict line ends and SASL base64 (issue 9).
		"EHLO x\r\nPING\nAUTH PLAIN !!!not-base64!!!\r\nAUTH LOGIN\r\n!!!\r\nAUTH LOGIN\r\nYQ==\nAUTH PLAIN\r\n*\r\nPING\r\n",
		// Bare LF and CR in content, stored as CRLF and as sent.
		"EHLO x\r\n" + auth + "MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob>\r\nDATA\r\na\nb\rc\n\n.\n\r\n.\r\nBDAT 4 LAST\r\nx\ny\nPING\r\n",
	} {
		f.Add([]byte(s), 1)
		f.Add([]byte(s), 7)
		f.Add([]byte(s), 4096)
	}
}

// FuzzShim drives whole sessions through the verb shim and go-smtp. Every
// byte out must belong to a well-formed reply line, nothing may panic
// (go-smtp turns a panic in a handler into "421 4.0.0 Internal server
// error"), and the session must end when the input does.
func FuzzShim(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, input []byte, chunk int) {
		if chunk < 0 {
			chunk = -chunk
		}
		out, delivered := runSession(t, input, chunk%5000+1)
		if !strings.HasSuffix(out, "\r\n") && out != "" {
			t.Fatalf("output does not end a line: %q", out)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
		if !strings.HasPrefix(lines[0], "220 ") {
			t.Fatalf("no greeting: %q", lines[0])
		}
		for _, l := range lines {
			if !replyLineRE.MatchString(l) {
				t.Fatalf("malformed reply line %q in\n%s", l, out)
			}
			if strings.Contains(l, "Internal server error") {
				t.Fatalf("handler panicked:\n%s", out)
			}
		}
		for _, m := range delivered {
			if len(m) > 4096+1024 {
				t.Fatalf("delivered %d bytes over the limit", len(m))
			}
		}
	})
}

func TestShimSeeds(t *testing.T) {
	// The seeds' expected replies, spot-checked, so the fuzz harness is
	// known to exercise what it claims.
	out, delivered := runSession(t, []byte("EHLO x\r\nAUTH PLAIN "+plainIR("", "alice", "password-alice")+
		"\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<bob>\r\nDATA\r\nx\n.\nPING\r\n\r\n.\r\nPING\r\nQUIT\r\n"), 3)
	for _, want := range []string{"\r\n235 ", "\r\n354 ", "\r\n250 2.0.0 OK", "\r\n250 2.0.0 PONG\r\n221 "} {
		if !strings.Contains(out, want) {
			t.Errorf("replies lack %q:\n%s", want, out)
		}
	}
	// Content is stored with bare LFs as CRLF (after the end was found).
	if len(delivered) != 1 || !bytes.HasSuffix(delivered[0], []byte("\r\nx\r\n.\r\nPING\r\n\r\n")) {
		t.Errorf("delivered %q", delivered)
	}
}

// FuzzDecodePlain checks the PLAIN decoder against its grammar.
func FuzzDecodePlain(f *testing.F) {
	for _, s := range []string{"\x00alice\x00pw", "authz\x00alice\x00pw", "", "\x00\x00", "a\x00b", "a\x00b\x00c\x00d", "\x00alice\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		id, user, pass, err := decodePlain(msg)
		if err != nil {
			if bytes.Count(msg, []byte{0}) == 2 && !bytes.Contains(msg, []byte{0, 0}) && !bytes.HasSuffix(msg, []byte{0}) {
				t.Fatalf("refused well-formed %q", msg)
			}
			return
		}
		if user == "" || pass == "" || strings.ContainsRune(id+user+pass, 0) {
			t.Fatalf("decoded %q into %q %q %q", msg, id, user, pass)
		}
		if got := id + "\x00" + user + "\x00" + pass; got != string(msg) {
			t.Fatalf("round trip %q != %q", got, msg)
		}
	})
}

// FuzzSASL drives the PLAIN and LOGIN servers with fuzzed responses (split
// on '\n', base64-decoded as go-smtp would) and checks each finishes within
// its steps and calls the authenticator at most once, with input bytes.
func FuzzSASL(f *testing.F) {
	f.Add(true, plainIR("", "alice", "pw")+"\n")
	f.Add(false, "\n"+b64("alice")+"\n"+b64("pw"))
	f.Add(false, b64("alice")+"\n"+b64("pw"))
	f.Add(true, "\n=\n")
	f.Add(false, "=\n=\n=\n=")
	f.Add(true, "!!\n")
	f.Fuzz(func(t *testing.T, plain bool, script string) {
		calls := 0
		var seen []string // the decoded responses given so far
		auth := func(identity, username, password string) error {
			calls++
			ok := false
			for i, r := range seen {
				ok = ok || r == identity+"\x00"+username+"\x00"+password ||
					identity == "" && r == username && i+1 < len(seen) && seen[i+1] == password
			}
			if !ok {
				t.Fatalf("authenticator got %q %q %q, not from the responses %q", identity, username, password, seen)
			}
			return nil
		}
		var s interface {
			Next([]byte) ([]byte, bool, error)
		}
		if plain {
			s = &plainServer{auth: auth}
		} else {
			s = &loginServer{auth: auth}
		}
		steps := strings.Split(script, "\n")
		var resp []byte // nil first: no initial response
		if steps[0] != "" {
			resp, _ = decodeB64(steps[0])
		}
		steps = steps[1:]
		for i := 0; ; i++ {
			if i > 3 {
				t.Fatalf("no end after %d steps", i)
			}
			if resp != nil {
				seen = append(seen, string(resp))
			}
			_, done, err := s.Next(resp)
			if done || err != nil {
				break
			}
			if len(steps) == 0 {
				break
			}
			var derr error
			if resp, derr = decodeB64(steps[0]); derr != nil {
				break // go-smtp answers 454 itself
			}
			steps = steps[1:]
		}
		if calls > 1 {
			t.Fatalf("authenticator called %d times", calls)
		}
	})
}

// decodeB64 is go-smtp's decodeSASLResponse: "=" is an empty response.
func decodeB64(s string) ([]byte, error) {
	if s == "=" {
		return []byte{}, nil
	}
	return base64Std.DecodeString(s)
}

var base64Std = base64.StdEncoding
