package storetest

import (
	"context"
	"errors"
	"testing"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

var accountTests = []test{
	{"CreateUnique", testCreateAccountUnique},
	{"Lookups", testAccountLookups},
	{"SetPasswordHash", testSetPasswordHash},
	{"DeleteCascades", testDeleteAccountCascades},
}

func testCreateAccountUnique(t *testing.T, s Store) {
	ctx := context.Background()
	alice := mkAccount(t, s, "alice")
	if alice.ID <= 0 || alice.Username != "alice" || alice.PasswordHash != "hash-alice" || !alice.Created.Equal(t0) {
		t.Fatalf("CreateAccount = %+v", alice)
	}
	for _, name := range []account.Username{"alice", "ALICE", "Alice"} {
		_, err := s.CreateAccount(ctx, name, "x", t0)
		if !errors.Is(err, account.ErrUsernameTaken) {
			t.Errorf("CreateAccount(%q) = %v, want ErrUsernameTaken", name, err)
		}
	}
	if got := count(t, s, "accounts"); got != 1 {
		t.Errorf("%d accounts, want 1", got)
	}
}

func testAccountLookups(t *testing.T, s Store) {
	ctx := context.Background()
	bob := mkAccount(t, s, "bob")
	alice := mkAccount(t, s, "alice")
	carol := mkAccount(t, s, "carol")
	// Byte order, as the names' characters compare in ASCII: '-' < '.' <
	// '0' < '_' < 'a'. A linguistic collation would ignore the punctuation.
	dashed, dotted, digit, under, plain := mkAccount(t, s, "al-x"), mkAccount(t, s, "al.x"), mkAccount(t, s, "al0x"), mkAccount(t, s, "al_x"), mkAccount(t, s, "alx")

	tests := []struct {
		name    string
		get     func() (account.Account, error)
		want    account.Account
		wantErr error
	}{
		{"by name", func() (account.Account, error) { return s.AccountByName(ctx, "alice") }, alice, nil},
		{"by name any case", func() (account.Account, error) { return s.AccountByName(ctx, "ALICE") }, alice, nil},
		{"by id", func() (account.Account, error) { return s.AccountByID(ctx, bob.ID) }, bob, nil},
		{"missing name", func() (account.Account, error) { return s.AccountByName(ctx, "dave") }, account.Account{}, account.ErrNoSuchUser},
		{"missing id", func() (account.Account, error) { return s.AccountByID(ctx, 999999) }, account.Account{}, account.ErrNoSuchUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.get()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}

	all, err := s.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []account.Account{dashed, dotted, digit, under, alice, plain, bob, carol}
	if len(all) != len(want) {
		t.Fatalf("Accounts = %+v, want %+v", all, want)
	}
	for i := range want {
		if all[i] != want[i] {
			t.Errorf("Accounts[%d] = %+v, want %+v", i, all[i], want[i])
		}
	}
}

func testSetPasswordHash(t *testing.T, s Store) {
	ctx := context.Background()
	alice := mkAccount(t, s, "alice")
	if err := s.SetPasswordHash(ctx, alice.ID, "new"); err != nil {
		t.Fatal(err)
	}
	got, err := s.AccountByID(ctx, alice.ID)
	if err != nil || got.PasswordHash != "new" {
		t.Fatalf("after SetPasswordHash: %+v, %v", got, err)
	}
	if err := s.SetPasswordHash(ctx, 999999, "x"); !errors.Is(err, account.ErrNoSuchUser) {
		t.Errorf("SetPasswordHash(missing) = %v, want ErrNoSuchUser", err)
	}
}

func testDeleteAccountCascades(t *testing.T, s Store) {
	ctx := context.Background()
	alice := mkAccount(t, s, "alice")
	bob := mkAccount(t, s, "bob")
	deliver(t, s, alice, "a to b", bob)            // message 1: bob inbox, alice sent
	deliver(t, s, bob, "b to b", bob)              // message 2: bob inbox, bob sent
	deliver(t, s, bob, "b to a and b", alice, bob) // message 3: alice, bob inboxes, bob sent
	if got, want := counts(t, s), (rowCounts{2, 3, 7}); got != want {
		t.Fatalf("before: %+v, want %+v", got, want)
	}

	if err := s.DeleteAccount(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	// Left: alice's sent copy of 1, alice's inbox copy of 3. Message 2 is gone.
	if got, want := counts(t, s), (rowCounts{1, 2, 2}); got != want {
		t.Fatalf("after: %+v, want %+v", got, want)
	}
	if _, err := s.AccountByID(ctx, bob.ID); !errors.Is(err, account.ErrNoSuchUser) {
		t.Errorf("AccountByID(deleted) = %v, want ErrNoSuchUser", err)
	}
	if err := s.DeleteAccount(ctx, bob.ID); !errors.Is(err, account.ErrNoSuchUser) {
		t.Errorf("DeleteAccount again = %v, want ErrNoSuchUser", err)
	}
	for _, f := range mail.SpecialFolders() {
		if total, unseen, err := s.Count(ctx, bob.ID, f); !errors.Is(err, mail.ErrNotFound) {
			t.Errorf("Count(deleted, %s) = %d, %d, %v; want ErrNotFound: its folders went with it", f, total, unseen, err)
		}
	}
	if fs, err := s.Folders(ctx, bob.ID); err != nil || len(fs) != 0 {
		t.Errorf("Folders(deleted) = %+v, %v; want none", fs, err)
	}

	// A new account never gets a deleted account's id.
	carol := mkAccount(t, s, "carol")
	if carol.ID <= bob.ID {
		t.Errorf("new account id %d reuses or precedes deleted id %d", carol.ID, bob.ID)
	}
	// Nor does a new account with the deleted one's name.
	bob2 := mkAccount(t, s, "bob")
	if bob2.ID <= carol.ID {
		t.Errorf("re-created bob has id %d, want above %d", bob2.ID, carol.ID)
	}
	if total, _, err := s.Count(ctx, bob2.ID, mail.Inbox); err != nil || total != 0 {
		t.Errorf("re-created bob's inbox count = %d, %v; want 0", total, err)
	}
	if err := s.DeleteAccount(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	if got, want := counts(t, s), (rowCounts{2, 0, 0}); got != want {
		t.Fatalf("after deleting alice: %+v, want %+v", got, want)
	}
}
