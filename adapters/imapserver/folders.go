package imapserver

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"go.uber.org/zap"

	"mailroom/domain/mail"
)

// delim is the hierarchy delimiter on the wire: the domain's.
const delim = '/'

// wireNames are the special folders' names on the IMAP wire. User folders
// keep their own names (go-imap encodes them in modified UTF-7).
var wireNames = map[mail.Folder]string{
	mail.Inbox: "INBOX", mail.Sent: "Sent", mail.Drafts: "Drafts", mail.Trash: "Trash",
}

// specialAttrs are the RFC 6154 attributes of the special folders.
var specialAttrs = map[mail.SpecialUse]imap.MailboxAttr{
	mail.SpecialSent: imap.MailboxAttrSent, mail.SpecialDrafts: imap.MailboxAttrDrafts,
	mail.SpecialTrash: imap.MailboxAttrTrash,
}

// wireName is a folder's name on the wire: "Sent/2024" for "sent/2024".
func wireName(f mail.Folder) string {
	top, rest, nested := strings.Cut(string(f), "/")
	if w, ok := wireNames[mail.Folder(top)]; ok {
		if nested {
			return w + "/" + rest
		}
		return w
	}
	return string(f)
}

// parseName reads a mailbox name from the wire (already UTF-8); a trailing
// delimiter is dropped, as RFC 9051 §6.3.4 asks of CREATE.
func parseName(name string) (mail.Folder, error) {
	return mail.ParseFolder(strings.TrimSuffix(name, string(delim)))
}

// folderInfo gives the user's folder named on the wire.
func (s *session) folderInfo(name string) (mail.FolderInfo, error) {
	f, err := parseName(name)
	if err != nil {
		return mail.FolderInfo{}, reply(s.log, "folder", err)
	}
	info, err := s.srv.mailboxes.Folder(s.ctx, s.acc.ID, f)
	return info, reply(s.log, "folder", err)
}

// destination is folderInfo for COPY, MOVE and APPEND: a missing folder is
// NO [TRYCREATE] (RFC 9051 §6.3.12), so that the client offers to create it.
func (s *session) destination(name string) (mail.FolderInfo, error) {
	f, err := parseName(name)
	if err != nil {
		return mail.FolderInfo{}, reply(s.log, "folder", err)
	}
	info, err := s.srv.mailboxes.Folder(s.ctx, s.acc.ID, f)
	if errors.Is(err, mail.ErrNotFound) {
		return info, no(imap.ResponseCodeTryCreate, "No such mailbox")
	}
	return info, reply(s.log, "folder", err)
}

// Create is CREATE: parents are created too.
func (s *session) Create(mailbox string, _ *imap.CreateOptions) error {
	f, err := parseName(mailbox)
	if err == nil {
		_, err = s.srv.mailboxes.CreateFolder(s.ctx, s.acc.ID, f)
	}
	return reply(s.log, "create", err)
}

// Delete is DELETE: the folder's messages go for good; folders within it
// stay.
func (s *session) Delete(mailbox string) error {
	f, err := parseName(mailbox)
	if err == nil {
		err = s.srv.mailboxes.DeleteFolder(s.ctx, s.acc.ID, f)
	}
	return reply(s.log, "delete", err)
}

// Rename is RENAME; the folders within follow. Renaming INBOX, which RFC
// 9051 defines as moving its messages, is refused like every special
// folder's rename.
func (s *session) Rename(mailbox, newName string, _ *imap.RenameOptions) error {
	from, err := parseName(mailbox)
	if err != nil {
		return reply(s.log, "rename", err)
	}
	to, err := parseName(newName)
	if err == nil {
		err = s.srv.mailboxes.RenameFolder(s.ctx, s.acc.ID, from, to)
	}
	return reply(s.log, "rename", err)
}

// Status is STATUS. SIZE and DELETED cost a walk of the folder; the other
// items come with the folder's row.
func (s *session) Status(mailbox string, options *imap.StatusOptions) (*imap.StatusData, error) {
	info, err := s.folderInfo(mailbox)
	if err != nil {
		return nil, err
	}
	return s.status(info, options)
}

func (s *session) status(info mail.FolderInfo, options *imap.StatusOptions) (*imap.StatusData, error) {
	total, unseen, zero := uint32(info.Total), uint32(info.Unseen), uint32(0)
	data := &imap.StatusData{
		Mailbox:     wireName(info.Name),
		NumMessages: &total,
		NumUnseen:   &unseen,
		NumRecent:   &zero,
		UIDNext:     imap.UID(info.UIDNext),
		UIDValidity: info.UIDValidity,
	}
	if options.NumDeleted || options.Size {
		entries, err := s.srv.mailboxes.UIDs(s.ctx, s.acc.ID, info.Name)
		if err != nil {
			return nil, reply(s.log, "status", err)
		}
		var deleted uint32
		uids := make([]uint32, 0, len(entries))
		for _, e := range entries {
			if e.Flags.Has(mail.FlagDeleted) {
				deleted++
			}
			uids = append(uids, e.UID)
		}
		data.NumDeleted = &deleted
		if options.Size {
			size, err := s.folderSize(info.Name, uids)
			if err != nil {
				return nil, err
			}
			data.Size = &size
		}
	}
	return data, nil
}

