//go:build linux

package sqlite

import (
	"os"
	"strconv"
	"syscall"
	"testing"
)

// requireRootFS is the environment variable that makes tests needing a real
// small or read-only filesystem fail, rather than skip, when they cannot
// mount one. CI runs as root and sets it.
const requireRootFS = "MAILROOM_REQUIRE_ROOT_FS"

// mountTmpfs mounts a tmpfs of size bytes on a fresh directory and unmounts
// it when the test ends. It skips the test when mounting is impossible (not
// root, no CAP_SYS_ADMIN), unless MAILROOM_REQUIRE_ROOT_FS=1.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	opts := "size=" + strconv.Itoa(size) + ",mode=0700"
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
		if os.Getenv(requireRootFS) == "1" {
			t.Fatalf("mount tmpfs on %s: %v (%s=1 requires it)", dir, err, requireRootFS)
		}
		t.Skipf("mount tmpfs on %s: %v (needs root; %s=1 makes this a failure)", dir, err, requireRootFS)
	}
	// Registered after TempDir's cleanup, so it runs before the removal;
	// and before the cleanups of stores opened later, so it runs after them.
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// remountReadOnly makes a tmpfs from mountTmpfs read-only.
func remountReadOnly(t *testing.T, dir string) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount %s read-only: %v", dir, err)
	}
}
