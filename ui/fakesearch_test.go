package ui

import (
	"context"
	"sort"
	"strings"

	"mailroom/domain/mail"
	"mailroom/ports"
)

// fakeSearchSession is a fakeFolderSession that searches: a plain
// substring match of the query's words over subject, sender and body,
// with the domain's parser deciding what is a bad query.
type fakeSearchSession struct{ *fakeFolderSession }

var _ ports.SearchSession = (*fakeSearchSession)(nil)

func (s *fakeSearchSession) Search(ctx context.Context, query string, folder mail.Folder, before mail.EntryID, limit int) ([]mail.Meta, error) {
	if err := s.enter(ctx, "Search"); err != nil {
		return nil, err
	}
	q, err := mail.ParseQuery(query)
	if err != nil {
		return nil, err
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	var out []mail.Meta
	for _, m := range s.c.boxes[s.user] {
		if folder != "" && m.Folder != folder || before != 0 && m.ID >= before {
			continue
		}
		hay := strings.ToLower(m.Subject + " " + m.From + " " + s.c.bodies[m.ID].Text)
		ok := true
		for _, t := range q.Terms {
			for _, w := range t.Words {
				ok = ok && strings.Contains(hay, strings.ToLower(w))
			}
		}
		if ok {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
