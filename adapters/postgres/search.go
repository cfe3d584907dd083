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
// message; the entries give owner, folder, flags and date. A query's words
// reach to_tsquery only as quoted lexemes of mail.SearchWords (letters,
// digits and marks: no quote, backslash or operator can be among them).

// searchVector is the tsvector of a mail.SearchDoc's fields, given as
// parameters $12 (subject), $13 (sender), $14 (To/Cc), $15 (body) and $16
// (file names): the places deliverQuery and appendSQL give them.
const searchVector = `setweight(to_tsvector('simple', $12), 'A') || setweight(to_tsvector('simple', $13), 'B') || ` +
	`setweight(to_tsvector('simple', $14), 'C') || setweight(to_tsvector('simple', $15 || ' ' || $16), 'D')`

// tsWeights restricts a term to its field's weights.
var tsWeights = map[mail.Field]string{mail.FieldFrom: "B", mail.FieldTo: "C", mail.FieldSubject: "A"}

// tsTerm gives t as tsquery text: 'w1' <-> 'w2':* with t's weight.
func tsTerm(t mail.Term) string {
	parts := make([]string, len(t.Words))
	for i, w := range t.Words {
		// SearchWords never holds a quote or a backslash; the escaping
		// is the rule of tsquery's syntax, kept in case that changes.
		p := "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(w) + "'"
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
		arg("m.search @@ to_tsquery('simple', $%d)", ts)
	}
	if limit <= 0 {
		return nil, nil
	}
	args = append(args, limit)
	query := `SELECT ` + metaCols + ` FROM ` + metaJoin + ` WHERE ` + strings.Join(where, " AND ") +
		fmt.Sprintf(` ORDER BY e.id DESC LIMIT $%d`, len(args))
	return s.queryMetas(ctx, "search", query, args...)
}
