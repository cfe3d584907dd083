//go:build !(linux || darwin || freebsd || dragonfly)

package main

// freeSpaceProbe is nil where syscall has no Statfs (or spells it
// differently): the SMTP server then does not check free space.
func freeSpaceProbe(dir string) func() (uint64, error) { return nil }
