package inboxserver

// The requests: decoding, the ops, login, and errors into replies.

import (
	"errors"

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
	// In place: an append's raw is decoded into the line's own buffer,
	// the message's only copy; the line is not needed after this.
	req, err := inboxwire.DecodeRequestInPlace(line)
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
		inboxwire.OpDelete, inboxwire.OpWatch,
		inboxwire.OpFolders, inboxwire.OpCreateFolder, inboxwire.OpRenameFolder, inboxwire.OpDeleteFolder,
		inboxwire.OpMove, inboxwire.OpFlags, inboxwire.OpSearch, inboxwire.OpAppend:
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
	case inboxwire.OpSearch:
		return c.search(req, resp)
	case inboxwire.OpAppend:
		return c.append(req, resp)
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
		msg, err := c.fetch(mail.EntryID(*req.ID))
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
	default:
		return c.folderOp(req, resp)
	}
	return nil
}

// fetch loads one of the user's messages under the server's
// MaxInflightBytes: it reserves the largest message first, since the size
// is known only once loaded, then keeps what the message takes
// (c.fetchHeld, which send hands to the queue item).
func (c *conn) fetch(id mail.EntryID) (mail.Message, error) {
	reserve := min(c.s.mailboxes.MaxMessageBytes(), c.s.cfg.MaxInflightBytes)
	if err := c.s.inflight.Acquire(c.ctx, reserve); err != nil {
		return mail.Message{}, err
	}
	c.inflight.Add(reserve)
	msg, err := c.s.mailboxes.Fetch(c.ctx, c.acc.ID, id)
	keep := int64(len(msg.Raw))
	if err != nil {
		keep = 0
	}
	c.giveBack(reserve - keep)
	c.fetchHeld = keep
	return msg, err
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

// login checks credentials through the account service's login guard
// (one failed-login budget per client, shared by every server) and the
// per-connection cap on failures.
func (c *conn) login(req inboxwire.Request, resp inboxwire.Response) (inboxwire.Response, action) {
	switch {
	case c.authed:
		return c.fail(resp, errLoggedIn), actContinue
	case req.User == nil:
		return c.fail(resp, missing("user")), actContinue
	case req.Password == nil:
		return c.fail(resp, missing("password")), actContinue
	}
	acc, err := c.s.accounts.Login(c.ctx, c.key, *req.User, *req.Password)
	switch {
	case errors.Is(err, account.ErrBadCredentials), errors.Is(err, account.ErrThrottled):
		c.fails++
		c.log.Info("login failed", c.logUser(*req.User), zap.Int("failures", c.fails), zap.Error(err))
		if c.fails >= c.s.cfg.MaxLoginFailures {
			return c.fail(resp, err), actGiveUp
		}
		return c.fail(resp, err), actContinue
	case err != nil:
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
// and people type passwords into it: neither belongs in the log, on every
// failed attempt. (A password shaped like a username is still logged;
// telling the two apart would take a lookup per failure.)
func (c *conn) logUser(name string) zap.Field {
	if u, err := c.s.accounts.ParseName(name); err == nil {
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
