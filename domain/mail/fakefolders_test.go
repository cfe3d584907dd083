package mail_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// The fake store's folders: enough of the store contract (adapters/storetest
// holds the real one) for the service's own rules to be tested.

// folder gives owner's folder, making the special ones on first use (a
// real store makes them with the account).
func (s *mailStore) folder(owner account.ID, name mail.Folder) (*mail.FolderInfo, error) {
	fs := s.folders[owner]
	if fs == nil {
		fs = map[mail.Folder]*mail.FolderInfo{}
		s.folders[owner] = fs
		for _, sp := range mail.SpecialFolders() {
			fs[sp] = &mail.FolderInfo{Name: sp, Special: sp.Special(), UIDValidity: s.nextValidity(owner, testNow), UIDNext: 1}
		}
	}
	if fi, ok := fs[name]; ok {
		return fi, nil
	}
	return nil, fmt.Errorf("%w: %q", mail.ErrNoSuchFolder, name)
}

func (s *mailStore) nextValidity(owner account.ID, now time.Time) uint32 {
	v := max(uint32(now.Unix()), s.validity[owner]+1)
	s.validity[owner] = v
	return v
}

// add stores one entry for msg; its folder exists.
func (s *mailStore) add(msg mail.NewMessage, e mail.NewEntry) mail.Meta {
	fi, _ := s.folder(e.Owner, e.Folder)
	flags := e.Flags
	if e.Seen {
		flags |= mail.FlagSeen
	}
	s.nextID++
	m := mail.Meta{ID: s.nextID, Owner: e.Owner, Folder: e.Folder, From: msg.From, To: e.To,
		Subject: msg.Subject, Preview: msg.Preview, Date: msg.Received, Size: int64(len(msg.Raw)),
		Seen: flags.Has(mail.FlagSeen), Flags: flags, UID: fi.UIDNext, MessageID: msg.MessageID}
	fi.UIDNext++
	fi.Total++
	if !m.Seen {
		fi.Unseen++
	}
	s.entries[m.ID] = &mail.Message{Meta: m, Raw: msg.Raw}
	return m
}

func (s *mailStore) setFlags(m *mail.Message, f mail.Flags) {
	fi, _ := s.folder(m.Owner, m.Folder)
	if m.Seen && !f.Has(mail.FlagSeen) {
		fi.Unseen++
	} else if !m.Seen && f.Has(mail.FlagSeen) {
		fi.Unseen--
	}
	m.Flags, m.Seen = f, f.Has(mail.FlagSeen)
}

func (s *mailStore) remove(m *mail.Message) {
	if fi, err := s.folder(m.Owner, m.Folder); err == nil {
		fi.Total--
		if !m.Seen {
			fi.Unseen--
		}
	}
	delete(s.entries, m.ID)
}

// inFolder gives the entries of a folder, ascending UID.
func (s *mailStore) inFolder(owner account.ID, f mail.Folder) []*mail.Message {
	var out []*mail.Message
	for _, m := range s.entries {
		if m.Owner == owner && m.Folder == f {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *mail.Message) int { return int(a.UID) - int(b.UID) })
	return out
}

func (s *mailStore) Folders(_ context.Context, owner account.ID) ([]mail.FolderInfo, error) {
	s.folder(owner, mail.Inbox)
	var out []mail.FolderInfo
	for _, fi := range s.folders[owner] {
		out = append(out, *fi)
	}
	rank := func(f mail.FolderInfo) string {
		if i := slices.Index(mail.SpecialFolders(), f.Name); i >= 0 {
			return fmt.Sprint(i)
		}
		return "9" + string(f.Name)
	}
	slices.SortFunc(out, func(a, b mail.FolderInfo) int { return strings.Compare(rank(a), rank(b)) })
	return out, nil
}

func (s *mailStore) Folder(_ context.Context, owner account.ID, name mail.Folder) (mail.FolderInfo, error) {
	fi, err := s.folder(owner, name)
	if err != nil {
		return mail.FolderInfo{}, err
	}
	return *fi, nil
}

func (s *mailStore) CreateFolder(_ context.Context, owner account.ID, name mail.Folder, now time.Time) (mail.FolderInfo, error) {
	s.createArgs = append(s.createArgs, name)
	if _, err := s.folder(owner, name); err == nil {
		return mail.FolderInfo{}, mail.ErrFolderExists
	}
	for _, f := range append(name.Ancestors(), name) {
		if _, err := s.folder(owner, f); err != nil {
			s.folders[owner][f] = &mail.FolderInfo{Name: f, UIDValidity: s.nextValidity(owner, now), UIDNext: 1}
		}
	}
	return *s.folders[owner][name], nil
}