// folderSize adds up the sizes of a folder's entries.
func (s *session) folderSize(f mail.Folder, uids []uint32) (int64, error) {
	var size int64
	for start := 0; start < len(uids); start += metaBatch {
		metas, err := s.srv.mailboxes.MetasByUID(s.ctx, s.acc.ID, f, uids[start:min(start+metaBatch, len(uids))])
		if err != nil {
			return 0, reply(s.log, "status", err)
		}
		for _, m := range metas {
			size += m.Size
		}
	}
	return size, nil
}

// Append is APPEND. go-imap has checked the literal's size against
// AppendLimit; its bytes are held under the server's in-flight budget
// while they are read and stored.
func (s *session) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	info, err := s.destination(mailbox)
	if err != nil {
		return nil, err
	}
	n := r.Size()
	ctx, cancel := context.WithTimeout(s.ctx, appendWait)
	err = s.srv.budget.Acquire(ctx, n)
	cancel()
	if err != nil {
		return nil, reply(s.log, "append", errBusy)
	}
	defer s.srv.budget.Release(n)
	raw := make([]byte, n)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, err
	}
	meta, existed, err := s.srv.mailboxes.Append(s.ctx, s.acc.ID, info.Name, raw, mailFlags(options.Flags), options.Time)
	if err != nil {
		return nil, reply(s.log, "append", err)
	}
	if !existed {
		s.noteNew(info, meta)
	}
	s.log.Info("append", zap.String("folder", string(info.Name)), zap.Uint32("uid", meta.UID),
		zap.Int64("size", n), zap.Bool("existed", existed))
	return &imap.AppendData{UID: imap.UID(meta.UID), UIDValidity: info.UIDValidity}, nil
}

// List is LIST and LSUB. Every folder counts as subscribed (see
// Subscribe). A level whose parent folder is missing is listed with the
// parent as \Noselect, so that a client that walks the tree with "%"
// finds it.
func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	if len(patterns) == 1 && patterns[0] == "" {
		// RFC 9051 §6.3.9: the delimiter and the root.
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: delim})
	}
	folders, err := s.srv.mailboxes.Folders(s.ctx, s.acc.ID)
	if err != nil {
		return reply(s.log, "list", err)
	}
	for _, e := range listEntries(folders) {
		if !matchAny(e.name, ref, patterns) {
			continue
		}
		if options.SelectSpecialUse && (e.info == nil || specialAttrs[e.info.Special] == "") {
			continue
		}
		data := &imap.ListData{Attrs: e.attrs, Delim: delim, Mailbox: e.name}
		if options.SelectSubscribed || options.ReturnSubscribed {
			data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
		}
		if options.ReturnStatus != nil && e.info != nil {
			if data.Status, err = s.status(*e.info, options.ReturnStatus); err != nil {
				return err
			}
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

func matchAny(name, ref string, patterns []string) bool {
	for _, p := range patterns {
		if imapserver.MatchList(name, delim, ref, p) {
			return true
		}
		// INBOX matches in any case (RFC 9051 §5.1).
		if strings.EqualFold(name, "INBOX") && imapserver.MatchList(name, delim, strings.ToUpper(ref), strings.ToUpper(p)) {
			return true
		}
	}
	return false
}

// listEntry is one LIST line: a folder, or a missing parent (info nil).
type listEntry struct {
	name  string
	info  *mail.FolderInfo
	attrs []imap.MailboxAttr
}

func listEntries(folders []mail.FolderInfo) []listEntry {
	exists := map[mail.Folder]bool{}
	parent := map[mail.Folder]bool{}
	for _, f := range folders {
		exists[f.Name] = true
		for _, a := range f.Name.Ancestors() {
			parent[a] = true
		}
	}
	var out []listEntry
	missing := map[mail.Folder]bool{}
	for i := range folders {
		f := &folders[i]
		for _, a := range f.Name.Ancestors() {
			if !exists[a] && !missing[a] {
				missing[a] = true
				out = append(out, listEntry{name: wireName(a),
					attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect, imap.MailboxAttrHasChildren}})
			}
		}
		attrs := []imap.MailboxAttr{imap.MailboxAttrHasNoChildren}
		if parent[f.Name] {
			attrs[0] = imap.MailboxAttrHasChildren
		}
		if a := specialAttrs[f.Special]; a != "" {
			attrs = append(attrs, a)
		}
		out = append(out, listEntry{name: wireName(f.Name), info: f, attrs: attrs})
	}
	return out
}
