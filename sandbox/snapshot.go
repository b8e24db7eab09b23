package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/trust"
)

// A mount with a Digest is a verified skill folder. It is never bound: the skill would run from
// the live folder, which may change between the check and the run. The hook copies the folder
// into a private tmpfs while hashing it, in one pass, so the copy is made of exactly the bytes
// that were hashed; it attaches the copy read-only at the mount's path only when the digest
// matches, and otherwise fails, so the container never starts and nothing of it is ever visible.
//
// The tmpfs is built detached (fsopen/fsmount) and attached last, on top of whatever the other
// mounts put at the path: a protected parent re-bound after the plan's mounts (the floor protects
// .agents/skills and .claude in the workspace) would otherwise hide it and show the live folder.
// libcontainer still mounts an empty tmpfs there first, only so that the mount point exists. A
// plan mount below the path would end up hidden under the copy (policy folds rules inside a skill
// folder into the folder, so plans have none).

// snapshotSpec is one verified folder, as the hook gets it.
type snapshotSpec struct {
	Source string `json:"source"` // the real folder on the host
	Path   string `json:"path"`   // where the copy shows inside the sandbox
	Digest string `json:"digest"`
	Exec   bool   `json:"exec,omitempty"`
}

// integrityMarkerName is the file the hook creates in the container's state directory when a
// folder did not match its digest; Run turns it into ErrIntegrity. libcontainer's Destroy (or
// cleanStale, for a run that died) removes it with the directory.
const integrityMarkerName = "skillrun-integrity"

// integrityReport is the marker's content.
type integrityReport struct {
	Source string `json:"source"`
	Path   string `json:"path"`
	Want   string `json:"want"`
	Got    string `json:"got,omitempty"`
	Reason string `json:"reason"`
}

func (s *state) integrityMarker() string {
	return filepath.Join(s.ctRoot, s.id, integrityMarkerName)
}

// integrityFailure returns the ErrIntegrity error the hook recorded for this run, or nil.
func (s *state) integrityFailure() error {
	b, err := os.ReadFile(s.integrityMarker())
	if err != nil {
		return nil
	}
	var r integrityReport
	if json.Unmarshal(b, &r) != nil {
		return fmt.Errorf("%w: a verified folder did not match its digest", ErrIntegrity)
	}
	where := r.Source
	if r.Path != r.Source {
		where += " (shown at " + r.Path + ")"
	}
	return fmt.Errorf("%w: %s: %s", ErrIntegrity, where, r.Reason)
}

