package sandbox

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A protected path that does not exist is held without creating anything on the host: the
// folders on its way (from the writable root it lies in down to the deepest one that exists) are
// watched with fanotify, and whatever appears at the protected name is undone the moment the
// event arrives: moved into the run's quarantine folder, or removed where that is impossible.
// When a folder on the way appears (.github for .github/copilot-instructions.md) it is watched
// too and checked at once, for what was created in it before the watch. The command's end, an
// overflowing event queue, the stage after skillrun was killed, and the next run after a killed
// one all sweep the same list, so nothing the command made at a protected name outlives the run.
//
// Unprivileged fanotify (Linux 5.13) reports a folder's file handle and the entry's name; the
// handle is matched against name_to_handle_at of the folders marked (open_by_handle_at would need
// CAP_DAC_READ_SEARCH, and is not needed). It names no process: a creation by anyone, the
// developer included, is undone while a run lasts, as the placeholders this replaces refused it.

// guardTarget is one missing protected path: Elems are its elements below Root, the innermost
// writable root it lies in; the last is a pattern when Glob, and Keep the names that matched it
// at the start (they exist, and are bound read-only).
type guardTarget struct {
	Entry string   `json:"entry"`
	Root  string   `json:"root"`
	Elems []string `json:"elems"`
	Glob  bool     `json:"glob,omitempty"`
	Keep  []string `json:"keep,omitempty"`
}

// BlockedCreation is something the command created at a protected path, and what became of it.
type BlockedCreation struct {
	Path  string `json:"path"`
	Entry string `json:"entry"` // the plan's protect line (a glob for a glob line)
	// Kept is where it was moved; empty when it had to be removed (Why says why).
	Kept string `json:"kept,omitempty"`
	Why  string `json:"why,omitempty"`
	// Link says a symlink was undone on the way to the protected path, not at it.
	Link  bool `json:"link,omitempty"`
	Count int  `json:"count"`
}

// ErrCreateWatch marks a run that has missing protected paths and no way to watch them.
var ErrCreateWatch = fmt.Errorf("%w: watching missing protected paths", ErrUnsupported)

const guardMask = unix.FAN_CREATE | unix.FAN_MOVED_TO | unix.FAN_ONDIR

// undoer neutralises objects at protected paths: it moves them into quarantine (a folder per run
// in the state root) when that is on the same file system, and removes them otherwise.
type undoer struct {
	quarantine string // "" in the stage, which cannot see the state root
	qfd        int    // -1 until first needed
	n          int
	mu         sync.Mutex
	blocked    []BlockedCreation
	note       string         // appended to each report (the stale sweep says whose run it was)
	roots      map[string]int // each writable root, opened once
}

func newUndoer(quarantine string) *undoer {
	return &undoer{quarantine: quarantine, qfd: -1, roots: map[string]int{}}
}

func (u *undoer) close() {
	if u.qfd >= 0 {
		unix.Close(u.qfd)
		u.qfd = -1
	}
	for r, fd := range u.roots {
		unix.Close(fd)
		delete(u.roots, r)
	}
}

// root returns the descriptor of a writable root (O_PATH).
func (u *undoer) root(root string) (int, error) {
	if fd, ok := u.roots[root]; ok {
		return fd, nil
	}
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return -1, err
	}
	u.roots[root] = fd
	return fd, nil
}

// openBeneath opens rel (a path below root, "" for root itself) without following any symlink:
// a folder the command swapped for a link must never send an undo elsewhere on the host.
func (u *undoer) openBeneath(root, rel string, flags uint64) (int, error) {
	rfd, err := u.root(root)
	if err != nil {
		return -1, err
	}
	if rel == "" {
		rel = "."
	}
	return unix.Openat2(rfd, rel, &unix.OpenHow{Flags: flags | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS})
}

