package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
)

// StagePath is where the skillrun binary appears, read-only, inside every sandbox.
const StagePath = "/.skillrun/skillrun"

// procMasks and procReadonly keep the kernel's knobs out of reach, as container runtimes do.
var (
	procMasks = []string{"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats"}
	procReadonly = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// mountFlags every bind gets: nothing inside may gain privileges from a file or reach a device
// through a workspace.
const bindFlags = unix.MS_BIND | unix.MS_REC | unix.MS_NOSUID | unix.MS_NODEV

// buildConfig translates the plan into libcontainer's configuration. exe is the host path of the
// skillrun binary that runs as the stage.
func buildConfig(plan *policy.Plan, st *state, exe string, rootless bool) (*configs.Config, []pin, error) {
	tmpfsOwner := "uid=0,gid=0"
	if !rootless {
		tmpfsOwner = fmt.Sprintf("uid=%d,gid=%d", plan.User.UID, plan.User.GID)
	}
	cfg := &configs.Config{
		Rootfs:            st.rootfs,
		Readonlyfs:        true,
		ParentDeathSignal: int(unix.SIGKILL),
		NoNewPrivileges:   true,
		Capabilities:      &configs.Capabilities{},
		Namespaces: configs.Namespaces{
			{Type: configs.NEWNS}, {Type: configs.NEWUTS}, {Type: configs.NEWIPC},
			{Type: configs.NEWPID}, {Type: configs.NEWNET},
		},
		Networks:      []*configs.Network{{Type: "loopback", Address: "127.0.0.1/0", Gateway: "localhost"}},
		Devices:       specconv.AllowedDevices,
		MaskPaths:     append([]string{}, procMasks...),
		ReadonlyPaths: append([]string{}, procReadonly...),
		// No device rules: the devices cgroup would guard device nodes that no sandbox can reach.
		// Every bind and tmpfs is nodev, /dev holds only the few nodes listed in Devices, and no
		// capability (CAP_MKNOD) is left to make another (TestEscapeDeviceNodes). The limits that
		// do need a cgroup are placed by newContainer (cgroup.go).
		Cgroups: &cgroups.Cgroup{
			Name:      st.id,
			Parent:    "skillrun",
			Resources: &cgroups.Resources{},
			Rootless:  rootless,
		},
		RootlessEUID:    rootless,
		RootlessCgroups: rootless,
	}
	if err := applyLimits(cfg, plan.Limits, rootless); err != nil {
		return nil, nil, err
	}
	if rootless {
		cfg.Namespaces = append(cfg.Namespaces, configs.Namespace{Type: configs.NEWUSER})
		// runc's init must be uid 0 in its namespace; the stage maps the caller back to itself
		// in a nested namespace before the command starts.
		cfg.UIDMappings = []configs.IDMap{{ContainerID: 0, HostID: int64(os.Geteuid()), Size: 1}}
		cfg.GIDMappings = []configs.IDMap{{ContainerID: 0, HostID: int64(os.Getegid()), Size: 1}}
	}
	ptsData := "newinstance,ptmxmode=0666,mode=0620"
	if !rootless {
		ptsData += ",gid=5"
	}
	cfg.Mounts = []*configs.Mount{
		{Source: "proc", Destination: "/proc", Device: "proc", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{Source: "tmpfs", Destination: "/dev", Device: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"},
		{Source: "devpts", Destination: "/dev/pts", Device: "devpts", Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Data: ptsData},
		{Source: "shm", Destination: "/dev/shm", Device: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, Data: "mode=1777,size=65536k"},
		// The IPC namespace's POSIX message queues: mounted so the Landlock ruleset can name the
		// file system mq_open uses (a rule on its root covers the namespace's internal mount).
		{Source: "mqueue", Destination: "/dev/mqueue", Device: "mqueue", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
	}
	var snaps []snapshotSpec
	var pins []pin
	var late []*configs.Mount
	for _, m := range plan.Mounts {
		if m.Digest != "" {
			placeholder, snap, err := snapshotMount(m)
			if err != nil {
				return nil, nil, err
			}
			cfg.Mounts = append(cfg.Mounts, placeholder)
			snaps = append(snaps, snap)
			continue
		}
		p, err := noLinkBelowUserRoot(plan, m)
		if err != nil {
			return nil, nil, err
		}
		if p != nil {
			pins = append(pins, *p)
		}
		mounts, err := planMount(m, st, tmpfsOwner)
		if err != nil {
			return nil, nil, err
		}
		if insideProtected(plan, m.Path) {
			// A grant inside a protected folder (an unapproved skill in .agents/skills) goes on
			// top of the folder's read-only re-bind, or the re-bind would hide it.
			late = append(late, mounts...)
			continue
		}
		cfg.Mounts = append(cfg.Mounts, mounts...)
	}
	protected, covers, targets := protectMounts(plan)
	st.guard = targets
	cfg.Mounts = append(cfg.Mounts, protected...)
	cfg.Mounts = append(cfg.Mounts, late...)
	// The hook costs a process start per run: only when there is something for it to do.
	if len(covers) > 0 || len(snaps) > 0 {
		hook, err := coverHook(st, exe, covers, snaps)
		if err != nil {
			return nil, nil, err
		}
		cfg.Hooks = configs.Hooks{configs.CreateContainer: configs.HookList{hook}}
	}
	cfg.Mounts = append(cfg.Mounts, &configs.Mount{
		Source: exe, Destination: StagePath, Device: "bind",
		Flags:   bindFlags | unix.MS_RDONLY,
		RecAttr: &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY},
	})
	// maskwatch.go: masks the run can watch for reads come last, on top of every grant.
	masks, rest, err := maskMounts(plan, st)
	if err != nil {
		return nil, nil, err
	}
	cfg.Mounts = append(cfg.Mounts, masks...)
	cfg.MaskPaths = append(cfg.MaskPaths, rest...)
	return cfg, pins, nil
}

// noLinkBelowUserRoot refuses a bind whose path passes through a symlink inside the home or the
// workspace: those trees are writable by sandboxes, and a bind follows links, so a link planted by
// one run (`ln -s ~/.ssh build`) would hand the next run whatever it points at, outside the floor's
// masks, which match paths. Links above those roots (a /home on another disk) are the system's.
//
// It returns the identity of what it checked: the stage compares it with what the bind shows, so a
// link swapped in between the check and the bind stops the run instead of being followed.
func noLinkBelowUserRoot(plan *policy.Plan, m policy.Mount) (*pin, error) {
	if m.Access == policy.Tmpfs || m.Source != "" {
		return nil, nil // a tmpfs binds nothing; a Source bind is checked whole
	}
	root := ""
	for _, r := range []string{plan.Workspace, plan.Home} {
		if r != "" && m.Path != r && strings.HasPrefix(m.Path, r+"/") && len(r) > len(root) {
			root = r
		}
	}
	if root == "" {
		return nil, nil
	}
	dir, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil // a missing root: the bind itself reports it
	}
	defer unix.Close(dir)
	fd, err := unix.Openat2(dir, strings.TrimPrefix(m.Path, root+"/"), &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC, // RESOLVE_NO_SYMLINKS refuses a final link too
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	})
	switch {
	case err == nil:
		defer unix.Close(fd)
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrSetup, m.Path, err)
		}
		return &pin{Path: m.Path, Dev: st.Dev, Ino: st.Ino}, nil
	case err == unix.ELOOP:
		return nil, fmt.Errorf("%w: %s (%s) passes through a symlink inside %s; a grant never follows links there: grant the real path", ErrLinkedGrant, m.Path, m.Origin, root)
	default:
		return nil, nil // missing (optional) paths are handled by planMount
	}
}

