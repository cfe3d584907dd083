package client

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net/textproto"
	"strconv"
	"strings"

	"mailroom/adapters/smtpreply"
	"mailroom/domain/account"
	"mailroom/ports"
)

// SMTP operations, as smtpreply ties a reply's meaning to them.
const (
	opAny     = smtpreply.VerbAny
	opPing    = smtpreply.VerbPing
	opReg     = smtpreply.VerbReg
	opGetUser = smtpreply.VerbGetUser
	opAuth    = smtpreply.VerbAuth
	opMail    = smtpreply.VerbMail
	opRcpt    = smtpreply.VerbRcpt
	opData    = smtpreply.VerbData
)

// replyError turns a refusal into an error wrapping its sentinel (the reply
// table is smtpreply.Meanings, shared with the server), or a plain error
// carrying the reply when no row matches.
func replyError(op string, code int, msg string) error {
	if err := smtpreply.Recognise(op, code, msg); err != nil {
		return fmt.Errorf("%w (server: %d %s)", err, code, msg)
	}
	return fmt.Errorf("client: %s refused: %d %s", op, code, msg)
}

// isEnhanced reports whether s looks like an RFC 3463 code (class.subject.detail).
func isEnhanced(s string) bool {
	_, ok := smtpreply.ParseEnhanced(s)
	return ok
}

// verbConn is an SMTP dialogue over textproto, for the verbs go-smtp's
// client cannot send.
type verbConn struct {
	conn *tls.Conn
	tp   *textproto.Conn
	stop func() bool
	cfg  Config
	ctx  context.Context
	// ehlo is the text of the EHLO reply, one capability a line.
	ehlo string
}

// dialVerbs connects to the SMTP port, reads the greeting and says EHLO.
func (c *Client) dialVerbs(ctx context.Context, ep ports.Endpoint) (*verbConn, error) {
	conn, err := c.dial(ctx, smtpAddr(ep), ep)
	if err != nil {
		return nil, err
	}
	v := &verbConn{conn: conn, tp: textproto.NewConn(conn), stop: watchCtx(ctx, conn), cfg: c.cfg, ctx: ctx}
	var code int
	var msg string
	err = setDeadline(ctx, conn, c.cfg.IOTimeout)
	if err != nil {
		err = v.ioError(opAny, err)
	} else {
		code, msg, err = v.tp.ReadResponse(0)
	}
	if err == nil && code != smtpreply.CodeReady {
		err = replyError(opAny, code, msg)
	}
	if err == nil {
		code, msg, err = v.cmd(opAny, "EHLO %s", c.cfg.HelloName)
		if err == nil && code != smtpreply.CodeOK {
			err = replyError(opAny, code, msg)
		}
		v.ehlo = msg
	}
	if err != nil {
		v.close()
		return nil, err
	}
	return v, nil
}

// cmd sends one command line and reads the whole reply. A refusal is not an
// error here: the caller maps it with replyError. Only IO fails, and a ctx
// that has ended, even between two commands, when no IO was pending.
func (v *verbConn) cmd(op, format string, args ...any) (int, string, error) {
	if err := setDeadline(v.ctx, v.conn, v.cfg.IOTimeout); err != nil {
		return 0, "", v.ioError(op, err)
	}
	id, err := v.tp.Cmd(format, args...)
	if err != nil {
		return 0, "", v.ioError(op, err)
	}
	v.tp.StartResponse(id)
	defer v.tp.EndResponse(id)
	code, msg, err := v.tp.ReadResponse(0)
	var perr *textproto.Error
	if errors.As(err, &perr) {
		// ReadResponse(0) only fails this way on a malformed reply.
		return 0, "", fmt.Errorf("client: %s: bad reply: %v", op, err)
	}
	if err != nil {
		return 0, "", v.ioError(op, err)
	}
	return code, msg, nil
}

func (v *verbConn) ioError(op string, err error) error {
	return netError(v.ctx, fmt.Errorf("%s: %w", op, err))
}

// auth runs AUTH PLAIN with an initial response (RFC 4616, RFC 4954).
func (v *verbConn) auth(user, pass string) error {
	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	code, msg, err := v.cmd(opAuth, "AUTH PLAIN %s", ir)
	if err != nil {
		return err
	}
	if code != smtpreply.CodeAuthOK {
		return replyError(opAuth, code, msg)
	}
	return nil
}

// getUser runs GETUSER name; the reply is "250 2.1.5 <id> <address>".
func (v *verbConn) getUser(name string) (ports.UserInfo, error) {
	if name == "" || hasSpaceOrControl(name) {
		return ports.UserInfo{}, fmt.Errorf("%w: %q", account.ErrNoSuchUser, name)
	}
	code, msg, err := v.cmd(opGetUser, "GETUSER %s", name)
	if err != nil {
		return ports.UserInfo{}, err
	}
	if code != smtpreply.CodeOK {
		return ports.UserInfo{}, replyError(opGetUser, code, msg)
	}
	return parseUserReply(msg)
}

// parseUserReply parses "2.1.5 <id> <address>" (the text after "250 ").
func parseUserReply(msg string) (ports.UserInfo, error) {
	f := strings.Fields(msg)
	if len(f) >= 1 && isEnhanced(f[0]) {
		f = f[1:]
	}
	if len(f) < 2 {
		return ports.UserInfo{}, fmt.Errorf("client: GETUSER: bad reply %q", msg)
	}
	id, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || id <= 0 {
		return ports.UserInfo{}, fmt.Errorf("client: GETUSER: bad id in reply %q", msg)
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(f[1], "<"), ">")
	if !strings.Contains(addr, "@") {
		return ports.UserInfo{}, fmt.Errorf("client: GETUSER: bad address in reply %q", msg)
	}
	return ports.UserInfo{ID: account.ID(id), Address: addr}, nil
}

// maxSize bounds an advertised SIZE that is taken at its word: anything
// larger is bogus, and sizing buffers by it would overflow.
const maxSize = 1 << 40

// ehloSize parses the SIZE capability (RFC 1870) out of an EHLO reply's
// text: the limit in bytes, or 0 when there is none, it states no number,
// or the number is bogus.
func ehloSize(ehlo string) int64 {
	for _, l := range strings.Split(ehlo, "\n") {
		f := strings.Fields(l)
		if len(f) != 2 || !strings.EqualFold(f[0], "SIZE") {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || n <= 0 || n > maxSize {
			return 0
		}
		return n
	}
	return 0
}

// quit ends the dialogue politely; the reply does not matter.
func (v *verbConn) quit() error {
	v.cmd(opAny, "QUIT")
	return nil
}

func (v *verbConn) close() {
	v.stop()
	v.conn.Close()
}
