package inboxserver

import (
	"mailroom/adapters/inboxwire"
	"mailroom/domain/mail"
)

// search runs a search op: list's paging (before, limit) over the entries
// that match query, in folder or in every folder when it is absent.
func (c *conn) search(req inboxwire.Request, resp *inboxwire.Response) error {
	if req.Query == nil {
		return missing("query")
	}
	folder := ""
	if req.Folder != nil {
		if *req.Folder == "" {
			return mail.ErrBadFolder
		}
		folder = *req.Folder
	}
	lreq := req
	lreq.Folder = &folder // listArgs wants one; "" stands for every folder
	_, before, limit, err := listArgs(lreq)
	if err != nil {
		return err
	}
	metas, err := c.s.mailboxes.Search(c.ctx, c.acc.ID, *req.Query, mail.Folder(folder), before, limit)
	if err != nil {
		return err
	}
	resp.Messages = make([]inboxwire.Meta, len(metas))
	for i, m := range metas {
		resp.Messages[i] = inboxwire.MetaFrom(m)
	}
	return nil
}
