package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgtype"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// Search (issue 13): messages.search (migration 0004) is a tsvector per
// message; the entries give owner, folder, flags and date. The vector reaches
// PostgreSQL in tsvector's binary format and the query as a literal
// ($n::tsquery), both built here from mail.SearchWords: neither goes
// through the text parser, which cost ~2.5 ms of PostgreSQL's CPU for a
// 10 KB body, and a word the parser would have split or changed (marks,
// scripts its locale does not know) matches itself on both sides. Rows of
// migration 0004's to_tsvector vectors are rebuilt by the backfill (0005,
// search_backfill.go).

// searchVector is the tsvector of a message, tsVector's value, as
// parameter $12 of appendSQL.
const searchVector = `$12::tsvector`

// Limits of PostgreSQL's tsvector (tsvector.h), kept by tsVector.
const (
	// tsMaxPos is the highest position (MAXENTRYPOS-1): later words share it.
	tsMaxPos = 1<<14 - 1
	// tsMaxPositions is the positions kept per lexeme: to_tsvector keeps
	// MAXNUMPOS-1 (a literal or the binary format would take MAXNUMPOS, 256), so a field's
	// vector is the one to_tsvector made.
	tsMaxPositions = 255
	// tsMaxBytes bounds the lexemes and positions of one vector (MAXSTRPOS
	// is 1 MiB); mail.MaxIndexBodyBytes keeps real mail far below it.
	tsMaxBytes = 1<<20 - 1
	// tsMaxWordBytes is the longest lexeme kept (MAXSTRLEN-1, the most
	// tsvectorin and to_tsvector take). A longer one, or one holding a NUL
	// (the binary format ends a lexeme at its first NUL), makes
	// tsvectorrecv raise XX000, which is no one delivery's fault
	// (requestFault): it would fail the whole batch, and every retry the
	// next. mail.SearchWords cuts words at mail.MaxWordBytes and yields no
	// NUL, so words only guards against that changing.
	tsMaxWordBytes = 1<<11 - 2
)

// tsFieldWeights are the weights of a SearchDoc's fields, in the order
// tsVector numbers them: subject A, sender B, To/Cc C, body and files D
// (the default weight, 0 in the binary format).
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

// tsBuilder is a vector's working memory, reused through tsBuilders: a
// 10 KB letter's map and slices cost more to allocate and collect than
// to fill.
type tsBuilder struct {
	index map[string]int32 // word → its index in lex
	lex   []tsLexeme
	occ   []tsOcc
	keys  []uint64
	order []int32
	start []int32
}

var tsBuilders = sync.Pool{New: func() any { return &tsBuilder{index: make(map[string]int32, 1024)} }}

// tsKeepLexemes bounds the builders kept: one grown by a huge message goes.
const tsKeepLexemes = 1 << 13

// tsVector gives doc as a tsvector: each distinct word once, with its
// positions and weights. Positions number the words of the
// fields in order; each field after a non-empty one starts one past the
// place the || of to_tsvector vectors would start it (a gap of one), so no
// phrase (<->) spans two fields. Past tsMaxPos every word is at tsMaxPos,
// as PostgreSQL does; a word keeps at most tsMaxPositions positions and
// one at tsMaxPos; words that would take the vector past tsMaxBytes are
// left out, and so are words PostgreSQL cannot store (tsStorable).
func tsVector(doc mail.SearchDoc) pgtype.TSVector {
	b := tsBuilders.Get().(*tsBuilder)
	b.words(doc)
	v := b.vector()
	if len(b.lex) <= tsKeepLexemes {
		clear(b.index)
		clear(b.lex) // the words point into doc
		b.lex, b.occ = b.lex[:0], b.occ[:0]
		tsBuilders.Put(b)
	}
	return v
}

