package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"strconv"
	"sync"
	"unsafe"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy/learn"
	"github.com/skillrun/skillrun/sandbox/seccomp"
)

// Recorder keeps what a learning run reached (skillrun learn): every file and exec syscall of
// the command and its children notifies the supervisor (seccomp.Options.Record), which reads the
// path from the caller's memory, notes it and lets the call continue unchanged. Nothing is
// decided here: Landlock and the mounts enforce the learning view as in any run, and a command
// that lies about its paths (another thread rewriting the string) only spoils its own proposal.
// fanotify could not do this: unprivileged it marks inodes only, reports no pids, and never sees
// an open that failed, which is what a path outside the view is.
type Recorder struct {
	mu  sync.Mutex
	log *learn.Log
	nrs map[int32]string
	// mems keeps a few callers' /proc/PID/mem open between notifications (the supervisor's
	// goroutine only): opening it per call was a third of the cost. A descriptor stays bound to
	// the memory it was opened on, so a pid that exec'd or was reused reads nothing and is
	// opened again.
	mems map[int]*os.File
	// unread counts the calls whose path could not be read (the caller ended, or the pointer
	// named no string).
	unread int
}

// Unread says how many recorded calls named a path learn could not read.
func (r *Recorder) Unread() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.unread
}

const maxMems = 32

// NewRecorder returns a recorder whose log keeps at most maxBytes of paths (0: the default bound).
func NewRecorder(maxBytes int) *Recorder {
	return &Recorder{log: learn.NewLog(maxBytes)}
}

// Log returns what was recorded. Call it after Run returned.
func (r *Recorder) Log() *learn.Log {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log
}

// names maps the recorded syscalls' numbers to their names, once per run.
func (r *Recorder) names() map[int32]string {
	if r.nrs == nil {
		r.nrs = map[int32]string{}
		for _, n := range []string{"open", "openat", "openat2", "creat", "execve", "execveat", "mkdir", "mkdirat",
			"unlink", "unlinkat", "rmdir", "rename", "renameat", "renameat2", "link", "linkat", "symlink",
			"symlinkat", "truncate", "chdir"} {
			if !seccomp.IsRecorded(n) {
				continue
			}
			if nr, err := libseccomp.GetSyscallFromName(n); err == nil {
				r.nrs[int32(nr)] = n
			}
		}
	}
	return r.nrs
}

