package model

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"mailroom/domain/account"
	"mailroom/domain/mail"
	"mailroom/ports"
)

func TestRelDate(t *testing.T) {
	loc := time.FixedZone("X", 2*3600)
	now := time.Date(2026, 3, 10, 14, 30, 0, 0, loc)
	tests := []struct {
		t    time.Time
		want string
	}{
		{now.Add(10 * time.Second), "now"},
		{now.Add(-30 * time.Second), "now"},
		{now.Add(-5 * time.Minute), "5m"},
		{now.Add(-59 * time.Minute), "59m"},
		{now.Add(-3 * time.Hour), "3h"},
		{time.Date(2026, 3, 10, 0, 1, 0, 0, loc), "14h"},
		{time.Date(2026, 3, 9, 23, 59, 0, 0, loc), "Yesterday"},
		{time.Date(2026, 3, 9, 0, 0, 0, 0, loc), "Yesterday"},
		{time.Date(2026, 3, 3, 9, 0, 0, 0, loc), "Mar 3"},
		{time.Date(2025, 12, 31, 9, 0, 0, 0, loc), "Dec 31, 2025"},
		// UTC input is shown in the viewer's zone: 23:00 UTC on the 9th is
		// 01:00 on the 10th here.
		{time.Date(2026, 3, 9, 23, 0, 0, 0, time.UTC), "13h"},
	}
	for _, tt := range tests {
		if got := RelDate(now, tt.t); got != tt.want {
			t.Errorf("RelDate(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{account.ErrUsernameTaken, "That name is taken."},
		{fmt.Errorf("register: %w", account.ErrWeakPassword), "Password needs 8+ characters."},
		{account.ErrBadCredentials, "Wrong username or password."},
		{fmt.Errorf("watch: %w", ErrSignedOut), "Your password was changed or your account was removed. Sign in again."},
		{fmt.Errorf("dial: %w", ports.ErrUnreachable), "Server unreachable."},
		{ports.ErrFingerprintMismatch, "The server's certificate has changed since you trusted it. Connection blocked."},
		{mail.ErrNoSuchRecipient, "Unknown recipient."},
		{ports.ErrRegistrationClosed, "This server does not accept new accounts."},
		{context.DeadlineExceeded, "The server took too long to answer."},
		{errors.New("boom: internal detail"), "Something went wrong. Try again."},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := ErrorText(tt.err); got != tt.want {
			t.Errorf("ErrorText(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	// Every sentinel in the table has words of its own.
	for _, e := range errorTexts {
		if ErrorText(e.err) == "Something went wrong. Try again." || e.text == "" {
			t.Errorf("%v has no text", e.err)
		}
	}
}

func TestParseRecipients(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" , ;", nil},
		{"bob", []string{"bob"}},
		{"bob, carol@example.org;dave ", []string{"bob", "carol@example.org", "dave"}},
		{"Bob <bob@x.org>, <carol>", []string{"bob@x.org", "carol"}},
		{"bob, BOB, bob@x, Bob@X", []string{"bob", "bob@x"}},
	}
	for _, tt := range tests {
		got := ParseRecipients(tt.in)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) || len(got) != len(tt.want) {
			t.Errorf("ParseRecipients(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestReplySubject(t *testing.T) {
	tests := map[string]string{
		"Lunch":          "Re: Lunch",
		"Re: Lunch":      "Re: Lunch",
		"RE: Lunch":      "RE: Lunch",
		"re:Lunch":       "re:Lunch",
		"Re[2]: Lunch":   "Re[2]: Lunch",
		"  Re: Lunch  ":  "Re: Lunch",
		"Reminder":       "Re: Reminder",
		"Re":             "Re: Re",
		"":               "Re:",
		"Fwd: Re: Lunch": "Re: Fwd: Re: Lunch",
	}
	for in, want := range tests {
		if got := ReplySubject(in); got != want {
			t.Errorf("ReplySubject(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQuoteBody(t *testing.T) {
	got := QuoteBody("On Mon, bob wrote:", "hi\r\n\n> old\nend\n")
	want := "\n\nOn Mon, bob wrote:\n> hi\n>\n>> old\n> end\n"
	if got != want {
		t.Errorf("QuoteBody = %q, want %q", got, want)
	}
}

func TestBodyLines(t *testing.T) {
	long := strings.Repeat("word ", 12) // 60 runes: Reflow joins what follows
	for _, tc := range []struct {
		name string
		b    ports.Body
		want []string
	}{
		{"plain text is reflowed", ports.Body{Text: long + "\r\nwrapped\r\n\r\n> q", HTML: "<p>ignored</p>"},
			[]string{strings.TrimSpace(long) + " wrapped", "", "> q"}},
		{"html lines stay whole", ports.Body{HTML: "<p>" + long + "<br>next</p><ul><li>a</li></ul>"},
			[]string{strings.TrimSpace(long), "next", "", "• a"}},
		{"empty", ports.Body{}, []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := BodyLines(tc.b); !slices.Equal(got, tc.want) {
				t.Errorf("BodyLines = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 2355: "2.3 KB", 5 << 20: "5.0 MB"} {
		if got := HumanSize(n); got != want {
			t.Errorf("HumanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFingerprint(t *testing.T) {
	fp := "AB:cd:0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e"
	if got := NormalizeFingerprint(fp); got != "abcd0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e" {
		t.Errorf("Normalize = %q", got)
	}
	want := "AB:CD:01:02:03:04:05:06\n07:08:09:0A:0B:0C:0D:0E\n0F:10:11:12:13:14:15:16\n17:18:19:1A:1B:1C:1D:1E"
	if got := FormatFingerprint(fp); got != want {
		t.Errorf("Format =\n%s\nwant\n%s", got, want)
	}
}

func TestSafeFileName(t *testing.T) {
	for in, want := range map[string]string{
		"report.pdf":          "report.pdf",
		"../../etc/passwd":    "passwd",
		`..\..\win.ini`:       "win.ini",
		".bashrc":             "bashrc",
		"":                    "attachment",
		"..":                  "attachment",
		"a\x00b\nc.txt":       "a_b_c.txt",
		"C:evil.txt":          "C_evil.txt",
		"  spaced name.txt  ": "spaced name.txt",
		// Format characters (Cf) reorder or hide text: U+202E makes
		// "\u202etxt.exe" read as "exe.txt".
		"\u202etxt.exe":             "_txt.exe",
		"invoice\u202egpj.exe":      "invoice_gpj.exe",
		"zero\u200bwidth\ufeff.pdf": "zero_width_.pdf",
		"soft\u00adhyphen.txt":      "soft_hyphen.txt",
	} {
		if got := SafeFileName(in); got != want {
			t.Errorf("SafeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

// Names are cut to MaxFileNameBytes (file systems take 255 bytes) on a
// rune boundary, keeping a short extension, so that the saver can add
// " (2)" and still stay under the limit.
func TestSafeFileNameLength(t *testing.T) {
	tests := []struct {
		name, in string
		ext      string // the name must end with this
	}{
		{"ascii", strings.Repeat("a", 300) + ".pdf", ".pdf"},
		{"two-byte runes", strings.Repeat("é", 150) + ".txt", ".txt"},
		{"three-byte runes", strings.Repeat("日", 100) + ".tar", ".tar"},
		{"four-byte runes", "x" + strings.Repeat("😀", 80) + ".png", ".png"},
		{"no extension", strings.Repeat("b", 400), ""},
		{"huge extension", "a." + strings.Repeat("c", 300), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SafeFileName(tt.in)
			if len(got) > MaxFileNameBytes || len(got) < MaxFileNameBytes-4 {
				t.Errorf("%d bytes, want %d or a little under", len(got), MaxFileNameBytes)
			}
			if !utf8.ValidString(got) {
				t.Errorf("cut inside a rune: %q", got)
			}
			if !strings.HasSuffix(got, tt.ext) || !strings.HasPrefix(tt.in, strings.TrimSuffix(got, tt.ext)) {
				t.Errorf("got %q; want a prefix of the name, then %q", got, tt.ext)
			}
			if again := SafeFileName(got); again != got {
				t.Errorf("not stable: %q then %q", got, again)
			}
		})
	}
	if s := strings.Repeat("a", MaxFileNameBytes-4) + ".pdf"; SafeFileName(s) != s {
		t.Error("a name of exactly the limit was changed")
	}
}

func metas(ids ...int) []mail.Meta {
	var out []mail.Meta
	for _, id := range ids {
		out = append(out, mail.Meta{ID: mail.EntryID(id)})
	}
	return out
}

func ids(p *Pager) []int {
	var out []int
	for _, m := range p.Items {
		out = append(out, int(m.ID))
	}
	return out
}

func TestPager(t *testing.T) {
	var p Pager
	before, ok := p.Next(0)
	if !ok || before != 0 {
		t.Fatalf("first Next = %d, %v; want 0, true", before, ok)
	}
	if _, ok := p.Next(0); ok {
		t.Fatal("Next while loading")
	}
	page := make([]mail.Meta, PageSize)
	for i := range page {
		page[i].ID = mail.EntryID(1000 - i) // 1000..951
	}
	p.Append(page, PageSize)
	if p.Done || len(p.Items) != PageSize {
		t.Fatalf("after a full page: done=%v len=%d", p.Done, len(p.Items))
	}
	if _, ok := p.Next(10); ok {
		t.Fatal("Next far from the end")
	}
	before, ok = p.Next(PageSize - 5)
	if !ok || before != 951 {
		t.Fatalf("Next near the end = %d, %v; want 951, true", before, ok)
	}
	// New mail arrives while the next page loads.
	if i, added := p.Insert(mail.Meta{ID: 1001}); i != 0 || !added {
		t.Fatalf("Insert new = %d, %v", i, added)
	}
	// An old entry from a page not loaded yet is not shown out of order.
	if _, added := p.Insert(mail.Meta{ID: 5}); added {
		t.Fatal("Insert below the loaded pages added it")
	}
	p.Append(metas(951, 950, 949), PageSize) // overlaps by one: deduplicated
	if !p.Done || len(p.Items) != PageSize+3 || p.Items[len(p.Items)-1].ID != 949 {
		t.Fatalf("after short page: done=%v len=%d", p.Done, len(p.Items))
	}
	if _, ok := p.Next(1000); ok {
		t.Fatal("Next after done")
	}
	if !p.SetSeen(1001, true) || p.SetSeen(1001, true) || p.SetSeen(7, true) {
		t.Fatal("SetSeen reports changes wrongly")
	}
	if i := p.Remove(1000); i != 1 || p.Index(1000) != -1 {
		t.Fatalf("Remove = %d", i)
	}
	if i := p.Remove(7); i != -1 {
		t.Fatalf("Remove missing = %d", i)
	}
}

func TestPagerFailRetry(t *testing.T) {
	var p Pager
	p.Next(0)
	p.Fail(ports.ErrUnreachable)
	if _, ok := p.Next(0); ok {
		t.Fatal("Next after failure without Retry")
	}
	p.Retry()
	if _, ok := p.Next(0); !ok {
		t.Fatal("Next after Retry")
	}
	p.Append(metas(3, 2), PageSize)
	if got := fmt.Sprint(ids(&p)); got != "[3 2]" || !p.Done {
		t.Fatalf("items %s done %v", got, p.Done)
	}
	// Paging done: an older entry (say, a resync) may be inserted at the end.
	if _, added := p.Insert(mail.Meta{ID: 1}); !added {
		t.Fatal("Insert at the end after done")
	}
}

func TestSettingsRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := LoadSettings(dir)
	if err != nil || s != (Settings{}) {
		t.Fatalf("LoadSettings(missing) = %+v, %v", s, err)
	}
	ep := s.Endpoint()
	if ep.SMTPPort != 8025 || ep.InboxPort != 9999 {
		t.Fatalf("default ports %d/%d", ep.SMTPPort, ep.InboxPort)
	}
	dark := true
	want := Settings{Host: "mail.example.org", SMTPPort: 2525, InboxPort: 9000, Fingerprint: "abcd", Username: "alice", Dark: &dark}
	if err := SaveSettings(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSettings(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Host != want.Host || got.SMTPPort != 2525 || got.InboxPort != 9000 || got.Fingerprint != "abcd" ||
		got.Username != "alice" || got.Dark == nil || !*got.Dark || !got.Trusted() {
		t.Fatalf("round trip = %+v", got)
	}
	st, err := os.Stat(filepath.Join(dir, SettingsFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("settings file mode %v, %v", st.Mode(), err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, SettingsFile))
	for _, bad := range []string{"password", "Password"} {
		if contains(string(b), bad) {
			t.Errorf("settings file mentions %q:\n%s", bad, b)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, SettingsFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSettings(dir); err == nil {
		t.Error("LoadSettings(corrupt) gave no error")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestReflow(t *testing.T) {
	in := "Hi Alice,\r\n\r\nGreat, thanks. Here is the checklist for Friday's release: the migration runs\r\n" +
		"first, then the servers restart one by one.\r\n\r\n" +
		"Steps, each on its own line because they are a list of things to do:\n- one\n- two\n" +
		"> a quoted line that is long enough to look hard-wrapped by a client\n> second quoted\nBob"
	want := []string{
		"Hi Alice,", "",
		"Great, thanks. Here is the checklist for Friday's release: the migration runs first, then the servers restart one by one.", "",
		"Steps, each on its own line because they are a list of things to do:", "- one", "- two",
		"> a quoted line that is long enough to look hard-wrapped by a client", "> second quoted", "Bob",
	}
	got := Reflow(in)
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Errorf("Reflow =\n%q\nwant\n%q", got, want)
	}
}