func (s *mailStore) RenameFolder(_ context.Context, owner account.ID, from, to mail.Folder) error {
	if _, err := s.folder(owner, from); err != nil {
		return err
	}
	fs := s.folders[owner]
	moves := map[mail.Folder]mail.Folder{}
	for name := range fs {
		if name.Within(from) {
			n := to + name[len(from):]
			if _, taken := fs[n]; taken {
				return mail.ErrFolderExists
			}
			moves[name] = n
		}
	}
	for old, n := range moves {
		fi := fs[old]
		delete(fs, old)
		fi.Name = n
		fs[n] = fi
		for _, m := range s.entries {
			if m.Owner == owner && m.Folder == old {
				m.Folder = n
			}
		}
	}
	return nil
}

func (s *mailStore) DeleteFolder(_ context.Context, owner account.ID, name mail.Folder) error {
	if _, err := s.folder(owner, name); err != nil {
		return err
	}
	for _, m := range s.inFolder(owner, name) {
		delete(s.entries, m.ID)
	}
	delete(s.folders[owner], name)
	return nil
}

func (s *mailStore) UIDs(_ context.Context, owner account.ID, f mail.Folder) ([]mail.UIDEntry, error) {
	if _, err := s.folder(owner, f); err != nil {
		return nil, err
	}
	var out []mail.UIDEntry
	for _, m := range s.inFolder(owner, f) {
		out = append(out, mail.UIDEntry{UID: m.UID, ID: m.ID, Flags: m.Flags})
	}
	return out, nil
}

func (s *mailStore) MetasByUID(_ context.Context, owner account.ID, f mail.Folder, uids []uint32) ([]mail.Meta, error) {
	if _, err := s.folder(owner, f); err != nil {
		return nil, err
	}
	var out []mail.Meta
	for _, m := range s.inFolder(owner, f) {
		if slices.Contains(uids, m.UID) {
			out = append(out, m.Meta)
		}
	}
	return out, nil
}

func (s *mailStore) SetFlags(_ context.Context, owner account.ID, ids []mail.EntryID, op mail.FlagOp, f mail.Flags) ([]mail.UIDEntry, error) {
	var out []mail.UIDEntry
	for _, id := range ids {
		if m, err := s.own(owner, id); err == nil {
			s.setFlags(m, op.Apply(m.Flags, f))
			out = append(out, mail.UIDEntry{UID: m.UID, ID: m.ID, Flags: m.Flags})
		}
	}
	return out, nil
}

func (s *mailStore) Transfer(_ context.Context, owner account.ID, ids []mail.EntryID, to mail.Folder, move bool) ([]mail.Transfer, error) {
	if _, err := s.folder(owner, to); err != nil {
		return nil, err
	}
	var out []mail.Transfer
	for _, id := range ids {
		m, err := s.own(owner, id)
		if err != nil {
			continue
		}
		msg := mail.NewMessage{Raw: m.Raw, From: m.From, Subject: m.Subject, Preview: m.Preview, Received: m.Date, MessageID: m.MessageID}
		nm := s.add(msg, mail.NewEntry{Owner: owner, Folder: to, To: m.To, Flags: m.Flags})
		out = append(out, mail.Transfer{From: m.ID, FromUID: m.UID, To: nm})
		if move {
			s.remove(m)
		}
	}
	return out, nil
}

func (s *mailStore) Append(_ context.Context, msg mail.NewMessage, e mail.NewEntry, dedup bool) (mail.Meta, bool, error) {
	s.appendArgs = append(s.appendArgs, appendCall{msg, e, dedup})
	if _, err := s.folder(e.Owner, e.Folder); err != nil {
		return mail.Meta{}, false, err
	}
	if dedup {
		for _, m := range s.inFolder(e.Owner, e.Folder) {
			if m.MessageID == msg.MessageID {
				return m.Meta, true, nil
			}
		}
	}
	s.msgs = append(s.msgs, msg)
	return s.add(msg, e), false, nil
}

func (s *mailStore) Expunge(_ context.Context, owner account.ID, f mail.Folder, uids []uint32) ([]uint32, error) {
	if _, err := s.folder(owner, f); err != nil {
		return nil, err
	}
	var out []uint32
	for _, m := range s.inFolder(owner, f) {
		if m.Flags.Has(mail.FlagDeleted) && (uids == nil || slices.Contains(uids, m.UID)) {
			s.remove(m)
			out = append(out, m.UID)
		}
	}
	return out, nil
}

type appendCall struct {
	msg   mail.NewMessage
	e     mail.NewEntry
	dedup bool
}