// undo neutralises root/rel if it exists. entry is the plan line it answers to; link says rel is
// a symlink on the way to it, and extra is added to the report.
func (u *undoer) undo(root, rel, entry string, link bool, extra string) {
	var parent int
	var err error
	if filepath.Dir(rel) == "." {
		parent, err = u.root(root) // the common case: a name at the top of the root, one call
	} else if parent, err = u.openBeneath(root, filepath.Dir(rel), unix.O_PATH|unix.O_DIRECTORY); err == nil {
		defer unix.Close(parent)
	}
	if err != nil {
		return // the way there is gone, or a link now: that link is undone on its own event
	}
	name := filepath.Base(rel)
	var st unix.Stat_t
	if unix.Fstatat(parent, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return
	}
	kept, why := "", ""
	switch {
	case u.quarantine == "":
		why = "removed by the sandbox after skillrun was killed"
	case u.count(filepath.Join(root, rel)) >= maxKept:
		// A command that makes the same name over and over must not fill the disk with copies.
		why = "removed: " + strconv.Itoa(maxKept) + " earlier ones are kept"
	default:
		kept, why = u.moveAway(parent, name)
	}
	if kept == "" {
		if err := removeAt(parent, name); err != nil {
			why += "; removing it failed: " + err.Error()
		}
	}
	if extra != "" {
		why = strings.TrimPrefix(why+"; "+extra, "; ")
	}
	u.record(BlockedCreation{Path: filepath.Join(root, rel), Entry: entry, Kept: kept, Why: why, Link: link, Count: 1})
}

// moveAway renames the object into the run's quarantine folder; it returns where, or why not.
func (u *undoer) moveAway(parent int, name string) (kept, why string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.qfd < 0 {
		if err := ensurePrivateDir(filepath.Dir(u.quarantine)); err != nil {
			return "", "removed: no quarantine folder: " + err.Error()
		}
		if err := os.Mkdir(u.quarantine, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return "", "removed: no quarantine folder: " + err.Error()
		}
		fd, err := unix.Open(u.quarantine, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err != nil {
			return "", "removed: no quarantine folder: " + err.Error()
		}
		u.qfd = fd
	}
	u.n++
	to := strconv.Itoa(u.n) + "-" + name
	err := unix.Renameat2(parent, name, u.qfd, to, unix.RENAME_NOREPLACE)
	switch {
	case err == nil:
		return filepath.Join(u.quarantine, to), ""
	case err == unix.EXDEV:
		return "", "removed: the state directory " + filepath.Dir(filepath.Dir(u.quarantine)) + " is on another file system"
	default:
		return "", "removed: moving it failed: " + err.Error()
	}
}

// maxKept is how many objects made at one protected path a run keeps in quarantine.
const maxKept = 4

// count says how often p was undone so far.
func (u *undoer) count(p string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, b := range u.blocked {
		if b.Path == p {
			return b.Count
		}
	}
	return 0
}

func (u *undoer) record(b BlockedCreation) {
	if u.note != "" {
		b.Why = strings.TrimPrefix(b.Why+"; "+u.note, "; ")
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for i := range u.blocked {
		if o := &u.blocked[i]; o.Path == b.Path {
			o.Count++
			if b.Kept != "" {
				o.Kept, o.Why = b.Kept, b.Why // where the latest copy went
			}
			return
		}
	}
	if len(u.blocked) < maxDenials {
		u.blocked = append(u.blocked, b)
	}
}

func (u *undoer) results() []BlockedCreation {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]BlockedCreation(nil), u.blocked...)
}

// removeAt removes name in dir, a folder with everything in it, never following a symlink. It
// tries again while the command keeps writing into the folder.
func removeAt(dir int, name string) error {
	var err error
	for range 50 {
		var st unix.Stat_t
		if e := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); e == unix.ENOENT {
			return nil
		} else if e != nil {
			return e
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			if err = unix.Unlinkat(dir, name, 0); err == nil || err == unix.ENOENT {
				return nil
			}
			continue
		}
		if err = emptyDirAt(dir, name, 0); err != nil {
			continue
		}
		if err = unix.Unlinkat(dir, name, unix.AT_REMOVEDIR); err == nil || err == unix.ENOENT {
			return nil
		}
	}
	return err
}

// emptyDirAt removes everything inside the folder name in dir.
func emptyDirAt(dir int, name string, depth int) error {
	if depth > 256 {
		return errors.New("nested too deep")
	}
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	_ = unix.Fchmod(fd, 0o700) // a folder the command made unwritable is still ours to empty
	var first error
	for {
		names, err := f.Readdirnames(256)
		for _, n := range names {
			var st unix.Stat_t
			if unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
				continue
			}
			if st.Mode&unix.S_IFMT == unix.S_IFDIR {
				if e := emptyDirAt(fd, n, depth+1); e != nil && first == nil {
					first = e
				}
				if e := unix.Unlinkat(fd, n, unix.AT_REMOVEDIR); e != nil && e != unix.ENOENT && first == nil {
					first = e
				}
			} else if e := unix.Unlinkat(fd, n, 0); e != nil && e != unix.ENOENT && first == nil {
				first = e
			}
		}
		if err != nil || len(names) == 0 {
			break
		}
	}
	return first
}

