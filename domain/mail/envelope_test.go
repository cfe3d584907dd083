package mail_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

// One transaction with 3 recipients, given in several spellings, costs
// exactly 3 account lookups: at RCPT, none in DeliverEnvelope.
func TestEnvelopeLooksUpEachRecipientOnce(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 0)
	env := h.svc.NewEnvelope(h.alice)
	for _, rcpt := range []string{"bob", "carol@localhost", "<DAVE@LOCALHOST>", "BOB", "<bob@localhost>", "Carol"} {
		if _, err := env.Add(ctx, rcpt); err != nil {
			t.Fatalf("Add(%q): %v", rcpt, err)
		}
	}
	if h.accounts.lookups != 3 {
		t.Errorf("%d lookups while adding 3 recipients, want 3", h.accounts.lookups)
	}
	metas, err := h.svc.DeliverEnvelope(ctx, env, []byte(simpleMsg))
	if err != nil {
		t.Fatal(err)
	}
	if h.accounts.lookups != 3 {
		t.Errorf("%d lookups for the whole transaction, want 3", h.accounts.lookups)
	}
	var owners []account.ID
	for _, m := range metas {
		owners = append(owners, m.Owner)
	}
	if want := []account.ID{h.bob.ID, h.carol.ID, h.dave.ID, h.alice.ID}; !reflect.DeepEqual(owners, want) {
		t.Errorf("owners %v, want %v", owners, want)
	}
	if got := metas[3].To; !reflect.DeepEqual(got, []string{"bob@localhost", "carol@localhost", "dave@localhost"}) {
		t.Errorf("sent copy To = %q", got)
	}
	if len(h.store.msgs) != 1 {
		t.Errorf("message stored %d times, want once", len(h.store.msgs))
	}
}

func TestEnvelopeAdd(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		rcpts       []string // all but the last must be accepted
		wantErr     error
		wantLen     int
		wantLookups int
	}{
		{"one", []string{"bob"}, nil, 1, 1},
		{"same account, other spelling", []string{"bob", "Bob@LocalHost"}, nil, 1, 1},
		{"unknown", []string{"bob", "mallory"}, mail.ErrNoSuchRecipient, 1, 2},
		{"unknown again costs nothing", []string{"bob", "mallory", "MALLORY"}, mail.ErrNoSuchRecipient, 1, 2},
		{"other domain, no lookup", []string{"bob@example.org"}, mail.ErrNoSuchRecipient, 0, 0},
		{"malformed, no lookup", []string{"bob smith"}, mail.ErrNoSuchRecipient, 0, 0},
		{"empty", []string{""}, mail.ErrNoSuchRecipient, 0, 0},
		{"null path", []string{"<>"}, mail.ErrNoSuchRecipient, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0)
			env := h.svc.NewEnvelope(h.alice)
			var err error
			for i, r := range tc.rcpts {
				_, err = env.Add(ctx, r)
				if i < len(tc.rcpts)-1 && !errors.Is(err, mail.ErrNoSuchRecipient) && err != nil {
					t.Fatalf("Add(%q): %v", r, err)
				}
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("last Add = %v, want %v", err, tc.wantErr)
			}
			if env.Len() != tc.wantLen || h.accounts.lookups != tc.wantLookups {
				t.Errorf("Len = %d, lookups = %d; want %d, %d", env.Len(), h.accounts.lookups, tc.wantLen, tc.wantLookups)
			}
		})
	}
}

