//go:build !linux

package main

import (
	"context"
	"errors"
	"os"
)

// isTerminal is false where echo cannot be turned off portably: the
// password is then read as one line of stdin.
func isTerminal(*os.File) bool { return false }

func readNoEcho(context.Context, *os.File) (string, error) {
	return "", errors.New("no terminal support on this platform")
}