// walker checks targets level by level; mark, when set, watches each folder on the way.
type walker struct {
	targets []guardTarget
	u       *undoer
	mark    func(fd, target, level int) error
}

// check walks target ti from the folder at level down: it watches each folder that exists on the
// way and undoes what exists at the protected name, a symlink on the way, or a folder on the way
// it could not watch.
func (w *walker) check(ti, level int) {
	t := &w.targets[ti]
	for l := level; l < len(t.Elems); l++ {
		rel := filepath.Join(t.Elems[:l]...)
		if l == len(t.Elems)-1 {
			if t.Glob {
				w.checkGlob(t, rel)
			} else {
				w.u.undo(t.Root, filepath.Join(rel, t.Elems[l]), t.Entry, false, "")
			}
			return
		}
		next := filepath.Join(rel, t.Elems[l])
		// Not O_PATH: fanotify_mark refuses one as the object to mark.
		fd, err := w.u.openBeneath(t.Root, next, unix.O_RDONLY|unix.O_DIRECTORY)
		switch {
		case err == unix.ELOOP:
			// A link on the way would lead the protected name anywhere the command can write.
			w.u.undo(t.Root, next, t.Entry, true, "")
			return
		case err != nil:
			return // missing, or a file: nothing can be created below it
		}
		if w.mark != nil {
			if err := w.mark(fd, ti, l+1); err != nil {
				unix.Close(fd)
				w.u.undo(t.Root, next, t.Entry, false, "a folder on the way that could not be watched: "+err.Error())
				return
			}
		}
		unix.Close(fd)
	}
}

// checkGlob undoes every entry of root/rel that matches the target's pattern and was not there
// at the start.
func (w *walker) checkGlob(t *guardTarget, rel string) {
	fd, err := w.u.openBeneath(t.Root, rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), rel)
	names, _ := f.Readdirnames(-1)
	f.Close()
	pat := t.Elems[len(t.Elems)-1]
	for _, n := range names {
		if ok, _ := filepath.Match(pat, n); ok && !slices.Contains(t.Keep, n) {
			w.u.undo(t.Root, filepath.Join(rel, n), t.Entry, false, "")
		}
	}
}

// sweep checks every target from its root.
func (w *walker) sweep() {
	for i := range w.targets {
		w.check(i, 0)
	}
}

// guardAt is a watched folder's place on a target's way.
type guardAt struct{ target, level int }

// watchedDir is what a watched folder is on the way to: by the name that leads on, and the glob
// targets whose pattern its new entries are matched against.
type watchedDir struct {
	byName map[string][]guardAt
	globs  []guardAt
	seen   map[guardAt]bool
}

// createGuard watches the folders on the way to a run's missing protected paths.
type createGuard struct {
	walker
	f     *os.File
	fd    int
	dirs  map[string]*watchedDir // by file system id and file handle
	done  chan struct{}
	stop  sync.Once
	mu    sync.Mutex // held while an event, or the final sweep, is handled
	marks int
}

// watchCreations starts watching the run's missing protected paths, and sweeps them once (what
// appeared between the plan and now). It fails, and the run with it, when it cannot watch.
func watchCreations(targets []guardTarget, quarantine string) (*createGuard, error) {
	fd, err := fanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK|unix.FAN_REPORT_DFID_NAME,
		unix.O_RDONLY|unix.O_CLOEXEC|unix.O_LARGEFILE)
	if err != nil {
		return nil, fmt.Errorf("%w: fanotify: %v", ErrCreateWatch, err)
	}
	g := &createGuard{f: os.NewFile(uintptr(fd), "fanotify-create"), fd: fd, dirs: map[string]*watchedDir{},
		done: make(chan struct{})}
	g.targets, g.u = targets, newUndoer(quarantine)
	g.walker.mark = g.markDir
	rootKeys := map[string]string{} // each root is marked once, however many targets it holds
	for i := range targets {
		t := &targets[i]
		key, ok := rootKeys[t.Root]
		if !ok {
			rfd, err := g.u.openBeneath(t.Root, "", 0)
			if err == nil {
				key, err = g.markFD(rfd)
				unix.Close(rfd)
			}
			if err != nil {
				g.f.Close()
				g.u.close()
				return nil, fmt.Errorf("%w: %s: %v", ErrCreateWatch, t.Root, err)
			}
			rootKeys[t.Root] = key
		}
		g.register(key, guardAt{i, 0})
	}
	g.walker.sweep()
	go g.run()
	return g, nil
}

