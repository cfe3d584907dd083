package postgres

import (
	"context"
	"fmt"
	"math"
	"strings"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// Search (issue 13): messages.search (migration 0004) is a tsvector per
// message; the entries give owner, folder, flags and date. Both the vector
// and the query reach PostgreSQL as literals ($n::tsvector, $n::tsquery),
// built here from mail.SearchWords: neither goes through the text parser.
// That costs PostgreSQL a literal's parse (~0.4 ms for a 10 KB body)
// instead of to_tsvector's (~2.5 ms), and a word the parser would have split
// or changed (marks, scripts its locale does not know) matches itself on
// both sides. Rows of migration 0004's to_tsvector vectors are rebuilt by
// the backfill (0005, search_backfill.go).

// searchVector is the tsvector of a message: the literal tsVector gives, as
// parameter $12 of deliverQuery and appendSQL.
const searchVector = `$12::tsvector`

// Limits of PostgreSQL's tsvector (tsvector.h), kept by tsVector.
const (
	// tsMaxPos is the highest position (MAXENTRYPOS-1): later words share it.
	tsMaxPos = 1<<14 - 1
	// tsMaxPositions is the positions kept per lexeme: to_tsvector keeps
	// MAXNUMPOS-1 (a literal would take MAXNUMPOS, 256), so a field's
	// vector is the one to_tsvector made.
	tsMaxPositions = 255
	// tsMaxBytes bounds the lexemes and positions of one vector (MAXSTRPOS
	// is 1 MiB); mail.MaxIndexBodyBytes keeps real mail far below it.
	tsMaxBytes = 1<<20 - 1
)

// tsFieldWeights are the weights of a SearchDoc's fields, in the order
// tsVector numbers them: subject A, sender B, To/Cc C, body and files D
// (the default weight, which a literal leaves out).
var tsFieldWeights = [5]byte{'A', 'B', 'C', 0, 0}

// tsLexeme is one distinct word of a vector: its positions kept and the
// last of them.
type tsLexeme struct {
	word    string
	n, last int32
}

// tsOcc is one position kept: the lexeme's index in the vector, the
// position and the field's weight.
type tsOcc struct {
	lex    int32
	pos    uint16
	weight byte
}

// tsVector gives doc as a tsvector literal: each distinct word once, quoted,
// with its positions and weights. Positions number the words of the
// fields in order; each field after a non-empty one starts one past the
// place the || of to_tsvector vectors would start it (a gap of one), so no
// phrase (<->) spans two fields. Past tsMaxPos every word is at tsMaxPos,
// as PostgreSQL does; a word keeps at most tsMaxPositions positions and
// one at tsMaxPos; words that would take the vector past tsMaxBytes are
// left out.
func tsVector(doc mail.SearchDoc) string {
	fields := [5]string{doc.Subject, doc.From, doc.To, doc.Body, doc.Files}
	est := (len(doc.Subject)+len(doc.From)+len(doc.To)+len(doc.Body)+len(doc.Files))/5 + 8 // words, roughly
	index := make(map[string]int32, est/2)
	lex := make([]tsLexeme, 0, est/2)
	occ := make([]tsOcc, 0, est)
	pos, size := int32(0), 0
	for f, text := range fields {
		if text == "" {
			continue
		}
		if pos > 0 {
			pos++ // the gap between fields
		}
		for len(text) > 0 {
			w := text
			if i := strings.IndexByte(text, ' '); i >= 0 {
				w, text = text[:i], text[i+1:]
			} else {
				text = ""
			}
			if w == "" {
				continue
			}
			pos = min(pos+1, tsMaxPos)
			i, ok := index[w]
			if !ok {
				add := len(w) + len(w)%2 + 4 + 2 // lexeme (aligned), entry, position count
				if size+add+2 > tsMaxBytes {
					continue
				}
				size += add
				i = int32(len(lex))
				index[w] = i
				lex = append(lex, tsLexeme{word: w})
			}
			l := &lex[i]
			if l.n == tsMaxPositions || l.last == pos || size+2 > tsMaxBytes {
				continue // full, or already at this (capped) position with a higher weight
			}
			l.n, l.last = l.n+1, pos
			occ = append(occ, tsOcc{i, uint16(pos), tsFieldWeights[f]})
			size += 2
		}
	}
	return tsLiteral(lex, occ)
}

// tsLiteral writes the lexemes in tsvector syntax, 'word':1A,2 ..., each
// with its positions in occ (in the order they came).
func tsLiteral(lex []tsLexeme, occ []tsOcc) string {
	// Group occ by lexeme, keeping the order (a counting sort): start[i]
	// is where lexeme i's positions go.
	start := make([]int32, len(lex)+1)
	n := 0
	for i, l := range lex {
		start[i+1] = start[i] + l.n
		n += len(l.word) + 4
	}
	sorted := make([]tsOcc, len(occ))
	next := start[:len(lex)]
	for _, o := range occ {
		sorted[next[o.lex]] = o
		next[o.lex]++
	}
	b := make([]byte, 0, n+len(occ)*7)
	for i, o := range sorted {
		if i == 0 || o.lex != sorted[i-1].lex {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendQuoted(b, lex[o.lex].word)
			b = append(b, ':')
		} else {
			b = append(b, ',')
		}
		b = appendPos(b, o.pos)
		if o.weight != 0 {
			b = append(b, o.weight)
		}
	}
	return string(b)
}

// appendPos appends p (1..tsMaxPos) in decimal.
func appendPos(b []byte, p uint16) []byte {
	var d [5]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + p%10)
		if p /= 10; p == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}

