// Package mbox owns the mailbox file formats Mailroom exports to and
// imports from: mboxrd (written; read together with mboxo, which it
// extends) and Maildir (read). It moves raw message bytes only; what a
// message means is the domain's business.
//
// mboxrd: each message is a "From sender date" line, the message with every
// line that starts with zero or more '>' followed by "From " given one more
// '>', then one empty line. Reading takes the one '>' away again, so a
// message goes out and back byte for byte, line endings (CRLF) included;
// the one exception is a message whose last line has no line ending, which
// comes back with "\n" added.
package mbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"
)

// fromLayout is the asctime form of the From line's date, in UTC.
const fromLayout = "Mon Jan _2 15:04:05 2006"

// ErrNotMbox: the input does not start with a From line.
var ErrNotMbox = errors.New("mbox: not an mbox file (the first line is not a \"From \" line)")

// ErrTooLarge: a message is longer than the Reader's limit.
var ErrTooLarge = errors.New("mbox: message too large")

// Message is one message of a mailbox file.
type Message struct {
	// Sender is the From line's address ("MAILER-DAEMON" when unknown).
	Sender string
	// Date is when the message was received; zero when the file says not.
	Date time.Time
	// Raw is the message, unescaped.
	Raw []byte
	// Seen is a Maildir message's S flag.
	Seen bool
}

// Writer writes mboxrd.
type Writer struct {
	w *bufio.Writer
}

// NewWriter writes to w; call Flush at the end.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriterSize(w, 64<<10)} }

// Write appends one message.
func (w *Writer) Write(m Message) error {
	date := m.Date
	if date.IsZero() {
		date = time.Unix(0, 0)
	}
	fmt.Fprintf(w.w, "From %s %s\n", fromSender(m.Sender), date.UTC().Format(fromLayout))
	raw := m.Raw
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line = raw[:i+1]
		}
		raw = raw[len(line):]
		if isFromLine(bytes.TrimLeft(line, ">")) {
			w.w.WriteByte('>')
		}
		w.w.Write(line)
	}
	if n := len(m.Raw); n == 0 || m.Raw[n-1] != '\n' {
		w.w.WriteByte('\n')
	}
	// The empty line before the next From line.
	_, err := w.w.WriteString("\n")
	return err
}

// Flush writes what is buffered.
func (w *Writer) Flush() error { return w.w.Flush() }

func isFromLine(line []byte) bool { return bytes.HasPrefix(line, []byte("From ")) }

// fromSender is an address fit for the From line: one word, no spaces.
func fromSender(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		s = a.Address
	}
	s = strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if s == "" {
		return "MAILER-DAEMON"
	}
	return s
}

// Reader reads mboxrd and mboxo files.
type Reader struct {
	r    *bufio.Reader
	max  int
	next []byte // the From line of the message Next gives next
	err  error
}

// NewReader reads from r; a message longer than max bytes (0: no bound)
// is ErrTooLarge.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next gives the next message, or io.EOF after the last.
func (r *Reader) Next() (Message, error) {
	if r.err != nil {
		return Message{}, r.err
	}
	if r.next == nil {
		line, err := r.r.ReadBytes('\n')
		if len(line) == 0 && errors.Is(err, io.EOF) {
			r.err = io.EOF
			return Message{}, io.EOF
		}
		if !isFromLine(line) {
			r.err = ErrNotMbox
			return Message{}, r.err
		}
		r.next = line
	}
	m := parseFromLine(r.next)
	r.next = nil
	var raw []byte
	for {
		line, err := r.r.ReadBytes('\n')
		if isFromLine(line) {
			r.next = line
			break
		}
		if n := len(line); n > 1 && line[0] == '>' && isFromLine(bytes.TrimLeft(line, ">")) {
			line = line[1:]
		}
		raw = append(raw, line...)
		if r.max > 0 && len(raw) > r.max+1 {
			r.err = fmt.Errorf("%w (over %d bytes)", ErrTooLarge, r.max)
			return Message{}, r.err
		}
		if errors.Is(err, io.EOF) {
			r.err = io.EOF
			break
		}
		if err != nil {
			r.err = err
			return Message{}, err
		}
	}
	// The empty line that ends each message belongs to the file.
	if bytes.HasSuffix(raw, []byte("\n\n")) || string(raw) == "\n" {
		raw = raw[:len(raw)-1]
	}
	m.Raw = raw
	return m, nil
}

// parseFromLine reads "From sender date"; a date it cannot read is zero.
func parseFromLine(line []byte) Message {
	rest := strings.TrimRight(strings.TrimPrefix(string(line), "From "), "\r\n")
	sender, date, _ := strings.Cut(strings.TrimLeft(rest, " "), " ")
	m := Message{Sender: sender}
	date = strings.TrimSpace(date)
	for _, layout := range []string{fromLayout, "Mon Jan _2 15:04:05 MST 2006", "Mon Jan _2 15:04:05 -0700 2006"} {
		if t, err := time.Parse(layout, date); err == nil {
			m.Date = t
			break
		}
	}
	return m
}