// markDir watches the folder fd for entries appearing, as level of target ti.
func (g *createGuard) markDir(fd, ti, level int) error {
	key, err := g.markFD(fd)
	if err != nil {
		return err
	}
	g.register(key, guardAt{ti, level})
	return nil
}

// markFD watches the folder fd (once) and returns its key.
func (g *createGuard) markFD(fd int) (string, error) {
	key, err := dirKey(fd)
	if err != nil {
		return "", err
	}
	if g.dirs[key] == nil {
		if err := unix.FanotifyMark(g.fd, unix.FAN_MARK_ADD, guardMask, fd, ""); err != nil {
			return "", fmt.Errorf("fanotify_mark: %v", err)
		}
		g.marks++
		g.dirs[key] = &watchedDir{byName: map[string][]guardAt{}, seen: map[guardAt]bool{}}
	}
	return key, nil
}

func (g *createGuard) register(key string, at guardAt) {
	d := g.dirs[key]
	t := &g.targets[at.target]
	if d.seen[at] || at.level >= len(t.Elems) {
		return
	}
	d.seen[at] = true
	if at.level == len(t.Elems)-1 && t.Glob {
		d.globs = append(d.globs, at)
		return
	}
	name := t.Elems[at.level]
	d.byName[name] = append(d.byName[name], at)
}

// dirKey is how fanotify names the folder fd: its file system id and file handle.
func dirKey(fd int) (string, error) {
	h, _, err := unix.NameToHandleAt(fd, "", unix.AT_EMPTY_PATH)
	if err != nil {
		return "", fmt.Errorf("name_to_handle_at: %v", err)
	}
	var sf unix.Statfs_t
	if err := unix.Fstatfs(fd, &sf); err != nil {
		return "", err
	}
	var fsid [8]byte
	binary.NativeEndian.PutUint32(fsid[:], uint32(sf.Fsid.Val[0]))
	binary.NativeEndian.PutUint32(fsid[4:], uint32(sf.Fsid.Val[1]))
	return string(fsid[:]) + handleKey(uint32(h.Type()), h.Bytes()), nil
}

func (g *createGuard) run() {
	defer close(g.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := g.f.Read(buf)
		if err != nil {
			return // the deadline finish sets
		}
		g.parse(buf[:n])
	}
}

// parse handles a buffer of events: a name appearing in a watched folder is checked, and an
// overflowed queue (events were lost) sweeps everything.
func (g *createGuard) parse(b []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	le := binary.NativeEndian
	for len(b) >= fanMetaLen {
		evLen := int(le.Uint32(b))
		metaLen := int(le.Uint16(b[6:]))
		if evLen < fanMetaLen || evLen > len(b) || metaLen < fanMetaLen || metaLen > evLen {
			g.walker.sweep() // cannot happen with a sane kernel; never let it pass silently
			return
		}
		if le.Uint64(b[8:])&unix.FAN_Q_OVERFLOW != 0 {
			g.walker.sweep()
		}
		for info := b[metaLen:evLen]; len(info) >= fanInfoHdrLen; {
			typ, l := info[0], int(le.Uint16(info[2:]))
			if l < fanInfoHdrLen || l > len(info) {
				break
			}
			if typ == unix.FAN_EVENT_INFO_TYPE_DFID_NAME && l >= fanInfoHdrLen+fanFSIDLen+fanHandleHdLen {
				rec := info[fanInfoHdrLen:l]
				fsid, h := rec[:fanFSIDLen], rec[fanFSIDLen:]
				size := int(le.Uint32(h))
				if fanHandleHdLen+size <= len(h) {
					key := string(fsid) + handleKey(le.Uint32(h[4:]), h[fanHandleHdLen:fanHandleHdLen+size])
					name := h[fanHandleHdLen+size:]
					if i := slices.Index(name, 0); i >= 0 {
						name = name[:i]
					}
					g.event(key, string(name))
				}
			}
			info = info[l:]
		}
		b = b[evLen:]
	}
}

