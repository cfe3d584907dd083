package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"mailroom/adapters/client"
	"mailroom/domain/mail"
	"mailroom/ports"
)

// A first connection to a server: pin its certificate on first use, make an
// account, log in, watch for mail and send some. (No Output: it needs a
// running mailroomd.)
func Example() {
	ctx := context.Background()
	c := client.New(client.Config{DialTimeout: 10 * time.Second})
	ep := ports.Endpoint{Host: "mail.example.org"} // ports 8025 and 9999

	// Trust on first use: show the fingerprint, and pin it once the user
	// has compared it with what `mailroomd cert` prints on the server.
	fp, err := c.Probe(ctx, ep)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("server certificate:", fp)
	ep.Fingerprint = fp

	if err := c.Register(ctx, ep, "alice", "a-long-password"); err != nil && !errors.Is(err, ports.ErrRateLimited) {
		log.Print(err) // account.ErrUsernameTaken and friends, for the UI to word
	}
	s, err := c.Login(ctx, ep, "alice", "a-long-password")
	if err != nil {
		log.Fatal(err) // ports.ErrFingerprintMismatch if the certificate changed
	}
	defer s.Close()

	wctx, stop := context.WithCancel(ctx)
	defer stop()
	events := s.Watch(wctx)

	err = s.Send(ctx, ports.Draft{To: []string{"bob"}, Subject: "Hello", Body: "Hi Bob!"})
	var refused *ports.SendError
	if errors.As(err, &refused) {
		for _, r := range refused.Failed {
			fmt.Println("refused:", r.Recipient, r.Err) // wraps mail.ErrNoSuchRecipient
		}
	}

	for ev := range events {
		switch {
		case ev.Message != nil && ev.Message.Folder == mail.Inbox:
			body, err := s.Fetch(ctx, ev.Message.ID)
			if err == nil {
				fmt.Println(ev.Message.From, ev.Message.Subject, body.Text)
			}
		case !ev.Connected && ev.Err != nil:
			fmt.Println("offline, retrying in", ev.RetryIn, ev.Err)
		}
	}
}
