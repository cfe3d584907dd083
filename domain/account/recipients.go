package account

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Recipient lookups (issue 10). Every RCPT TO names an account, and a
// message to ten people is ten store reads before the body arrives. Names
// and ids never change once an account exists, so a recent answer can be
// reused for a short while. Only the id and name are kept, never the
// password hash (Lookup, which logins and ops use, always reads the
// store). An account deleted meanwhile, on any host, is still refused at
// delivery: the store fails the delivery with mail.ErrNoSuchRecipient.
// "No such user" is never remembered, so an account registered on another
// host is a recipient at once.

// Recipient cache bounds.
const (
	// recipientTTL is how long a found recipient is reused.
	recipientTTL = 2 * time.Second
	// recipientMax bounds the cache: past it the expired entries go, and
	// if none had expired, all of them (a burst to this many distinct
	// people gains little from a cache anyway).
	recipientMax = 4096
)

type recipientEntry struct {
	acc     Account // ID and Username only
	expires time.Time
}

// recipientCache maps normalised names to recently found accounts.
type recipientCache struct {
	mu sync.Mutex
	m  map[Username]recipientEntry
}

// Recipient finds an account by bare name or address for delivery, as
// Lookup does, but may answer from what it found in the last few seconds.
// The Account it gives has no PasswordHash. Errors are Lookup's.
func (s *Service) Recipient(ctx context.Context, name string) (Account, error) {
	n, err := s.ParseName(name)
	if err != nil {
		return Account{}, fmt.Errorf("%w (%v)", ErrNoSuchUser, err)
	}
	now := s.now()
	c := &s.rcpts
	c.mu.Lock()
	e, ok := c.m[n]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.acc, nil
	}
	acc, err := s.store.AccountByName(ctx, n)
	if err != nil {
		return Account{}, err
	}
	acc.PasswordHash = ""
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[Username]recipientEntry)
	}
	if len(c.m) >= recipientMax {
		for k, v := range c.m {
			if !now.Before(v.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= recipientMax {
			clear(c.m)
		}
	}
	c.m[n] = recipientEntry{acc: acc, expires: now.Add(recipientTTL)}
	return acc, nil
}
