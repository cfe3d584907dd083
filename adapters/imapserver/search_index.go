package imapserver

import (
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailroom/domain/mail"
)

// SEARCH through the full-text index (issue 13). As Dovecot does with
// FTS, a text key that goes through the index matches by words, not by
// raw substring: its string is split into mail.SearchWords, which must
// appear next to each other and in order in the key's field, the last one
// as a prefix ("meet" finds "meeting"). So a word inside a base64,
// quoted-printable or HTML body is found, which the raw scan misses. Keys
// with no search word ("@", ""), keys under OR or NOT, and every other key
// keep the scan's meaning, checked on the index's candidates only.

// Variables so that a test can reach them with a few messages.
var (
	// indexPage is how many entries the first call asks of the index;
	// each further call asks twice as many as the last. Most searches end
	// with the first page, and one whose answer is long is read in few
	// calls (a store may work through every match again for each page).
	indexPage = 1000
	// maxIndexHits bounds the candidates the index may give one SEARCH.
	// Past it the folder is scanned instead: a key that common narrows
	// nothing, and the candidates' set would cost memory for nothing.
	maxIndexHits = 100_000
)

// indexFields are the header keys the index holds a field for (go-imap
// gives SUBJECT, FROM and TO as header keys). TO searches the index's
// recipients, To and Cc alike; FROM its sender, the From field and the
// envelope sender. CC and BCC stay scans.
var indexFields = map[string]mail.Field{"subject": mail.FieldSubject, "from": mail.FieldFrom, "to": mail.FieldTo}

// wordCheck is a key matched by words that the index query could not
// express: a BODY key (the index has no body-only field, so the query
// asks for the words anywhere), or a key past mail.MaxQueryTerms. It is
// checked on each candidate's own search document.
type wordCheck struct {
	term mail.Term
	body bool
}

// indexPlan is a SEARCH split in two: the query the index answers, and
// what is left to check on each of its candidates.
type indexPlan struct {
	query  mail.Query
	checks []wordCheck
	rest   imap.SearchCriteria // criteria without the keys matched by words
}

// planIndex takes the top-level text keys that have search words out of
// cr. ok is false when there is none: the index could not narrow the
// search.
func planIndex(cr *imap.SearchCriteria, folder mail.Folder) (p indexPlan, ok bool) {
	p.query.Folder = folder
	p.rest = *cr
	p.rest.Text, p.rest.Body, p.rest.Header = nil, nil, nil
	for _, s := range cr.Text {
		if !p.take(s, mail.FieldAny, false) {
			p.rest.Text = append(p.rest.Text, s)
		}
	}
	for _, s := range cr.Body {
		if !p.take(s, mail.FieldAny, true) {
			p.rest.Body = append(p.rest.Body, s)
		}
	}
	for _, h := range cr.Header {
		f, known := indexFields[strings.ToLower(h.Key)]
		if !known || !p.take(h.Value, f, false) {
			p.rest.Header = append(p.rest.Header, h)
		}
	}
	return p, len(p.query.Terms) > 0
}

// take adds the key s as a term of field f, to the index query while it
// has room and as a check otherwise (and always for BODY). It reports
// false for a key with no search word, or longer than a query may be:
// those keep the scan's substring meaning.
func (p *indexPlan) take(s string, f mail.Field, body bool) bool {
	words := mail.SearchWords(s)
	if len(words) == 0 || len(s) > mail.MaxQueryBytes {
		return false
	}
	t := mail.Term{Field: f, Words: words, Prefix: true}
	if len(p.query.Terms) < mail.MaxQueryTerms {
		p.query.Terms = append(p.query.Terms, t)
		if !body {
			return true
		}
	}
	p.checks = append(p.checks, wordCheck{term: t, body: body})
	return true
}

