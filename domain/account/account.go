// Package account owns Mailroom's accounts and the rules about them: the
// username rule and the one place that turns name@domain into a name,
// addresses, the password policy, registration policy (open or closed, a
// budget per client), the login guard (one failed-login budget per client
// shared by every server), the verified-credentials cache, and the
// Register/Login/Authenticate/Lookup service. It is pure: storage, password
// hashing, time and randomness come in through Store, Hasher, a now func and
// an io.Reader.
package account

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors. Adapters map them to wire replies with errors.Is.
var (
	ErrBadUsername    = errors.New("account: bad username")
	ErrUsernameTaken  = errors.New("account: username taken")
	ErrWeakPassword   = errors.New("account: password must be 8 characters to 1024 bytes, without control characters")
	ErrBadCredentials = errors.New("account: bad credentials")
	ErrNoSuchUser     = errors.New("account: no such user")
	// ErrThrottled: the client's budget (failed logins, registrations) is
	// spent; it may try again once the budget refills. A temporary refusal
	// (SMTP 454 4.7.0).
	ErrThrottled = errors.New("account: too many attempts from this client")
	// ErrRegistrationClosed: the server does not let clients register.
	ErrRegistrationClosed = errors.New("account: registration closed")
	// ErrAuthzRefused: a login asked to act as another account (an RFC
	// 4616 authorization identity that is not its own name).
	ErrAuthzRefused = errors.New("account: may not act as another account")
)

// Password length bounds. The minimum counts characters, the maximum bytes;
// a password is never truncated.
const (
	MinPasswordChars = 8
	MaxPasswordBytes = 1024
)

// ID identifies an account. It is the same number on every wire.
type ID int64

// Username is a normalised (lower-case) account name.
type Username string

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ParseUsername normalises s to lower case and checks it against the
// username rule: ASCII only, 1 to 64 of [a-z0-9._-], starting with a letter
// or digit. Anything else is ErrBadUsername (wrapped, quoting s).
func ParseUsername(s string) (Username, error) {
	// Check for ASCII before lowering: strings.ToLower maps some non-ASCII
	// letters to ASCII ones (KELVIN SIGN U+212A to "k", U+0130 to "i"), which
	// would let a non-ASCII name pass the rule and alias another account.
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return "", fmt.Errorf("%w: %q", ErrBadUsername, s)
		}
	}
	n := strings.ToLower(s)
	if !usernameRE.MatchString(n) {
		return "", fmt.Errorf("%w: %q", ErrBadUsername, s)
	}
	return Username(n), nil
}

// SplitAddress splits s at its last '@' into the local part and the domain;
// without an '@', local is s and hasDomain is false. It checks nothing: it
// is the one spelling of "the part after the @" for code that only needs
// the parts (a domain to qualify a bare name with). To turn a login or
// recipient into an account name, use Service.ParseName.
func SplitAddress(s string) (local, domain string, hasDomain bool) {
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// Address is username@domain.
type Address struct {
	User   Username
	Domain string
}

func (a Address) String() string { return string(a.User) + "@" + a.Domain }

// Account is a registered user. PasswordHash is an opaque string produced by
// the Hasher (a PHC string for argon2id).
type Account struct {
	ID           ID
	Username     Username
	PasswordHash string
	Created      time.Time
}

// CheckPassword applies the password policy: 8 characters at least, 1024
// bytes at most, valid UTF-8 and no control characters; anything else is
// ErrWeakPassword. Spaces are fine
// (passphrases); control characters are refused because no wire can carry
// them all (CR and LF end an SMTP command line) and no keyboard types them.
func CheckPassword(p string) error {
	if len(p) > MaxPasswordBytes || utf8.RuneCountInString(p) < MinPasswordChars {
		return ErrWeakPassword
	}
	if !utf8.ValidString(p) || strings.IndexFunc(p, unicode.IsControl) >= 0 {
		return ErrWeakPassword
	}
	return nil
}

// Store is what the service needs from storage.
type Store interface {
	// CreateAccount inserts a new account; a name that exists already gives
	// ErrUsernameTaken and changes nothing.
	CreateAccount(ctx context.Context, name Username, passwordHash string, created time.Time) (Account, error)
	// AccountByName and AccountByID give ErrNoSuchUser when there is none.
	AccountByName(ctx context.Context, name Username) (Account, error)
	AccountByID(ctx context.Context, id ID) (Account, error)
	// Accounts lists all accounts ordered by name.
	Accounts(ctx context.Context) ([]Account, error)
	// SetPasswordHash and DeleteAccount give ErrNoSuchUser when there is none.
	// DeleteAccount removes the account's mailbox entries too.
	SetPasswordHash(ctx context.Context, id ID, passwordHash string) error
	DeleteAccount(ctx context.Context, id ID) error
}

// Hasher turns passwords into storable hashes and checks them.
type Hasher interface {
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches hash. A malformed hash is an error.
	Verify(ctx context.Context, hash, password string) (bool, error)
}