// pin is the identity a bind's source had when it was checked; the stage checks the mount shows
// the same file (stage.c: check_pins).
type pin struct {
	Path string `json:"path"`
	Dev  uint64 `json:"dev"`
	Ino  uint64 `json:"ino"`
}

// planMount translates one plan mount. A system path that is a symlink (/bin -> usr/bin on
// merged-/usr systems) becomes the same symlink in the root instead of a second bind.
func planMount(m policy.Mount, st *state, tmpfsOwner string) ([]*configs.Mount, error) {
	if m.Access == policy.Tmpfs {
		mode := "0700"
		if m.Path == policy.SandboxTmp {
			mode = "1777"
		}
		flags := unix.MS_NOSUID | unix.MS_NODEV
		if !m.Exec {
			flags |= unix.MS_NOEXEC
		}
		return []*configs.Mount{{
			Source: "tmpfs", Destination: m.Path, Device: "tmpfs",
			Flags: flags,
			Data:  "mode=" + mode + "," + tmpfsOwner,
		}}, nil
	}
	src := m.Path
	if m.Source != "" {
		// The real folder shown at Path: it must still have no symlink anywhere on it.
		src = m.Source
		if err := CheckRealPath(src); err != nil {
			if errors.Is(err, os.ErrNotExist) && m.Optional {
				return nil, nil
			}
			return nil, fmt.Errorf("%w: %s (%s): source: %v", ErrSetup, m.Path, m.Origin, err)
		}
	}
	fi, err := os.Lstat(src)
	switch {
	case errors.Is(err, os.ErrNotExist) && m.Optional:
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%w: %s (%s): %v", ErrSetup, m.Path, m.Origin, err)
	case m.Source == "" && fi.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(m.Path)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSetup, err)
		}
		if m.Optional && !filepath.IsAbs(target) && filepath.Dir(m.Path) == "/" {
			if err := os.Symlink(target, filepath.Join(st.rootfs, m.Path)); err != nil && !errors.Is(err, os.ErrExist) {
				return nil, fmt.Errorf("%w: %v", ErrSetup, err)
			}
			return nil, nil
		}
	}
	flags := bindFlags
	if !m.Exec {
		flags |= unix.MS_NOEXEC
	}
	mnt := &configs.Mount{Source: src, Destination: m.Path, Device: "bind", Flags: flags}
	if m.Access == policy.ReadOnly {
		mnt.Flags |= unix.MS_RDONLY
		// MS_RDONLY on a recursive bind only covers the top mount; the attribute covers the
		// mounts below it too.
		mnt.RecAttr = &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	}
	return []*configs.Mount{mnt}, nil
}

