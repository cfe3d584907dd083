// Command seed fills a Mailroom server with two users and a short
// conversation for the client's screenshots. It trusts the server's
// certificate on first use, prints the fingerprint on stdout, and writes
// the GUI client's settings.json (never a password) when -settings is set.
//
//	go run ./app/mailroom/seed -host 127.0.0.1 -smtp 8025 -inbox 9999 -settings DIR
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"strings"
	"time"

	"mailroom/adapters/client"
	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
	"mailroom/ui/model"
)

func main() {
	host := flag.String("host", "127.0.0.1", "server host")
	smtp := flag.Int("smtp", model.DefaultSMTPPort, "SMTP port")
	inbox := flag.Int("inbox", model.DefaultInboxPort, "inbox port")
	settings := flag.String("settings", "", "write the client's settings.json (user alice) into this directory")
	password := flag.String("password", "horse-battery-staple", "password of both users")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := client.New(client.Config{})
	ep := ports.Endpoint{Host: *host, SMTPPort: *smtp, InboxPort: *inbox}
	fp, err := c.Probe(ctx, ep)
	if err != nil {
		log.Fatalf("seed: probe: %v", err)
	}
	ep.Fingerprint = fp

	for _, u := range []string{"alice", "bob", "carol"} {
		if err := c.Register(ctx, ep, u, *password); err != nil && !errors.Is(err, account.ErrUsernameTaken) {
			log.Fatalf("seed: register %s: %v", u, err)
		}
	}
	alice := login(ctx, c, ep, "alice", *password)
	bob := login(ctx, c, ep, "bob", *password)
	carol := login(ctx, c, ep, "carol", *password)
	defer alice.Close()
	defer bob.Close()
	defer carol.Close()
	dom := domainOf(alice.Account().Address)

	// Oldest first: the list shows the last one on top.
	for i := 1; i <= 40; i++ {
		send(ctx, bob, ports.Draft{To: []string{"alice"}, Subject: fmt.Sprintf("Build report #%d", 1000+i),
			Body: fmt.Sprintf("Build %d passed: 412 tests, 0 failures, 3m%02ds.", 1000+i, i)})
	}
	send(ctx, carol, ports.Draft{To: []string{"alice", "bob@" + dom}, Subject: "Lunch on Thursday?",
		Body: "Anyone up for noodles on Thursday at 12:30? The new place on the corner opened this week."})
	send(ctx, carol, ports.Draft{To: []string{"alice"}, Subject: "Slides for the all-hands",
		Body: "Hi Alice, could you look over the slides before Monday? Mostly the roadmap part.\n\nThanks!\nCarol"})
	send(ctx, bob, ports.Draft{To: []string{"alice"}, Subject: "Coffee?",
		Body: "Got a minute for a coffee at 3? I want to ask you about the pager rota."})
	send(ctx, alice, ports.Draft{To: []string{"bob"}, Subject: "Database migration plan",
		Body: "Bob, I'll take the database part on Friday. The migration is additive, so no downtime.\n\nAlice"})
	send(ctx, bob, ports.Draft{To: []string{"alice"}, Subject: "Re: Database migration plan",
		Body: "Hi Alice,\n\nGreat, thanks. Here is the checklist for Friday's release: the migration runs\nfirst, then the servers restart one by one. The runbook is attached.\n\n" +
			"> Bob, I'll take the database part on Friday. The migration is additive, so no downtime.\n\nBob",
		Attachments: []ports.Attachment{{Name: "runbook.txt", ContentType: "text/plain", Data: []byte(strings.Repeat("step\n", 400))}}})
	// Newest: every script the Go fonts lack, for reader-i18n-1280.png.
	send(ctx, carol, ports.Draft{To: []string{"alice"}, Subject: "会议 · اجتماع · מפגש 🎉",
		Body: "مرحبا أليس، الاجتماع يوم الثلاثاء في الساعة الثالثة.\n\n" +
			"下周二的会议改到三点，请准时参加。\n\n" +
			"来週の会議は午後三時からです。よろしくお願いします。\n\n" +
			"שלום אליס, הפגישה נדחתה ליום שלישי.\n\n" +
			"नमस्ते ऐलिस, बैठक मंगलवार को तीन बजे होगी।\n\n" +
			"See you there 🎉 👍 😀\nCarol"})

	folders(ctx, alice)

	if *settings != "" {
		s := model.Settings{Host: *host, SMTPPort: *smtp, InboxPort: *inbox, Fingerprint: fp, Username: "alice"}
		if err := model.SaveSettings(*settings, s); err != nil {
			log.Fatalf("seed: %v", err)
		}
	}
	fmt.Println(fp)
}

func login(ctx context.Context, c *client.Client, ep ports.Endpoint, user, pw string) ports.Session {
	s, err := c.Login(ctx, ep, user, pw)
	if err != nil {
		log.Fatalf("seed: login %s: %v", user, err)
	}
	return s
}

func send(ctx context.Context, s ports.Session, d ports.Draft) {
	if err := s.Send(ctx, d); err != nil {
		log.Fatalf("seed: send %q: %v", d.Subject, err)
	}
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "localhost"
}

// folders gives alice two folders of her own, with the oldest build
// reports moved into one of them, for folders-400.png.
func folders(ctx context.Context, s ports.Session) {
	fs, ok := s.(ports.FolderSession)
	if !ok {
		log.Fatal("seed: the session has no folders")
	}
	for _, f := range []mail.Folder{"Builds", "Projects", "Projects/Roadmap"} {
		if err := fs.CreateFolder(ctx, f); err != nil && !errors.Is(err, mail.ErrFolderExists) {
			log.Fatalf("seed: create %s: %v", f, err)
		}
	}
	page, err := s.List(ctx, mail.Inbox, 0, 100)
	if err != nil {
		log.Fatalf("seed: list: %v", err)
	}
	moved := 0
	for i := len(page) - 1; i >= 0 && moved < 12; i-- {
		if strings.HasPrefix(page[i].Subject, "Build report") {
			if _, err := fs.Move(ctx, page[i].ID, "Builds"); err != nil {
				log.Fatalf("seed: move: %v", err)
			}
			moved++
		}
	}
}
