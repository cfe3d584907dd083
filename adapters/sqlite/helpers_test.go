package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"mailroom/domain/account"
	"mailroom/domain/mail"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

func dbPath(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "mailroom.db")
}

func openAt(t testing.TB, path string, cfg Config) *Store {
	t.Helper()
	cfg.Path = path
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func newStore(t testing.TB) *Store {
	t.Helper()
	return openAt(t, dbPath(t), Config{})
}

func mkAccount(t testing.TB, s *Store, name string) account.Account {
	t.Helper()
	a, err := s.CreateAccount(context.Background(), account.Username(name), "hash-"+name, t0)
	if err != nil {
		t.Fatalf("CreateAccount(%q): %v", name, err)
	}
	return a
}

// newMsg builds a message as mail.Service would, preview included.
func newMsg(subject string, body []byte) mail.NewMessage {
	raw := append([]byte("Subject: "+subject+"\r\n\r\n"), body...)
	return mail.NewMessage{Raw: raw, From: "alice@localhost", Subject: subject, Preview: mail.Preview(raw), Received: t0}
}

// deliver stores one message from sender to rcpts (inbox) plus sender's sent copy.
func deliver(t testing.TB, s *Store, sender account.Account, subject string, rcpts ...account.Account) []mail.Meta {
	t.Helper()
	var entries []mail.NewEntry
	var to []string
	for _, r := range rcpts {
		addr := string(r.Username) + "@localhost"
		to = append(to, addr)
		entries = append(entries, mail.NewEntry{Owner: r.ID, Folder: mail.Inbox, To: []string{addr}})
	}
	entries = append(entries, mail.NewEntry{Owner: sender.ID, Folder: mail.Sent, To: to})
	metas, err := s.Deliver(context.Background(), newMsg(subject, []byte("hello\r\n")), entries)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	return metas
}

// count gives the number of rows in table.
func count(t testing.TB, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(fmt.Sprintf("SELECT count(*) FROM %s", table)).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

type rowCounts struct{ accounts, messages, entries int }

func counts(t testing.TB, s *Store) rowCounts {
	t.Helper()
	return rowCounts{count(t, s, "accounts"), count(t, s, "messages"), count(t, s, "entries")}
}
