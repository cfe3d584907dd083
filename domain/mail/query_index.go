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
// its SearchDoc. Like ExtractText it takes any input.
func NewSearchDoc(raw []byte, from string) SearchDoc {
	t := ExtractText(raw, indexTextLimits)
	people := func(ps []Person, extra ...string) string {
		var b []string
		b = append(b, extra...)
		for _, p := range ps {
			b = append(b, p.Name, p.Addr)
		}
		return strings.Join(b, " ")
	}
	var files []string
	for _, f := range t.Files {
		files = append(files, f.Name)
	}
	body := t.Body()
	if len(body) > MaxIndexBodyBytes {
		body = cutUTF8(body, MaxIndexBodyBytes)
	}
	return SearchDoc{
		Subject:    joinWords(t.Subject),
		From:       joinWords(people(t.From, from)),
		To:         joinWords(people(t.To)),
		Body:       joinWords(body),
		Files:      joinWords(strings.Join(files, " ")),
		Attachment: len(t.Files) > 0,
	}
}

func joinWords(s string) string { return strings.Join(SearchWords(s), " ") }

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
