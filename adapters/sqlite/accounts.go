package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"mailroom/domain/account"
)

// CreateAccount inserts an account with its special folders (mail.Inbox,
// Sent, Drafts, Trash). A name taken in any letter case gives
// account.ErrUsernameTaken.
func (s *Store) CreateAccount(ctx context.Context, name account.Username, passwordHash string, created time.Time) (account.Account, error) {
	created = fromNanos(created.UnixNano())
	var id int64
	err := s.write(ctx, func(w *wtx) error {
		res, err := w.tx.ExecContext(w.ctx,
			`INSERT INTO accounts (username, password_hash, created) VALUES (?, ?, ?)`,
			string(name), passwordHash, created.UnixNano())
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		return createSpecialFolders(w, account.ID(id), created)
	})
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
		return account.Account{}, fmt.Errorf("%w: %s", account.ErrUsernameTaken, name)
	}
	if err != nil {
		return account.Account{}, fmt.Errorf("sqlite: create account: %w", err)
	}
	return account.Account{ID: account.ID(id), Username: name, PasswordHash: passwordHash, Created: created}, nil
}

const accountCols = `id, username, password_hash, created`

func scanAccount(sc interface{ Scan(...any) error }) (account.Account, error) {
	var a account.Account
	var name string
	var created int64
	if err := sc.Scan(&a.ID, &name, &a.PasswordHash, &created); err != nil {
		return account.Account{}, err
	}
	a.Username = account.Username(name)
	a.Created = fromNanos(created)
	return a, nil
}

// AccountByName finds an account by name, in any letter case.
func (s *Store) AccountByName(ctx context.Context, name account.Username) (account.Account, error) {
	a, err := scanAccount(s.rst.accountByName.QueryRowContext(ctx, string(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return account.Account{}, fmt.Errorf("%w: %s", account.ErrNoSuchUser, name)
	}
	if err != nil {
		return account.Account{}, fmt.Errorf("sqlite: account by name: %w", err)
	}
	return a, nil
}

// AccountByID finds an account by id.
func (s *Store) AccountByID(ctx context.Context, id account.ID) (account.Account, error) {
	a, err := scanAccount(s.rst.accountByID.QueryRowContext(ctx, int64(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return account.Account{}, fmt.Errorf("%w: id %d", account.ErrNoSuchUser, id)
	}
	if err != nil {
		return account.Account{}, fmt.Errorf("sqlite: account by id: %w", err)
	}
	return a, nil
}

// Accounts lists every account ordered by name.
func (s *Store) Accounts(ctx context.Context) ([]account.Account, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+accountCols+` FROM accounts ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: accounts: %w", err)
	}
	defer rows.Close()
	var out []account.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: accounts: %w", err)
	}
	return out, nil
}

// SetPasswordHash replaces an account's password hash.
func (s *Store) SetPasswordHash(ctx context.Context, id account.ID, passwordHash string) error {
	err := s.write(ctx, func(w *wtx) error {
		res, err := w.tx.ExecContext(w.ctx, `UPDATE accounts SET password_hash = ? WHERE id = ?`, passwordHash, int64(id))
		if err != nil {
			return err
		}
		return mustAffect(res, fmt.Errorf("%w: id %d", account.ErrNoSuchUser, id))
	})
	if err != nil && !errors.Is(err, account.ErrNoSuchUser) {
		return fmt.Errorf("sqlite: set password hash: %w", err)
	}
	return err
}

// DeleteAccount removes an account. Its entries go by the foreign key's
// cascade, and messages no entry holds any more go by trigger, in the same
// transaction.
func (s *Store) DeleteAccount(ctx context.Context, id account.ID) error {
	err := s.write(ctx, func(w *wtx) error {
		res, err := w.tx.ExecContext(w.ctx, `DELETE FROM accounts WHERE id = ?`, int64(id))
		if err != nil {
			return err
		}
		return mustAffect(res, fmt.Errorf("%w: id %d", account.ErrNoSuchUser, id))
	})
	if err != nil && !errors.Is(err, account.ErrNoSuchUser) {
		return fmt.Errorf("sqlite: delete account: %w", err)
	}
	return err
}

// mustAffect gives notFound when res changed no row.
func mustAffect(res sql.Result, notFound error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound
	}
	return nil
}

// isConstraint reports whether err is SQLite's extended result code code.
func isConstraint(err error, code int) bool {
	var e *msqlite.Error
	return errors.As(err, &e) && e.Code() == code
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
