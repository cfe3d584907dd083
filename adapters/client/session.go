package client

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
)

// Session is a logged-in user. Its requests share one inbox connection,
// one at a time; if that connection has dropped, a request reconnects and
// logs in again once, transparently. Watch uses connections of its own.
//
// Once a server refuses the session's password (it was changed, or the
// account deleted), the session is over: that call and every later one that
// needs the password (requests, Watch, Send, Lookup) fail with an error
// wrapping account.ErrBadCredentials without trying it again, so a stale
// session does not spend the server's per-IP failed-login budget.
type Session struct {
	c          *Client
	ep         ports.Endpoint
	user, pass string
	info       ports.UserInfo
	// maxMessage is the server's SIZE (0: unknown) and maxResponse the
	// inbox response bound it implies, both learned at login.
	maxMessage  int64
	maxResponse int

	// ctx ends at Close, ending every Watch.
	ctx    context.Context
	cancel context.CancelFunc
	wmu    sync.Mutex // guards closed and wg.Add against Close
	closed bool
	wg     sync.WaitGroup

	mu   sync.Mutex
	conn *inboxConn // nil after a failure, until the next request

	rmu      sync.Mutex
	rejected error // the first refusal of the password, wrapping account.ErrBadCredentials
}

var _ ports.Session = (*Session)(nil)

// connect dials the inbox server and logs in.
func (s *Session) connect(ctx context.Context) (*inboxConn, ports.UserInfo, error) {
	if err := s.refused(); err != nil {
		return nil, ports.UserInfo{}, err
	}
	ic, err := s.c.dialInbox(ctx, s.ep, s.maxResponse)
	if err != nil {
		return nil, ports.UserInfo{}, err
	}
	info, err := ic.login(ctx, s.user, s.pass)
	if err != nil {
		ic.close()
		s.noteRefusal(err)
		return nil, ports.UserInfo{}, err
	}
	return ic, info, nil
}

// refused gives the server's refusal of the password, if it came.
func (s *Session) refused() error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	return s.rejected
}

// noteRefusal remembers err if it is the server refusing the password.
func (s *Session) noteRefusal(err error) {
	if !errors.Is(err, account.ErrBadCredentials) {
		return
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.rejected == nil {
		s.rejected = err
	}
}

// do runs one request on the request connection.
func (s *Session) do(ctx context.Context, req inboxwire.Request) (inboxwire.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return inboxwire.Response{}, ErrClosed
	}
	if ctx.Err() != nil {
		// Before touching the connection: a request that fails after it
		// was set up costs the connection.
		return inboxwire.Response{}, netError(ctx, fmt.Errorf("%s: not sent", req.Op))
	}
	fresh := false
	for {
		if s.conn == nil {
			ic, _, err := s.connect(ctx)
			if err != nil {
				return inboxwire.Response{}, err
			}
			s.conn, fresh = ic, true
		}
		resp, err := s.conn.roundTrip(ctx, req)
		if err == nil {
			return resp, nil
		}
		var se *serverError
		if errors.As(err, &se) && se.err.Code != inboxwire.CodeAuthRequired {
			return resp, err
		}
		// The connection is unusable: dropped, timed out, cancelled mid-reply,
		// or no longer logged in. Retry once on a new one unless this one was
		// new or the caller gave up. (A refused password is not retried:
		// connect returns it, and remembers it for the next calls.)
		s.conn.close()
		s.conn = nil
		if fresh || ctx.Err() != nil {
			return resp, err
		}
	}
}

// Account is the logged-in account.
func (s *Session) Account() ports.UserInfo { return s.info }

// MaxMessageBytes is the SIZE the SMTP server advertised at login, 0 if it
// was not learned.
func (s *Session) MaxMessageBytes() int64 { return s.maxMessage }

