package client

import (
	"context"
	"errors"
	"fmt"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/mail"
	"mailroom/ports"
)

var _ ports.SearchSession = (*Session)(nil)

// Search gives one page of the user's entries that match query, newest
// first, in folder only unless it is "" (before and limit as List). A
// bad_request answer is mail.ErrBadQuery, with the server's words.
func (s *Session) Search(ctx context.Context, query string, folder mail.Folder, before mail.EntryID, limit int) ([]mail.Meta, error) {
	req := inboxwire.Request{Op: inboxwire.OpSearch, Query: &query}
	if folder != "" {
		f := string(folder)
		req.Folder = &f
	}
	if before > 0 {
		b := int64(before)
		req.Before = &b
	}
	if limit > 0 {
		req.Limit = &limit
	}
	resp, err := s.do(ctx, req)
	var se *serverError
	if errors.As(err, &se) && se.err.Code == inboxwire.CodeBadRequest {
		return nil, fmt.Errorf("%w: server said %s", mail.ErrBadQuery, se.err.Message)
	}
	if err != nil {
		return nil, err
	}
	return s.metas(resp.Messages)
}
