package postgres

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// redacted stands in for a password in error text.
const redacted = "xxxxx"

// redactor scrubs a connection URL's password out of error text. pgx keeps
// passwords out of its own messages as far as it can, but a ParseConfigError
// carries the whole connection string, an error from golang-migrate may quote
// a DSN, and a password could come back in a server message; an error this
// package returns goes through wrap, which removes the password in every
// spelling we know (as written in the URL, percent-decoded, and any
// user:password@ or password= pair).
type redactor struct {
	secrets []string
}

var (
	userinfoRE = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s]*@`)
	keywordRE  = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
)

func newRedactor(dsn string) redactor {
	var r redactor
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			r = r.with(pw)
			r = r.with(url.PathEscape(pw), url.QueryEscape(pw))
		}
	}
	// A URL that does not parse may still hold user:password@.
	if m := regexp.MustCompile(`://[^:/@\s]*:([^@\s]*)@`).FindStringSubmatch(dsn); m != nil {
		r = r.with(m[1])
		if pw, err := url.PathUnescape(m[1]); err == nil {
			r = r.with(pw)
		}
	}
	return r
}

// with adds secrets (the password pgx resolved, which may come from
// PGPASSWORD or a passfile rather than the URL).
func (r redactor) with(secrets ...string) redactor {
	out := redactor{secrets: append([]string(nil), r.secrets...)}
	for _, s := range secrets {
		if s != "" {
			out.secrets = append(out.secrets, s)
		}
	}
	return out
}

func (r redactor) scrub(s string) string {
	s = userinfoRE.ReplaceAllString(s, "${1}"+redacted+"@")
	s = keywordRE.ReplaceAllString(s, "${1}"+redacted)
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	return s
}

// wrap gives err with op in front and the password scrubbed out. The result
// matches what err matched with errors.Is (a context error, ErrClosed), but
// it does not unwrap: the wrapped error's own text could hold the password.
func (r redactor) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: r.scrub(op + ": " + err.Error()), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }

// RedactURL gives url with its password replaced by xxxxx, for a log line
// that must say which database is in use.
func RedactURL(url string) string { return newRedactor(url).scrub(url) }
