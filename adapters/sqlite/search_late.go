package sqlite

import (
	"context"
	"database/sql"
	"math"
	"slices"
)

// The index plan's second step (see searchIndex): the entries newer than
// the first page's oldest that it may have missed, those of messages
// moved or copied after they were stored.

// lateByEntries gives the owner's entries above t, on messages up to m,
// that pass f and whose message matches: the range first, newest first,
// then the candidates' messages tested against the index a chunk at a
// time, stopping once page (the first page's ids) and those found fill the
// limit above the next candidate, so a word in most messages stops within
// a chunk. A prefix term takes one pass over the doclist across all the
// candidates' messages instead, as FTS5 merges all the prefix's doclists
// again for every statement.
func lateByEntries(ctx context.Context, tx *sql.Tx, f entryFilter, match string, prefix bool, t, m int64, page []int64, limit int,
	span [2]int64, test float64) ([]int64, error) {
	cands, err := byFolder(ctx, tx, f, math.MaxInt, ` AND e.id > ? AND e.message_id <= ? ORDER BY e.id DESC`, t, m)
	// The page's own entries of message m are no candidates: counted
	// twice, they would stop the tests early.
	onPage := make(map[int64]bool, len(page)) // IMAP asks for pages of thousands
	for _, id := range page {
		onPage[id] = true
	}
	cands = slices.DeleteFunc(cands, func(c hit) bool { return onPage[c.entry] })
	if err != nil || len(cands) == 0 {
		return nil, err
	}
	if prefix {
		return testCands(ctx, tx, match, cands, true)
	}
	// The density of matching messages across span, the page's messages
	// (not the page's own: the filters thin it, not the candidates).
	var n int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM message_search WHERE message_search MATCH ? AND rowid BETWEEN ? AND ?`,
		match, span[0], span[1]).Scan(&n); err != nil {
		return nil, err
	}
	density := float64(max(n, 1)) / float64(span[1]-span[0]+1)
	all := msgRange(cands)
	var out []int64
	for lo := 0; lo < len(cands); lo += limit {
		above := 0 // page's entries newer than the next candidate
		for _, id := range page {
			if id > cands[lo].entry {
				above++
			}
		}
		if above+len(out) >= limit {
			break
		}
		chunk := cands[lo:min(lo+limit, len(cands))]
		r := msgRange(chunk)
		// The rest in one pass when the page likely needs half of them
		// or more (a rarer word or phrase), or when this chunk's
		// messages spread over more than half of all the candidates':
		// passes over nearly the same range, chunk after chunk, would
		// cost more.
		rest := cands[lo:]
		if len(rest) > len(chunk) && (density*float64(len(rest)) <= 2*float64(limit-above-len(out)) || 2*(r[1]-r[0]) > all[1]-all[0]) {
			more, err := testCands(ctx, tx, match, rest, true)
			return append(out, more...), err
		}
		more, err := testCands(ctx, tx, match, chunk, float64(len(chunk))*test > density*float64(r[1]-r[0]+1))
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}

// msgRange gives the lowest and highest message of cands.
func msgRange(cands []hit) [2]int64 {
	r := [2]int64{math.MaxInt64, math.MinInt64}
	for _, c := range cands {
		r[0], r[1] = min(r[0], c.msg), max(r[1], c.msg)
	}
	return r
}

// testCands gives the entries of cands whose message matches: by one
// index lookup per message, or (pass) by one walk over the doclist from
// the lowest of their messages to the highest, in which SQLite keeps the
// candidates' messages (+rowid: a filter on the walk's rows, not a lookup
// each), so that only those reach Go.
func testCands(ctx context.Context, tx *sql.Tx, match string, cands []hit, pass bool) ([]int64, error) {
	msgs := make([]int64, len(cands))
	for i, c := range cands {
		msgs[i] = c.msg
	}
	cond, args := `rowid IN (SELECT value FROM json_each(?))`, []any{jsonInts(msgs)}
	if pass {
		r := msgRange(cands)
		cond, args = `rowid BETWEEN ? AND ? AND +rowid IN (SELECT value FROM json_each(?))`, []any{r[0], r[1], jsonInts(msgs)}
	}
	matched, err := matchedIn(ctx, tx, cond, match, args...)
	return matchedEntries(cands, matched), err
}

// matchedIn gives the messages that match among those cond selects.
func matchedIn(ctx context.Context, tx *sql.Tx, cond, match string, args ...any) (map[int64]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT rowid FROM message_search WHERE message_search MATCH ? AND `+cond,
		append([]any{match}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	matched := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		matched[id] = true
	}
	return matched, rows.Err()
}

// matchedEntries gives the entries of cands whose message matched.
func matchedEntries(cands []hit, matched map[int64]bool) []int64 {
	var out []int64
	for _, c := range cands {
		if matched[c.msg] {
			out = append(out, c.entry)
		}
	}
	return out
}

// lateByIndex gives the same as lateByEntries from the doclist below m.
func lateByIndex(ctx context.Context, tx *sql.Tx, f entryFilter, match string, t, m int64) ([]int64, error) {
	got, err := scanHits(ctx, tx, math.MaxInt, `SELECT e.id, s.rowid FROM message_search s CROSS JOIN entries e INDEXED BY entries_message_id ON e.message_id = s.rowid
WHERE s.message_search MATCH ? AND s.rowid <= ? AND `+f.cond+` AND e.id > ?`,
		append(append([]any{match, m}, f.args...), t)...)
	return hitIDs(got), err
}