// event checks the targets whose way passes name in the folder key.
func (g *createGuard) event(key, name string) {
	d := g.dirs[key]
	if d == nil {
		return
	}
	for _, at := range d.byName[name] {
		g.walker.check(at.target, at.level)
	}
	for _, at := range d.globs {
		t := &g.targets[at.target]
		if ok, _ := filepath.Match(t.Elems[at.level], name); ok && !slices.Contains(t.Keep, name) {
			g.walker.check(at.target, at.level)
		}
	}
}

// finish stops watching once the command has ended, handles what is still queued, sweeps every
// target and returns what was undone. It may be called again.
func (g *createGuard) finish() []BlockedCreation {
	g.stop.Do(func() {
		_ = g.f.SetReadDeadline(time.Now())
		select {
		case <-g.done:
		case <-time.After(2 * time.Second):
		}
		buf := make([]byte, 64<<10)
		for {
			n, err := unix.Read(g.fd, buf)
			if err != nil || n <= 0 {
				break
			}
			g.parse(buf[:n])
		}
		g.mu.Lock()
		g.walker.mark = nil
		g.walker.sweep()
		g.mu.Unlock()
		g.u.close()
		// Closing a group with marks waits for the kernel's grace period (release.go).
		releaseDetached(g.f)
	})
	return g.u.results()
}

// createWatchSupport returns why missing protected paths cannot be watched here, or "".
func createWatchSupport() string {
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC|unix.FAN_REPORT_DFID_NAME, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return "fanotify with directory events: " + err.Error()
	}
	defer unix.Close(fd)
	dir, err := os.MkdirTemp("", "skillrun-probe-")
	if err != nil {
		return "a folder to probe with: " + err.Error()
	}
	defer os.Remove(dir)
	if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD, guardMask, unix.AT_FDCWD, dir); err != nil {
		return "fanotify_mark on a folder: " + err.Error()
	}
	d, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err.Error()
	}
	defer unix.Close(d)
	if _, err := dirKey(d); err != nil {
		return err.Error()
	}
	return ""
}

// The run's targets are kept in its lock file (runs/<id>.lock), so that the next run can sweep
// them when this one was killed before it could: writing into the file the run holds anyway costs
// no file creation.
func writeGuard(lock *os.File, targets []guardTarget) error {
	b, _ := json.Marshal(targets)
	if _, err := lock.WriteAt(b, 0); err != nil {
		return fmt.Errorf("%w: %v", ErrState, err)
	}
	return nil
}

// sweepStale undoes what a dead run's command left at its missing protected paths; lock is the
// dead run's lock file.
func sweepStale(root, id string, lock *os.File) []BlockedCreation {
	b, err := io.ReadAll(io.NewSectionReader(lock, 0, 64<<20))
	if err != nil || len(b) == 0 {
		return nil
	}
	var targets []guardTarget
	if json.Unmarshal(b, &targets) != nil {
		return nil
	}
	u := newUndoer(filepath.Join(root, "quarantine", id))
	u.note = "made by run " + id + ", which was killed"
	defer u.close()
	(&walker{targets: targets, u: u}).sweep()
	return u.results()
}

// guardForStage hands the stage the run's lock file, which holds the targets (writeGuard): the
// stage reads them from it, sweeps them when skillrun dies before it could, and then empties it,
// so the next run does not sweep again what may be the developer's by then. The stage's copy
// shares the lock, so no cleaner takes the run for dead while its stage still sweeps.
func guardForStage(lock *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(lock.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSetup, err)
	}
	return os.NewFile(uintptr(fd), "guard"), nil
}

// readGuardFD reads, in the stage, the targets the host handed over. The descriptor stays open
// (no *os.File, whose finalizer would close it): the stage empties the list through it later.
func readGuardFD(fd int) ([]guardTarget, error) {
	var b []byte
	buf := make([]byte, 64<<10)
	for len(b) < 64<<20 {
		n, err := unix.Pread(fd, buf, int64(len(b)))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		b = append(b, buf[:n]...)
	}
	var targets []guardTarget
	err := json.Unmarshal(b, &targets)
	return targets, err
}

// sweepInStage undoes, from inside the sandbox, what the command made at missing protected
// paths, then, when done is set (no process of the command is left), empties the run's list (fd,
// its lock file). The stage sees the writable roots at their host paths, read-write, but not the
// state root: it removes instead of keeping.
func sweepInStage(targets []guardTarget, fd int, done bool) {
	(&walker{targets: targets, u: newUndoer("")}).sweep()
	if done {
		_ = unix.Ftruncate(fd, 0)
	}
}
