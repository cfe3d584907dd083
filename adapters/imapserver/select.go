package imapserver

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailroom/domain/mail"
)

// Select is SELECT and EXAMINE. The view joins the hub before the folder
// is read, so that no change falls between the snapshot and the feed;
// changes the snapshot already holds are recognised and say nothing.
func (s *session) Select(mailbox string, options *imap.SelectOptions) (*imap.SelectData, error) {
	s.unselect()
	info, err := s.folderInfo(mailbox)
	if err != nil {
		return nil, err
	}
	v := newView(s.acc.ID, info, options.ReadOnly)
	s.srv.hub.add(v)
	entries, err := s.srv.mailboxes.UIDs(s.ctx, s.acc.ID, info.Name)
	if err != nil {
		s.srv.hub.remove(v)
		return nil, reply(s.log, "select", err)
	}
	v.load(entries)
	s.sel = v
	data := &imap.SelectData{
		Flags:          allFlags,
		PermanentFlags: allFlags,
		NumMessages:    uint32(len(v.uids)),
		UIDNext:        imap.UID(max(info.UIDNext, v.last()+1)),
		UIDValidity:    info.UIDValidity,
	}
	if options.ReadOnly {
		data.PermanentFlags = []imap.Flag{}
	}
	for i, f := range v.flags {
		if !f.Has(mail.FlagSeen) {
			data.FirstUnseenSeqNum = uint32(i + 1)
			break
		}
	}
	return data, nil
}

// Unselect is UNSELECT and CLOSE (go-imap calls Expunge first for CLOSE).
func (s *session) Unselect() error {
	s.unselect()
	return nil
}

func (s *session) unselect() {
	if s.sel != nil {
		s.srv.hub.remove(s.sel)
		s.sel = nil
	}
}

// noteNew tells the selected view at once about an entry this session
// put in its folder (APPEND, COPY, MOVE to itself), so that EXISTS does
// not wait for the feed.
func (s *session) noteNew(info mail.FolderInfo, m mail.Meta) {
	if v := s.sel; v != nil && v.folder == info.Name {
		v.queue(mail.Change{Kind: mail.ChangeNew, UIDValidity: info.UIDValidity, Meta: m})
	}
}

// Poll is go-imap's hook after each command: pending changes become
// untagged updates.
func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	v := s.sel
	if v == nil {
		return nil
	}
	changes, resync := v.take(allowExpunge)
	if resync {
		entries, err := s.srv.mailboxes.UIDs(s.ctx, s.acc.ID, v.folder)
		if err != nil {
			return reply(s.log, "poll", err)
		}
		return v.reload(w, entries)
	}
	return v.apply(w, changes)
}

// Idle is IDLE: updates go out as the hub queues them, until DONE. It
// holds s.idle while it runs: go-imap ends IDLE on a closed connection
// without waiting for this goroutine, and Close must not unselect under it.
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	s.idle.Lock()
	defer s.idle.Unlock()
	v := s.sel
	if v == nil {
		<-stop
		return nil
	}
	if err := s.Poll(w, true); err != nil {
		return err
	}
	for {
		select {
		case <-v.wake:
			if err := s.Poll(w, true); err != nil {
				return err
			}
		case <-stop:
			return nil
		case <-s.ctx.Done():
			return nil
		}
	}
}
