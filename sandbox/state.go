package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// StateRoot is where runs keep their state: $XDG_RUNTIME_DIR/skillrun, /run/skillrun as root,
// else a private directory in /tmp.
func StateRoot() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		return filepath.Join(d, "skillrun")
	}
	if os.Geteuid() == 0 {
		return "/run/skillrun"
	}
	return filepath.Join(os.TempDir(), "skillrun-"+strconv.Itoa(os.Geteuid()))
}

// state is the per-run slice of the state root.
type state struct {
	root   string // the state root
	id     string
	lock   *os.File // held for the whole run: an unheld lock marks a dead run
	rootfs string   // shared by all runs: an empty skeleton of mount points
	ctRoot string   // libcontainer's state root
	masks  []maskObject
	guard  []guardTarget // the missing protected paths (createguard.go)
	// stale is what the sweep of runs that died undid at their missing protected paths.
	stale []BlockedCreation
}

// ensurePrivateDir creates dir (mode 0700) if needed and checks that it is a real directory
// owned by us and closed to everyone else: state holds what sandboxes must never touch.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w: %v", ErrState, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("%w: %v", ErrState, err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return fmt.Errorf("%w: %s is not a directory", ErrState, dir)
	case int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%w: %s belongs to uid %d, not to us (uid %d)", ErrState, dir, st.Uid, os.Geteuid())
	case st.Mode&0o077 != 0:
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("%w: %v", ErrState, err)
		}
	}
	return nil
}

// newState reserves a run id under root and cleans up after runs that died.
func newState(root string) (*state, error) {
	if err := ensurePrivateDir(root); err != nil {
		return nil, err
	}
	for _, sub := range []string{"runs", "containers"} {
		if err := ensurePrivateDir(filepath.Join(root, sub)); err != nil {
			return nil, err
		}
	}
	stale := cleanStale(root)
	removeOldPlaceholders(root)
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrState, err)
	}
	s := &state{root: root, id: "sr-" + hex.EncodeToString(b[:]), ctRoot: filepath.Join(root, "containers"), stale: stale}
	s.rootfs = filepath.Join(root, "rootfs")
	lockPath := filepath.Join(root, "runs", s.id+".lock")
	lock, err := lockedFile(lockPath)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	if err := ensureSkeleton(s.rootfs); err != nil {
		s.release()
		return nil, err
	}
	return s, nil
}

// lockedFile creates the run's lock file already locked. It is made nameless (O_TMPFILE), locked,
// and only then linked into place, so no cleaner ever sees an unlocked lock of a starting run, and
// a run killed before the link leaves nothing. Where the file system has no O_TMPFILE, it is
// locked under a name cleanStale leaves alone for a minute, then renamed.
func lockedFile(lockPath string) (*os.File, error) {
	fd, err := unix.Open(filepath.Dir(lockPath), unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err == nil {
		lock := os.NewFile(uintptr(fd), lockPath)
		if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
			lock.Close()
			return nil, fmt.Errorf("%w: lock %s: %v", ErrState, lockPath, err)
		}
		if err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, lockPath, unix.AT_SYMLINK_FOLLOW); err != nil {
			lock.Close()
			return nil, fmt.Errorf("%w: %v", ErrState, err)
		}
		return lock, nil
	}
	lock, err := os.OpenFile(lockPath+".new", os.O_RDWR|os.O_CREATE|os.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrState, err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		os.Remove(lockPath + ".new")
		return nil, fmt.Errorf("%w: lock %s: %v", ErrState, lockPath, err)
	}
	if err := os.Rename(lockPath+".new", lockPath); err != nil {
		lock.Close()
		os.Remove(lockPath + ".new")
		return nil, fmt.Errorf("%w: %v", ErrState, err)
	}
	return lock, nil
}

// release removes everything the run kept. The lock goes last, so a concurrent cleaner never
// sees a half-removed run as dead.
func (s *state) release() {
	removeRunFiles(filepath.Join(s.root, "runs"), s.id)
	os.Remove(filepath.Join(s.root, "runs", s.id+".lock"))
	s.lock.Close()
}

// removeRunFiles removes what a run kept beside its lock.
func removeRunFiles(runs, id string) {
	os.Remove(filepath.Join(runs, id+".emptyf"))
	removeMaskObjects(runs, id)
	removeDegradedFiles(runs, id)
}

