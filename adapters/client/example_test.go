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

// A first connection to a server: pin its certificate on first use, make
// accounts, log in, watch for mail, and send some. It runs against a real
// Mailroom on 127.0.0.1 (StartExampleServer, a test helper); against your
// own server, set Host and leave the ports 0 for 8025 and 9999.
func Example() {
	host, smtpPort, inboxPort, stop := client.StartExampleServer()
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := client.New(client.Config{})
	ep := ports.Endpoint{Host: host, SMTPPort: smtpPort, InboxPort: inboxPort}

	// Trust on first use: show the fingerprint, and pin it once the user
	// has compared it with what `mailroomd cert` prints on the server.
	fp, err := c.Probe(ctx, ep)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("fingerprint has", len(fp), "hex digits")
	ep.Fingerprint = fp

	for _, name := range []string{"alice", "bob"} {
		// Refusals are the domain's sentinels (account.ErrUsernameTaken,
		// account.ErrWeakPassword, ...), for the UI to put in words.
		if err := c.Register(ctx, ep, name, "correct horse battery"); err != nil {
			log.Fatal(err)
		}
	}
	s, err := c.Login(ctx, ep, "alice", "correct horse battery")
	if err != nil {
		log.Fatal(err) // ports.ErrFingerprintMismatch if the certificate changed
	}
	defer s.Close()
	fmt.Println("logged in as", s.Account().Address)

	// Watch, and wait until it is connected: from then on nothing is missed.
	events := s.Watch(ctx)
	for ev := range events {
		if ev.Connected {
			break
		}
	}

	// An unknown recipient refuses the whole message, and says who.
	err = s.Send(ctx, ports.Draft{To: []string{"bob", "nobody"}, Subject: "Hello", Body: "Hi!"})
	var refused *ports.SendError
	if errors.As(err, &refused) {
		for _, r := range refused.Failed {
			fmt.Println("refused:", r.Recipient, errors.Is(r.Err, mail.ErrNoSuchRecipient))
		}
	}
	if err := s.Send(ctx, ports.Draft{To: []string{"bob", "alice"}, Subject: "Hello", Body: "Hi both!"}); err != nil {
		log.Fatal(err)
	}

	// Alice's own copy arrives in her inbox (and one in her sent folder).
	for ev := range events {
		if ev.Message != nil && ev.Message.Folder == mail.Inbox {
			body, err := s.Fetch(ctx, ev.Message.ID)
			if err != nil {
				log.Fatal(err)
			}
			fmt.Printf("new mail from %s: %s: %s\n", ev.Message.From, ev.Message.Subject, body.Text)
			break
		}
	}
	// Output:
	// fingerprint has 64 hex digits
	// logged in as alice@example.test
	// refused: nobody true
	// new mail from alice@example.test: Hello: Hi both!
}
