package main

// TEMPORARY stand-in until adapters/argon2 lands.

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"mailroom/domain/account"
)

// interimHasher is argon2id (m=19456 KiB, t=2, p=1) in a PHC string.
type interimHasher struct{}

func (interimHasher) Hash(_ context.Context, p string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(p), salt, 2, 19456, 1, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=19456,t=2,p=1$%s$%s", argon2.Version, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

func (interimHasher) Verify(_ context.Context, h, p string) (bool, error) {
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[3] != "m=19456,t=2,p=1" {
		return false, errors.New("interim hasher: malformed hash")
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false, errors.New("interim hasher: malformed hash")
	}
	got := argon2.IDKey([]byte(p), salt, 2, 19456, 1, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

func newHasher() account.Hasher { return interimHasher{} }
