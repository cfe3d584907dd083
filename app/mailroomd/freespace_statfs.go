//go:build linux || darwin || freebsd || dragonfly

package main

import "syscall"

// freeSpaceProbe gives a probe of the bytes free to an unprivileged user
// (f_bavail, not f_bfree: the root reserve is no use to the daemon) on the
// file system that holds dir.
func freeSpaceProbe(dir string) func() (uint64, error) {
	return func() (uint64, error) {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			return 0, err
		}
		// The field types differ between systems (int64 on FreeBSD,
		// uint32 block sizes on Darwin); both are non-negative.
		return uint64(st.Bavail) * uint64(st.Bsize), nil
	}
}