// searchIndexed answers a SEARCH whose top-level text keys the index can
// narrow: the index gives the candidates, and the rest of the criteria
// are checked on them alone, the raw message read only when a check needs
// it. ok is false when the search is better scanned.
func (s *session) searchIndexed(kind imapserver.NumKind, criteria *imap.SearchCriteria) (data *imap.SearchData, ok bool, err error) {
	v := s.sel
	p, ok := planIndex(criteria, v.folder)
	if !ok {
		return nil, false, nil
	}
	hits, ok, err := s.indexHits(p.query)
	if err != nil || !ok {
		return nil, false, reply(s.log, "search", err)
	}
	// Entries the view does not know (arrived since the last poll) have
	// no sequence number yet: they are left out, as the scan leaves them.
	idx := make([]int, 0, len(hits))
	for uid := range hits {
		if i := v.find(uid); i >= 0 {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	needRaw, needMeta := needs(&p.rest)
	needRaw = needRaw || len(p.checks) > 0
	sets := resolvedSets{v: v}
	res := results{kind: kind}
	for _, i := range idx {
		m := hits[v.uids[i]]
		c := &candidate{seq: uint32(i + 1), uid: v.uids[i], flags: v.flags[i], meta: m}
		if needMeta {
			c.flags = m.Flags // as the scan: the store's flags when it reads them
		}
		if needRaw {
			msg, err := s.srv.mailboxes.Fetch(s.ctx, s.acc.ID, v.ids[i])
			if err != nil {
				continue // gone since the index answered
			}
			c.raw = msg.Raw
		}
		if matches(&p.rest, c, &sets) && checksMatch(p.checks, c) {
			res.add(c)
		}
	}
	return res.data(), true, nil
}

// indexHits pages through the index's answer to q: the entries of the
// selected folder it matches, by UID, with the metadata the other keys
// need. ok is false past maxIndexHits.
func (s *session) indexHits(q mail.Query) (hits map[uint32]mail.Meta, ok bool, err error) {
	hits = map[uint32]mail.Meta{}
	var before mail.EntryID
	for size := indexPage; ; size *= 2 {
		// One more than the bound allows tells a long answer apart.
		limit := min(size, maxIndexHits+1-len(hits))
		page, err := s.srv.cfg.Index.Search(s.ctx, s.acc.ID, q, before, limit)
		if err != nil {
			return nil, false, err
		}
		if len(hits)+len(page) > maxIndexHits {
			return nil, false, nil
		}
		for _, m := range page {
			// Only what the criteria read is kept: subjects and previews
			// of many thousand hits would be memory for nothing.
			hits[m.UID] = mail.Meta{ID: m.ID, UID: m.UID, From: m.From, Date: m.Date, Size: m.Size, Flags: m.Flags}
		}
		if len(page) < limit {
			return hits, true, nil
		}
		before = page[len(page)-1].ID
	}
}

// checksMatch applies the word checks to c's search document, built
// from its raw message as the index built it.
func checksMatch(checks []wordCheck, c *candidate) bool {
	if len(checks) == 0 {
		return true
	}
	doc := mail.NewSearchDoc(c.raw, c.meta.From)
	for _, k := range checks {
		var fields []string
		switch {
		case k.body:
			fields = []string{doc.Body}
		case k.term.Field == mail.FieldFrom:
			fields = []string{doc.From}
		case k.term.Field == mail.FieldTo:
			fields = []string{doc.To}
		case k.term.Field == mail.FieldSubject:
			fields = []string{doc.Subject}
		default:
			fields = []string{doc.Subject, doc.From, doc.To, doc.Body, doc.Files}
		}
		if !slices.ContainsFunc(fields, func(f string) bool { return hasPhrase(f, k.term.Words) }) {
			return false
		}
	}
	return true
}

// hasPhrase reports whether text, search words joined by spaces, holds
// words next to each other in order, the last one as a prefix.
func hasPhrase(text string, words []string) bool {
	have := strings.Fields(text)
	n := len(words)
	for i := 0; i+n <= len(have); i++ {
		if slices.Equal(have[i:i+n-1], words[:n-1]) && strings.HasPrefix(have[i+n-1], words[n-1]) {
			return true
		}
	}
	return false
}
