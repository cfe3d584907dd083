package smtpserver

import (
	"context"
	"strings"
	"sync"

	"go.uber.org/zap"

	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
)

// fakeAccounts and fakeMailboxes are in-memory ports for the fuzz target,
// where a SQLite file per input would be too slow. alice and bob exist,
// with password "password-<name>".
type fakeAccounts struct{}

var fakeUsers = map[string]account.Account{
	"alice": {ID: 1, Username: "alice"},
	"bob":   {ID: 2, Username: "bob"},
}

func (fakeAccounts) Register(_ context.Context, u, p string) (account.Account, error) {
	n, err := account.ParseUsername(u)
	if err != nil {
		return account.Account{}, err
	}
	if err := account.CheckPassword(p); err != nil {
		return account.Account{}, err
	}
	if _, ok := fakeUsers[string(n)]; ok {
		return account.Account{}, account.ErrUsernameTaken
	}
	return account.Account{ID: 99, Username: n}, nil
}

func (f fakeAccounts) Authenticate(ctx context.Context, u, p string) (account.Account, error) {
	a, err := f.Lookup(ctx, u)
	if err != nil || p != "password-"+string(a.Username) {
		return account.Account{}, account.ErrBadCredentials
	}
	return a, nil
}

func (fakeAccounts) Lookup(_ context.Context, name string) (account.Account, error) {
	name = strings.ToLower(strings.TrimSuffix(strings.ToLower(name), "@example.test"))
	if a, ok := fakeUsers[name]; ok {
		return a, nil
	}
	return account.Account{}, account.ErrNoSuchUser
}

func (fakeAccounts) ByID(_ context.Context, id account.ID) (account.Account, error) {
	for _, a := range fakeUsers {
		if a.ID == id {
			return a, nil
		}
	}
	return account.Account{}, account.ErrNoSuchUser
}

func (fakeAccounts) AddressOf(a account.Account) account.Address {
	return account.Address{User: a.Username, Domain: testDomain}
}

func (fakeAccounts) Domain() string { return testDomain }

type fakeMailboxes struct {
	mu        *sync.Mutex
	delivered *[][]byte
}

func (fakeMailboxes) ResolveRecipient(ctx context.Context, rcpt string) (account.Account, error) {
	a, err := fakeAccounts{}.Lookup(ctx, strings.Trim(rcpt, "<>"))
	if err != nil {
		return account.Account{}, mail.ErrNoSuchRecipient
	}
	return a, nil
}

func (f fakeMailboxes) Deliver(_ context.Context, _ account.Account, rcpts []string, raw []byte) ([]mail.Meta, error) {
	if len(rcpts) == 0 {
		return nil, mail.ErrNoRecipients
	}
	if f.mu != nil {
		f.mu.Lock()
		*f.delivered = append(*f.delivered, append([]byte(nil), raw...))
		f.mu.Unlock()
	}
	return make([]mail.Meta, len(rcpts)+1), nil
}

func (fakeMailboxes) List(context.Context, account.ID, mail.Folder, mail.EntryID, int) ([]mail.Meta, error) {
	return nil, nil
}

func (fakeMailboxes) Fetch(context.Context, account.ID, mail.EntryID) (mail.Message, error) {
	return mail.Message{}, mail.ErrNotFound
}

func (fakeMailboxes) SetSeen(context.Context, account.ID, mail.EntryID, bool) error { return nil }
func (fakeMailboxes) Delete(context.Context, account.ID, mail.EntryID) error        { return nil }

func (fakeMailboxes) Count(context.Context, account.ID, mail.Folder) (int, int, error) {
	return 0, 0, nil
}

func (fakeMailboxes) MaxMessageBytes() int64 { return 25 << 20 }

var (
	_ ports.Accounts  = fakeAccounts{}
	_ ports.Mailboxes = fakeMailboxes{}
)

func nopLog() *zap.Logger { return zap.NewNop() }
