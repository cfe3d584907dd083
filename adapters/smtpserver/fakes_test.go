package smtpserver

import (
	"context"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// fakeAccounts is an in-memory account side for the fuzz target, where a
// SQLite file per input would be too slow. alice and bob exist, with
// password "password-<name>". It also serves the mail service as its
// mail.Accounts.
type fakeAccounts struct{}

var fakeUsers = map[string]account.Account{
	"alice": {ID: 1, Username: "alice"},
	"bob":   {ID: 2, Username: "bob"},
}

func (fakeAccounts) ParseName(name string) (account.Username, error) {
	lower := strings.ToLower(name)
	if i := strings.LastIndexByte(lower, '@'); i >= 0 {
		if lower[i+1:] != testDomain {
			return "", account.ErrBadUsername
		}
		lower = lower[:i]
	}
	return account.ParseUsername(lower)
}

func (f fakeAccounts) SignUp(_ context.Context, _, u, p string) (account.Account, error) {
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

func (fakeAccounts) RegistrationOpen() bool { return true }

func (f fakeAccounts) LoginAs(ctx context.Context, _, authzid, u, p string) (account.Account, error) {
	if authzid != "" && !strings.EqualFold(strings.TrimSuffix(authzid, "@"+testDomain), strings.TrimSuffix(u, "@"+testDomain)) {
		return account.Account{}, account.ErrAuthzRefused
	}
	a, err := f.Lookup(ctx, u)
	if err != nil || p != "password-"+string(a.Username) {
		return account.Account{}, account.ErrBadCredentials
	}
	return a, nil
}

func (f fakeAccounts) Lookup(_ context.Context, name string) (account.Account, error) {
	n, err := f.ParseName(name)
	if err != nil {
		return account.Account{}, account.ErrNoSuchUser
	}
	if a, ok := fakeUsers[string(n)]; ok {
		return a, nil
	}
	return account.Account{}, account.ErrNoSuchUser
}

func (f fakeAccounts) Recipient(ctx context.Context, name string) (account.Account, error) {
	return f.Lookup(ctx, name)
}

func (fakeAccounts) AddressOf(a account.Account) account.Address {
	return account.Address{User: a.Username, Domain: testDomain}
}

func (fakeAccounts) Domain() string { return testDomain }

// fakeStore is an in-memory mail.Store that keeps what is delivered.
type fakeStore struct {
	// The SMTP server only delivers: the folder methods it never reaches
	// come from the nil embedded interface (and would panic if it did).
	mail.Store

	mu        sync.Mutex
	delivered [][]byte
}

func (s *fakeStore) Deliver(_ context.Context, msg mail.NewMessage, entries []mail.NewEntry) ([]mail.Meta, error) {
	s.mu.Lock()
	s.delivered = append(s.delivered, append([]byte(nil), msg.Raw...))
	s.mu.Unlock()
	return make([]mail.Meta, len(entries)), nil
}

func (s *fakeStore) messages() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delivered
}

func (*fakeStore) List(context.Context, account.ID, mail.Folder, mail.EntryID, int) ([]mail.Meta, error) {
	return nil, nil
}

func (*fakeStore) Fetch(context.Context, account.ID, mail.EntryID) (mail.Message, error) {
	return mail.Message{}, mail.ErrNotFound
}

func (*fakeStore) SetSeen(context.Context, account.ID, mail.EntryID, bool) error { return nil }
func (*fakeStore) Delete(context.Context, account.ID, mail.EntryID) error        { return nil }

func (*fakeStore) Count(context.Context, account.ID, mail.Folder) (int, int, error) {
	return 0, 0, nil
}

// fakeMailboxes is the real mail service over fakeAccounts and a
// fakeStore: the envelope rules are the domain's own.
func fakeMailboxes(store *fakeStore) *mail.Service {
	if store == nil {
		store = &fakeStore{}
	}
	return mail.NewService(store, fakeAccounts{}, nil, mail.Config{}, func() time.Time { return time.Unix(1e9, 0) })
}

// testPeer is a connection's peer for a shim built without a listener.
func testPeer() peer {
	return peer{
		ip: "192.0.2.1", key: "192.0.2.1", start: time.Now(), ctx: context.Background(),
		shuttingDown: func() bool { return false },
	}
}

func nopLog() *zap.Logger { return zap.NewNop() }
