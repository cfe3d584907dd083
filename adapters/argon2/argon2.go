// Package argon2 owns password hashing: an account.Hasher over argon2id
// (golang.org/x/crypto/argon2) that writes PHC strings, reads the cost
// parameters back from each stored hash (so the defaults can be raised
// without invalidating old hashes), and bounds how many hashes run at once,
// since each one holds Memory KiB. It can tell its owner when hashing has
// gone idle after a burst (OnIdle), for handing that memory back.
package argon2

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"mailroom/domain/account"
)

var _ account.Hasher = (*Hasher)(nil)

// ErrMalformed is returned by Verify for a hash it cannot parse.
var ErrMalformed = errors.New("argon2: malformed hash")

// Bounds on parameters read from a stored hash, so that a corrupted or
// hostile string cannot make Verify allocate without limit.
const (
	maxMemory  = 4 << 20 // KiB: 4 GiB
	maxTime    = 100
	maxSaltLen = 1024
	minKeyLen  = 16
	maxKeyLen  = 1024
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams are OWASP's Password Storage Cheat Sheet minimum for
// argon2id: m=19456 KiB (19 MiB), t=2, p=1, with a 16-byte salt and a 32-byte key.
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Hasher hashes and verifies passwords with argon2id.
type Hasher struct {
	p   Params
	sem chan struct{}

	// idle, when set by OnIdle, runs idleFunc idleAfter after the last
	// hash ended; mu orders its Reset calls from concurrent hashes.
	mu        sync.Mutex
	idle      *time.Timer
	idleAfter time.Duration
}

// New gives a Hasher writing hashes with p (zero fields take DefaultParams'
// values) and running at most maxConcurrent hashes at once (<= 0 means
// runtime.NumCPU()). Verify counts against the same bound.
func New(p Params, maxConcurrent int) *Hasher {
	d := DefaultParams()
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Time == 0 {
		p.Time = d.Time
	}
	if p.Threads == 0 {
		p.Threads = d.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = d.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = d.KeyLen
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.NumCPU()
	}
	return &Hasher{p: p, sem: make(chan struct{}, maxConcurrent)}
}

// Params gives the parameters new hashes are written with.
func (h *Hasher) Params() Params { return h.p }

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() {
	<-h.sem
	if h.idle != nil {
		h.mu.Lock()
		h.idle.Reset(h.idleAfter)
		h.mu.Unlock()
	}
}

// OnIdle arranges for f to run, on a goroutine of its own, once no hash
// has ended for d after one did: once per burst, however many hashes it
// held. Each hash allocates Memory KiB (19 MiB by default) that the Go
// runtime keeps as free heap for minutes after the burst, so the daemon
// hands it back to the system here (issue 9). If a hash is still running
// when d is up, f waits for the next idle spell. Call it before the
// Hasher is used, at most once; d must be positive.
func (h *Hasher) OnIdle(d time.Duration, f func()) {
	h.idleAfter = d
	h.idle = time.AfterFunc(d, func() {
		if len(h.sem) == 0 {
			f()
		}
	})
	h.idle.Stop()
}

// Hash gives the PHC string of password with a fresh random salt:
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<threads>$<salt>$<key>, salt and key in
// unpadded standard base64. It waits for a slot while ctx allows.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("argon2: salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.p.Time, h.p.Memory, h.p.Threads, h.p.KeyLen)
	h.release()
	return encode(h.p, salt, key), nil
}

// Verify reports whether password matches hash, using the parameters written
// in hash. A hash it cannot parse is ErrMalformed.
func (h *Hasher) Verify(ctx context.Context, hash, password string) (bool, error) {
	p, salt, key, err := decode(hash)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	h.release()
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether hash was written with other parameters than
// this Hasher's (or cannot be parsed), so a caller that has just verified the
// password can store a fresh hash.
func (h *Hasher) NeedsRehash(hash string) bool {
	p, _, _, err := decode(hash)
	return err != nil || p != h.p
}

var b64 = base64.RawStdEncoding

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func decode(hash string) (p Params, salt, key []byte, err error) {
	bad := func(why string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformed, why)
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("want $argon2id$v=..$m=..,t=..,p=..$salt$key")
	}
	if parts[1] != "argon2id" {
		return bad("algorithm is not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("version is not 19")
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return bad("want m=..,t=..,p=..")
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(fields[i], name+"=")
		if !ok {
			return bad("want m=..,t=..,p=..")
		}
		// ParseUint accepts no sign; reject leading zeros to keep one spelling per value.
		if len(v) > 1 && v[0] == '0' {
			return bad("parameter with leading zero")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("parameter " + name + " is not a number")
		}
		vals[i] = n
	}
	p.Memory, p.Time = uint32(vals[0]), uint32(vals[1])
	switch {
	case vals[2] < 1 || vals[2] > 255:
		return bad("p out of range")
	case p.Time < 1 || p.Time > maxTime:
		return bad("t out of range")
	case uint64(p.Memory) < 8*vals[2] || p.Memory > maxMemory:
		return bad("m out of range")
	}
	p.Threads = uint8(vals[2])
	if salt, err = b64.Strict().DecodeString(parts[4]); err != nil {
		return bad("salt is not unpadded base64")
	}
	if key, err = b64.Strict().DecodeString(parts[5]); err != nil {
		return bad("key is not unpadded base64")
	}
	if len(salt) < 8 || len(salt) > maxSaltLen {
		return bad("salt length out of range")
	}
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return bad("key length out of range")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
