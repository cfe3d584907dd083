package mail

// Search (issue 13). ParseQuery turns what a user types into a Query, a
// plain struct that each store translates into its own index language
// (SQLite FTS5 MATCH, PostgreSQL tsquery). User text reaches a store only as
// search words (SearchWords: lower-case runs of letters, digits and marks),
// so no quote, star, operator or parenthesis of the user's ever becomes
// index syntax.

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrBadQuery is a search query that cannot be run (an unknown is:, a bad
// date, an empty or oversized query); inbox code bad_request.
var ErrBadQuery = errors.New("mail: bad search query")

// Query limits.
const (
	// MaxQueryBytes bounds a query's text: a search box, not a document.
	MaxQueryBytes = 1024
	// MaxQueryTerms bounds the word and phrase terms of one query (each is
	// one index lookup).
	MaxQueryTerms = 16
	// MaxWordBytes bounds one search word; longer runs are cut, at index
	// and at query time alike, so that they still match.
	MaxWordBytes = 64
)

// Field is where a Term must match.
type Field int

// The fields of the index.
const (
	FieldAny     Field = iota // any of subject, people, body, file names
	FieldFrom                 // the sender's addresses and names
	FieldTo                   // the To/Cc addresses and names
	FieldSubject              // the subject
)

// Term is a run of search words that must appear in this order, next to
// each other, in Field (one word is the plain case). When Prefix is set the
// last word matches any word it begins.
type Term struct {
	Field  Field
	Words  []string
	Prefix bool
}

// Query is a parsed search: an entry matches when it matches every one of
// Terms, none of Not, and every filter that is set.
type Query struct {
	Terms []Term
	Not   []Term
	// Folder limits the search to one folder ("" is every folder).
	Folder        Folder
	Unread        bool
	Flagged       bool
	HasAttachment bool
	// Before (exclusive) and After (inclusive) bound the entry's date; a
	// zero time is no bound. before:D is before D's first instant in UTC,
	// after:D from that instant on.
	Before, After time.Time
}

// Empty reports whether q asks for nothing at all.
func (q Query) Empty() bool {
	return len(q.Terms) == 0 && len(q.Not) == 0 && q.Folder == "" && !q.Unread && !q.Flagged &&
		!q.HasAttachment && q.Before.IsZero() && q.After.IsZero()
}

// ParseQuery parses a search query:
//
//	words          all must match; the last one also as a prefix (as you type)
//	"a phrase"     these words, adjacent, in order
//	from:x to:x subject:x   x (a word or a "phrase") in that field
//	in:folder      one folder only
//	is:unread is:flagged has:attachment
//	before:YYYY-MM-DD after:YYYY-MM-DD
//	-word -"a phrase" -from:x   must not match
//
// Anything else is text: an unknown "x:y" is searched as the words x y.
// Punctuation separates words. Errors are ErrBadQuery.
func ParseQuery(s string) (Query, error) {
	var q Query
	if len(s) > MaxQueryBytes {
		return q, fmt.Errorf("%w: longer than %d bytes", ErrBadQuery, MaxQueryBytes)
	}
	if !utf8.ValidString(s) {
		return q, fmt.Errorf("%w: not UTF-8", ErrBadQuery)
	}
	lastPlain := -1 // the index in q.Terms of a bare word that ended the query
	for _, it := range splitQuery(s) {
		lastPlain = -1
		if err := q.add(it, &lastPlain); err != nil {
			return Query{}, err
		}
	}
	if lastPlain >= 0 {
		q.Terms[lastPlain].Prefix = true
	}
	if len(q.Terms)+len(q.Not) > MaxQueryTerms {
		return Query{}, fmt.Errorf("%w: more than %d terms", ErrBadQuery, MaxQueryTerms)
	}
	if q.Empty() {
		return Query{}, fmt.Errorf("%w: nothing to search for", ErrBadQuery)
	}
	return q, nil
}

// item is one space-separated piece of a query.
type item struct {
	neg    bool
	key    string // "from", "is", ... lower-cased; "" for plain text
	val    string
	quoted bool
}

func (q *Query) add(it item, lastPlain *int) error {
	switch it.key {
	case "in":
		f, err := ParseFolder(it.val)
		if err != nil || it.neg {
			return fmt.Errorf("%w: in:%q", ErrBadQuery, it.val)
		}
		q.Folder = f
		return nil
	case "is", "has":
		return q.addFlag(it)
	case "before", "after":
		d, err := time.Parse(time.DateOnly, it.val)
		if err != nil || it.neg {
			return fmt.Errorf("%w: %s:%q is not YYYY-MM-DD", ErrBadQuery, it.key, it.val)
		}
		if it.key == "before" {
			q.Before = d
		} else {
			q.After = d
		}
		return nil
	}
	field := map[string]Field{"": FieldAny, "from": FieldFrom, "to": FieldTo, "subject": FieldSubject}[it.key]
	words := SearchWords(it.val)
	if len(words) == 0 {
		return nil // punctuation only: nothing to look for
	}
	t := Term{Field: field, Words: words}
	if it.neg {
		q.Not = append(q.Not, t)
		return nil
	}
	q.Terms = append(q.Terms, t)
	if field == FieldAny && !it.quoted {
		*lastPlain = len(q.Terms) - 1
	}
	return nil
}

func (q *Query) addFlag(it item) error {
	switch it.key + ":" + strings.ToLower(it.val) {
	case "is:unread":
		q.Unread = true
	case "is:flagged":
		q.Flagged = true
	case "has:attachment":
		q.HasAttachment = true
	default:
		return fmt.Errorf("%w: unknown %s:%q", ErrBadQuery, it.key, it.val)
	}
	if it.neg {
		return fmt.Errorf("%w: -%s:%s cannot be negated", ErrBadQuery, it.key, it.val)
	}
	return nil
}

// queryKeys are the operators ParseQuery knows.
var queryKeys = map[string]bool{"from": true, "to": true, "subject": true, "in": true, "is": true,
	"has": true, "before": true, "after": true}

// splitQuery cuts s into items at spaces outside double quotes. A quote
// left open runs to the end.
func splitQuery(s string) []item {
	var out []item
	for {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		if s == "" {
			return out
		}
		var it item
		if s[0] == '-' {
			it.neg, s = true, s[1:]
		}
		if k, rest, ok := strings.Cut(s, ":"); ok && queryKeys[strings.ToLower(k)] {
			it.key, s = strings.ToLower(k), rest
		}
		if strings.HasPrefix(s, `"`) {
			val, rest, _ := strings.Cut(s[1:], `"`)
			it.val, it.quoted, s = val, true, rest
		} else {
			end := strings.IndexFunc(s, unicode.IsSpace)
			if end < 0 {
				end = len(s)
			}
			it.val, s = s[:end], s[end:]
		}
		out = append(out, it)
	}
}
