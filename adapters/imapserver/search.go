package imapserver

import (
	"bufio"
	"bytes"
	"mime"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"mailroom/domain/mail"
)

// candidate is one entry as SEARCH matches it: what the view knows, plus
// its metadata and raw bytes when the criteria need them.
type candidate struct {
	seq   uint32
	uid   uint32
	flags mail.Flags
	meta  mail.Meta
	raw   []byte
	hdr   *textproto.Header
}

// Search is SEARCH and UID SEARCH. Its top-level text keys go through
// the full-text index when the server has one (search_index.go) and the
// other criteria are checked on the index's candidates only; without an
// index, or for a SEARCH the index cannot narrow, it is a scan of the
// selected folder.
func (s *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	if s.srv.cfg.Index != nil {
		data, ok, err := s.searchIndexed(kind, criteria)
		if err != nil || ok {
			return data, err
		}
	}
	return s.scan(kind, criteria)
}

// scan checks every entry of the selected folder. Metadata is read only
// for date and size keys, the raw message only for header, body and text
// keys.
func (s *session) scan(kind imapserver.NumKind, criteria *imap.SearchCriteria) (*imap.SearchData, error) {
	v := s.sel
	needRaw, needMeta := needs(criteria)
	sets := resolvedSets{v: v}
	res := results{kind: kind}
	for start := 0; start < len(v.uids); start += metaBatch {
		end := min(start+metaBatch, len(v.uids))
		metas := map[uint32]mail.Meta{}
		if needMeta {
			list, err := s.srv.mailboxes.MetasByUID(s.ctx, s.acc.ID, v.folder, v.uids[start:end])
			if err != nil {
				return nil, reply(s.log, "search", err)
			}
			for _, m := range list {
				metas[m.UID] = m
			}
		}
		for i := start; i < end; i++ {
			c := &candidate{seq: uint32(i + 1), uid: v.uids[i], flags: v.flags[i]}
			if needMeta {
				m, ok := metas[c.uid]
				if !ok {
					continue
				}
				c.meta, c.flags = m, m.Flags
			}
			if needRaw {
				msg, err := s.srv.mailboxes.Fetch(s.ctx, s.acc.ID, v.ids[i])
				if err != nil {
					continue
				}
				c.raw = msg.Raw
			}
			if matches(criteria, c, &sets) {
				res.add(c)
			}
		}
	}
	return res.data(), nil
}

// results gathers the matches of one SEARCH, in ascending order, into
// what go-imap answers from (ALL, MIN, MAX, COUNT).
type results struct {
	kind imapserver.NumKind
	sd   imap.SearchData
	seqs imap.SeqSet
	uids imap.UIDSet
}

func (r *results) add(c *candidate) {
	num := c.seq
	if r.kind == imapserver.NumKindUID {
		num = c.uid
	}
	if r.sd.Min == 0 {
		r.sd.Min = num
	}
	r.sd.Max = num
	r.sd.Count++
	r.seqs.AddNum(c.seq)
	r.uids.AddNum(imap.UID(c.uid))
}

func (r *results) data() *imap.SearchData {
	d := r.sd
	d.All = r.seqs
	if r.kind == imapserver.NumKindUID {
		d.All = r.uids
	}
	return &d
}

// needs reports whether criteria need raw messages, or metadata.
func needs(c *imap.SearchCriteria) (raw, meta bool) {
	raw = len(c.Header) > 0 || len(c.Body) > 0 || len(c.Text) > 0 || !c.SentSince.IsZero() || !c.SentBefore.IsZero()
	meta = raw || !c.Since.IsZero() || !c.Before.IsZero() || c.Larger > 0 || c.Smaller > 0
	for i := range c.Not {
		r, m := needs(&c.Not[i])
		raw, meta = raw || r, meta || m
	}
	for i := range c.Or {
		for j := range 2 {
			r, m := needs(&c.Or[i][j])
			raw, meta = raw || r, meta || m
		}
	}
	return raw, meta
}

// resolvedSets caches the view indexes of each SEQ or UID set in the
// criteria, resolved once ("*" depends on the view).
type resolvedSets struct {
	v    *view
	seqs map[*imap.SeqSet]map[int]bool
	uids map[*imap.UIDSet]map[int]bool
}

