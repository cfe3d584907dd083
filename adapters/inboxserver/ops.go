package inboxserver

// The requests: decoding, the ops, login, and errors into replies.

import (
	"errors"
	"strings"

	"go.uber.org/zap"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// action is what the reader does after sending a response.
type action int

const (
	actContinue action = iota
	actWatch           // start watching, after the ok is queued
	actQuit            // flush and close
	actGiveUp          // flush and close: too many failed logins
)

// handle runs one request line.
func (c *conn) handle(line []byte) (inboxwire.Response, action) {
	c.inHand = nil // a panic while decoding answers untagged
	req, err := inboxwire.DecodeRequest(line)
	c.inHand = req.Tag
	resp := inboxwire.Response{Tag: req.Tag}
	if err != nil {
		return c.fail(resp, err), actContinue
	}
	switch req.Op {
	case inboxwire.OpPing:
		resp.OK = true
		return resp, actContinue
	case inboxwire.OpQuit:
		resp.OK = true
		return resp, actQuit
	case inboxwire.OpLogin:
		return c.login(req, resp)
	case inboxwire.OpList, inboxwire.OpCount, inboxwire.OpFetch, inboxwire.OpSeen,
		inboxwire.OpDelete, inboxwire.OpWatch:
	default:
		return c.fail(resp, errUnknownOp), actContinue
	}
	if !c.authed {
		return c.fail(resp, errAuthRequired), actContinue
	}
	if req.Op == inboxwire.OpWatch {
		resp.OK = true
		if c.watching {
			return resp, actContinue
		}
		return resp, actWatch
	}
	if err := c.mailboxOp(req, &resp); err != nil {
		return c.fail(resp, err), actContinue
	}
	resp.OK = true
	return resp, actContinue
}

// mailboxOp runs a logged-in op on the user's own mailbox, under the
// connection's context, filling resp's result fields.
func (c *conn) mailboxOp(req inboxwire.Request, resp *inboxwire.Response) error {
	owner := c.acc.ID
	mb := c.s.mailboxes
	switch req.Op {
	case inboxwire.OpList:
		folder, before, limit, err := listArgs(req)
		if err != nil {
			return err
		}
		metas, err := mb.List(c.ctx, owner, folder, before, limit)
		if err != nil {
			return err
		}
		resp.Messages = make([]inboxwire.Meta, len(metas))
		for i, m := range metas {
			resp.Messages[i] = inboxwire.MetaFrom(m)
		}
	case inboxwire.OpCount:
		if req.Folder == nil {
			return missing("folder")
		}
		total, unseen, err := mb.Count(c.ctx, owner, mail.Folder(*req.Folder))
		if err != nil {
			return err
		}
		resp.Total, resp.Unseen = &total, &unseen
	case inboxwire.OpFetch:
		if req.ID == nil {
			return missing("id")
		}
		msg, err := mb.Fetch(c.ctx, owner, mail.EntryID(*req.ID))
		if err != nil {
			return err
		}
		raw := msg.Raw
		if raw == nil {
			raw = []byte{} // "" rather than null
		}
		resp.Message = &inboxwire.Message{Meta: inboxwire.MetaFrom(msg.Meta), Raw: raw}
	case inboxwire.OpSeen:
		switch {
		case req.ID == nil:
			return missing("id")
		case req.Seen == nil:
			return missing("seen")
		}
		return mb.SetSeen(c.ctx, owner, mail.EntryID(*req.ID), *req.Seen)
	case inboxwire.OpDelete:
		if req.ID == nil {
			return missing("id")
		}
		return mb.Delete(c.ctx, owner, mail.EntryID(*req.ID))
	}
	return nil
}

func listArgs(req inboxwire.Request) (folder mail.Folder, before mail.EntryID, limit int, err error) {
	if req.Folder == nil {
		return "", 0, 0, missing("folder")
	}
	folder = mail.Folder(*req.Folder)
	if req.Before != nil {
		if *req.Before < 0 {
			return "", 0, 0, mail.ErrBadLimit
		}
		before = mail.EntryID(*req.Before) // 0 means no bound
	}
	if req.Limit != nil {
		// The domain reads 0 as "the default"; on the wire it is out of
		// the documented range 1..500.
		if *req.Limit < 1 {
			return "", 0, 0, mail.ErrBadLimit
		}
		limit = *req.Limit
	}
	return folder, before, limit, nil
}

// login checks credentials under the per-IP budget and the per-connection
// cap on failures.
func (c *conn) login(req inboxwire.Request, resp inboxwire.Response) (inboxwire.Response, action) {
	switch {
	case c.authed:
		return c.fail(resp, errLoggedIn), actContinue
	case req.User == nil:
		return c.fail(resp, missing("user")), actContinue
	case req.Password == nil:
		return c.fail(resp, missing("password")), actContinue
	}
	failed := func(err error) (inboxwire.Response, action) {
		c.fails++
		c.log.Info("login failed", c.logUser(*req.User), zap.Int("failures", c.fails), zap.Error(err))
		if c.fails >= c.s.cfg.MaxLoginFailures {
			return c.fail(resp, err), actGiveUp
		}
		return c.fail(resp, err), actContinue
	}
	// The token is taken before hashing, so a spent budget costs us
	// nothing, and parallel attempts cannot all pass a check made before
	// any of them has spent. Only a bad password keeps it spent.
	ok, refund := c.s.loginFail.Reserve(c.key)
	if !ok {
		return failed(errRateLimited)
	}
	acc, err := c.s.accounts.Authenticate(c.ctx, *req.User, *req.Password)
	if errors.Is(err, account.ErrBadCredentials) {
		return failed(err)
	}
	refund()
	if err != nil {
		return c.fail(resp, err), actContinue
	}
	c.acc, c.authed = acc, true
	c.log = c.log.With(zap.String("user", string(acc.Username)))
	resp.OK = true
	resp.Account = &inboxwire.Account{ID: int64(acc.ID), Address: c.s.accounts.AddressOf(acc).String()}
	return resp, actContinue
}

// logUser is what the log may say about a login's user field: the
// normalised username when the field is one (bare or in our domain), else
// only its length. The field is client text as long as a request line
// (1 MiB) and people type passwords into it: neither belongs in the log,
// on every failed attempt. (A password shaped like a username is still
// logged; telling the two apart would take a lookup per failure.)
func (c *conn) logUser(name string) zap.Field {
	local := name
	if i := strings.LastIndexByte(name, '@'); i >= 0 && strings.EqualFold(name[i+1:], c.s.accounts.Domain()) {
		local = name[:i]
	}
	if u, err := account.ParseUsername(local); err == nil {
		return zap.String("user", string(u))
	}
	return zap.Int("user_malformed_len", len(name))
}

// fail fills resp with err's wire error, logging internal ones.
func (c *conn) fail(resp inboxwire.Response, err error) inboxwire.Response {
	e, internal := wireError(err)
	if internal {
		c.log.Error("request failed", zap.Error(err))
	}
	resp.OK = false
	resp.Error = &e
	return resp
}