// snapshots copies, verifies and attaches every verified folder. A mismatch is recorded in the
// integrity marker before the hook fails, so Run can tell it from any other failure.
func snapshots(spec coverSpec) error {
	unix.Umask(0) // the copy's modes are exactly 0644, 0755 and 0755 for directories
	rootfs, err := unix.Open(spec.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", spec.Rootfs, err)
	}
	defer unix.Close(rootfs)
	for _, s := range spec.Snapshots {
		err := takeSnapshot(rootfs, s)
		var ie *integrityError
		if errors.As(err, &ie) && spec.Integrity != "" {
			if werr := writeIntegrityMarker(spec.Integrity, ie.report); werr != nil {
				return fmt.Errorf("%v (and recording it: %v)", err, werr)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// snapshotMount checks a verified mount and returns the placeholder libcontainer mounts at its
// path and what the hook copies there. The source itself is only opened by the hook.
func snapshotMount(m policy.Mount) (*configs.Mount, snapshotSpec, error) {
	src := m.Path
	if m.Source != "" {
		src = m.Source
	}
	switch {
	case m.Access != policy.ReadOnly:
		return nil, snapshotSpec{}, fmt.Errorf("%w: %s (%s): a verified folder (digest %s) can only be mounted read-only, not %q",
			ErrSetup, m.Path, m.Origin, m.Digest, m.Access)
	case !strings.HasPrefix(m.Digest, "sha256:"):
		return nil, snapshotSpec{}, fmt.Errorf("%w: %s (%s): digest %q is not sha256:<hex>", ErrSetup, m.Path, m.Origin, m.Digest)
	case !filepath.IsAbs(src) || filepath.Clean(src) != src:
		return nil, snapshotSpec{}, fmt.Errorf("%w: %s (%s): source %q is not a clean absolute path", ErrSetup, m.Path, m.Origin, src)
	}
	placeholder := &configs.Mount{
		Source: "tmpfs", Destination: m.Path, Device: "tmpfs",
		Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC,
		Data:  "mode=0555,size=4k",
	}
	return placeholder, snapshotSpec{Source: src, Path: m.Path, Digest: m.Digest, Exec: m.Exec}, nil
}

// CheckRealPath fails when p does not exist or a symlink lies anywhere on it. A mount's Source
// is its real path, so a symlink there appeared after the plan was made, and following it could
// show anything on the host. (libcontainer binds by path, so a swap between this check and its
// mount is not excluded, the same window as for the plan's other binds.)
func CheckRealPath(p string) error {
	fd, err := unix.Openat2(unix.AT_FDCWD, p, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		if err == unix.ELOOP {
			return fmt.Errorf("%s is no longer a real path: a symlink lies on the way", p)
		}
		return &fs.PathError{Op: "open", Path: p, Err: err}
	}
	unix.Close(fd)
	return nil
}

// integrityError is a folder that is not what was verified.
type integrityError struct{ report integrityReport }

func (e *integrityError) Error() string {
	return fmt.Sprintf("%s changed after it was verified: %s", e.report.Source, e.report.Reason)
}

// copyError is a failure to write the copy, which says nothing about the folder.
type copyError struct{ err error }

func (e *copyError) Error() string { return "writing the copy: " + e.err.Error() }
func (e *copyError) Unwrap() error { return e.err }

// takeSnapshot copies, verifies and attaches one folder. It runs in the hook, in the container's
// mount namespace before pivot_root: host paths are as on the host, rootfs is the new root.
func takeSnapshot(rootfs int, s snapshotSpec) error {
	fail := func(got, reason string) error {
		return &integrityError{integrityReport{Source: s.Source, Path: s.Path, Want: s.Digest, Got: got, Reason: reason}}
	}
	// The source is the real folder: no symlink anywhere on it, or it was replaced.
	src, err := unix.Openat2(unix.AT_FDCWD, s.Source, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	switch {
	case err == unix.ENOENT:
		return fail("", "the folder is gone")
	case err == unix.ELOOP || err == unix.ENOTDIR:
		return fail("", "the folder was replaced (a symlink or a file is on its path now)")
	case err != nil:
		return fmt.Errorf("opening %s: %w", s.Source, err)
	}
	defer unix.Close(src)

	fsfd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fsopen tmpfs: %w", err)
	}
	err = unix.FsconfigSetString(fsfd, "mode", "0755")
	if err == nil {
		err = unix.FsconfigCreate(fsfd)
	}
	if err != nil {
		unix.Close(fsfd)
		return fmt.Errorf("creating a tmpfs: %w", err)
	}
	attrs := unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV
	if !s.Exec {
		attrs |= unix.MOUNT_ATTR_NOEXEC
	}
	mnt, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
	unix.Close(fsfd)
	if err != nil {
		return fmt.Errorf("fsmount: %w", err)
	}
	// Until move_mount, the tmpfs is reachable only through mnt: on any failure it is dropped
	// with the descriptor, unseen.
	defer unix.Close(mnt)

	w := &snapshotWriter{root: mnt, dirs: map[string]bool{}}
	listing, err := trust.Hash(fdFS{src}, trust.Options{Visit: w.visit})
	if err != nil {
		var ce *copyError
		if errors.As(err, &ce) || !folderChanged(err) {
			return fmt.Errorf("copying %s: %w", s.Source, err)
		}
		return fail("", err.Error())
	}
	if got := listing.Digest(); got != s.Digest {
		return fail(got, fmt.Sprintf("its content hashes to %s, not to the approved %s", got, s.Digest))
	}
	if err := unix.MountSetattr(mnt, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
		return fmt.Errorf("making the copy of %s read-only: %w", s.Source, err)
	}
	// The path is resolved the way libcontainer resolved it for the placeholder: inside the
	// new root, so no symlink can lead out of it.
	dst, err := unix.Openat2(rootfs, s.Path, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return fmt.Errorf("opening the mount point %s: %w", s.Path, err)
	}
	err = unix.MoveMount(mnt, "", dst, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	unix.Close(dst)
	if err != nil {
		return fmt.Errorf("move_mount onto %s: %w", s.Path, err)
	}
	return nil
}

// VerifyFolders hashes every verified folder of the plan where it lies and refuses the run when
// one no longer matches its approved digest: for a run without a mount namespace (package
// degraded), which runs the command from the live folder rather than from a snapshot. A change
// between this check and the run is the one race such a run cannot close.
func VerifyFolders(plan *policy.Plan) error {
	for _, m := range plan.Mounts {
		if m.Digest == "" {
			continue
		}
		src := m.Path
		if m.Source != "" {
			src = m.Source
		}
		if err := CheckRealPath(src); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrIntegrity, src, err)
		}
		root, err := os.OpenRoot(src)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrIntegrity, src, err)
		}
		l, err := trust.Hash(root.FS(), trust.Options{})
		root.Close()
		switch {
		case err != nil && folderChanged(err):
			return fmt.Errorf("%w: %s: %v", ErrIntegrity, src, err)
		case err != nil:
			return fmt.Errorf("%w: hashing %s: %v", ErrSetup, src, err)
		case l.Digest() != m.Digest:
			return fmt.Errorf("%w: %s: its content hashes to %s, not to the approved %s", ErrIntegrity, src, l.Digest(), m.Digest)
		}
	}
	return nil
}

// folderChanged says whether a Hash error means the folder is not what was verified: it passed
// the same checks then, so an unsafe or oversized entry, or one that vanished or was replaced by a
// symlink while being read, is a change. Anything else (EACCES, EIO) is an ordinary failure.
func folderChanged(err error) bool {
	return errors.Is(err, trust.ErrUnsafeEntry) || errors.Is(err, trust.ErrTooLarge) ||
		errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR)
}

