package imapserver

import (
	"bufio"
	"bytes"
	"errors"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"
	"go.uber.org/zap"

	"mailroom/domain/mail"
)

var errReadOnly = no(imap.ResponseCodeCannot, "Mailbox is read-only (EXAMINE)")

// Fetch is FETCH and UID FETCH. Flags and UIDs come from the view when
// nothing else is asked; metadata in batches; the raw message only for
// ENVELOPE, BODYSTRUCTURE and sections. A section fetched without PEEK
// sets \Seen (not under EXAMINE) and the new flags are sent along.
func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	v := s.sel
	idx := v.resolve(numSet)
	needRaw := options.Envelope || options.BodyStructure != nil || len(options.BodySection) > 0 ||
		len(options.BinarySection) > 0 || len(options.BinarySectionSize) > 0
	needMeta := needRaw || options.RFC822Size || options.InternalDate
	markSeen := !v.readOnly && slices.ContainsFunc(options.BodySection, func(b *imap.FetchItemBodySection) bool { return !b.Peek }) ||
		!v.readOnly && slices.ContainsFunc(options.BinarySection, func(b *imap.FetchItemBinarySection) bool { return !b.Peek })
	for start := 0; start < len(idx); start += metaBatch {
		batch := idx[start:min(start+metaBatch, len(idx))]
		metas := map[uint32]mail.Meta{}
		if needMeta {
			uids := make([]uint32, len(batch))
			for j, i := range batch {
				uids[j] = v.uids[i]
			}
			list, err := s.srv.mailboxes.MetasByUID(s.ctx, s.acc.ID, v.folder, uids)
			if err != nil {
				return reply(s.log, "fetch", err)
			}
			for _, m := range list {
				metas[m.UID] = m
			}
		}
		for _, i := range batch {
			m, ok := metas[v.uids[i]]
			if needMeta && !ok {
				continue // expunged elsewhere; its EXPUNGE comes later
			}
			if err := s.fetchOne(w, i, m, needMeta, needRaw, markSeen, options); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *session) fetchOne(w *imapserver.FetchWriter, i int, m mail.Meta, haveMeta, needRaw, markSeen bool, options *imap.FetchOptions) error {
	v := s.sel
	var raw []byte
	if needRaw {
		msg, err := s.srv.mailboxes.Fetch(s.ctx, s.acc.ID, v.ids[i])
		if errors.Is(err, mail.ErrNotFound) {
			return nil
		}
		if err != nil {
			return reply(s.log, "fetch", err)
		}
		raw = msg.Raw
	}
	flags, sendFlags := v.flags[i], options.Flags
	if haveMeta {
		flags = m.Flags
	}
	if markSeen && !flags.Has(mail.FlagSeen) {
		f, err := s.srv.mailboxes.SetFlags(s.ctx, s.acc.ID, v.ids[i], mail.FlagsAdd, mail.FlagSeen)
		if err != nil {
			return reply(s.log, "fetch", err)
		}
		flags, sendFlags = f, true
	}
	rw := w.CreateMessage(uint32(i + 1))
	if options.UID {
		rw.WriteUID(imap.UID(v.uids[i]))
	}
	if sendFlags {
		// What the client is told is what the view holds, so the feed's
		// echo of the same flags says nothing more.
		v.flags[i] = flags
		rw.WriteFlags(imapFlags(flags))
	}
	if options.RFC822Size {
		rw.WriteRFC822Size(m.Size)
	}
	if options.InternalDate {
		rw.WriteInternalDate(m.Date)
	}
	if options.Envelope {
		h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
		rw.WriteEnvelope(imapserver.ExtractEnvelope(h))
	}
	if options.BodyStructure != nil {
		rw.WriteBodyStructure(imapserver.ExtractBodyStructure(bytes.NewReader(raw)))
	}
	for _, sec := range options.BodySection {
		b := imapserver.ExtractBodySection(bytes.NewReader(raw), sec)
		if err := writeAll(rw.WriteBodySection(sec, int64(len(b))), b); err != nil {
			return err
		}
	}
	for _, sec := range options.BinarySection {
		b := imapserver.ExtractBinarySection(bytes.NewReader(raw), sec)
		if err := writeAll(rw.WriteBinarySection(sec, int64(len(b))), b); err != nil {
			return err
		}
	}
	for _, sec := range options.BinarySectionSize {
		rw.WriteBinarySectionSize(sec, imapserver.ExtractBinarySectionSize(bytes.NewReader(raw), sec))
	}
	return rw.Close()
}

func writeAll(wc interface {
	Write([]byte) (int, error)
	Close() error
}, b []byte) error {
	if _, err := wc.Write(b); err != nil {
		return err
	}
	return wc.Close()
}

// storeOps maps STORE's operations to the domain's.
var storeOps = map[imap.StoreFlagsOp]mail.FlagOp{
	imap.StoreFlagsSet: mail.FlagsSet, imap.StoreFlagsAdd: mail.FlagsAdd, imap.StoreFlagsDel: mail.FlagsRemove,
}

// Store is STORE and UID STORE, in one unit of work. Flags other than
// the five stored ones are dropped; the FETCH replies show what stuck.
func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, _ *imap.StoreOptions) error {
	v := s.sel
	if v.readOnly {
		return errReadOnly
	}
	idx := v.resolve(numSet)
	if len(idx) == 0 {
		return nil
	}
	ids := make([]mail.EntryID, len(idx))
	at := make(map[mail.EntryID]int, len(idx))
	for j, i := range idx {
		ids[j], at[v.ids[i]] = v.ids[i], i
	}
	done, err := s.srv.mailboxes.StoreFlags(s.ctx, s.acc.ID, ids, storeOps[flags.Op], mailFlags(flags.Flags))
	if err != nil {
		return reply(s.log, "store", err)
	}
	_, isUID := numSet.(imap.UIDSet)
	for _, e := range done {
		i, ok := at[e.ID]
		if !ok {
			continue
		}
		v.flags[i] = e.Flags
		if flags.Silent {
			continue
		}
		rw := w.CreateMessage(uint32(i + 1))
		if isUID {
			rw.WriteUID(imap.UID(v.uids[i]))
		}
		rw.WriteFlags(imapFlags(e.Flags))
		if err := rw.Close(); err != nil {
			return err
		}
	}
	return nil
}

