package sandbox

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReleaseDetachedFrees releases more marked fanotify groups than one user may hold at once:
// every one must be freed by the kernel (or the later fanotifyInit calls would run out), and none
// may stay open in this process.
func TestReleaseDetachedFrees(t *testing.T) {
	if why := createWatchSupport(); why != "" {
		t.Skipf("fanotify with directory events is unavailable here: %s", why)
	}
	dir := t.TempDir()
	limit := 128
	if b, err := os.ReadFile("/proc/sys/fs/fanotify/max_user_groups"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			limit = n
		}
	}
	for i := 0; i < limit+64; i++ {
		fd, err := fanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC|unix.FAN_REPORT_DFID_NAME, unix.O_RDONLY|unix.O_CLOEXEC)
		if err != nil {
			t.Fatalf("group %d of %d: %v (released groups were not freed)", i+1, limit+64, err)
		}
		if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD, unix.FAN_CREATE|unix.FAN_ONDIR, unix.AT_FDCWD, dir); err != nil {
			t.Fatal(err)
		}
		releaseDetached(os.NewFile(uintptr(fd), "fanotify"))
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if l, _ := os.Readlink("/proc/self/fd/" + e.Name()); strings.Contains(l, "fanotify") || strings.HasPrefix(l, "socket:") {
			t.Errorf("fd %s is still open: %s", e.Name(), l)
		}
	}
}
