package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// The folder queries.
const (
	folderCols = `id, name, special, uidvalidity, uidnext, total, unseen`
	folderSQL  = `SELECT ` + folderCols + ` FROM folders WHERE owner = $1 AND name = $2`
	// foldersSQL lists the special folders in mail.SpecialFolders order,
	// then the others by name, byte for byte (as SQLite does).
	foldersSQL = `SELECT ` + folderCols + ` FROM folders WHERE owner = $1
ORDER BY CASE special WHEN 'inbox' THEN 0 WHEN 'sent' THEN 1 WHEN 'drafts' THEN 2 WHEN 'trash' THEN 3 ELSE 4 END,
    name COLLATE "C"`
	// nextValiditySQL gives the owner's next UIDVALIDITY: $1 (now in
	// seconds) or one above the last one given, whichever is greater. The
	// row lock orders two creates of one owner.
	nextValiditySQL = `UPDATE accounts SET last_uidvalidity = greatest(last_uidvalidity + 1, $1) WHERE id = $2
RETURNING last_uidvalidity`
	insFolderSQL = `INSERT INTO folders (owner, name, special, uidvalidity) VALUES ($1, $2, $3, $4)`
	// uidsSQL is an index-only scan of entries_folder_uid.
	uidsSQL       = `SELECT uid, id, flags FROM entries WHERE folder_id = $1 ORDER BY uid`
	metasByUIDSQL = `SELECT ` + metaCols + ` FROM ` + metaJoin + `
WHERE e.folder_id = $1 AND e.uid = ANY($2) ORDER BY e.uid`
	// renameSQL: see adapters/sqlite's renameSQL for the two passes.
	renameSQL = `UPDATE folders SET name = $2 || substr(name, length($3) + 1)
WHERE owner = $1 AND (name = $3 OR left(name, length($3) + 1) = $3 || '/')`
	longestSQL = `SELECT max(octet_length(name)) FROM folders
WHERE owner = $1 AND (name = $2 OR left(name, length($2) + 1) = $2 || '/')`
)

// folder is a folders row.
type folder struct {
	id int64
	mail.FolderInfo
}

func scanFolder(row pgx.Row) (folder, error) {
	var f folder
	var name, special string
	var validity, next int64
	err := row.Scan(&f.id, &name, &special, &validity, &next, &f.Total, &f.Unseen)
	f.Name, f.Special = mail.Folder(name), mail.SpecialUse(special)
	f.UIDValidity, f.UIDNext = uint32(validity), uint32(next)
	return f, err
}

// folderRow reads owner's folder name; mail.ErrNotFound if there is none.
func (s *Store) folderRow(ctx context.Context, owner account.ID, name mail.Folder) (folder, error) {
	if err := s.check(); err != nil {
		return folder{}, err
	}
	f, err := scanFolder(s.pool.QueryRow(ctx, folderSQL, int64(owner), string(name)))
	return f, s.folderErr("folder", name, err)
}

// txFolder is folderRow in a transaction, with the folder's row locked.
func (s *Store) txFolder(ctx context.Context, tx pgx.Tx, owner account.ID, name mail.Folder) (folder, error) {
	f, err := scanFolder(tx.QueryRow(ctx, folderSQL+` FOR UPDATE`, int64(owner), string(name)))
	if errors.Is(err, pgx.ErrNoRows) {
		return f, fmt.Errorf("%w: %q", mail.ErrNoSuchFolder, name)
	}
	return f, err
}

func (s *Store) folderErr(op string, name mail.Folder, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %q", mail.ErrNoSuchFolder, name)
	}
	if err != nil {
		return s.fail(op, err)
	}
	return nil
}

// Folders gives owner's folders, the special ones first, then by name.
func (s *Store) Folders(ctx context.Context, owner account.ID) ([]mail.FolderInfo, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, foldersSQL, int64(owner))
	if err != nil {
		return nil, s.fail("folders", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (mail.FolderInfo, error) {
		f, err := scanFolder(r)
		return f.FolderInfo, err
	})
	if err != nil {
		return nil, s.fail("folders", err)
	}
	return out, nil
}

// Folder gives one of owner's folders.
func (s *Store) Folder(ctx context.Context, owner account.ID, name mail.Folder) (mail.FolderInfo, error) {
	f, err := s.folderRow(ctx, owner, name)
	return f.FolderInfo, err
}

// inTx runs fn in one transaction, again after a deadlock or a
// serialisation failure, and announces it once committed; the domain's
// sentinels pass through, anything else is wrapped with op.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	err := s.write(ctx, func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.pool, fn)
	})
	for _, sentinel := range []error{mail.ErrNotFound, mail.ErrFolderExists, mail.ErrBadFolder, mail.ErrNoSuchRecipient} {
		if errors.Is(err, sentinel) {
			return err
		}
	}
	if err != nil {
		return s.fail(op, err)
	}
	s.announce(ctx, nil) // entries or the change log may have changed
	return nil
}

