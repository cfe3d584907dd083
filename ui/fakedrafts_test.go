package ui

import (
	"context"
	"io"
	netmail "net/mail"
	"strings"

	"mailroom/domain/mail"
	"mailroom/ports"
)

// fakeDraftSession is a fakeSearchSession that appends, as the inbox
// protocol's append op does: the raw message is parsed for its subject,
// recipients and text.
type fakeDraftSession struct{ *fakeSearchSession }

var _ ports.DraftSession = (*fakeDraftSession)(nil)

func (s *fakeDraftSession) Append(ctx context.Context, folder mail.Folder, raw []byte, flags mail.Flags) (mail.Meta, error) {
	if err := s.enter(ctx, "Append"); err != nil {
		return mail.Meta{}, err
	}
	msg, err := netmail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		return mail.Meta{}, err
	}
	text, _ := io.ReadAll(msg.Body)
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if !s.c.foldersOf(s.user)[folder] {
		return mail.Meta{}, mail.ErrNoSuchFolder
	}
	var to []string
	if t := msg.Header.Get("To"); t != "" {
		to = strings.Split(t, ", ")
	}
	m := mail.Meta{ID: s.c.nextID, Folder: folder, From: msg.Header.Get("From"), To: to,
		Subject: msg.Header.Get("Subject"), Date: testNow, Size: int64(len(raw)),
		Flags: flags, Seen: flags.Has(mail.FlagSeen)}
	s.c.nextID++
	s.c.appends++
	s.c.boxes[s.user] = append(s.c.boxes[s.user], m)
	s.c.bodies[m.ID] = ports.Body{Meta: m, Raw: raw, Text: string(text)}
	return m, nil
}

// testDraftRaw stands in for the client adapter's message builder.
func testDraftRaw(d ports.Draft, from string) ([]byte, error) {
	return []byte("From: " + from + "\r\nTo: " + strings.Join(d.To, ", ") + "\r\nSubject: " + d.Subject +
		"\r\n\r\n" + d.Body), nil
}

// appended is how many Append calls stored something.
func (c *fakeClient) appended() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.appends
}

// draftsOf is the subjects of owner's entries in Drafts.
func (c *fakeClient) draftsOf(owner string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.boxes[owner] {
		if m.Folder == mail.Drafts {
			out = append(out, m.Subject)
		}
	}
	return out
}
