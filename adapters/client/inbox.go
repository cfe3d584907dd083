package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"strconv"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
)

// inboxErrors maps the inbox protocol's error codes to sentinels. Other
// codes become a plain error carrying the server's words.
var inboxErrors = map[string]error{
	inboxwire.CodeAuthFailed:  account.ErrBadCredentials,
	inboxwire.CodeRateLimited: ports.ErrRateLimited,
	inboxwire.CodeNotFound:    mail.ErrNotFound,
	inboxwire.CodeTooLarge:    mail.ErrTooLarge,
	inboxwire.CodeExists:      mail.ErrFolderExists,
}

// noSuchFolder is the message of the not_found that names a folder, not a
// message (docs/protocol.md); the code is the same.
const noSuchFolder = "no such folder"

// serverError is an inbox error response.
type serverError struct {
	op  string
	err inboxwire.Error
}

func (e *serverError) Error() string {
	return fmt.Sprintf("client: %s: server said %s: %s", e.op, e.err.Code, e.err.Message)
}

func (e *serverError) Unwrap() error {
	if e.err.Code == inboxwire.CodeNotFound && e.err.Message == noSuchFolder {
		return mail.ErrNoSuchFolder
	}
	return inboxErrors[e.err.Code]
}

// inboxConn is one inbox protocol connection. It is not safe for concurrent
// requests; Session serialises them.
type inboxConn struct {
	conn *tls.Conn
	lr   *inboxwire.LineReader
	cfg  Config
	tag  int64
	buf  []byte
	// events holds events read while waiting for a response.
	events []inboxwire.Event
}

// dialInbox connects to the inbox server; response lines are bounded by
// maxResponse bytes (0: Config.MaxResponseBytes).
func (c *Client) dialInbox(ctx context.Context, ep ports.Endpoint, maxResponse int) (*inboxConn, error) {
	conn, err := c.dial(ctx, inboxAddr(ep), ep)
	if err != nil {
		return nil, err
	}
	if maxResponse <= 0 {
		maxResponse = c.cfg.MaxResponseBytes
	}
	return &inboxConn{conn: conn, lr: inboxwire.NewLineReader(conn, maxResponse), cfg: c.cfg}, nil
}

func (ic *inboxConn) close() error { return ic.conn.Close() }

// line is either a response or an event.
type line struct {
	resp  inboxwire.Response
	event *inboxwire.Event
}

// readLine reads one line and tells a response from an event: events carry
// "event" and no "ok".
func (ic *inboxConn) readLine() (line, error) {
	b, err := ic.lr.ReadLine()
	if err != nil {
		return line{}, err
	}
	var probe struct {
		Event *string `json:"event"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return line{}, fmt.Errorf("client: bad line from server: %w", err)
	}
	if probe.Event != nil {
		var ev inboxwire.Event
		if err := json.Unmarshal(b, &ev); err != nil {
			return line{}, fmt.Errorf("client: bad event from server: %w", err)
		}
		return line{event: &ev}, nil
	}
	var l line
	if err := json.Unmarshal(b, &l.resp); err != nil {
		return line{}, fmt.Errorf("client: bad response from server: %w", err)
	}
	return l, nil
}

// send writes req with a fresh tag and returns the tag.
func (ic *inboxConn) send(req inboxwire.Request) (json.RawMessage, error) {
	ic.tag++
	tag := json.RawMessage(strconv.FormatInt(ic.tag, 10))
	req.Tag = tag
	var err error
	ic.buf, err = inboxwire.AppendLine(ic.buf[:0], req)
	if err != nil {
		return nil, err
	}
	_, err = ic.conn.Write(ic.buf)
	return tag, err
}

// roundTrip sends req and reads until the response with its tag; events read
// meanwhile are kept in ic.events. IO failures wrap ports.ErrUnreachable
// (or are the caller's cancellation); an error response is a *serverError.
func (ic *inboxConn) roundTrip(ctx context.Context, req inboxwire.Request) (inboxwire.Response, error) {
	stop := watchCtx(ctx, ic.conn)
	defer stop()
	if err := setDeadline(ctx, ic.conn, ic.cfg.IOTimeout); err != nil {
		return inboxwire.Response{}, ic.ioError(ctx, req.Op, err)
	}
	tag, err := ic.send(req)
	if err != nil {
		return inboxwire.Response{}, ic.ioError(ctx, req.Op, err)
	}
	for {
		l, err := ic.readLine()
		if err != nil {
			return inboxwire.Response{}, ic.ioError(ctx, req.Op, err)
		}
		if l.event != nil {
			if len(ic.events) < 1000 {
				ic.events = append(ic.events, *l.event)
			}
			continue
		}
		if !bytes.Equal(l.resp.Tag, tag) {
			// An untagged error is the server giving up on the connection
			// (a line too large, say); a stale tag is a late reply.
			if len(l.resp.Tag) == 0 && !l.resp.OK && l.resp.Error != nil {
				return inboxwire.Response{}, &serverError{op: req.Op, err: *l.resp.Error}
			}
			continue
		}
		if !l.resp.OK {
			e := inboxwire.Error{Code: inboxwire.CodeInternal, Message: "no error given"}
			if l.resp.Error != nil {
				e = *l.resp.Error
			}
			return inboxwire.Response{}, &serverError{op: req.Op, err: e}
		}
		return l.resp, nil
	}
}

func (ic *inboxConn) ioError(ctx context.Context, op string, err error) error {
	return netError(ctx, fmt.Errorf("%s: %w", op, err))
}

// login logs the connection in.
func (ic *inboxConn) login(ctx context.Context, user, pass string) (ports.UserInfo, error) {
	resp, err := ic.roundTrip(ctx, inboxwire.Request{Op: inboxwire.OpLogin, User: &user, Password: &pass})
	if err != nil {
		return ports.UserInfo{}, err
	}
	if resp.Account == nil {
		return ports.UserInfo{}, fmt.Errorf("client: login: no account in the response")
	}
	return ports.UserInfo{ID: account.ID(resp.Account.ID), Address: resp.Account.Address}, nil
}