// take handles a notification of a recorded syscall and says whether it was one. The call
// always continues, whatever could be read.
func (r *Recorder) take(listener int, req *libseccomp.ScmpNotifReq) bool {
	name, ok := r.names()[int32(req.Data.Syscall)]
	if !ok {
		return false
	}
	defer func() {
		_ = libseccomp.NotifRespond(libseccomp.ScmpFd(listener), &libseccomp.ScmpNotifResp{ID: req.ID, Flags: libseccomp.NotifRespFlagContinue})
	}()
	c := &caller{pid: int(req.Pid), r: r}
	a := req.Data.Args
	type seen struct {
		p string
		a learn.Access
	}
	var got []seen
	unread := 0
	at := func(dirfd, ptr uint64, acc learn.Access) {
		if p, ok := c.path(dirfd, ptr); ok {
			got = append(got, seen{p, acc})
		} else {
			unread++
		}
	}
	cwd := uint64(uint32(0xffffff9c)) // AT_FDCWD as the kernel reads an int argument
	switch name {
	case "open":
		at(cwd, a[0], openAccess(a[1]))
	case "openat":
		at(a[0], a[1], openAccess(a[2]))
	case "openat2":
		var how [8]byte
		if c.read(a[2], how[:]) == len(how) {
			at(a[0], a[1], openAccess(*(*uint64)(unsafe.Pointer(&how[0]))))
		}
	case "creat":
		at(cwd, a[0], learn.Write|learn.Create)
	case "truncate":
		at(cwd, a[0], learn.Write)
	case "execve":
		at(cwd, a[0], learn.Exec)
	case "execveat":
		if a[4]&unix.AT_EMPTY_PATH != 0 {
			if p, ok := c.fdPath(a[0]); ok {
				got = append(got, seen{p, learn.Exec})
			}
		} else {
			at(a[0], a[1], learn.Exec)
		}
	case "mkdir":
		at(cwd, a[0], learn.Dir|learn.Create)
	case "mkdirat":
		at(a[0], a[1], learn.Dir|learn.Create)
	case "rmdir":
		at(cwd, a[0], learn.Dir|learn.Remove)
	case "unlink":
		at(cwd, a[0], learn.Remove)
	case "unlinkat":
		acc := learn.Remove
		if a[2]&unix.AT_REMOVEDIR != 0 {
			acc |= learn.Dir
		}
		at(a[0], a[1], acc)
	case "rename":
		at(cwd, a[0], learn.Remove)
		at(cwd, a[1], learn.Create)
	case "renameat", "renameat2":
		at(a[0], a[1], learn.Remove)
		at(a[2], a[3], learn.Create)
	case "link":
		at(cwd, a[0], learn.Read)
		at(cwd, a[1], learn.Create)
	case "linkat":
		at(a[0], a[1], learn.Read)
		at(a[2], a[3], learn.Create)
	case "symlink":
		at(cwd, a[1], learn.Create)
	case "symlinkat":
		at(a[1], a[2], learn.Create)
	case "chdir":
		at(cwd, a[0], learn.Cwd|learn.Dir)
	}
	// The pid may have died and been reused while its memory was read: keep the paths only if
	// the notification still stands.
	if libseccomp.NotifIDValid(libseccomp.ScmpFd(listener), req.ID) != nil {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range got {
		r.log.Add(s.p, s.a)
	}
	r.unread += unread
	return true
}

func openAccess(flags uint64) learn.Access {
	var a learn.Access
	switch flags & unix.O_ACCMODE {
	case unix.O_WRONLY:
		a = learn.Write
	case unix.O_RDWR:
		a = learn.Read | learn.Write
	default:
		a = learn.Read
	}
	if flags&unix.O_CREAT != 0 {
		a |= learn.Create | learn.Write
	}
	if flags&unix.O_TRUNC != 0 {
		a |= learn.Write
	}
	if flags&unix.O_DIRECTORY != 0 {
		a |= learn.Dir
	}
	return a
}

// caller reads a notifying process's memory and descriptors through /proc.
type caller struct {
	pid int
	r   *Recorder
}

// close releases the kept descriptors once the run is over.
func (r *Recorder) close() {
	for _, f := range r.mems {
		f.Close()
	}
	r.mems = nil
}

func (c *caller) mem(fresh bool) *os.File {
	r := c.r
	if f := r.mems[c.pid]; f != nil {
		if !fresh {
			return f
		}
		f.Close()
		delete(r.mems, c.pid)
	}
	if r.mems == nil || len(r.mems) >= maxMems {
		r.close()
		r.mems = map[int]*os.File{}
	}
	f, err := os.Open("/proc/" + strconv.Itoa(c.pid) + "/mem")
	if err != nil {
		return nil
	}
	r.mems[c.pid] = f
	return f
}

// read copies memory at addr into b, stopping at the first unreadable page; a kept descriptor
// that reads nothing is opened again once (the pid exec'd or is another process now).
func (c *caller) read(addr uint64, b []byte) int {
	if n := c.readFrom(c.mem(false), addr, b); n > 0 {
		return n
	}
	return c.readFrom(c.mem(true), addr, b)
}

func (c *caller) readFrom(mem *os.File, addr uint64, b []byte) int {
	if mem == nil {
		return 0
	}
	n := 0
	for n < len(b) {
		// Page by page: a string may end just before an unmapped page.
		end := min(len(b), n+int(4096-(addr+uint64(n))%4096))
		m, err := mem.ReadAt(b[n:end], int64(addr)+int64(n))
		n += m
		if err != nil || n < end || bytes.IndexByte(b[n-m:n], 0) >= 0 {
			break
		}
	}
	return n
}

// str reads a NUL-terminated string of at most PATH_MAX bytes.
func (c *caller) str(addr uint64) (string, bool) {
	if addr == 0 {
		return "", false
	}
	buf := make([]byte, unix.PathMax)
	n := c.read(addr, buf)
	i := bytes.IndexByte(buf[:n], 0)
	if i < 0 {
		return "", false
	}
	return string(buf[:i]), true
}

func (c *caller) fdPath(fd uint64) (string, bool) {
	p, err := os.Readlink("/proc/" + strconv.Itoa(c.pid) + "/fd/" + strconv.Itoa(int(int32(fd))))
	return p, err == nil && path.IsAbs(p)
}

// path resolves a path argument against the caller's working directory or dirfd.
func (c *caller) path(dirfd, ptr uint64) (string, bool) {
	p, ok := c.str(ptr)
	if !ok || p == "" {
		return "", false
	}
	if path.IsAbs(p) {
		return path.Clean(p), true
	}
	var base string
	var err error
	if int32(dirfd) == unix.AT_FDCWD {
		base, err = os.Readlink("/proc/" + strconv.Itoa(c.pid) + "/cwd")
	} else {
		var ok bool
		if base, ok = c.fdPath(dirfd); !ok {
			return "", false
		}
	}
	if err != nil || !path.IsAbs(base) {
		return "", false
	}
	return path.Join(base, p), true
}

// prepareRecording fails closed when the kernel cannot notify. Reading the caller's memory needs
// no more: runc's nsexec starts the container's init with CLONE_PARENT, so the command descends
// from skillrun, which Yama's ptrace_scope 1 asks of a reader of another process's memory.
func prepareRecording(notifying bool) error {
	if !notifying {
		return fmt.Errorf("%w: skillrun learn records through seccomp user notification, which this kernel does not offer (Linux 5.5 or later)", ErrUnsupported)
	}
	return nil
}