// protectMounts re-binds the plan's existing protected paths read-only. Each is made a mount
// point, so it cannot be renamed, removed or replaced from inside; so are the directories between
// the writable mount and it (a renamed .git would carry its read-only hooks away). A symlink on
// the way (the protected path itself, or a directory above it) is never followed on the host,
// where it could point at a secret: it is returned in covers, and the cover hook mounts an empty
// read-only file over the link itself. A protected path that does not exist is returned as a
// target for the creation guard (createguard.go): nothing is made on the host for it. A line whose
// last element is a glob protects each existing match, and is a target for new matching names.
func protectMounts(plan *policy.Plan) (mounts []*configs.Mount, covers []string, targets []guardTarget) {
	pinned := map[string]bool{}
	covered := map[string]bool{}
	roots := writableRoots(plan)
	// way looks at the path from root to p: the folders on it, and whether it is whole (p
	// exists), broken (p or a folder on the way is missing, or a file) or through a symlink,
	// which is then covered.
	way := func(root, p string) (pins []string, exists, link bool) {
		for _, c := range append(ancestorsBelow(root, p), p) {
			fi, err := os.Lstat(c)
			switch {
			case err != nil:
				return nil, false, false
			case fi.Mode()&os.ModeSymlink != 0:
				if !covered[c] {
					covered[c] = true
					covers = append(covers, c)
				}
				return nil, false, true
			case c != p && !fi.IsDir():
				return nil, false, false // a file that may give way to a folder: guarded
			case c != p:
				pins = append(pins, c)
			}
		}
		return pins, true, false
	}
	for _, entry := range plan.Protect {
		paths := []string{entry}
		glob := strings.ContainsAny(filepath.Base(entry), "*?[")
		if glob {
			paths, _ = filepath.Glob(entry)
			dir := filepath.Dir(entry)
			root := innermost(roots, filepath.Join(dir, "x"))
			if root == "" {
				continue
			}
			if _, _, link := way(root, dir); link && dir != root {
				continue
			}
			var elems []string
			if dir != root {
				elems = strings.Split(dir[len(root)+1:], "/")
			}
			keep := []string{}
			for _, p := range paths {
				keep = append(keep, filepath.Base(p))
			}
			targets = append(targets, guardTarget{Entry: entry, Root: root, Elems: append(elems, filepath.Base(entry)), Glob: true, Keep: keep})
		}
		for _, p := range paths {
			root := innermost(roots, p)
			if root == "" || p == root {
				continue
			}
			pins, exists, link := way(root, p)
			if link {
				continue
			}
			if !exists {
				if !glob {
					targets = append(targets, guardTarget{Entry: entry, Root: root, Elems: strings.Split(p[len(root)+1:], "/")})
				}
				continue
			}
			for _, d := range pins {
				if !pinned[d] {
					pinned[d] = true
					mounts = append(mounts, &configs.Mount{Source: d, Destination: d, Device: "bind", Flags: bindFlags})
				}
			}
			// Read-only, and executable where the writable mount around it is: a protected path
			// holds the developer's own files (a repository's pre-commit hook, ~/.local/bin), which
			// a command may run but never change.
			flags := bindFlags | unix.MS_RDONLY
			if !execRoot(plan, root) {
				flags |= unix.MS_NOEXEC
			}
			mounts = append(mounts, &configs.Mount{
				Source: p, Destination: p, Device: "bind",
				Flags:   flags,
				RecAttr: &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY},
			})
			pinned[p] = true
		}
	}
	return mounts, covers, targets
}