func (r *resolvedSets) has(set imap.NumSet, key any, i int) bool {
	if r.seqs == nil {
		r.seqs, r.uids = map[*imap.SeqSet]map[int]bool{}, map[*imap.UIDSet]map[int]bool{}
	}
	var m map[int]bool
	switch k := key.(type) {
	case *imap.SeqSet:
		if m = r.seqs[k]; m == nil {
			m = indexSet(r.v.resolve(set))
			r.seqs[k] = m
		}
	case *imap.UIDSet:
		if m = r.uids[k]; m == nil {
			m = indexSet(r.v.resolve(set))
			r.uids[k] = m
		}
	}
	return m[i]
}

func indexSet(idx []int) map[int]bool {
	m := make(map[int]bool, len(idx))
	for _, i := range idx {
		m[i] = true
	}
	return m
}

// matches applies every key of criteria to c (they AND together).
func matches(cr *imap.SearchCriteria, c *candidate, sets *resolvedSets) bool {
	i := int(c.seq - 1)
	for k := range cr.SeqNum {
		if !sets.has(cr.SeqNum[k], &cr.SeqNum[k], i) {
			return false
		}
	}
	for k := range cr.UID {
		if !sets.has(cr.UID[k], &cr.UID[k], i) {
			return false
		}
	}
	if !dateIn(c.meta.Date, cr.Since, cr.Before) || !flagsMatch(cr, c.flags) {
		return false
	}
	if (cr.Larger > 0 && c.meta.Size <= cr.Larger) || (cr.Smaller > 0 && c.meta.Size >= cr.Smaller) {
		return false
	}
	if !textMatch(cr, c) {
		return false
	}
	for k := range cr.Not {
		if matches(&cr.Not[k], c, sets) {
			return false
		}
	}
	for k := range cr.Or {
		if !matches(&cr.Or[k][0], c, sets) && !matches(&cr.Or[k][1], c, sets) {
			return false
		}
	}
	return true
}

func flagsMatch(cr *imap.SearchCriteria, f mail.Flags) bool {
	for _, fl := range cr.Flag {
		if want := mailFlags([]imap.Flag{fl}); want == 0 || !f.Has(want) {
			return false // a keyword is never set: none is stored
		}
	}
	for _, fl := range cr.NotFlag {
		if want := mailFlags([]imap.Flag{fl}); want != 0 && f.Has(want) {
			return false
		}
	}
	return true
}

// dateIn applies SINCE/BEFORE (and ON, which go-imap gives as both): the
// date alone counts, in the zone of the time compared.
func dateIn(t, since, before time.Time) bool {
	if since.IsZero() && before.IsZero() {
		return true
	}
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if !since.IsZero() && day.Before(since) {
		return false
	}
	return before.IsZero() || day.Before(before)
}

var headerDecoder = mime.WordDecoder{}

// textMatch applies the header, body and text keys: case-insensitive
// substrings, header values RFC 2047 decoded, bodies as stored.
func textMatch(cr *imap.SearchCriteria, c *candidate) bool {
	if c.raw == nil {
		return len(cr.Header) == 0 && len(cr.Body) == 0 && len(cr.Text) == 0 &&
			cr.SentSince.IsZero() && cr.SentBefore.IsZero()
	}
	if c.hdr == nil {
		h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(c.raw)))
		c.hdr = &h
	}
	for _, hf := range cr.Header {
		if !headerHas(c.hdr, hf.Key, hf.Value) {
			return false
		}
	}
	if !cr.SentSince.IsZero() || !cr.SentBefore.IsZero() {
		sent := imapserver.ExtractEnvelope(*c.hdr).Date
		if sent.IsZero() || !dateIn(sent, cr.SentSince, cr.SentBefore) {
			return false
		}
	}
	body := c.raw
	if i := bytes.Index(c.raw, []byte("\r\n\r\n")); i >= 0 {
		body = c.raw[i+4:]
	}
	for _, s := range cr.Body {
		if !containsFold(body, s) {
			return false
		}
	}
	for _, s := range cr.Text {
		if !containsFold(c.raw, s) {
			return false
		}
	}
	return true
}

func headerHas(h *textproto.Header, key, value string) bool {
	for _, raw := range h.Values(key) {
		if value == "" {
			return true
		}
		dec, err := headerDecoder.DecodeHeader(raw)
		if err != nil {
			dec = raw
		}
		if strings.Contains(strings.ToLower(dec), strings.ToLower(value)) {
			return true
		}
	}
	return false
}

func containsFold(b []byte, s string) bool {
	return bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(s)))
}
