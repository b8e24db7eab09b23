package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
)

// MaskedRead is a masked path the command opened: it read an empty file (or listed an empty
// folder) where the secret is. Masks are the only file-system refusal the sandbox can see without
// privileges: a refused open (Landlock, a read-only mount) leaves no trace outside the kernel's
// audit log, but opening a mask succeeds, and the mask is a per-run object skillrun watches.
type MaskedRead struct {
	// Path is the host path that was masked; Entry is the plan's mask line it came from (the
	// same unless the line holds a glob).
	Path  string `json:"path"`
	Entry string `json:"entry"`
	Count int    `json:"count"`
	// No process: fanotify tells an unprivileged watcher no pids, and the opener may be gone
	// before a name could be read (it is not stopped, as it is for a reported syscall).
}

// maskObject is the empty file or folder bound over one masked path for one run.
type maskObject struct {
	path, entry string
	object      string // the host path of the empty file or folder
	dir         bool
}

// expandedMask is one masked path on the host with the plan line it came from.
type expandedMask struct{ path, entry string }

// expandMaskEntries resolves globs in the last element of mask lines against the host.
func expandMaskEntries(masks []string) []expandedMask {
	var out []expandedMask
	for _, m := range masks {
		if !strings.ContainsAny(filepath.Base(m), "*?[") {
			out = append(out, expandedMask{m, m})
			continue
		}
		matches, _ := filepath.Glob(m)
		for _, p := range matches {
			out = append(out, expandedMask{p, m})
		}
	}
	return out
}

// observable says a mask gets a watched object of its own: an existing file or folder the user
// keeps (below the home or the workspace). The system's masked files (/etc/shadow, host keys) are
// masked in every run; an object per run for them would cost every command file creations.
func observable(plan *policy.Plan, p string) bool {
	return within(p, plan.Workspace) || (plan.Home != "" && within(p, plan.Home))
}

// within says whether p is base or lies below it.
func within(p, base string) bool {
	return p == base || base == "/" || strings.HasPrefix(p, base+"/")
}

// maskMounts turns the plan's masks into mounts: an empty read-only file or folder of the run's
// own, bound over each observable path, and runc's masks (a bind of /dev/null or an empty
// read-only tmpfs) for the rest. The run's objects are kept in st for watchMasks.
func maskMounts(plan *policy.Plan, st *state) ([]*configs.Mount, []string, error) {
	var mounts []*configs.Mount
	var rest []string
	for i, m := range expandMaskEntries(plan.Mask) {
		fi, err := os.Lstat(m.path)
		if err != nil || !observable(plan, m.path) || !(fi.Mode().IsRegular() || fi.IsDir()) {
			rest = append(rest, m.path) // runc skips what does not exist, and follows a link
			continue
		}
		o := maskObject{path: m.path, entry: m.entry, dir: fi.IsDir(),
			object: filepath.Join(st.root, "runs", st.id+".mask"+strconv.Itoa(i))}
		if o.dir {
			err = os.Mkdir(o.object, 0o555)
		} else {
			var f *os.File
			if f, err = os.OpenFile(o.object, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444); err == nil {
				err = f.Close()
			}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: mask %s: %v", ErrSetup, m.path, err)
		}
		st.masks = append(st.masks, o)
		mounts = append(mounts, &configs.Mount{
			Source: o.object, Destination: m.path, Device: "bind",
			Flags: unix.MS_BIND | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY,
		})
	}
	return mounts, rest, nil
}

// removeMaskObjects removes what maskMounts created for run id.
func removeMaskObjects(runs, id string) {
	objs, _ := filepath.Glob(filepath.Join(runs, id+".mask*"))
	for _, o := range objs {
		os.Remove(o)
	}
}

// maskWatch reads the fanotify events of a run's mask objects: an open of one is a masked read.
type maskWatch struct {
	f       *os.File
	fd      int                    // f's descriptor, kept non-blocking (f.Fd() would make it blocking)
	objects map[string]*maskObject // by file handle
	self    int
	done    chan struct{}
	stop    sync.Once
	mu      sync.Mutex
	reads   []MaskedRead
}

// errNoWatch is why a run's masked reads cannot be reported; the masks hold all the same.
var errNoWatch = errors.New("file-system notification unavailable")

