package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"mailroom/domain/account"
)

// CreateAccount inserts an account with its special folders (mail.Inbox,
// Sent, Drafts, Trash), in one statement. A name taken in any letter case
// gives account.ErrUsernameTaken, on every host sharing the database (the
// unique index is on lower(username)).
func (s *Store) CreateAccount(ctx context.Context, name account.Username, passwordHash string, created time.Time) (account.Account, error) {
	created = fromNanos(created.UnixNano())
	var id int64
	err := s.write(ctx, func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, createAccountSQL,
			string(name), passwordHash, created.UnixNano(), max(created.Unix(), 1)).Scan(&id)
	})
	if code, _ := pgCode(err); code == "23505" { // unique_violation
		return account.Account{}, fmt.Errorf("%w: %s", account.ErrUsernameTaken, name)
	}
	if err != nil {
		return account.Account{}, s.fail("create account", err)
	}
	return account.Account{ID: account.ID(id), Username: name, PasswordHash: passwordHash, Created: created}, nil
}

// createAccountSQL inserts an account and its special folders, whose
// UIDVALIDITY values start at $4 (the creation time in seconds).
const createAccountSQL = `WITH a AS (
    INSERT INTO accounts (username, password_hash, created, last_uidvalidity) VALUES ($1, $2, $3, $4 + 3)
    RETURNING id
), f AS (
    INSERT INTO folders (owner, name, special, uidvalidity)
    SELECT a.id, s.name, s.name, $4 + s.n
    FROM a CROSS JOIN (VALUES ('inbox', 0), ('sent', 1), ('drafts', 2), ('trash', 3)) AS s (name, n)
)
SELECT id FROM a`

const accountCols = `id, username, password_hash, created`

func scanAccount(row pgx.Row) (account.Account, error) {
	var a account.Account
	var name string
	var created int64
	if err := row.Scan(&a.ID, &name, &a.PasswordHash, &created); err != nil {
		return account.Account{}, err
	}
	a.Username = account.Username(name)
	a.Created = fromNanos(created)
	return a, nil
}

// AccountByName finds an account by name, in any letter case.
func (s *Store) AccountByName(ctx context.Context, name account.Username) (account.Account, error) {
	if err := s.check(); err != nil {
		return account.Account{}, err
	}
	a, err := scanAccount(s.pool.QueryRow(ctx,
		`SELECT `+accountCols+` FROM accounts WHERE lower(username) = lower($1)`, string(name)))
	if errors.Is(err, pgx.ErrNoRows) {
		return account.Account{}, fmt.Errorf("%w: %s", account.ErrNoSuchUser, name)
	}
	if err != nil {
		return account.Account{}, s.fail("account by name", err)
	}
	return a, nil
}

// AccountByID finds an account by id.
func (s *Store) AccountByID(ctx context.Context, id account.ID) (account.Account, error) {
	if err := s.check(); err != nil {
		return account.Account{}, err
	}
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, int64(id)))
	if errors.Is(err, pgx.ErrNoRows) {
		return account.Account{}, fmt.Errorf("%w: id %d", account.ErrNoSuchUser, id)
	}
	if err != nil {
		return account.Account{}, s.fail("account by id", err)
	}
	return a, nil
}

// Accounts lists every account ordered by name. COLLATE "C" orders by bytes,
// as SQLite does: a linguistic collation would sort "a.b" after "ab".
func (s *Store) Accounts(ctx context.Context) ([]account.Account, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+accountCols+` FROM accounts ORDER BY username COLLATE "C"`)
	if err != nil {
		return nil, s.fail("accounts", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (account.Account, error) { return scanAccount(r) })
	if err != nil {
		return nil, s.fail("accounts", err)
	}
	return out, nil
}

// SetPasswordHash replaces an account's password hash.
func (s *Store) SetPasswordHash(ctx context.Context, id account.ID, passwordHash string) error {
	return s.execOne(ctx, "set password hash", fmt.Errorf("%w: id %d", account.ErrNoSuchUser, id),
		`UPDATE accounts SET password_hash = $1 WHERE id = $2`, passwordHash, int64(id))
}

// DeleteAccount removes an account. Its entries and folder counts go by the
// foreign keys' cascade, and messages no entry holds any more go by
// trigger, in the same transaction.
func (s *Store) DeleteAccount(ctx context.Context, id account.ID) error {
	return s.execOne(ctx, "delete account", fmt.Errorf("%w: id %d", account.ErrNoSuchUser, id),
		`DELETE FROM accounts WHERE id = $1`, int64(id))
}

// execOne runs a statement that must change a row, and announces it; none
// gives notFound.
func (s *Store) execOne(ctx context.Context, op string, notFound error, sql string, args ...any) error {
	var n int64
	err := s.write(ctx, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, sql, args...)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return s.fail(op, err)
	}
	if n == 0 {
		return notFound
	}
	s.announce(ctx, nil) // rare but for Delete and SetSeen; one hint too many is harmless
	return nil
}

// fail wraps an unexpected error for the caller: redacted, prefixed with
// the operation, and still matching ErrClosed and context errors.
func (s *Store) fail(op string, err error) error {
	if errors.Is(err, ErrClosed) {
		return err
	}
	if s.check() != nil {
		return ErrClosed // the pool closed under the call
	}
	return s.red.wrap("postgres: "+op, err)
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
