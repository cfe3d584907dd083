package ui

import (
	"context"
	"sort"

	"mailroom/domain/mail"
	"mailroom/ports"
)

// fakeFolderSession is a fakeSession with folders: what the client
// adapter's Session offers once the server has them.
type fakeFolderSession struct{ *fakeSession }

var _ ports.FolderSession = (*fakeFolderSession)(nil)

// foldersOf is owner's folder set (under c.mu).
func (c *fakeClient) foldersOf(owner string) map[mail.Folder]bool {
	if c.userFolders == nil {
		c.userFolders = map[string]map[mail.Folder]bool{}
	}
	fs := c.userFolders[owner]
	if fs == nil {
		fs = map[mail.Folder]bool{}
		for _, f := range mail.SpecialFolders() {
			fs[f] = true
		}
		c.userFolders[owner] = fs
	}
	return fs
}

// addFolder gives owner folder f.
func (c *fakeClient) addFolder(owner string, f mail.Folder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.foldersOf(owner)[f] = true
}

// inFolder is the ids of owner's entries in f.
func (c *fakeClient) inFolder(owner string, f mail.Folder) []mail.EntryID {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []mail.EntryID
	for _, m := range c.boxes[owner] {
		if m.Folder == f {
			out = append(out, m.ID)
		}
	}
	return out
}

func (s *fakeFolderSession) Folders(ctx context.Context) ([]mail.FolderInfo, error) {
	if err := s.enter(ctx, "Folders"); err != nil {
		return nil, err
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	var user []mail.Folder
	for f := range s.c.foldersOf(s.user) {
		if f.Special() == mail.SpecialNone {
			user = append(user, f)
		}
	}
	sort.Slice(user, func(i, j int) bool { return user[i] < user[j] })
	var out []mail.FolderInfo
	for _, f := range append(mail.SpecialFolders(), user...) {
		fi := mail.FolderInfo{Name: f, Special: f.Special()}
		for _, m := range s.c.boxes[s.user] {
			if m.Folder == f {
				fi.Total++
				if !m.Seen {
					fi.Unseen++
				}
			}
		}
		out = append(out, fi)
	}
	return out, nil
}

func (s *fakeFolderSession) CreateFolder(ctx context.Context, name mail.Folder) error {
	if err := s.enter(ctx, "CreateFolder"); err != nil {
		return err
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	fs := s.c.foldersOf(s.user)
	if fs[name] {
		return mail.ErrFolderExists
	}
	for _, p := range name.Ancestors() {
		fs[p] = true
	}
	fs[name] = true
	return nil
}

func (s *fakeFolderSession) RenameFolder(ctx context.Context, from, to mail.Folder) error {
	if err := s.enter(ctx, "RenameFolder"); err != nil {
		return err
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	fs := s.c.foldersOf(s.user)
	switch {
	case from.Special() != mail.SpecialNone:
		return mail.ErrSpecialFolder
	case !fs[from]:
		return mail.ErrNoSuchFolder
	case fs[to]:
		return mail.ErrFolderExists
	}
	rename := func(f mail.Folder) mail.Folder { return to + f[len(from):] }
	for f := range fs {
		if f.Within(from) {
			delete(fs, f)
			fs[rename(f)] = true
		}
	}
	box := s.c.boxes[s.user]
	for i := range box {
		if box[i].Folder.Within(from) {
			box[i].Folder = rename(box[i].Folder)
		}
	}
	return nil
}

func (s *fakeFolderSession) DeleteFolder(ctx context.Context, name mail.Folder) error {
	if err := s.enter(ctx, "DeleteFolder"); err != nil {
		return err
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	fs := s.c.foldersOf(s.user)
	switch {
	case name.Special() != mail.SpecialNone:
		return mail.ErrSpecialFolder
	case !fs[name]:
		return mail.ErrNoSuchFolder
	}
	delete(fs, name)
	box := s.c.boxes[s.user][:0]
	for _, m := range s.c.boxes[s.user] {
		if m.Folder != name {
			box = append(box, m)
		}
	}
	s.c.boxes[s.user] = box
	return nil
}

// Move gives the entry a new id in its new folder, as the server does; it
// goes to the end of the box, so that List sees it as the newest entry.
func (s *fakeFolderSession) Move(ctx context.Context, id mail.EntryID, to mail.Folder) (mail.EntryID, error) {
	if err := s.enter(ctx, "Move"); err != nil {
		return 0, err
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if !s.c.foldersOf(s.user)[to] {
		return 0, mail.ErrNoSuchFolder
	}
	box := s.c.boxes[s.user]
	for i := range box {
		if box[i].ID == id {
			m := box[i]
			s.c.boxes[s.user] = append(box[:i:i], box[i+1:]...)
			m.ID, m.Folder = s.c.nextID, to
			s.c.nextID++
			s.c.boxes[s.user] = append(s.c.boxes[s.user], m)
			b := s.c.bodies[id]
			b.Meta = m
			s.c.bodies[m.ID] = b
			return m.ID, nil
		}
	}
	return 0, mail.ErrNotFound
}

func (s *fakeFolderSession) SetFlags(ctx context.Context, id mail.EntryID, add, remove mail.Flags) (mail.Flags, error) {
	if err := s.enter(ctx, "SetFlags"); err != nil {
		return 0, err
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	m, ok := s.c.meta(s.user, id)
	if !ok {
		return 0, mail.ErrNotFound
	}
	m.Flags = (m.Flags | add) &^ remove
	m.Seen = m.Flags.Has(mail.FlagSeen)
	return m.Flags, nil
}

func portsConnected() ports.WatchEvent { return ports.WatchEvent{Connected: true} }