// createFolder inserts one folder with the owner's next UIDVALIDITY.
func createFolder(ctx context.Context, tx pgx.Tx, owner account.ID, name mail.Folder, now time.Time) (mail.FolderInfo, error) {
	var validity int64
	err := tx.QueryRow(ctx, nextValiditySQL, max(now.Unix(), 1), int64(owner)).Scan(&validity)
	if errors.Is(err, pgx.ErrNoRows) {
		return mail.FolderInfo{}, fmt.Errorf("%w: account id %d", mail.ErrNotFound, owner)
	}
	if err != nil {
		return mail.FolderInfo{}, err
	}
	sp := name.Special()
	_, err = tx.Exec(ctx, insFolderSQL, int64(owner), string(name), string(sp), validity)
	if code, _ := pgCode(err); code == "23505" { // another host made it meanwhile
		return mail.FolderInfo{}, fmt.Errorf("%w: %q", mail.ErrFolderExists, name)
	}
	if err != nil {
		return mail.FolderInfo{}, err
	}
	return mail.FolderInfo{Name: name, Special: sp, UIDValidity: uint32(validity), UIDNext: 1}, nil
}

// CreateFolder creates name and its missing ancestors. The account's row
// (locked by the UIDVALIDITY update) serialises creates of one owner, so
// the existence checks hold until the commit.
func (s *Store) CreateFolder(ctx context.Context, owner account.ID, name mail.Folder, now time.Time) (mail.FolderInfo, error) {
	var fi mail.FolderInfo
	err := s.inTx(ctx, "create folder", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE`, int64(owner)); err != nil {
			return err
		}
		for _, n := range append(name.Ancestors(), name) {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM folders WHERE owner = $1 AND name = $2)`,
				int64(owner), string(n)).Scan(&exists); err != nil {
				return err
			}
			switch {
			case exists && n == name:
				return fmt.Errorf("%w: %q", mail.ErrFolderExists, name)
			case exists:
				continue
			}
			var err error
			if fi, err = createFolder(ctx, tx, owner, n, now); err != nil {
				return err
			}
		}
		return nil
	})
	return fi, err
}

// RenameFolder renames from and the folders within it, keeping their ids,
// UIDVALIDITY and entries.
func (s *Store) RenameFolder(ctx context.Context, owner account.ID, from, to mail.Folder) error {
	err := s.inTx(ctx, "rename folder", func(tx pgx.Tx) error {
		if _, err := s.txFolder(ctx, tx, owner, from); err != nil {
			return err
		}
		var longest int
		if err := tx.QueryRow(ctx, longestSQL, int64(owner), string(from)).Scan(&longest); err != nil {
			return err
		}
		if longest-len(from)+len(to) > mail.MaxFolderBytes {
			return fmt.Errorf("%w: a folder within %q would pass %d bytes", mail.ErrBadFolder, to, mail.MaxFolderBytes)
		}
		parked := "\x01" + string(to)
		if _, err := tx.Exec(ctx, renameSQL, int64(owner), parked, string(from)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, renameSQL, int64(owner), string(to), parked)
		if code, _ := pgCode(err); code == "23505" { // unique_violation
			return fmt.Errorf("%w: %q", mail.ErrFolderExists, to)
		}
		return err
	})
	return err
}

// DeleteFolder removes a folder and its entries; the entries go first so
// that their triggers log each removal under the folder's name.
func (s *Store) DeleteFolder(ctx context.Context, owner account.ID, name mail.Folder) error {
	return s.inTx(ctx, "delete folder", func(tx pgx.Tx) error {
		f, err := s.txFolder(ctx, tx, owner, name)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM entries WHERE folder_id = $1`, f.id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM folders WHERE id = $1`, f.id)
		return err
	})
}

// UIDs gives every entry of a folder, ascending UID.
func (s *Store) UIDs(ctx context.Context, owner account.ID, name mail.Folder) ([]mail.UIDEntry, error) {
	f, err := s.folderRow(ctx, owner, name)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, uidsSQL, f.id)
	if err != nil {
		return nil, s.fail("uids", err)
	}
	defer rows.Close()
	out := make([]mail.UIDEntry, 0, f.Total)
	var uid, id int64
	var flags int16
	_, err = pgx.ForEachRow(rows, []any{&uid, &id, &flags}, func() error {
		out = append(out, mail.UIDEntry{UID: uint32(uid), ID: mail.EntryID(id), Flags: mail.Flags(flags)})
		return nil
	})
	if err != nil {
		return nil, s.fail("uids", err)
	}
	return out, nil
}

// MetasByUID gives the entries of folder among uids, ascending UID.
func (s *Store) MetasByUID(ctx context.Context, owner account.ID, name mail.Folder, uids []uint32) ([]mail.Meta, error) {
	f, err := s.folderRow(ctx, owner, name)
	if err != nil {
		return nil, err
	}
	if len(uids) == 0 {
		return nil, nil
	}
	return s.queryMetas(ctx, "metas by uid", metasByUIDSQL, f.id, int64s(uids))
}

func int64s[T ~int64 | ~uint32](xs []T) []int64 {
	out := make([]int64, len(xs))
	for i, x := range xs {
		out[i] = int64(x)
	}
	return out
}
