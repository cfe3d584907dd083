package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// New entries are written a few statements per write, not a few per entry
// (issue 10: at 10 recipients the writer was 64% of a delivery's CPU, most
// of it per-entry statements and the per-entry insert trigger):
//   - one SELECT reads all the folders of the write (foldersByKeySQL), then
//     one UPDATE by rowid per folder gives its UIDs out and bumps total and
//     unseen together (bumpFolderSQL);
//   - one INSERT of all the entries (insEntriesSQL);
//   - one INSERT ... SELECT writes their change-log rows (logNewSQL).
//
// A statement takes a fixed number of rows, so that it is prepared once, at
// Open; a write of n rows runs the sizes of chunkSizes that add up to n
// (10 recipients plus the sent copy: 8 + 2 + 1).
var chunkSizes = [...]int{32, 16, 8, 4, 2, 1}

// foldersByKeySQL reads g folders, each named by (owner, name): a UNION ALL
// of point lookups in the (owner, name) index. An UPDATE ... FROM ...
// RETURNING did it in one statement but twice as slowly: SQLite buffers
// both the join and RETURNING's rows in ephemeral tables.
func foldersByKeySQL(g int) string {
	one := `SELECT owner, name, id, uidnext FROM folders WHERE owner = ? AND name = ?`
	return strings.TrimSuffix(strings.Repeat(one+" UNION ALL ", g), " UNION ALL ")
}

// bumpFolderSQL takes ?1 UIDs in folder ?3, ?2 of them for unseen entries.
const bumpFolderSQL = `UPDATE folders SET uidnext = uidnext + ?1, total = total + ?1, unseen = unseen + ?2 WHERE id = ?3`

func insEntriesSQL(n int) string {
	return `INSERT INTO entries (owner, folder_id, uid, message_id, rcpts, flags, received) VALUES ` + placeholders(n, 7)
}

// logNewSQL logs entries ?1 to ?2 as new (kind 1), in id order, with their
// folder's name and UIDVALIDITY as they are now: what the entries_insert
// trigger of migration 0003 did row by row.
const logNewSQL = `INSERT INTO changes (owner, folder, uidvalidity, uid, entry_id, kind, flags)
SELECT e.owner, f.name, f.uidvalidity, e.uid, e.id, 1, e.flags
FROM entries e CROSS JOIN folders f ON f.id = e.folder_id
WHERE e.id BETWEEN ?1 AND ?2 ORDER BY e.id`

// placeholders gives rows groups of cols "?".
func placeholders(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
}

// chunkStmts are the fixed-size statements, by size.
type chunkStmts struct {
	folders, insEntries map[int]*sql.Stmt
	logNew, bumpFolder  *sql.Stmt
}

func (c *chunkStmts) prepare(ctx context.Context, db *sql.DB) error {
	c.folders, c.insEntries = map[int]*sql.Stmt{}, map[int]*sql.Stmt{}
	dst := map[**sql.Stmt]string{&c.logNew: logNewSQL, &c.bumpFolder: bumpFolderSQL}
	rs, es := make([]*sql.Stmt, len(chunkSizes)), make([]*sql.Stmt, len(chunkSizes))
	for i, n := range chunkSizes {
		dst[&rs[i]], dst[&es[i]] = foldersByKeySQL(n), insEntriesSQL(n)
	}
	if err := prepareAll(ctx, db, dst); err != nil {
		return err
	}
	for i, n := range chunkSizes {
		c.folders[n], c.insEntries[n] = rs[i], es[i]
	}
	return nil
}

func (c *chunkStmts) close() error {
	sts := []*sql.Stmt{c.logNew, c.bumpFolder}
	for _, n := range chunkSizes {
		sts = append(sts, c.folders[n], c.insEntries[n])
	}
	return closeStmts(sts...)
}

// chunks calls fn for consecutive spans of n items, each of a size in
// chunkSizes, until fn fails.
func chunks(n int, fn func(lo, hi int) error) error {
	lo := 0
	for _, size := range chunkSizes {
		for n-lo >= size {
			if err := fn(lo, lo+size); err != nil {
				return err
			}
			lo += size
		}
	}
	return nil
}

// entryRow is one entry to insert; insertEntries fills folderID, uid and id.
type entryRow struct {
	owner    account.ID
	folder   mail.Folder
	msgID    int64
	rcpts    string // JSON
	flags    mail.Flags
	received int64 // unix nanoseconds

	folderID int64
	uid      uint32
	id       mail.EntryID
}

