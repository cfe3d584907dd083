package main

import (
	"context"
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// readNoEcho reads one line from the terminal f with echo turned off, and
// turns it back on even when ctx ends (Ctrl-C) while it waits.
func readNoEcho(ctx context.Context, f *os.File) (string, error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", err
	}
	noEcho := *old
	noEcho.Lflag &^= unix.ECHO
	noEcho.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho); err != nil {
		return "", err
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)

	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		// One byte at a time, so nothing after the line is consumed.
		var buf []byte
		b := make([]byte, 1)
		for len(buf) <= 4096 {
			n, err := f.Read(b)
			if n == 1 {
				if b[0] == '\n' {
					break
				}
				buf = append(buf, b[0])
			}
			if err != nil {
				ch <- result{err: err}
				return
			}
		}
		ch <- result{line: trimEOL(string(buf))}
	}()
	select {
	case r := <-ch:
		return r.line, r.err
	case <-ctx.Done():
		return "", errors.New("interrupted")
	}
}