// Expunge is EXPUNGE, UID EXPUNGE and CLOSE's implicit expunge: the
// entries flagged \Deleted (among uids, for UID EXPUNGE) are deleted for
// good. Under EXAMINE nothing is deleted.
func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	v := s.sel
	if v.readOnly {
		return nil
	}
	var among []uint32
	if uids != nil {
		among = []uint32{}
		for _, i := range v.resolve(*uids) {
			among = append(among, v.uids[i])
		}
		if len(among) == 0 {
			return nil
		}
	}
	gone, err := s.srv.mailboxes.Expunge(s.ctx, s.acc.ID, v.folder, among)
	if err != nil {
		return reply(s.log, "expunge", err)
	}
	s.log.Info("expunge", zap.String("folder", string(v.folder)), zap.Int("count", len(gone)))
	return s.dropFromView(gone, w.WriteExpunge)
}

// dropFromView removes uids from the view, announcing each with its
// sequence number; highest first, so that no number shifts under the
// ones still to come.
func (s *session) dropFromView(uids []uint32, write func(seq uint32) error) error {
	v := s.sel
	sorted := slices.Clone(uids)
	slices.Sort(sorted)
	for j := len(sorted) - 1; j >= 0; j-- {
		i := v.find(sorted[j])
		if i < 0 {
			continue
		}
		v.remove(i)
		if err := write(uint32(i + 1)); err != nil {
			return err
		}
	}
	return nil
}

// Copy is COPY and UID COPY, in one unit of work; the reply carries
// COPYUID (RFC 4315).
func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	data, _, err := s.transfer(numSet, dest, false)
	return data, err
}

// Move is MOVE and UID MOVE (RFC 6851), in one unit of work: COPYUID,
// then an EXPUNGE for each entry moved.
func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	if s.sel.readOnly {
		return errReadOnly
	}
	data, moved, err := s.transfer(numSet, dest, true)
	if err != nil {
		return err
	}
	if err := w.WriteCopyData(data); err != nil {
		return err
	}
	return s.dropFromView(moved, w.WriteExpunge)
}

// transfer copies or moves the entries numSet names to dest and gives the
// COPYUID data and the source UIDs transferred.
func (s *session) transfer(numSet imap.NumSet, dest string, move bool) (*imap.CopyData, []uint32, error) {
	v := s.sel
	info, err := s.destination(dest)
	if err != nil {
		return nil, nil, err
	}
	idx := v.resolve(numSet)
	if len(idx) == 0 {
		return &imap.CopyData{UIDValidity: info.UIDValidity}, nil, nil
	}
	ids := make([]mail.EntryID, len(idx))
	for j, i := range idx {
		ids[j] = v.ids[i]
	}
	op := s.srv.mailboxes.CopyEntries
	if move {
		op = s.srv.mailboxes.MoveEntries
	}
	done, err := op(s.ctx, s.acc.ID, ids, info.Name)
	if err != nil {
		return nil, nil, reply(s.log, "copy", err)
	}
	data := &imap.CopyData{UIDValidity: info.UIDValidity}
	from := make([]uint32, 0, len(done))
	for _, t := range done {
		data.SourceUIDs.AddNum(imap.UID(t.FromUID))
		data.DestUIDs.AddNum(imap.UID(t.To.UID))
		from = append(from, t.FromUID)
		s.noteNew(info, t.To)
	}
	s.log.Info("transfer", zap.Bool("move", move), zap.String("from", string(v.folder)),
		zap.String("to", string(info.Name)), zap.Int("count", len(done)))
	return data, from, nil
}