// folderKey names a folder by owner and name.
type folderKey struct {
	owner account.ID
	name  mail.Folder
}

// reservation is what one folder of a write takes.
type reservation struct {
	key       folderKey
	n, unseen int
	folderID  int64
	next      uint32 // the next UID to give out
	found     bool
}

// insertEntries inserts rows, each with the next UID of its folder (rows of
// one folder take ascending UIDs in their order), counts them in their
// folders and logs them as new. A folder that does not exist fails it with
// errMissingFolder, a mail.ErrNoSuchFolder (the savepoint undoes the rest).
func (s *Store) insertEntries(w *wtx, rows []entryRow) error {
	res, of, err := s.reserve(w, rows)
	if err != nil {
		return err
	}
	for i := range rows {
		r := &res[of[i]]
		rows[i].folderID, rows[i].uid = r.folderID, r.next
		r.next++
	}
	var first, last int64
	err = chunks(len(rows), func(lo, hi int) error {
		args := make([]any, 0, 7*(hi-lo))
		for _, r := range rows[lo:hi] {
			args = append(args, int64(r.owner), r.folderID, r.uid, r.msgID, r.rcpts, uint8(r.flags), r.received)
		}
		out, err := w.exec(s.wst.chunks.insEntries[hi-lo], args...)
		if err != nil {
			return err
		}
		id, err := out.LastInsertId()
		if err != nil {
			return err
		}
		// One statement's rows take consecutive ids (one writer, rowids
		// from AUTOINCREMENT's max), and so do the statements of one
		// write: the change log below relies on it.
		lo64 := id - int64(hi-lo) + 1
		if first != 0 && lo64 != last+1 {
			return fmt.Errorf("entry ids not consecutive: %d after %d", lo64, last)
		}
		if first == 0 {
			first = lo64
		}
		last = id
		for i := range rows[lo:hi] {
			rows[lo+i].id = mail.EntryID(lo64 + int64(i))
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, err = w.exec(s.wst.chunks.logNew, first, last)
	return err
}

// errMissingFolder is a reservation in a folder that does not exist.
type errMissingFolder struct{ key folderKey }

func (e errMissingFolder) Error() string {
	return fmt.Sprintf("account id %d has no folder %q", e.key.owner, e.key.name)
}

func (e errMissingFolder) Unwrap() error { return mail.ErrNoSuchFolder }

// reserve takes the UIDs rows need, one reservation per folder; of gives
// each row's reservation.
func (s *Store) reserve(w *wtx, rows []entryRow) (res []reservation, of []int, err error) {
	of = make([]int, len(rows))
	index := make(map[folderKey]int, len(rows))
	for i := range rows {
		k := folderKey{rows[i].owner, rows[i].folder}
		j, ok := index[k]
		if !ok {
			j = len(res)
			index[k] = j
			res = append(res, reservation{key: k})
		}
		res[j].n++
		if !rows[i].flags.Has(mail.FlagSeen) {
			res[j].unseen++
		}
		of[i] = j
	}
	err = chunks(len(res), func(lo, hi int) error {
		args := make([]any, 0, 2*(hi-lo))
		for _, r := range res[lo:hi] {
			args = append(args, int64(r.key.owner), string(r.key.name))
		}
		out, err := w.stmt(s.wst.chunks.folders[hi-lo]).QueryContext(w.ctx, args...)
		if err != nil {
			return err
		}
		defer out.Close()
		for out.Next() {
			var k folderKey
			var name string
			var id int64
			var next uint32
			if err := out.Scan(&k.owner, &name, &id, &next); err != nil {
				return err
			}
			k.name = mail.Folder(name)
			r := &res[index[k]]
			r.folderID, r.next, r.found = id, next, true
		}
		return out.Err()
	})
	if err != nil {
		return nil, nil, err
	}
	for _, r := range res {
		if !r.found {
			return nil, nil, errMissingFolder{r.key}
		}
		// The CHECK on uidnext refuses a folder past 2^32-1 UIDs.
		if _, err := w.exec(s.wst.chunks.bumpFolder, r.n, r.unseen, r.folderID); err != nil {
			return nil, nil, err
		}
	}
	return res, of, nil
}

// missingFolder gives the folder err names, if err is errMissingFolder.
func missingFolder(err error) (folderKey, bool) {
	var m errMissingFolder
	if errors.As(err, &m) {
		return m.key, true
	}
	return folderKey{}, false
}
