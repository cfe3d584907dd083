package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// errUnsafeDataDir: a data directory that others may write to is refused,
// as ssh refuses such key directories: whoever can write there can swap
// the database or the certificate's private key.
var errUnsafeDataDir = errors.New("writable by group or others and not owned by this user")

// groupOtherWrite are the mode bits that let someone else write.
const groupOtherWrite fs.FileMode = 0o022

// ensureDataDir makes the data directory private to its owner (0700) when
// it creates it. One that exists and lets group or others write is
// tightened (those bits dropped, and warn told) when this user owns it,
// and refused otherwise.
func ensureDataDir(cfg config, warn func(string)) error {
	dir := cfg.DataDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	owner, ok := fileOwner(fi)
	if !ok {
		return nil // no owners or mode bits to speak of on this system
	}
	mode := fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	tight, err := dataDirMode(dir, mode, owner, os.Geteuid())
	if err != nil || tight == mode {
		return err
	}
	if err := os.Chmod(dir, tight); err != nil {
		return fmt.Errorf("data directory %s is writable by group or others and could not be tightened: %w", dir, err)
	}
	if warn != nil {
		warn(fmt.Sprintf("data directory %s was writable by group or others (%#o): tightened to %#o", dir, mode.Perm(), tight.Perm()))
	}
	return nil
}

// dataDirMode decides what becomes of a data directory with mode, owned
// by uid owner, for a process whose effective uid is me: the mode it
// should have, or errUnsafeDataDir naming it.
func dataDirMode(dir string, mode fs.FileMode, owner, me int) (fs.FileMode, error) {
	if mode&groupOtherWrite == 0 {
		return mode, nil
	}
	if owner == me {
		return mode &^ groupOtherWrite, nil
	}
	return mode, fmt.Errorf("data directory %s (mode %#o, owner uid %d, this user uid %d): %w; refusing to use it: its owner should run chmod go-w %s",
		dir, mode.Perm(), owner, me, errUnsafeDataDir, dir)
}
