package account

import (
	"container/list"
	"crypto/hmac"
	"crypto/sha256"
	"io"
	"sync"
	"time"
)

// credCache remembers verified logins, as Dovecot's auth_cache does, so
// that a client that logs in for every message it sends pays the password
// hash (about 22 ms of CPU for argon2id) once per TTL rather than per
// message.
//
// What it keeps, per entry: HMAC-SHA256(per-process random key, username
// NUL password) as the map key, and the account id and PasswordHash the
// password was verified against. Never the password.
//
// Threat model: a memory dump gives the HMAC key and the MACs of logins
// verified within the TTL, so for those accounts an attacker can test
// password guesses offline at HMAC speed instead of argon2id speed. The
// short TTL bounds how many accounts that is; turning the cache off
// (Config.CredentialCacheTTL < 0) removes it. Nothing survives a restart.
//
// Why an entry cannot outlive the password: a hit is accepted only when
// the account read from the store right now has the same id and the same
// PasswordHash, so a password change or deletion by any process or host
// invalidates it at once. A failed login for the user evicts the user's
// entries. A nil *credCache is off: every method is a no-op or a miss.
type credCache struct {
	key  []byte
	ttl  time.Duration
	size int
	now  func() time.Time

	mu      sync.Mutex
	entries map[credMAC]*list.Element // of *credEntry
	byUser  map[Username]map[*list.Element]struct{}
	order   *list.List // oldest first; with one TTL, also soonest to expire
}

type credMAC [sha256.Size]byte

type credEntry struct {
	mac     credMAC
	user    Username
	id      ID
	hash    string
	expires time.Time
}

// newCredCache gives nil (off) when ttl is negative, random is nil or
// random fails.
func newCredCache(ttl time.Duration, size int, random io.Reader, now func() time.Time) *credCache {
	if ttl <= 0 || size <= 0 || random == nil {
		return nil
	}
	key := make([]byte, 32)
	if _, err := io.ReadFull(random, key); err != nil {
		return nil
	}
	return &credCache{
		key: key, ttl: ttl, size: size, now: now,
		entries: map[credMAC]*list.Element{},
		byUser:  map[Username]map[*list.Element]struct{}{},
		order:   list.New(),
	}
}

// mac keys a (name, password) pair; ok is false when the cache is off. A
// username never holds NUL, so the encoding is unambiguous.
func (c *credCache) mac(name Username, password string) (m credMAC, ok bool) {
	if c == nil {
		return m, false
	}
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write([]byte(password))
	h.Sum(m[:0])
	return m, true
}

// hit reports whether m was verified within the TTL against acc as the
// store holds it now. An expired or stale entry is dropped.
func (c *credCache) hit(m credMAC, acc Account) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[m]
	if !ok {
		return false
	}
	e := el.Value.(*credEntry)
	if !c.now().Before(e.expires) || e.id != acc.ID || e.hash != acc.PasswordHash {
		c.remove(el)
		return false
	}
	return true
}

// remember records that m was just verified against acc.
func (c *credCache) remember(m credMAC, acc Account) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if el, ok := c.entries[m]; ok {
		c.remove(el)
	}
	// Expired entries sit at the front: drop them, then the oldest live
	// ones while the cache is full.
	for el := c.order.Front(); el != nil && !now.Before(el.Value.(*credEntry).expires); el = c.order.Front() {
		c.remove(el)
	}
	for c.order.Len() >= c.size {
		c.remove(c.order.Front())
	}
	e := &credEntry{mac: m, user: acc.Username, id: acc.ID, hash: acc.PasswordHash, expires: now.Add(c.ttl)}
	el := c.order.PushBack(e)
	c.entries[m] = el
	set := c.byUser[e.user]
	if set == nil {
		set = map[*list.Element]struct{}{}
		c.byUser[e.user] = set
	}
	set[el] = struct{}{}
}

// forget drops every entry of name.
func (c *credCache) forget(name Username) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := range c.byUser[name] {
		c.remove(el)
	}
}

// remove drops one entry; c.mu is held.
func (c *credCache) remove(el *list.Element) {
	e := el.Value.(*credEntry)
	c.order.Remove(el)
	delete(c.entries, e.mac)
	if set := c.byUser[e.user]; set != nil {
		delete(set, el)
		if len(set) == 0 {
			delete(c.byUser, e.user)
		}
	}
}

// len is the number of entries, for tests.
func (c *credCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