func writableRoots(plan *policy.Plan) []string {
	var roots []string
	for _, m := range plan.Mounts {
		if m.Access == policy.ReadWrite {
			roots = append(roots, m.Path)
		}
	}
	return roots
}

// execRoot reports whether the writable mount at root allows running programs.
func execRoot(plan *policy.Plan, root string) bool {
	for _, m := range plan.Mounts {
		if m.Path == root && m.Access == policy.ReadWrite {
			return m.Exec
		}
	}
	return false
}

func innermost(roots []string, p string) string {
	best := ""
	for _, r := range roots {
		if (p == r || strings.HasPrefix(p, r+"/")) && len(r) > len(best) {
			best = r
		}
	}
	return best
}

// ancestorsBelow lists the directories strictly between root and p, outermost first.
func ancestorsBelow(root, p string) []string {
	var out []string
	for d := filepath.Dir(p); d != root && strings.HasPrefix(d, root+"/"); d = filepath.Dir(d) {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) < len(out[j]) })
	return out
}

// insideProtected reports whether p lies strictly inside one of the plan's protected paths.
func insideProtected(plan *policy.Plan, p string) bool {
	for _, pr := range plan.Protect {
		if strings.HasPrefix(p, pr+"/") {
			return true
		}
		if base := filepath.Base(pr); strings.ContainsAny(base, "*?[") && strings.HasPrefix(p, filepath.Dir(pr)+"/") {
			elem, _, _ := strings.Cut(p[len(filepath.Dir(pr))+1:], "/")
			if ok, _ := filepath.Match(base, elem); ok && elem != p[len(filepath.Dir(pr))+1:] {
				return true
			}
		}
	}
	return false
}
