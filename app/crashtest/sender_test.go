package crashtest

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"
)

// point is where in a transaction the killer may strike.
type point int

const (
	afterAck point = iota // the 250 after DATA has just been read
	midData               // half the message has been written
	afterDot              // the final dot has been written, no reply read yet
	numPoints
)

func (p point) String() string {
	return [...]string{"after the 250", "mid-DATA", "just after the final dot"}[p]
}

// killer kills the daemon at the nth time any sender passes its point.
type killer struct {
	mu   sync.Mutex
	at   point
	left int
	kill func()
	hit  bool
}

func (k *killer) pass(p point) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.hit || p != k.at {
		return
	}
	if k.left--; k.left <= 0 {
		k.hit = true
		k.kill() // synchronously: the sender goes on only after SIGKILL
	}
}

// sent is one message a sender tried to deliver: it got as far as DATA.
type sent struct {
	id    string
	from  int   // index into users
	rcpts []int // indexes into users, distinct
	raw   []byte
	acked bool
}

// sender sends messages over one logged-in connection at a time until the
// connection fails (the daemon died) and records each attempt.
type sender struct {
	id    string // "r<round>-s<n>"
	from  int
	users []string
	pass  string
	rnd   *rand.Rand
	k     *killer
	log   []*sent
}

func (s *sender) run(addr string) {
	c, err := dialSMTP(addr)
	if err != nil {
		return
	}
	defer c.conn.Close()
	if _, err := c.cmd(235, "AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00"+s.users[s.from]+"\x00"+s.pass))); err != nil {
		return
	}
	for n := 0; ; n++ {
		m := s.message(n)
		if err := s.send(c, m); err != nil {
			return
		}
	}
}

// message makes the nth message: 1–3 distinct recipients among the users
// (the sender may be one), a random size from a few hundred bytes to
// 200 KB, lines that never start with a dot (so the wire bytes are the
// stored bytes) and CRLF line ends only.
func (s *sender) message(n int) *sent {
	m := &sent{id: fmt.Sprintf("%s-%d", s.id, n), from: s.from}
	perm := s.rnd.Perm(len(s.users))
	m.rcpts = perm[:1+s.rnd.IntN(3)]
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s@localhost>\r\nTo: <%s@localhost>\r\nSubject: crash %s\r\nMessage-ID: <%s@crash.test>\r\n\r\n",
		s.users[s.from], s.users[m.rcpts[0]], m.id, m.id)
	size := 200 + s.rnd.IntN(200<<10)
	for b.Len() < size {
		// Random line lengths and content, so a torn write would show.
		fmt.Fprintf(&b, "%s %x\r\n", m.id, s.rnd.Uint64()>>uint(s.rnd.IntN(60)))
	}
	m.raw = []byte(b.String())
	return m
}

// send runs one transaction, calling the killer at each point.
func (s *sender) send(c *smtpConn, m *sent) error {
	if _, err := c.cmd(250, "MAIL FROM:<%s@localhost>", s.users[m.from]); err != nil {
		return err
	}
	for _, r := range m.rcpts {
		if _, err := c.cmd(250, "RCPT TO:<%s@localhost>", s.users[r]); err != nil {
			return err
		}
	}
	if _, err := c.cmd(354, "DATA"); err != nil {
		return err
	}
	s.log = append(s.log, m)
	half := len(m.raw) / 2
	if _, err := c.conn.Write(m.raw[:half]); err != nil {
		return err
	}
	s.k.pass(midData)
	if _, err := c.conn.Write(append(m.raw[half:len(m.raw):len(m.raw)], ".\r\n"...)); err != nil {
		return err
	}
	s.k.pass(afterDot)
	if _, err := c.expect(250); err != nil {
		return err
	}
	m.acked = true
	s.k.pass(afterAck)
	return nil
}

// smtpConn is the least SMTP client this test needs: it must see the exact
// moment each byte is written and each reply is read, which a library
// client hides.
type smtpConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialSMTP(addr string) (*smtpConn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return nil, err
	}
	// Nothing here should take long; a hung daemon fails the round.
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := &smtpConn{conn: conn, r: bufio.NewReader(conn)}
	if _, err := c.expect(220); err != nil {
		conn.Close()
		return nil, err
	}
	if _, err := c.cmd(250, "EHLO crashtest"); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func (c *smtpConn) cmd(want int, format string, args ...any) (string, error) {
	if _, err := fmt.Fprintf(c.conn, format+"\r\n", args...); err != nil {
		return "", err
	}
	return c.expect(want)
}

// expect reads a reply, multi-line or not, and wants its code.
func (c *smtpConn) expect(want int) (string, error) {
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if len(line) < 4 {
			return line, fmt.Errorf("short reply %q", line)
		}
		if line[3] == '-' {
			continue
		}
		if !strings.HasPrefix(line, fmt.Sprint(want)) {
			return line, fmt.Errorf("reply %q, want %d", strings.TrimSpace(line), want)
		}
		return line, nil
	}
}
