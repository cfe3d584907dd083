//go:build !unix

package main

import "io/fs"

// fileOwner: without unix owners and mode bits the data directory is not
// checked; its ACL is the operator's to set.
func fileOwner(fs.FileInfo) (uid int, ok bool) { return 0, false }