func TestEnvelopeCap(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cfg  int // Config.MaxRecipients
		want int
	}{
		{"default", 0, mail.MaxRecipients},
		{"lowered", 5, 5},
		{"over the ceiling", mail.MaxRecipients + 50, mail.MaxRecipients},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0)
			svc := mail.NewService(h.store, account.NewService(h.accounts, nopHasher{}, account.Config{}, nil), nil,
				mail.Config{MaxRecipients: tc.cfg}, nil)
			if svc.MaxRecipients() != tc.want {
				t.Errorf("MaxRecipients() = %d, want %d", svc.MaxRecipients(), tc.want)
			}
			env := svc.NewEnvelope(h.alice)
			for _, u := range h.users[:tc.want] {
				if _, err := env.Add(ctx, string(u.Username)); err != nil {
					t.Fatal(err)
				}
			}
			// One more account is refused; the envelope keeps the first ones,
			// and one already in it is still fine.
			next := string(h.users[tc.want].Username)
			if _, err := env.Add(ctx, next); !errors.Is(err, mail.ErrTooManyRecipients) {
				t.Errorf("Add past the cap = %v, want ErrTooManyRecipients", err)
			}
			if _, err := env.Add(ctx, string(h.users[0].Username)); err != nil {
				t.Errorf("Add of a recipient already in = %v", err)
			}
			if env.Len() != tc.want {
				t.Errorf("Len = %d, want %d", env.Len(), tc.want)
			}
			if _, err := svc.DeliverEnvelope(ctx, env, []byte(simpleMsg)); err != nil {
				t.Errorf("DeliverEnvelope at the cap: %v", err)
			}
		})
	}
}

// Unknown names cost a lookup each, so they are bounded too: twice the cap
// of distinct names per envelope, then ErrTooManyRecipients without one.
func TestEnvelopeBoundsLookups(t *testing.T) {
	h := newHarness(t, 0)
	env := h.svc.NewEnvelope(h.alice)
	for i := range 2 * mail.MaxRecipients {
		if _, err := env.Add(context.Background(), fmt.Sprintf("nobody%d", i)); !errors.Is(err, mail.ErrNoSuchRecipient) {
			t.Fatalf("Add %d = %v", i, err)
		}
	}
	before := h.accounts.lookups
	if _, err := env.Add(context.Background(), "bob"); !errors.Is(err, mail.ErrTooManyRecipients) {
		t.Errorf("Add past the lookup bound = %v, want ErrTooManyRecipients", err)
	}
	if h.accounts.lookups != before {
		t.Errorf("a refused Add looked up")
	}
}

// A store failure is ours, not the recipient's: it is not remembered as
// "no such recipient", and the next try looks up again.
func TestEnvelopeStoreFailure(t *testing.T) {
	h := newHarness(t, 0)
	boom := errors.New("db down")
	h.accounts.failAll = boom
	env := h.svc.NewEnvelope(h.alice)
	if _, err := env.Add(context.Background(), "bob"); !errors.Is(err, boom) || errors.Is(err, mail.ErrNoSuchRecipient) {
		t.Fatalf("Add = %v, want the store's error", err)
	}
	h.accounts.failAll = nil
	if acc, err := env.Add(context.Background(), "bob"); err != nil || acc != h.bob {
		t.Errorf("Add after recovery = %+v, %v", acc, err)
	}
}

func TestDeliverEnvelopeRefusals(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 100)
	if _, err := h.svc.DeliverEnvelope(ctx, nil, []byte("x")); !errors.Is(err, mail.ErrNoRecipients) {
		t.Errorf("nil envelope = %v", err)
	}
	env := h.svc.NewEnvelope(h.alice)
	if _, err := h.svc.DeliverEnvelope(ctx, env, []byte("x")); !errors.Is(err, mail.ErrNoRecipients) {
		t.Errorf("empty envelope = %v", err)
	}
	if _, err := env.Add(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.DeliverEnvelope(ctx, env, make([]byte, 101)); !errors.Is(err, mail.ErrTooLarge) {
		t.Errorf("too large = %v", err)
	}
	if len(h.store.deliverArgs) != 0 || len(h.notes.calls) != 0 {
		t.Errorf("a refused delivery reached the store or the notifier")
	}
}

func TestEnvelopeAccessors(t *testing.T) {
	h := newHarness(t, 0)
	env := h.svc.NewEnvelope(h.alice)
	for _, r := range []string{"carol", "bob"} {
		if _, err := env.Add(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if env.Sender() != h.alice {
		t.Errorf("Sender = %+v", env.Sender())
	}
	if got := env.Recipients(); !reflect.DeepEqual(got, []account.Account{h.carol, h.bob}) {
		t.Errorf("Recipients = %+v", got)
	}
	env.Recipients()[0] = h.erin // a copy: the envelope is unchanged
	if got := env.Addresses(); !reflect.DeepEqual(got, []string{"carol@localhost", "bob@localhost"}) {
		t.Errorf("Addresses = %q", got)
	}
}
