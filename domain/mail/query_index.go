package mail

import (
	"context"
	"strings"

	"mailroom/domain/account"
)

// MaxIndexBodyBytes bounds the body text indexed for one message: enough
// for any letter, and under PostgreSQL's 1 MiB tsvector limit.
const MaxIndexBodyBytes = 256 << 10

// indexTextLimits bounds ExtractText for the index: the body text past
// MaxIndexBodyBytes is dropped anyway.
var indexTextLimits = TextLimits{PartBytes: 512 << 10}

// SearchDoc is what the search index holds for one message, each field as
// search words (SearchWords) joined by single spaces.
type SearchDoc struct {
	// Subject: the decoded subject. From: the envelope sender and the From
	// field's addresses and names. To: the To and Cc fields'. Body: the
	// decoded text the reader shows. Files: the attachments' names.
	Subject, From, To, Body, Files string
	// Attachment is set when the message has attached files.
	Attachment bool
}

// NewSearchDoc reads raw, a message that envelope sender from sent, into
// its SearchDoc. Like ExtractText it takes any input. Delivery reads it
// with the header and preview in one walk instead: ParseMessage.
func NewSearchDoc(raw []byte, from string) SearchDoc {
	t := ExtractText(raw, indexTextLimits)
	return searchDocOf(&t, from)
}

// searchDocOf makes the SearchDoc of a message that says t. The fields'
// words go into one buffer, made a string once and cut into the fields.
func searchDocOf(t *Text, from string) SearchDoc {
	body := indexBody(t)
	w := docWriter{b: make([]byte, 0, len(body)+len(t.Subject)+256)}
	w.words(t.Subject)
	w.next()
	w.words(from)
	w.people(t.From)
	w.next()
	w.people(t.To)
	w.next()
	w.words(body)
	w.next()
	for _, f := range t.Files {
		w.words(f.Name)
	}
	w.next()
	all, f := string(w.b), [5]string{}
	for i := range f {
		f[i] = all[w.starts[i]:w.starts[i+1]]
	}
	return SearchDoc{Subject: f[0], From: f[1], To: f[2], Body: f[3], Files: f[4], Attachment: len(t.Files) > 0}
}

// docWriter writes a SearchDoc's fields one after another: field i is
// b[starts[i]:starts[i+1]].
type docWriter struct {
	b      []byte
	starts [6]int
	field  int
}

func (w *docWriter) words(s string) { w.b = appendWords(w.b, w.starts[w.field], s) }

func (w *docWriter) people(ps []Person) {
	for _, p := range ps {
		w.words(p.Name)
		w.words(p.Addr)
	}
}

// next ends the field being written.
func (w *docWriter) next() {
	w.field++
	w.starts[w.field] = len(w.b)
}

// indexBody is the body text indexed: t.Body(), cut to MaxIndexBodyBytes.
func indexBody(t *Text) string {
	if strings.TrimSpace(t.Plain) != "" && len(t.Plain) <= MaxIndexBodyBytes {
		// Body only turns "\r\n" into "\n", which changes no word and
		// makes the text no longer: spare it the copy.
		return t.Plain
	}
	body := t.Body()
	if len(body) > MaxIndexBodyBytes {
		body = cutUTF8(body, MaxIndexBodyBytes)
	}
	return body
}

// SearchStore is the search side of Store.
type SearchStore interface {
	// Search gives the owner's entries that match q, with id < before
	// (before 0 is no bound), newest first, at most limit of them. A
	// q.Folder the owner lacks is ErrNoSuchFolder.
	Search(ctx context.Context, owner account.ID, q Query, before EntryID, limit int) ([]Meta, error)
}

// Search parses query and gives one page of the owner's matching entries,
// newest first, in every folder or only in folder when it is not "" (an
// in: in the query gives way to it). limit 0 means DefaultLimit. Errors:
// ErrBadQuery, ErrBadFolder, ErrBadLimit as List, ErrNoSuchFolder, else the
// store's.
func (s *Service) Search(ctx context.Context, owner account.ID, query string, folder Folder, before EntryID, limit int) ([]Meta, error) {
	q, err := ParseQuery(query)
	if err != nil {
		return nil, err
	}
	if folder != "" {
		if q.Folder, err = ParseFolder(string(folder)); err != nil {
			return nil, err
		}
	}
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 0 || limit > MaxLimit || before < 0 {
		return nil, ErrBadLimit
	}
	return s.store.Search(ctx, owner, q, before, limit)
}
