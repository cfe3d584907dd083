package smtpserver

import "testing"

// TestVerbTableReplies pins the HELP and XMAILROOM lines the verb table
// builds to the bytes the shim has always sent, and leaves REG out of both
// while registration is closed (issue 15).
func TestVerbTableReplies(t *testing.T) {
	const head = "214-2.0.0 Mailroom submission server. Commands:\r\n" +
		"214-2.0.0 EHLO HELO AUTH MAIL RCPT DATA BDAT RSET NOOP VRFY QUIT\r\n" +
		"214-2.0.0 PING\r\n"
	const tail = "214-2.0.0 GETUSER [<username>] (also GET USER [<username>])\r\n" +
		"214 2.0.0 End of HELP\r\n"
	for _, tc := range []struct {
		open      bool
		help, ehl string
	}{
		{true, head + "214-2.0.0 REG <username> <password>\r\n" + tail, "250-XMAILROOM PING REG GETUSER\r\n"},
		{false, head + tail, "250-XMAILROOM PING GETUSER\r\n"},
	} {
		shown := shownVerbs(tc.open)
		if got := string(helpText(shown)); got != tc.help {
			t.Errorf("registration open %v: HELP reply\n%q\nwant\n%q", tc.open, got, tc.help)
		}
		if got := ehloKeyword(shown); got != tc.ehl {
			t.Errorf("registration open %v: XMAILROOM line %q, want %q", tc.open, got, tc.ehl)
		}
	}
}

func TestLookupVerb(t *testing.T) {
	for _, tc := range []struct {
		text, verb, args string // verb "" when none is found
	}{
		{"PING", "PING", ""},
		{"ping x", "PING", "x"},
		{"REG alice pass word", "REG", "alice pass word"},
		{"REG  alice pw", "REG", " alice pw"},
		{"GETUSER", "GETUSER", ""},
		{"getuser bob", "GETUSER", "bob"},
		{"GET USER bob", "GET USER", "bob"},
		{"get   user bob", "GET USER", "bob"},
		{"GET USERS bob", "", ""},
		{"GET", "", ""},
		{"HELP REG", "HELP", "REG"},
		{"PINGX", "", ""},
		{"MAIL FROM:<a@b>", "", ""},
		// Upper-casing, not case folding: dotless ı upper-cases to I.
		{"pıng", "PING", ""},
	} {
		v, args, ok := lookupVerb(tc.text)
		if ok != (tc.verb != "") || v.name != tc.verb || args != tc.args {
			t.Errorf("lookupVerb(%q) = %q, %q, %v; want %q, %q", tc.text, v.name, args, ok, tc.verb, tc.args)
		}
	}
}