// appendQuoted appends w as a quoted lexeme of tsvector and tsquery syntax:
// a quote is doubled and a backslash escaped. SearchWords never holds
// either; the escaping keeps that an assumption, not a hole.
func appendQuoted(b []byte, w string) []byte {
	b = append(b, '\'')
	if !strings.ContainsAny(w, `'\`) {
		return append(append(b, w...), '\'')
	}
	for i := 0; i < len(w); i++ {
		switch c := w[i]; c {
		case '\'':
			b = append(b, '\'', '\'')
		case '\\':
			b = append(b, '\\', '\\')
		default:
			b = append(b, c)
		}
	}
	return append(b, '\'')
}

// tsWeights restricts a term to its field's weights.
var tsWeights = map[mail.Field]string{mail.FieldFrom: "B", mail.FieldTo: "C", mail.FieldSubject: "A"}

// tsTerm gives t as tsquery text: 'w1' <-> 'w2':* with t's weight.
func tsTerm(t mail.Term) string {
	parts := make([]string, len(t.Words))
	for i, w := range t.Words {
		p := string(appendQuoted(nil, w))
		suffix := tsWeights[t.Field]
		if t.Prefix && i == len(t.Words)-1 {
			suffix = "*" + suffix
		}
		if suffix != "" {
			p += ":" + suffix
		}
		parts[i] = p
	}
	return "(" + strings.Join(parts, " <-> ") + ")"
}

// tsQuery gives the tsquery text of q's terms; "" when it has none.
func tsQuery(q mail.Query) string {
	var p []string
	for _, t := range q.Terms {
		p = append(p, tsTerm(t))
	}
	for _, t := range q.Not {
		p = append(p, "!"+tsTerm(t))
	}
	return strings.Join(p, " & ")
}

// Search gives the owner's entries matching q, newest first.
func (s *Store) Search(ctx context.Context, owner account.ID, q mail.Query, before mail.EntryID, limit int) ([]mail.Meta, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	where := []string{"e.owner = $1", "e.id < $2"}
	args := []any{int64(owner), int64(before)}
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if q.Folder != "" {
		f, err := s.folderRow(ctx, owner, q.Folder)
		if err != nil {
			return nil, err
		}
		arg("e.folder_id = $%d", f.id)
	}
	if q.Unread {
		where = append(where, fmt.Sprintf("e.flags & %d = 0", mail.FlagSeen))
	}
	if q.Flagged {
		where = append(where, fmt.Sprintf("e.flags & %d <> 0", mail.FlagFlagged))
	}
	if q.HasAttachment {
		where = append(where, "m.has_files")
	}
	if !q.Before.IsZero() {
		arg("e.received < $%d", q.Before.UnixNano())
	}
	if !q.After.IsZero() {
		arg("e.received >= $%d", q.After.UnixNano())
	}
	if ts := tsQuery(q); ts != "" {
		arg("m.search @@ $%d::tsquery", ts)
	}
	if limit <= 0 {
		return nil, nil
	}
	args = append(args, limit)
	query := `SELECT ` + metaCols + ` FROM ` + metaJoin + ` WHERE ` + strings.Join(where, " AND ") +
		fmt.Sprintf(` ORDER BY e.id DESC LIMIT $%d`, len(args))
	return s.queryMetas(ctx, "search", query, args...)
}