// watchMasks starts watching the run's mask objects, or returns nil when there are none. Without
// fanotify (an old kernel, or a container that refuses it) the masks still hide what they hide;
// only the report of reads is missing, and the error says why.
func watchMasks(objects []maskObject) (*maskWatch, error) {
	if len(objects) == 0 {
		return nil, nil
	}
	// Unprivileged fanotify (Linux 5.13) reports file handles, inode marks only, no pids of
	// other processes; that is all this needs.
	fd, err := fanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK|unix.FAN_REPORT_FID,
		unix.O_RDONLY|unix.O_CLOEXEC|unix.O_LARGEFILE)
	if err != nil {
		return nil, fmt.Errorf("%w: fanotify: %v", errNoWatch, err)
	}
	w := &maskWatch{f: os.NewFile(uintptr(fd), "fanotify"), fd: fd, objects: map[string]*maskObject{},
		self: os.Getpid(), done: make(chan struct{})}
	for i := range objects {
		o := &objects[i]
		h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, o.object, 0)
		if err == nil {
			mask := uint64(unix.FAN_OPEN)
			if o.dir {
				mask |= unix.FAN_ONDIR
			}
			err = unix.FanotifyMark(fd, unix.FAN_MARK_ADD, mask, unix.AT_FDCWD, o.object)
		}
		if err != nil {
			w.f.Close()
			return nil, fmt.Errorf("%w: %s: %v", errNoWatch, o.object, err)
		}
		w.objects[handleKey(uint32(h.Type()), h.Bytes())] = o
	}
	go w.run()
	return w, nil
}

// maskWatchSupport returns why masked reads cannot be reported here, or "".
func maskWatchSupport() string {
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC|unix.FAN_REPORT_FID, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return "fanotify: " + err.Error()
	}
	unix.Close(fd)
	return ""
}

func handleKey(typ uint32, b []byte) string {
	return strconv.FormatUint(uint64(typ), 16) + ":" + string(b)
}

func (w *maskWatch) run() {
	defer close(w.done)
	buf := make([]byte, 16<<10)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return // the deadline finish sets
		}
		w.parse(buf[:n])
	}
}

// drain reads what is queued once the reader has stopped.
func (w *maskWatch) drain() {
	buf := make([]byte, 16<<10)
	for {
		n, err := unix.Read(w.fd, buf)
		if err != nil || n <= 0 {
			return
		}
		w.parse(buf[:n])
	}
}

// fanotify_event_metadata and the info records that follow it (linux/fanotify.h).
const (
	fanMetaLen     = 24
	fanInfoFID     = 1 // FAN_EVENT_INFO_TYPE_FID
	fanInfoHdrLen  = 4
	fanFSIDLen     = 8
	fanHandleHdLen = 8 // handle_bytes, handle_type
)

func (w *maskWatch) parse(b []byte) {
	le := binary.NativeEndian
	for len(b) >= fanMetaLen {
		evLen := int(le.Uint32(b))
		metaLen := int(le.Uint16(b[6:]))
		if evLen < fanMetaLen || evLen > len(b) || metaLen < fanMetaLen || metaLen > evLen {
			return
		}
		pid := int(int32(le.Uint32(b[20:])))
		// A group that reports file handles gets no file descriptors (fd is FAN_NOFD).
		for info := b[metaLen:evLen]; len(info) >= fanInfoHdrLen; {
			typ, l := info[0], int(le.Uint16(info[2:]))
			if l < fanInfoHdrLen || l > len(info) {
				break
			}
			if typ == fanInfoFID && l >= fanInfoHdrLen+fanFSIDLen+fanHandleHdLen {
				h := info[fanInfoHdrLen+fanFSIDLen : l]
				size := int(le.Uint32(h))
				if fanHandleHdLen+size <= len(h) {
					w.note(handleKey(le.Uint32(h[4:]), h[fanHandleHdLen:fanHandleHdLen+size]), pid)
				}
			}
			info = info[l:]
		}
		b = b[evLen:]
	}
}

func (w *maskWatch) note(handle string, pid int) {
	o := w.objects[handle]
	if o == nil || (pid != 0 && pid == w.self) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.reads {
		if r := &w.reads[i]; r.Path == o.path {
			r.Count++
			return
		}
	}
	if len(w.reads) < maxDenials {
		w.reads = append(w.reads, MaskedRead{Path: o.path, Entry: o.entry, Count: 1})
	}
}

// finish reads what is still queued, stops watching and returns the masked reads. It may be
// called again.
func (w *maskWatch) finish() []MaskedRead {
	w.stop.Do(func() {
		_ = w.f.SetReadDeadline(time.Now())
		select {
		case <-w.done:
			w.drain() // a read past the deadline reads nothing: take the rest here
		case <-time.After(2 * time.Second):
		}
		releaseDetached(w.f) // a group with marks waits for a grace period when closed
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]MaskedRead(nil), w.reads...)
}
