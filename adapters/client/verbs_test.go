package client

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"mailroom/adapters/inboxwire"
	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
)

// TestReplyTable covers every row of smtpreply.Meanings as replyError
// applies them, plus what no row matches.
func TestReplyTable(t *testing.T) {
	tests := []struct {
		op   string
		code int
		msg  string
		want error
	}{
		{opReg, 550, "5.7.1 Username already taken", account.ErrUsernameTaken},
		{opReg, 553, "5.1.3 Bad username", account.ErrBadUsername},
		{opReg, 501, "5.7.0 Password must be 8 to 1024 bytes long", account.ErrWeakPassword},
		{opReg, 554, "5.7.0 Registration is closed", ports.ErrRegistrationClosed},
		{opReg, 454, "4.7.0 Too many attempts", ports.ErrRateLimited},
		{opReg, 451, "4.3.0 Local error", ports.ErrRateLimited},
		{opGetUser, 550, "5.1.1 No such user", account.ErrNoSuchUser},
		{opAuth, 535, "5.7.8 Authentication credentials invalid", account.ErrBadCredentials},
		{opAuth, 454, "4.7.0 Too many attempts", ports.ErrRateLimited},
		{opAuth, 421, "4.7.0 Too many authentication failures", ports.ErrRateLimited},
		{opRcpt, 550, "5.1.1 No such user here", mail.ErrNoSuchRecipient},
		{opRcpt, 452, "4.5.3 Too many recipients", mail.ErrTooManyRecipients},
		{opData, 552, "5.3.4 Message too big", mail.ErrTooLarge},
		// Not in the table: the reply is kept, no sentinel.
		{opGetUser, 550, "5.7.1 something else", nil},
		{opRcpt, 451, "4.3.0 Local error", nil},
		{opPing, 500, "5.5.2 Syntax error", nil},
		{opReg, 550, "no enhanced code", nil},
	}
	all := []error{account.ErrUsernameTaken, account.ErrBadUsername, account.ErrWeakPassword,
		ports.ErrRegistrationClosed, ports.ErrRateLimited, account.ErrNoSuchUser,
		account.ErrBadCredentials, mail.ErrNoSuchRecipient, mail.ErrTooManyRecipients, mail.ErrTooLarge}
	for _, tt := range tests {
		err := replyError(tt.op, tt.code, tt.msg)
		if err == nil {
			t.Fatalf("%s %d %s: nil error", tt.op, tt.code, tt.msg)
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s %d %s: error %q lost the server's words", tt.op, tt.code, tt.msg, err)
		}
		for _, s := range all {
			if errors.Is(err, s) != (s == tt.want) {
				t.Errorf("%s %d %s: errors.Is(%v) = %v", tt.op, tt.code, tt.msg, s, !(s == tt.want))
			}
		}
	}
}

func TestParseUserReply(t *testing.T) {
	good := map[string]ports.UserInfo{
		"2.1.5 7 bob@example.org":    {ID: 7, Address: "bob@example.org"},
		"2.1.5 12 <bob@example.org>": {ID: 12, Address: "bob@example.org"},
		"3 a@b":                      {ID: 3, Address: "a@b"},
	}
	for in, want := range good {
		got, err := parseUserReply(in)
		if err != nil || got != want {
			t.Errorf("parseUserReply(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "2.1.5", "2.1.5 x bob@example.org", "2.1.5 -1 a@b", "2.1.5 7 bob", "2.1.5 7"} {
		if _, err := parseUserReply(in); err == nil {
			t.Errorf("parseUserReply(%q): no error", in)
		}
	}
}

func TestVerbs(t *testing.T) {
	checkGoroutines(t)
	f := startFakeSMTP(t, func(l string) string {
		switch {
		case l == "PING":
			return "250 2.0.0 PONG"
		case l == "REG alice goodpassword":
			return "250 2.1.0 Account created"
		case l == "REG bob goodpassword":
			return "550 5.7.1 Username already taken"
		case l == "REG carol short":
			return "501 5.7.0 Password must be 8 to 1024 bytes long"
		case strings.HasPrefix(l, "AUTH PLAIN "):
			if l == "AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00alice\x00goodpassword")) {
				return "235 2.7.0 Authentication successful"
			}
			return "535 5.7.8 Authentication credentials invalid"
		case l == "GETUSER bob":
			return "250 2.1.5 2 bob@example.org"
		case l == "GETUSER nobody":
			return "550 5.1.1 No such user"
		}
		return "500 5.5.2 Syntax error, command unrecognized"
	})
	ctx := context.Background()
	c := New(fastConfig())
	if err := c.Ping(ctx, f.ep); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := c.Register(ctx, f.ep, "alice", "goodpassword"); err != nil {
		t.Fatalf("Register: %v", err)
	}
	if err := c.Register(ctx, f.ep, "bob", "goodpassword"); !errors.Is(err, account.ErrUsernameTaken) {
		t.Errorf("Register taken = %v", err)
	}
	if err := c.Register(ctx, f.ep, "carol", "short"); !errors.Is(err, account.ErrWeakPassword) {
		t.Errorf("Register weak = %v", err)
	}
	// Never sent: it would break the command line.
	if err := c.Register(ctx, f.ep, "eve x", "goodpassword"); !errors.Is(err, account.ErrBadUsername) {
		t.Errorf("Register with a space = %v", err)
	}
	for _, p := range []string{"good\r\nQUIT x", "tab\tbed password", "nul\x00password"} {
		if err := c.Register(ctx, f.ep, "eve", p); !errors.Is(err, account.ErrWeakPassword) {
			t.Errorf("Register with password %q = %v", p, err)
		}
	}
	for _, l := range f.received() {
		if strings.Contains(l, "eve") {
			t.Errorf("sent %q", l)
		}
	}

	s := &Session{c: c, ep: f.ep, user: "alice", pass: "goodpassword"}
	s.ctx, s.cancel = context.WithCancel(ctx)
	defer s.Close()
	info, err := s.Lookup(ctx, "bob")
	if err != nil || info != (ports.UserInfo{ID: 2, Address: "bob@example.org"}) {
		t.Errorf("Lookup(bob) = %+v, %v", info, err)
	}
	if _, err := s.Lookup(ctx, "nobody"); !errors.Is(err, account.ErrNoSuchUser) {
		t.Errorf("Lookup(nobody) = %v", err)
	}
	s.pass = "wrong"
	if _, err := s.Lookup(ctx, "bob"); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("Lookup with a wrong password = %v", err)
	}
}