// cleanStale destroys what runs that died (kill -9, power loss) left behind: their lock is no
// longer held, so taking it proves the run is gone. Once their processes are gone, what their
// commands made at missing protected paths is undone, and returned.
func cleanStale(root string) (undone []BlockedCreation) {
	runs := filepath.Join(root, "runs")
	entries, err := os.ReadDir(runs)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".lock.new") {
			// A run is between creating and locking this file for microseconds; one that is
			// unlocked after a minute belongs to a run killed in that window.
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Minute {
				removeIfUnlocked(filepath.Join(runs, e.Name()))
			}
			continue
		}
		if id, ok := strings.CutSuffix(e.Name(), ".cgroups"); ok {
			// A run that ended (or died after its lock was removed) with cgroups it could not
			// remove yet (EBUSY): a record without its lock.
			if _, err := os.Lstat(filepath.Join(runs, id+".lock")); errors.Is(err, os.ErrNotExist) {
				removeStaleCgroups(filepath.Join(runs, e.Name()))
			}
			continue
		}
		id, ok := strings.CutSuffix(e.Name(), ".lock")
		if !ok {
			continue
		}
		f, err := os.OpenFile(filepath.Join(runs, e.Name()), os.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil && !takeOrphaned(root, id, f) {
			f.Close() // alive
			continue
		}
		if c, err := libcontainer.Load(filepath.Join(root, "containers"), id); err == nil {
			_ = c.Signal(syscall.SIGKILL)
			// A cgroup can only be removed once its processes are gone; the sandbox's are once
			// its init is (it is PID 1 of its namespace).
			for i := 0; i < 100; i++ {
				if s, err := c.Status(); err != nil || s == libcontainer.Stopped {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			// cgroup_paths: what libcontainer's manager made (cgroup v2). Runs that made their
			// own cgroups (cgroup.go) name them in their record, below.
			var cgroupDirs []string
			if st, err := c.State(); err == nil {
				for _, d := range st.CgroupPaths {
					cgroupDirs = append(cgroupDirs, d)
				}
			}
			_ = c.Destroy()
			removeCgroupDirs(cgroupDirs)
		}
		removeStaleCgroups(filepath.Join(runs, id+".cgroups"))
		os.RemoveAll(filepath.Join(root, "containers", id))
		undone = append(undone, sweepStale(root, id, f)...)
		removeRunFiles(runs, id)
		os.Remove(filepath.Join(runs, e.Name()))
		f.Close()
	}
	return undone
}

// takeOrphaned takes the lock of a run whose skillrun died while its sandbox lives on, after
// killing the sandbox. The lock is shared with the sandbox's init (it reads the guard list
// through it), so it outlives skillrun: for the moment the stage takes to exit, and for good
// when skillrun was killed after runc's init reported ready and before skillrun opened the exec
// FIFO: that init waits in open(2) for a reader, and nothing else ends it (runc sets no
// parent-death signal on it, and it has not reached the stage and its lifeline yet). The kernel
// names, in /proc/locks, the process that took the lock: when that skillrun is gone, the
// sandbox is an orphan.
func takeOrphaned(root, id string, lock *os.File) bool {
	switch lockOwnerOf(lock) {
	case ownerAlive:
		return false
	case ownerUnlisted:
		// Released between the two looks: whoever held it is gone.
		return unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil
	}
	if c, err := libcontainer.Load(filepath.Join(root, "containers"), id); err == nil {
		_ = c.Signal(syscall.SIGKILL) // the init, checked by its start time: PID 1 takes the rest
	}
	for wait := time.Millisecond; wait < 300*time.Millisecond; wait *= 2 {
		if unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			return true
		}
		time.Sleep(wait)
	}
	return false // still dying: the next run takes it
}

// lockOwner is what /proc/locks says about the process that took a lock.
type lockOwner int

const (
	ownerAlive    lockOwner = iota // alive, or unknown (outside this PID namespace)
	ownerGone                      // exited
	ownerUnlisted                  // no lock on the file any more
)

// lockOwnerOf looks up, in /proc/locks, the process that took the flock on f.
func lockOwnerOf(f *os.File) lockOwner {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return ownerAlive
	}
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		return ownerAlive
	}
	// 1: FLOCK  ADVISORY  WRITE 13594 fe:00:9986434 0 EOF (blocked waiters are "1: -> FLOCK ...")
	file := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	for _, l := range strings.Split(string(locks), "\n") {
		f := strings.Fields(l)
		if len(f) < 6 || f[1] != "FLOCK" || f[5] != file {
			continue
		}
		if pid, err := strconv.Atoi(f[4]); err != nil || pid <= 0 {
			return ownerAlive // the kernel shows 0 for an owner outside this PID namespace
		}
		b, err := os.ReadFile("/proc/" + f[4] + "/stat")
		if err != nil {
			return ownerGone
		}
		if i := strings.LastIndexByte(string(b), ')'); i > 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X') {
			return ownerGone
		}
		return ownerAlive
	}
	return ownerUnlisted
}

// removeCgroupDirs removes cgroups whose processes are gone or going, and reports whether none is
// left: a v1 hierarchy can refuse the rmdir with EBUSY for a moment after its last task exited.
func removeCgroupDirs(dirs []string) bool {
	wait := time.Millisecond
	for waited := time.Duration(0); len(dirs) > 0; waited += wait {
		left := dirs[:0]
		for _, d := range dirs {
			if err := unix.Rmdir(d); err != nil && err != unix.ENOENT {
				left = append(left, d)
			}
		}
		dirs = left
		if len(dirs) == 0 || waited > time.Second {
			break
		}
		time.Sleep(wait)
		wait = min(2*wait, 50*time.Millisecond)
	}
	return len(dirs) == 0
}

// removeIfUnlocked removes a lock file nobody holds.
func removeIfUnlocked(name string) {
	f, err := os.OpenFile(name, os.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
		os.Remove(name)
	}
}

// ensureSkeleton creates the shared root's fixed file mount point. libcontainer creates a missing
// file mount point with O_EXCL, so two runs starting at once would race to create it.
func ensureSkeleton(rootfs string) error {
	stage := filepath.Join(rootfs, filepath.Dir(StagePath))
	if _, err := os.Lstat(filepath.Join(rootfs, StagePath)); err == nil {
		return nil
	}
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return fmt.Errorf("%w: %v", ErrState, err)
	}
	f, err := os.OpenFile(filepath.Join(rootfs, StagePath), os.O_CREATE|os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrState, err)
	}
	return f.Close()
}
