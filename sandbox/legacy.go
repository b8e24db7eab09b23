package sandbox

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// removeOldPlaceholders removes what earlier versions left on the host: they held missing
// protected paths with empty placeholders (folders, an empty .git file, a .git/commondir saying
// ".") listed in <state>/workspaces/<hash>.placeholders, and a run killed last in its workspace
// left them there for the next run, which no longer makes or removes any. A list is taken only
// when no run of an earlier version holds its workspace's lock; only what is still empty goes.
func removeOldPlaceholders(root string) {
	dir := filepath.Join(root, "workspaces")
	if _, err := os.Lstat(dir); err != nil {
		return // the common case: one call
	}
	lists, _ := filepath.Glob(filepath.Join(dir, "*.placeholders"))
	for _, list := range lists {
		base := strings.TrimSuffix(list, ".placeholders")
		lock, err := os.OpenFile(base+".lock", os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			continue
		}
		if unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			lock.Close() // an earlier version's run is inside; it cleans up itself
			continue
		}
		var paths []string
		if f, err := os.Open(list); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if p := sc.Text(); filepath.IsAbs(p) {
					paths = append(paths, filepath.Clean(p))
				}
			}
			f.Close()
		}
		sort.Slice(paths, func(i, j int) bool { return strings.Count(paths[i], "/") > strings.Count(paths[j], "/") })
		for _, p := range paths {
			fi, err := os.Lstat(p)
			switch {
			case err != nil:
			case fi.IsDir():
				unix.Rmdir(p) // fails, as it should, when something real is inside
			case fi.Mode().IsRegular() && fi.Size() == 0:
				os.Remove(p)
			case fi.Mode().IsRegular() && filepath.Base(p) == "commondir":
				if b, err := os.ReadFile(p); err == nil && string(b) == ".\n" {
					os.Remove(p)
				}
			}
		}
		os.Remove(list)
		os.Remove(base + ".lock")
		lock.Close()
	}
	unix.Rmdir(dir)
}