// words fills b.lex and b.occ with doc's words.
func (b *tsBuilder) words(doc mail.SearchDoc) {
	pos, size := int32(0), 0
	for f, text := range [5]string{doc.Subject, doc.From, doc.To, doc.Body, doc.Files} {
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
			if !tsStorable(w) {
				continue // its position stays taken: no phrase spans it
			}
			i, ok := b.index[w]
			if !ok {
				add := len(w) + len(w)%2 + 4 + 2 // lexeme (aligned), entry, position count
				if size+add+2 > tsMaxBytes {
					continue
				}
				size += add
				i = int32(len(b.lex))
				b.index[w] = i
				b.lex = append(b.lex, tsLexeme{word: w})
			}
			l := &b.lex[i]
			if l.n == tsMaxPositions || l.last == pos || size+2 > tsMaxBytes {
				continue // full, or already at this (capped) position with a higher weight
			}
			l.n, l.last = l.n+1, pos
			b.occ = append(b.occ, tsOcc{i, uint16(pos), tsFieldWeights[f]})
			size += 2
		}
	}
}

// tsStorable reports whether w can be a lexeme: at most tsMaxWordBytes
// and without a NUL.
func tsStorable(w string) bool {
	return len(w) <= tsMaxWordBytes && strings.IndexByte(w, 0) < 0
}

// vector gives the lexemes as a tsvector, each with its positions in b.occ
// (in the order they came). It reaches PostgreSQL in the binary format
// (tsvectorrecv copies lexemes and positions as they are), not as a literal:
// parsing a 10 KB letter's literal (tsvectorin, its strtol per position)
// was ~16% of PostgreSQL's CPU per delivery. The lexemes go in the order
// PostgreSQL keeps them (bytes, then length: Go's string order), so the
// server finds them sorted and skips its sort; the receive function does
// not merge duplicates, which words never makes.
func (b *tsBuilder) vector() pgtype.TSVector {
	lex := b.lex
	order := b.sortLexemes()
	// Group occ by lexeme in that order, keeping the positions' order (a
	// counting sort): start[i] is where lexeme i's positions go.
	start := grow(b.start, len(lex))
	out := pgtype.TSVector{Valid: true, Lexemes: make([]pgtype.TSVectorLexeme, len(lex))}
	pos := make([]pgtype.TSVectorPosition, len(b.occ))
	at := int32(0)
	for k, i := range order {
		start[i] = at
		out.Lexemes[k] = pgtype.TSVectorLexeme{Word: lex[i].word, Positions: pos[at : at+lex[i].n : at+lex[i].n]}
		at += lex[i].n
	}
	for _, o := range b.occ {
		pos[start[o.lex]] = pgtype.TSVectorPosition{Position: o.pos, Weight: pgtype.TSVectorWeight(o.weight)}
		start[o.lex]++
	}
	b.start = start
	return out
}

// grow gives s with length n, reusing its array when it is big enough.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// sortLexemes gives the indices of b.lex in the order of their words. It
// sorts integers, each a word's first 5 bytes and its index (no pointers
// moved: no GC write barriers, half the time of sorting the strings), then
// words sharing those bytes among themselves. A word holds no NUL
// (tsStorable), so the
// zero bytes padding a short word sort it before its longer neighbours.
func (b *tsBuilder) sortLexemes() []int32 {
	const idxBits = 24 // tsMaxBytes leaves room for far fewer lexemes
	lex := b.lex
	keys := grow(b.keys, len(lex))
	for i, l := range lex {
		var k uint64
		for j := range 5 {
			k <<= 8
			if j < len(l.word) {
				k |= uint64(l.word[j])
			}
		}
		keys[i] = k<<idxBits | uint64(i)
	}
	slices.Sort(keys)
	order := grow(b.order, len(lex))
	for i, k := range keys {
		order[i] = int32(k & (1<<idxBits - 1))
	}
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j]>>idxBits == keys[i]>>idxBits {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(order[i:j], func(a, b int32) int { return strings.Compare(lex[a].word, lex[b].word) })
		}
		i = j
	}
	b.keys, b.order = keys, order
	return order
}

// appendQuoted appends w as a quoted lexeme of tsvector and tsquery syntax:
// a quote is doubled and a backslash escaped. SearchWords never holds
// either; the escaping keeps that an assumption, not a hole.
func appendQuoted(b []byte, w string) []byte {
	b = append(b, '\'')
	start := 0
	for i := 0; i < len(w); i++ {
		if c := w[i]; c == '\'' || c == '\\' {
			b = append(b, w[start:i]...)
			b = append(b, c, c) // '' and \\ both stand for the one byte
			start = i + 1
		}
	}
	b = append(b, w[start:]...)
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