// writeIntegrityMarker records a failed verification for Run.
func writeIntegrityMarker(name string, r integrityReport) error {
	b, _ := json.Marshal(r)
	fd, err := unix.Open(name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return writeAll(fd, b)
}

// snapshotWriter writes the entries Hash visits into the tmpfs: one mkdirat per directory, one
// openat/write/close per file, one symlinkat per link.
type snapshotWriter struct {
	root int
	dirs map[string]bool
}

func (w *snapshotWriter) visit(e trust.Entry, data []byte) error {
	if err := w.mkdirs(path.Dir(e.Path)); err != nil {
		return &copyError{err}
	}
	var err error
	switch e.Type {
	case trust.Symlink:
		err = unix.Symlinkat(string(data), w.root, e.Path)
	case trust.File, trust.Exec:
		mode := uint32(0o644)
		if e.Type == trust.Exec {
			mode = 0o755
		}
		var fd int
		fd, err = unix.Openat(w.root, e.Path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
		if err == nil {
			err = writeAll(fd, data)
			if cerr := unix.Close(fd); err == nil {
				err = cerr
			}
		}
	default:
		err = fmt.Errorf("unknown entry type %q", e.Type)
	}
	if err != nil {
		return &copyError{fmt.Errorf("%s: %w", e.Path, err)}
	}
	return nil
}

func (w *snapshotWriter) mkdirs(dir string) error {
	if dir == "." || w.dirs[dir] {
		return nil
	}
	if err := w.mkdirs(path.Dir(dir)); err != nil {
		return err
	}
	if err := unix.Mkdirat(w.root, dir, 0o755); err != nil {
		return fmt.Errorf("mkdir %s: %w", dir, err)
	}
	w.dirs[dir] = true
	return nil
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// fdFS reads a folder through a descriptor, never following a symlink anywhere: every name is
// resolved by openat2 beneath the folder with RESOLVE_NO_SYMLINKS, so an entry swapped for a
// symlink while the hook (root, seeing the whole host) reads it fails instead of leading out.
// Files are opened O_NONBLOCK, so one swapped for a FIFO cannot stall the hook either.
type fdFS struct{ root int }

const beneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

func (f fdFS) open(op, name string, flags uint64) (int, error) {
	if !fs.ValidPath(name) {
		return -1, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	for {
		fd, err := unix.Openat2(f.root, name, &unix.OpenHow{
			Flags: flags | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: beneath,
		})
		if err == unix.EINTR || err == unix.EAGAIN { // EAGAIN: a concurrent rename, retry
			continue
		}
		if err != nil {
			return -1, &fs.PathError{Op: op, Path: name, Err: err}
		}
		return fd, nil
	}
}

// Open opens a file for reading.
func (f fdFS) Open(name string) (fs.File, error) {
	fd, err := f.open("open", name, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return nil, err
	}
	return &fdFile{fd: fd, name: name}, nil
}

// ReadDir lists a directory, sorted by name.
func (f fdFS) ReadDir(name string) ([]fs.DirEntry, error) {
	fd, err := f.open("readdir", name, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	d := os.NewFile(uintptr(fd), name)
	defer d.Close()
	ents, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	return ents, nil
}

// Lstat describes name without following it.
func (f fdFS) Lstat(name string) (fs.FileInfo, error) {
	fd, err := f.open("lstat", name, unix.O_PATH)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	info := &statInfo{name: name}
	if err := unix.Fstat(fd, &info.st); err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: err}
	}
	return info, nil
}

// ReadLink returns a symlink's target.
func (f fdFS) ReadLink(name string) (string, error) {
	fd, err := f.open("readlink", name, unix.O_PATH)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(fd, "", buf)
		if err != nil {
			return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// fdFile is an open regular file: read, fstat, close, and nothing else.
type fdFile struct {
	fd   int
	name string
}

func (f *fdFile) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		n, err := unix.Read(f.fd, b)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, &fs.PathError{Op: "read", Path: f.name, Err: err}
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *fdFile) Stat() (fs.FileInfo, error) {
	info := &statInfo{name: f.name}
	if err := unix.Fstat(f.fd, &info.st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: f.name, Err: err}
	}
	return info, nil
}

func (f *fdFile) Close() error { return unix.Close(f.fd) }

type statInfo struct {
	name string
	st   unix.Stat_t
}

func (i *statInfo) Name() string       { return path.Base(i.name) }
func (i *statInfo) Size() int64        { return i.st.Size }
func (i *statInfo) ModTime() time.Time { return time.Unix(i.st.Mtim.Unix()) }
func (i *statInfo) IsDir() bool        { return i.Mode().IsDir() }
func (i *statInfo) Sys() any           { return &i.st }

func (i *statInfo) Mode() fs.FileMode {
	m := fs.FileMode(i.st.Mode & 0o777)
	switch i.st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	}
	if i.st.Mode&unix.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if i.st.Mode&unix.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if i.st.Mode&unix.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}
