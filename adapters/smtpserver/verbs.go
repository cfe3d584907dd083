package smtpserver

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"mailroom/adapters/smtpreply"
)

// verb is one of Mailroom's own commands, answered by the shim before
// go-smtp sees the line.
type verb struct {
	// name is the command's first word, upper case; a second word ("GET
	// USER") must follow, in any case, after one or more spaces.
	name string
	// usage is the verb's line in the HELP reply, and puts its name in the
	// EHLO reply's XMAILROOM line; "" keeps it out of both.
	usage string
	// signUp marks REG, which HELP and EHLO leave out while registration
	// is closed (it is still answered: 554 5.7.0).
	signUp bool
	// run answers the command; args is the rest of the line after the one
	// space that follows the name. nil is HELP, answered from this table.
	run func(c *shimConn, args string)
}

// verbs is Mailroom's command language on top of go-smtp's, one entry a
// verb: adding a verb is adding an entry. It is a slice rather than mox's
// map because HELP and XMAILROOM list the verbs in this order. HELP's run is
// nil because a handler here that read the table would make an
// initialization cycle; command answers it.
var verbs = []verb{
	{name: smtpreply.VerbPing, usage: "PING", run: (*shimConn).ping},
	{name: smtpreply.VerbReg, usage: "REG <username> <password>", signUp: true, run: (*shimConn).register},
	{name: smtpreply.VerbGetUser, usage: "GETUSER [<username>] (also GET USER [<username>])", run: (*shimConn).getUser},
	{name: "GET USER", run: (*shimConn).getUser},
	{name: "HELP"},
}

// shownVerbs is the table as HELP and EHLO show it: without REG while
// registration is closed.
func shownVerbs(registrationOpen bool) []verb {
	return slices.DeleteFunc(slices.Clone(verbs), func(v verb) bool { return v.signUp && !registrationOpen })
}

// helpText is the HELP reply (RFC 5321 §4.1.1.8): go-smtp's verbs, then
// ours.
func helpText(vs []verb) []byte {
	lines := []string{
		"Mailroom submission server. Commands:",
		"EHLO HELO AUTH MAIL RCPT DATA BDAT RSET NOOP VRFY QUIT",
	}
	for _, v := range vs {
		if v.usage != "" {
			lines = append(lines, v.usage)
		}
	}
	lines = append(lines, "End of HELP")
	// RFC 2034 puts the enhanced code on every line of a multi-line reply.
	var b []byte
	for i, l := range lines {
		sep := '-'
		if i == len(lines)-1 {
			sep = ' '
		}
		b = fmt.Appendf(b, "%d%c%s %s\r\n", smtpreply.CodeHelp, sep, smtpreply.EnhOK, l)
	}
	return b
}

// ehloKeyword is the line inserted before the last line of a successful
// EHLO reply: "250-XMAILROOM PING REG GETUSER".
func ehloKeyword(vs []verb) string {
	line := fmt.Sprintf("%d-XMAILROOM", smtpreply.CodeOK)
	for _, v := range vs {
		if v.usage != "" {
			line += " " + v.name
		}
	}
	return line + "\r\n"
}

// lookupVerb finds the verb text (a command line without its CRLF) starts
// with, and the arguments that follow it.
func lookupVerb(text string) (v verb, args string, ok bool) {
	word, args, _ := strings.Cut(text, " ")
	word = strings.ToUpper(word)
	for _, v := range verbs {
		first, second, two := strings.Cut(v.name, " ")
		if word != first {
			continue
		}
		if !two {
			return v, args, true
		}
		if w, rest, _ := strings.Cut(strings.TrimLeft(args, " "), " "); strings.EqualFold(w, second) {
			return v, rest, true
		}
	}
	return verb{}, "", false
}

// command answers line when it is one of Mailroom's verbs or not a command
// go-smtp knows, and reports whether it did. Otherwise it notes what the
// line means for the bytes that follow, and go-smtp gets it.
func (c *shimConn) command(line []byte) bool {
	// RFC 5321 §2.3.8: a command ends with CRLF, and CR and LF appear
	// nowhere else. go-smtp takes a bare LF as a line end, and would echo
	// a bare CR (say in the EHLO name) into its reply; NUL has no place in
	// a command.
	body, crlf := bytes.CutSuffix(line, []byte("\r\n"))
	if !crlf {
		c.protocolError(replyBareLF)
		return true
	}
	text := string(body)
	c.event(text)
	if strings.ContainsAny(text, "\r\x00") {
		c.protocolError(replyBadChars)
		return true
	}
	if v, args, ok := lookupVerb(text); ok {
		if v.run == nil {
			c.writeRaw(c.srv.help)
		} else {
			v.run(c, args)
		}
		return true
	}
	v, ok := goSMTPVerb(text)
	if !ok {
		// Answered here, so go-smtp's own error count (a hard-coded 3)
		// never sees it; MaxProtocolErrors applies instead.
		c.protocolError(replyUnknownCommand)
		return true
	}
	switch v {
	case "EHLO":
		c.ehlo = true
	case "AUTH":
		// RFC 4954 §4: a response that is not base64 is 501; go-smtp
		// answers 454 4.7.0, a temporary failure.
		if ir, ok := authInitialResponse(text); ok && !saslResponseOK(ir) {
			c.protocolError(replyBadBase64)
			return true
		}
	case "BDAT":
		if size, ok := bdatSize(text); ok && size > 0 {
			c.mode = modeChunk
			c.chunkLeft = size
			c.dataEnd = time.Now().Add(c.srv.cfg.DataTimeout)
		}
	}
	return false
}

// ping answers PING.
func (c *shimConn) ping(string) { c.writeReply(replyPong) }

// register answers REG <username> <password>. The password is everything
// after the one space that follows the username, verbatim, so passphrases
// with spaces can be registered (the policy allows them, and AUTH carries
// them fine).
func (c *shimConn) register(args string) {
	name, password, ok := strings.Cut(strings.TrimLeft(args, " "), " ")
	if !ok || name == "" || password == "" {
		c.protocolError(replyRegUsage)
		return
	}
	log := c.srv.log.With(zap.String("remote", c.ip))
	// The registration policy (open or closed, each client's budget) is
	// the account service's.
	acc, err := c.srv.accounts.SignUp(c.ctx(), c.key, name, password)
	if err != nil {
		r, known := replyFor(err)
		if known {
			log.Info("register refused", zap.String("reply", r.String()))
		} else {
			log.Error("register", zap.Error(err))
		}
		c.writeReply(r)
		return
	}
	addr := c.srv.accounts.AddressOf(acc).String()
	log.Info("registered", zap.String("address", addr), zap.Int64("id", int64(acc.ID)))
	c.writeReply(reply(smtpreply.Registered(addr)))
}

// getUser answers GETUSER [<username>] and GET USER [<username>].
func (c *shimConn) getUser(args string) {
	acc := c.state.account()
	if acc == nil {
		c.writeReply(replyAuthRequired)
		return
	}
	f := strings.Fields(args)
	switch len(f) {
	case 0:
	case 1:
		a, err := c.srv.accounts.Lookup(c.ctx(), f[0])
		if err != nil {
			r, known := replyFor(err)
			if !known {
				c.srv.log.Error("getuser", zap.String("remote", c.ip), zap.Error(err))
			}
			c.writeReply(r)
			return
		}
		acc = &a
	default:
		c.protocolError(replyGetUserUsage)
		return
	}
	addr := c.srv.accounts.AddressOf(*acc).String()
	c.writeReply(reply(smtpreply.User(int64(acc.ID), addr)))
}
