package sqlite

import (
	"context"
	"fmt"
	"strings"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// Search (issue 13): message_search (migration 0005) is an FTS5 index with
// one row per message; the entries give owner, folder, flags and date. A
// query's words reach MATCH only as FTS5 strings ("..." with any quote
// doubled), so no user text is FTS5 syntax.

const insSearchSQL = `INSERT INTO message_search (rowid, subject, sender, rcpts, body, files, tags) VALUES (?, ?, ?, ?, ?, ?, ?)`

// searchDoc is mail.NewSearchDoc, unless a benchmark turned indexing off.
func (s *Store) searchDoc(raw []byte, from string) mail.SearchDoc {
	if s.noIndex {
		return mail.SearchDoc{}
	}
	return mail.NewSearchDoc(raw, from)
}

// indexMessage writes message msgID's index row in the writer's transaction.
func (s *Store) indexMessage(w *wtx, msgID int64, doc mail.SearchDoc) error {
	if s.noIndex {
		return nil
	}
	tags := ""
	if doc.Attachment {
		tags = "attachment"
	}
	_, err := w.exec(s.wst.insSearch, msgID, doc.Subject, doc.From, doc.To, doc.Body, doc.Files, tags)
	return err
}

// ftsColumns are the columns each mail.Field searches.
var ftsColumns = map[mail.Field]string{
	mail.FieldAny:     "{subject sender rcpts body files}",
	mail.FieldFrom:    "sender",
	mail.FieldTo:      "rcpts",
	mail.FieldSubject: "subject",
}

// ftsTerm gives t as an FTS5 phrase in its columns: {cols} : "w1 w2"*.
func ftsTerm(t mail.Term) string {
	phrase := `"` + strings.ReplaceAll(strings.Join(t.Words, " "), `"`, `""`) + `"`
	if t.Prefix {
		phrase += "*"
	}
	return ftsColumns[t.Field] + " : " + phrase
}

// ftsMatch gives the MATCH expression of q's positive terms (AND) and of
// its negative terms (OR); "" for none.
func ftsMatch(q mail.Query) (pos, neg string) {
	var p, n []string
	for _, t := range q.Terms {
		p = append(p, ftsTerm(t))
	}
	if q.HasAttachment {
		p = append(p, `tags : "attachment"`)
	}
	for _, t := range q.Not {
		n = append(n, ftsTerm(t))
	}
	return strings.Join(p, " AND "), strings.Join(n, " OR ")
}

// Search gives the owner's entries matching q, newest first. The entries are
// the outer loop: for a word query SQLite reads the matching message ids
// from the index first (the IN list) and looks their entries up by
// entries_message_id; a folder-only query scans that folder backwards.
func (s *Store) Search(ctx context.Context, owner account.ID, q mail.Query, before mail.EntryID, limit int) ([]mail.Meta, error) {
	where := []string{"e.owner = ?"}
	args := []any{int64(owner)}
	if q.Folder != "" {
		f, err := s.folderRow(ctx, owner, q.Folder)
		if err != nil {
			return nil, err
		}
		where, args = append(where, "e.folder_id = ?"), append(args, f.id)
	}
	if before > 0 {
		where, args = append(where, "e.id < ?"), append(args, int64(before))
	}
	if q.Unread {
		where = append(where, fmt.Sprintf("e.flags & %d = 0", mail.FlagSeen))
	}
	if q.Flagged {
		where = append(where, fmt.Sprintf("e.flags & %d <> 0", mail.FlagFlagged))
	}
	if !q.Before.IsZero() {
		where, args = append(where, "e.received < ?"), append(args, q.Before.UnixNano())
	}
	if !q.After.IsZero() {
		where, args = append(where, "e.received >= ?"), append(args, q.After.UnixNano())
	}
	pos, neg := ftsMatch(q)
	if pos != "" {
		where = append(where, "e.message_id IN (SELECT rowid FROM message_search WHERE message_search MATCH ?)")
		args = append(args, pos)
	}
	if neg != "" {
		where = append(where, "e.message_id NOT IN (SELECT rowid FROM message_search WHERE message_search MATCH ?)")
		args = append(args, neg)
	}
	query := `SELECT ` + metaCols + ` FROM ` + metaJoin + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY e.id DESC LIMIT ?`
	rows, err := s.rdb.QueryContext(ctx, query, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: search: %w", err)
	}
	defer rows.Close()
	var out []mail.Meta
	for rows.Next() {
		m, err := scanMeta(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: search: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: search: %w", err)
	}
	return out, nil
}
