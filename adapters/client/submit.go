package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailroom/domain/mail"
	"mailroom/ports"
)

// Send submits d over implicit-TLS SMTP with AUTH PLAIN, from the session's
// address. Every recipient is tried; if any is refused, nothing is sent
// (RSET) and the result is a *ports.SendError naming each refusal.
//
// Each command waits at most IOTimeout for its reply, and the upload of the
// message must make progress every IOTimeout (a server that stops reading
// is given up on). The whole Send ends when ctx does or SubmitTimeout
// passes: the connection is then closed under it, and the error wraps
// context.Canceled, or context.DeadlineExceeded and ports.ErrUnreachable.
func (s *Session) Send(ctx context.Context, d ports.Draft) error {
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	if err := s.refused(); err != nil {
		return err
	}
	if len(d.To) == 0 {
		return mail.ErrNoRecipients
	}
	from := s.info.Address
	raw, err := BuildMessage(d, from, s.c.cfg.Now())
	if err != nil {
		return fmt.Errorf("client: building the message: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.c.cfg.SubmitTimeout)
	defer cancel()
	conn, err := s.c.dial(ctx, smtpAddr(s.ep), s.ep)
	if err != nil {
		return err
	}
	// go-smtp sets a deadline of its own around every command (IOTimeout,
	// below) and clears it afterwards, and sets none while the message is
	// uploaded: a deadline from ctx would not survive the next command, and
	// nor would the one watchCtx sets when ctx ends. Closing the connection
	// cannot be undone, so it is what bounds the whole Send by ctx and
	// SubmitTimeout, DATA included.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	c := smtp.NewClient(conn)
	c.CommandTimeout = s.c.cfg.IOTimeout
	c.SubmissionTimeout = s.c.cfg.IOTimeout
	defer c.Close()
	if err := c.Hello(s.c.cfg.HelloName); err != nil {
		return smtpError(ctx, opAny, err)
	}
	if err := c.Auth(sasl.NewPlainClient("", s.user, s.pass)); err != nil {
		err = smtpError(ctx, opAuth, err)
		s.noteRefusal(err)
		return err
	}
	return s.transact(ctx, conn, c, from, d.To, raw)
}

// transact runs one mail transaction on a logged-in client: MAIL, a RCPT
// per recipient (collecting refusals), then DATA. Nothing is sent unless
// every recipient is accepted.
func (s *Session) transact(ctx context.Context, conn net.Conn, c *smtp.Client, from string, to []string, raw []byte) error {
	if err := ended(ctx, opMail); err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return smtpError(ctx, opMail, err)
	}
	var failed []ports.RecipientError
	for _, r := range to {
		if err := c.Rcpt(qualify(r, from), nil); err != nil {
			var se *smtp.SMTPError
			if !errors.As(err, &se) {
				return smtpError(ctx, opRcpt, err)
			}
			failed = append(failed, ports.RecipientError{Recipient: r, Err: smtpError(ctx, opRcpt, err)})
		}
	}
	if len(failed) > 0 {
		c.Reset()
		c.Quit()
		return &ports.SendError{Failed: failed}
	}
	if err := ended(ctx, opData); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return smtpError(ctx, opData, err)
	}
	if err := upload(conn, w, raw, s.c.cfg.IOTimeout); err != nil {
		w.Close()
		return smtpError(ctx, opData, err)
	}
	if err := w.Close(); err != nil {
		return smtpError(ctx, opData, err)
	}
	c.Quit()
	return nil
}

// ended catches a ctx that ended while no IO was pending, when the close
// may not have happened yet, before a step that commits to more.
func ended(ctx context.Context, op string) error {
	if ctx.Err() == nil {
		return nil
	}
	return netError(ctx, fmt.Errorf("%s: not sent", op))
}

// smtpError maps a go-smtp error: a server refusal through replyError,
// anything else as a network failure (or the caller's cancellation).
func smtpError(ctx context.Context, op string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		msg := se.Message
		if se.EnhancedCode != (smtp.EnhancedCode{}) && se.EnhancedCode != smtp.NoEnhancedCode {
			msg = fmt.Sprintf("%d.%d.%d %s", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], msg)
		}
		return replyError(op, se.Code, msg)
	}
	return netError(ctx, fmt.Errorf("%s: %w", op, err))
}

// uploadChunk is how much of a message is written under one write deadline.
const uploadChunk = 64 << 10

// upload writes raw to the DATA writer w in chunks, each under a write
// deadline of timeout on conn: go-smtp sets no deadline while the message
// is uploaded, so without this a server that stops reading would hold the
// Send until SubmitTimeout. The deadline is cleared afterwards for go-smtp's
// own handling of the final dot.
func upload(conn net.Conn, w io.Writer, raw []byte, timeout time.Duration) error {
	defer conn.SetWriteDeadline(time.Time{})
	for len(raw) > 0 {
		n := min(len(raw), uploadChunk)
		if err := conn.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
			return err
		}
		if _, err := w.Write(raw[:n]); err != nil {
			return err
		}
		raw = raw[n:]
	}
	return nil
}
