package client

import (
	"context"
	"errors"
	"testing"

	"mailroom/domain/mail"
	"mailroom/ports"
)

// Search against a real server: results, paging, and refusals as the
// domain's sentinels.
func TestSearch(t *testing.T) {
	w := newWorld(t)
	c := New(fastConfig())
	ctx := context.Background()
	alice, bob := w.login(c, "alice"), w.login(c, "bob")
	for _, subj := range []string{"capybara one", "capybara two", "other"} {
		if err := alice.Send(ctx, ports.Draft{To: []string{"bob"}, Subject: subj, Body: "hi\n"}); err != nil {
			t.Fatal(err)
		}
	}
	var ss ports.SearchSession = bob
	got, err := ss.Search(ctx, "capy", "", 0, 0)
	if err != nil || len(got) != 2 || got[0].Subject != "capybara two" || got[1].Subject != "capybara one" {
		t.Fatalf("Search(capy) = %+v, %v", got, err)
	}
	page, err := ss.Search(ctx, "capybara", mail.Inbox, got[0].ID, 1)
	if err != nil || len(page) != 1 || page[0].ID != got[1].ID {
		t.Errorf("second page = %+v, %v", page, err)
	}
	if _, err := ss.Search(ctx, "is:read", "", 0, 0); !errors.Is(err, mail.ErrBadQuery) {
		t.Errorf("Search(is:read) = %v, want ErrBadQuery", err)
	}
	if _, err := ss.Search(ctx, "x", "Nowhere", 0, 0); !errors.Is(err, mail.ErrNoSuchFolder) {
		t.Errorf("Search in a missing folder = %v, want ErrNoSuchFolder", err)
	}
}