// Lookup asks the SMTP server (GETUSER, after AUTH) whether name exists.
func (s *Session) Lookup(ctx context.Context, name string) (ports.UserInfo, error) {
	if s.ctx.Err() != nil {
		return ports.UserInfo{}, ErrClosed
	}
	if err := s.refused(); err != nil {
		return ports.UserInfo{}, err
	}
	v, err := s.c.dialVerbs(ctx, s.ep)
	if err != nil {
		return ports.UserInfo{}, err
	}
	defer v.close()
	if err := v.auth(s.user, s.pass); err != nil {
		s.noteRefusal(err)
		return ports.UserInfo{}, err
	}
	info, err := v.getUser(name)
	if err != nil {
		return ports.UserInfo{}, err
	}
	v.quit()
	return info, nil
}

// List gives a page of folder, newest first: entries with id < before
// (before 0: from the newest), at most limit (0: the server's default).
func (s *Session) List(ctx context.Context, folder mail.Folder, before mail.EntryID, limit int) ([]mail.Meta, error) {
	f := string(folder)
	req := inboxwire.Request{Op: inboxwire.OpList, Folder: &f}
	if before > 0 {
		b := int64(before)
		req.Before = &b
	}
	if limit > 0 {
		req.Limit = &limit
	}
	resp, err := s.do(ctx, req)
	if err != nil {
		return nil, err
	}
	return s.metas(resp.Messages)
}

func (s *Session) metas(w []inboxwire.Meta) ([]mail.Meta, error) {
	out := make([]mail.Meta, 0, len(w))
	for _, m := range w {
		d, err := s.meta(m)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func (s *Session) meta(m inboxwire.Meta) (mail.Meta, error) {
	d, err := m.ToDomain()
	if err != nil {
		return mail.Meta{}, fmt.Errorf("client: bad entry %d from server: %w", m.ID, err)
	}
	d.Owner = s.info.ID
	return d, nil
}

// Count gives folder's total and unseen counts.
func (s *Session) Count(ctx context.Context, folder mail.Folder) (total, unseen int, err error) {
	f := string(folder)
	resp, err := s.do(ctx, inboxwire.Request{Op: inboxwire.OpCount, Folder: &f})
	if err != nil {
		return 0, 0, err
	}
	if resp.Total == nil || resp.Unseen == nil {
		return 0, 0, fmt.Errorf("client: count: incomplete response")
	}
	return *resp.Total, *resp.Unseen, nil
}

// Fetch gives one entry with its raw bytes and its parsed MIME.
func (s *Session) Fetch(ctx context.Context, id mail.EntryID) (ports.Body, error) {
	n := int64(id)
	resp, err := s.do(ctx, inboxwire.Request{Op: inboxwire.OpFetch, ID: &n})
	if err != nil {
		return ports.Body{}, err
	}
	if resp.Message == nil {
		return ports.Body{}, fmt.Errorf("client: fetch: no message in the response")
	}
	meta, err := s.meta(resp.Message.Meta)
	if err != nil {
		return ports.Body{}, err
	}
	b := ports.Body{Meta: meta, Raw: resp.Message.Raw}
	parseMessage(b.Raw, &b)
	return b, nil
}

// SetSeen flags an entry as seen or unseen.
func (s *Session) SetSeen(ctx context.Context, id mail.EntryID, seen bool) error {
	n := int64(id)
	_, err := s.do(ctx, inboxwire.Request{Op: inboxwire.OpSeen, ID: &n, Seen: &seen})
	return err
}

// Delete removes an entry. If the connection drops after the server acted
// but before it answered, the transparent retry reports mail.ErrNotFound.
func (s *Session) Delete(ctx context.Context, id mail.EntryID) error {
	n := int64(id)
	_, err := s.do(ctx, inboxwire.Request{Op: inboxwire.OpDelete, ID: &n})
	return err
}

// Close ends every Watch (waiting for them to finish) and closes the request
// connection. Later calls fail with ErrClosed.
func (s *Session) Close() error {
	s.wmu.Lock()
	s.closed = true
	s.wmu.Unlock()
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.close()
		s.conn = nil
	}
	return nil
}
