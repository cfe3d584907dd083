package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// Search (issue 13): message_search, in the index file (index.go), is an
// FTS5 index with one row per message; the entries give owner, folder,
// flags and date. A query's words reach MATCH only as FTS5 strings ("..."
// with any quote doubled), so no user text is FTS5 syntax.

const insSearchSQL = `INSERT INTO message_search (rowid, subject, sender, rcpts, body, files, tags) VALUES (?, ?, ?, ?, ?, ?, ?)`

// searchDoc is what the index holds for msg (computed once by the domain
// when it parsed the message: msg.SearchDoc()), unless a benchmark turned
// indexing off.
func (s *Store) searchDoc(msg mail.NewMessage) mail.SearchDoc {
	if s.noIndex {
		return mail.SearchDoc{}
	}
	return msg.SearchDoc()
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

// ftsMatch gives q's MATCH expression: its positive terms (AND) less its
// negative ones (FTS5's NOT, applied as the doclists are merged). With no
// positive term FTS5 cannot say "all but", so match is "" and neg is the
// negative terms alone (OR), for a NOT IN.
func ftsMatch(q mail.Query) (match, neg string) {
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
	match, neg = strings.Join(p, " AND "), strings.Join(n, " OR ")
	if match != "" && neg != "" {
		return "(" + match + ") NOT (" + neg + ")", ""
	}
	return match, neg
}

// hasPrefix reports whether one of q's terms is a prefix.
func hasPrefix(q mail.Query) bool {
	return slices.ContainsFunc(q.Terms, func(t mail.Term) bool { return t.Prefix }) ||
		slices.ContainsFunc(q.Not, func(t mail.Term) bool { return t.Prefix })
}

// entryFilter is the condition on an entry e that q's filters, the owner
// and the page bound set, with its arguments.
type entryFilter struct {
	cond  string
	args  []any
	owner account.ID
	// folder is in:'s folder, 0 for all of the owner's. A walk of entries
	// goes through the folders one by one (byFolder): no index orders an
	// owner's entries across folders, as every delivery would pay a page
	// write per recipient for one (migration 0010).
	folder int64
}

func (s *Store) entryFilter(ctx context.Context, owner account.ID, q mail.Query, before mail.EntryID) (entryFilter, error) {
	where := []string{"e.owner = ?"}
	args := []any{int64(owner)}
	var folder int64
	if q.Folder != "" {
		f, err := s.folderRow(ctx, owner, q.Folder)
		if err != nil {
			return entryFilter{}, err
		}
		where, args, folder = append(where, "e.folder_id = ?"), append(args, f.id), f.id
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
	return entryFilter{strings.Join(where, " AND "), args, owner, folder}, nil
}

// folderIDs gives f's folder, or the ids of all of the owner's folders as
// tx sees them.
func folderIDs(ctx context.Context, tx *sql.Tx, f entryFilter) ([]int64, error) {
	if f.folder != 0 {
		return []int64{f.folder}, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM folders WHERE owner = ?`, int64(f.owner))
	if err != nil {
		return nil, err
	}
	return scanIDs(rows)
}

// byFolder runs, in each of f's folders, a walk of entries_folder_id
// newest first that f and tail (more conditions, then the order and any
// limit; tailArgs are its arguments) select, and gives the hits of all,
// newest first, at most n.
func byFolder(ctx context.Context, tx *sql.Tx, f entryFilter, n int, tail string, tailArgs ...any) ([]hit, error) {
	folders, err := folderIDs(ctx, tx, f)
	if err != nil {
		return nil, err
	}
	var all []hit
	for _, id := range folders {
		args := append(append(append([]any{}, f.args...), id), tailArgs...)
		got, err := scanHits(ctx, tx, n, `SELECT e.id, e.message_id FROM entries e INDEXED BY entries_folder_id
WHERE `+f.cond+` AND e.folder_id = ?`+tail, args...)
		if err != nil {
			return nil, err
		}
		all = append(all, got...)
	}
	slices.SortFunc(all, func(a, b hit) int { return cmp.Compare(b.entry, a.entry) })
	return all[:min(n, len(all))], nil
}

// Search gives the owner's entries matching q, newest first: their ids in
// one read transaction (a snapshot, however many statements the plan
// takes), then their metadata.
func (s *Store) Search(ctx context.Context, owner account.ID, q mail.Query, before mail.EntryID, limit int) ([]mail.Meta, error) {
	f, err := s.entryFilter(ctx, owner, q, before)
	if err != nil {
		return nil, err
	}
	// Every message committed before now is indexed before the read
	// transaction (its snapshot) begins.
	if err := s.awaitIndexed(ctx); err != nil {
		return nil, fmt.Errorf("sqlite: search: %w", err)
	}
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: search: %w", err)
	}
	defer tx.Rollback() // read only: nothing to keep
	var ids []int64
	if match, neg := ftsMatch(q); match != "" {
		ids, err = searchIndex(ctx, tx, f, match, hasPrefix(q), limit, defaultCosts)
	} else {
		ids, err = searchEntries(ctx, tx, f, neg, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: search: %w", err)
	}
	out, err := searchMetas(ctx, tx, ids)
	if err != nil {
		return nil, fmt.Errorf("sqlite: search: %w", err)
	}
	return out, nil
}

// searchEntries serves a query without a positive word: the owner's
// entries newest first, folder by folder (byFolder), filtered, less those
// whose message matches neg.
func searchEntries(ctx context.Context, tx *sql.Tx, f entryFilter, neg string, limit int) ([]int64, error) {
	tail, args := ``, []any{}
	if neg != "" {
		tail, args = ` AND e.message_id NOT IN (SELECT rowid FROM message_search WHERE message_search MATCH ?)`, []any{neg}
	}
	got, err := byFolder(ctx, tx, f, limit, tail+` ORDER BY e.id DESC LIMIT ?`, append(args, limit)...)
	return hitIDs(got), err
}

// hit is an entry found and its message.
type hit struct{ entry, msg int64 }

// scanHits gives the first n rows of query, each an entry id and its
// message id; it stops reading there (the index plan's first page).
func scanHits(ctx context.Context, tx *sql.Tx, n int, query string, args ...any) ([]hit, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []hit
	for len(out) < n && rows.Next() {
		var h hit
		if err := rows.Scan(&h.entry, &h.msg); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

func hitIDs(hs []hit) []int64 {
	ids := make([]int64, len(hs))
	for i, h := range hs {
		ids[i] = h.entry
	}
	return ids
}

// searchMetas gives the metadata of the entries ids, newest first.
func searchMetas(ctx context.Context, tx *sql.Tx, ids []int64) ([]mail.Meta, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, metasByIDSQL, jsonInts(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []mail.Meta
	for rows.Next() {
		m, err := scanMeta(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	slices.Reverse(out) // metasByIDSQL gives id order
	return out, rows.Err()
}

// The index plan. Message ids grow with time, and so do entry ids, but an
// entry can be younger than its message (a move or a copy makes a new entry
// of an old message), so the index's newest matches are the newest results
// only nearly. searchIndex takes a page from the index first, newest
// message first (FTS5 walks a doclist backwards for ORDER BY rowid DESC and
// stops with the page: a word in every message costs a page, not the whole
// doclist), each match joined to the owner's entries that pass the filters.
// If that page is short, it is every match. Otherwise, with t its smallest
// entry id and m its last message: every entry of a message above m was
// read, and an entry below t cannot beat the page's, so the only entries
// that can still belong are those above t on messages up to m. They are
// found the cheaper way of two: the owner's entries above t (a range of
// entries_folder_id in each of the owner's folders, the matches tested
// afterwards), or the rest of the doclist below m, joined as before.

// searchIndexSQL is the first page: the index is the outer loop, in rowid
// order (CROSS JOIN pins that order), and each match finds its entries by
// message. INDEXED BY, because without statistics SQLite might rather scan
// a folder's entries in the covering entries_folder_id for every match.
const searchIndexSQL = `SELECT e.id, s.rowid FROM message_search s CROSS JOIN entries e INDEXED BY entries_message_id ON e.message_id = s.rowid
WHERE s.message_search MATCH ? AND %s ORDER BY s.rowid DESC`

// searchCosts are the costs that choose the index plan's second step, in
// entries of an index range: index is one doclist match joined to its
// entries, test one message tested against the index (a seek in every
// segment). defaultCosts are as measured with BenchmarkSearch; tests force
// each way with others.
type searchCosts struct{ index, test float64 }

var defaultCosts = searchCosts{index: 8, test: 300}

// searchIndex runs the index plan.
func searchIndex(ctx context.Context, tx *sql.Tx, f entryFilter, match string, prefix bool, limit int, costs searchCosts) ([]int64, error) {
	page, err := scanHits(ctx, tx, limit, fmt.Sprintf(searchIndexSQL, f.cond), append([]any{match}, f.args...)...)
	if err != nil || len(page) < limit {
		return newestFirst(hitIDs(page), limit), err
	}
	t := slices.MinFunc(page, func(a, b hit) int { return cmp.Compare(a.entry, b.entry) }).entry
	first, last := page[0].msg, page[len(page)-1].msg
	// Costs, estimated: the entries above t (at most the ids between t
	// and the newest id), and the matches below m at the page's density.
	var top int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM entries`).Scan(&top); err != nil {
		return nil, err
	}
	byEntries := float64(top - t)
	byIndex := costs.index * float64(len(page)) * float64(last) / float64(first-last+1)
	var more []int64
	if byEntries <= byIndex {
		more, err = lateByEntries(ctx, tx, f, match, prefix, t, last, newestFirst(hitIDs(page), limit), limit,
			[2]int64{last, first}, costs.test)
	} else {
		more, err = lateByIndex(ctx, tx, f, match, t, last)
	}
	if err != nil {
		return nil, err
	}
	return newestFirst(append(hitIDs(page), more...), limit), nil
}

// newestFirst sorts ids down, without repeats, and keeps the first limit.
func newestFirst(ids []int64, limit int) []int64 {
	slices.SortFunc(ids, func(a, b int64) int { return cmp.Compare(b, a) })
	ids = slices.Compact(ids)
	return ids[:min(limit, len(ids))]
}