// A cancel that lands between two commands of a dialogue stops the next
// one. The ctx watcher has fired by then; the next command's fresh deadline
// used to overwrite the one it set, so the command went out regardless.
func TestVerbCancelledBetweenCommands(t *testing.T) {
	checkGoroutines(t)
	f := startFakeSMTP(t, pong)
	c := New(fastConfig())
	ctx, cancel := context.WithCancel(context.Background())
	v, err := c.dialVerbs(ctx, f.ep)
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	cancel()
	// Let the watcher run first, as it has when the cancel came earlier.
	time.Sleep(20 * time.Millisecond)
	if _, _, err := v.cmd(opPing, "PING"); !errors.Is(err, context.Canceled) {
		t.Errorf("PING after cancel = %v, want context.Canceled", err)
	}
	for _, l := range f.received() {
		if l == "PING" {
			t.Error("PING was sent after the cancel")
		}
	}
}

func FuzzParseUserReply(f *testing.F) {
	f.Add("2.1.5 7 bob@example.org")
	f.Add("2.1.5 12 <bob@example.org>")
	f.Add("")
	f.Fuzz(func(t *testing.T, msg string) {
		info, err := parseUserReply(msg)
		if err == nil && (info.ID <= 0 || !strings.Contains(info.Address, "@")) {
			t.Fatalf("parseUserReply(%q) = %+v without an error", msg, info)
		}
		_ = replyError(opGetUser, 550, msg) // must not panic
	})
}

func TestEHLOSize(t *testing.T) {
	for _, tc := range []struct {
		ehlo string
		want int64
	}{
		{"example.test\nPIPELINING\nSIZE 1048576\nAUTH PLAIN", 1 << 20},
		{"example.test\nsize 26214400", 25 << 20},
		{"example.test\nPIPELINING\nAUTH PLAIN", 0},
		{"example.test\nSIZE", 0},
		{"example.test\nSIZE 0", 0},
		{"example.test\nSIZE -5", 0},
		{"example.test\nSIZE lots", 0},
		{"example.test\nSIZE 99999999999999999999", 0},
		{"example.test\nSIZE 1 2", 0},
		{"", 0},
	} {
		if got := ehloSize(tc.ehlo); got != tc.want {
			t.Errorf("ehloSize(%q) = %d, want %d", tc.ehlo, got, tc.want)
		}
	}
}

func TestResponseLimit(t *testing.T) {
	def := inboxwire.ResponseLineLimit(25 << 20)
	for _, tc := range []struct {
		max  int64
		want int
	}{
		{0, def},
		{1 << 20, def},
		{100 << 20, inboxwire.ResponseLineLimit(100 << 20)},
	} {
		if got := responseLimit(def, tc.max); got != tc.want {
			t.Errorf("responseLimit(%d) = %d, want %d", tc.max, got, tc.want)
		}
	}
}

func TestServerSizeWithoutSIZE(t *testing.T) {
	// The fake's EHLO reply has no SIZE line: the limit is unknown.
	f := startFakeSMTP(t, func(string) string { return "500 5.5.1 no" })
	c := New(fastConfig())
	if got := c.serverSize(context.Background(), f.ep); got != 0 {
		t.Fatalf("no SIZE in EHLO: %d", got)
	}
}
