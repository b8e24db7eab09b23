package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/sandbox/landlock"
)

// ProbeArg makes the skillrun binary exit 0 at once; doctor starts it in a new user namespace to
// learn whether this user may create one.
const ProbeArg = "__probe"

// Facts is what this kernel and user can enforce, as `skillrun doctor` reports it.
type Facts struct {
	Kernel       string `json:"kernel"`
	Root         bool   `json:"root"`
	UID          int    `json:"uid"`
	LandlockABI  int    `json:"landlock_abi"`
	Landlock     string `json:"landlock"`
	Seccomp      bool   `json:"seccomp"`
	SeccompNotif bool   `json:"seccomp_user_notification"`
	SeccompNote  string `json:"seccomp_note,omitempty"`
	// MaskWatch says reads of masked files are reported (fanotify, see MaskedRead).
	MaskWatch     bool   `json:"masked_reads_reported"`
	MaskWatchNote string `json:"masked_reads_note,omitempty"`
	// CreateWatch says missing protected paths can be held (createguard.go); without it a run
	// that has any fails closed.
	CreateWatch     bool     `json:"missing_protected_held"`
	CreateWatchNote string   `json:"missing_protected_note,omitempty"`
	UserNS          bool     `json:"user_namespaces"`
	UserNSNote      string   `json:"user_namespaces_note,omitempty"`
	Cgroup          string   `json:"cgroup"`
	CgroupNote      string   `json:"cgroup_note,omitempty"`
	StateRoot       string   `json:"state_root"`
	Enforced        []string `json:"enforced"`
	NotEnforced     []string `json:"not_enforced"`
	Ready           bool     `json:"ready"`
	Problem         string   `json:"problem,omitempty"`
}

// Probe gathers the facts. It starts one short-lived process to test user namespaces.
func Probe() Facts {
	f := Facts{Root: os.Geteuid() == 0, UID: os.Geteuid(), StateRoot: StateRoot()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		f.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	f.LandlockABI, f.Landlock = landlockABI()
	f.Seccomp, f.SeccompNotif, f.SeccompNote = seccompSupport()
	f.MaskWatchNote = maskWatchSupport()
	f.MaskWatch = f.MaskWatchNote == ""
	f.CreateWatchNote = createWatchSupport()
	f.CreateWatch = f.CreateWatchNote == ""
	f.UserNSNote = ProbeUserNamespace()
	f.UserNS = f.UserNSNote == ""
	f.Cgroup, f.CgroupNote = cgroupSupport(f.Root)

	f.Enforced = []string{"mount namespace (constructed root, system read-only)", "pid namespace",
		"ipc namespace", "uts namespace", "network namespace (loopback only)",
		"all capabilities dropped", "no_new_privs", "environment built from scratch"}
	if !f.Root {
		f.Enforced = append(f.Enforced, "user namespace (caller mapped to itself)")
	}
	f.Enforced = append(f.Enforced, "network egress only through skillrun's proxy, only to the plan's hosts (HTTP, CONNECT, SOCKS5)")
	f.NotEnforced = []string{}
	if f.LandlockABI > 0 {
		abi := min(f.LandlockABI, landlock.MaxABI)
		f.Enforced = append(f.Enforced, "landlock ABI "+strconv.Itoa(abi)+": "+landlockCovers(abi))
		if abi < 6 {
			f.NotEnforced = append(f.NotEnforced, "landlock scopes for signals and abstract unix sockets (ABI 6; the pid and network namespaces cover them)")
		}
	}
	if f.Seccomp {
		f.Enforced = append(f.Enforced, "seccomp allowlist (Docker's default, minus namespaces, mounts, ptrace, bpf, keyrings, io_uring; native architecture only; socket families by plan)")
	}
	if f.Root {
		f.Enforced = append(f.Enforced, "limits: memory and processes by cgroup ("+f.Cgroup+"); cpu time, file size, open files by rlimit; wall-clock timeout")
	} else {
		f.Enforced = append(f.Enforced, "limits: memory (per process, RLIMIT_DATA), processes (RLIMIT_NPROC in the sandbox's user namespace), cpu time, file size, open files by rlimit; wall-clock timeout")
	}
	switch {
	case f.LandlockABI == 0:
		f.Problem = "Landlock is unavailable: " + f.Landlock
	case !f.Seccomp:
		f.Problem = "seccomp is unavailable: " + f.SeccompNote
	case !f.Root && !f.UserNS:
		f.Problem = "user namespaces are unavailable to this user: " + f.UserNSNote
	case !f.CreateWatch:
		f.Problem = "missing protected paths cannot be watched: " + f.CreateWatchNote
	default:
		f.Ready = true
	}
	return f
}

// landlockCovers says what a Landlock ABI adds to the plan's paths.
func landlockCovers(abi int) string {
	s := "read, write and execute by path"
	if abi >= 2 {
		s += ", renames and links"
	}
	if abi >= 3 {
		s += ", truncation"
	}
	if abi >= 4 {
		s += ", TCP bind and connect (degraded mode; in its own network namespace a command keeps its loopback)"
	}
	if abi >= 5 {
		s += ", device ioctls"
	}
	if abi >= 6 {
		s += ", signals and abstract unix sockets scoped to the sandbox"
	}
	return s
}

func landlockABI() (int, string) {
	abi, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, 1 /* LANDLOCK_CREATE_RULESET_VERSION */)
	switch {
	case errno == 0:
		return int(abi), "available"
	case errno == unix.ENOSYS:
		return 0, "not built into this kernel (CONFIG_SECURITY_LANDLOCK)"
	case errno == unix.EOPNOTSUPP:
		return 0, "built in but not enabled: add landlock to the lsm= boot parameter"
	default:
		return 0, "unavailable: " + errno.Error()
	}
}

func seccompSupport() (ok, notif bool, note string) {
	if _, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0); err != nil {
		return false, false, "not built into this kernel (CONFIG_SECCOMP)"
	}
	b, err := os.ReadFile("/proc/sys/kernel/seccomp/actions_avail")
	if err != nil {
		return true, false, "filter actions unknown: " + err.Error()
	}
	return true, strings.Contains(string(b), "user_notif"), ""
}

// userNamespaceSysctlProblem reads the knobs that forbid unprivileged user namespaces. It is cheap
// enough for every run; ProbeUserNamespace is the thorough test.
func userNamespaceSysctlProblem() string {
	read := func(p string) (int, bool) {
		b, err := os.ReadFile(p)
		if err != nil {
			return 0, false
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		return n, err == nil
	}
	if n, ok := read("/proc/sys/user/max_user_namespaces"); ok && n == 0 {
		return "the sysctl user.max_user_namespaces is 0"
	}
	if n, ok := read("/proc/sys/kernel/unprivileged_userns_clone"); ok && n == 0 {
		return "the sysctl kernel.unprivileged_userns_clone is 0"
	}
	if n, ok := read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"); ok && n == 1 {
		return "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1)"
	}
	return ""
}

// ProbeUserNamespace returns "" when this user can create a user namespace, else why not.
func ProbeUserNamespace() string {
	if reason := userNamespaceSysctlProblem(); reason != "" {
		return reason
	}
	exe, err := os.Executable()
	if err != nil {
		return "cannot find the skillrun binary to probe with: " + err.Error()
	}
	cmd := exec.Command(exe, ProbeArg)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWNET | unix.CLONE_NEWPID,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
	}
	err = cmd.Run()
	switch {
	case err == nil:
		return ""
	case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES):
		if inContainer() {
			return "creating one was refused (EPERM); this looks like a container whose seccomp profile or runtime forbids nested namespaces"
		}
		return "creating one was refused (EPERM) by a security module or sysctl"
	case errors.Is(err, unix.ENOSPC):
		return "the limit on user namespaces is reached (user.max_user_namespaces)"
	case errors.Is(err, unix.EINVAL):
		return "this kernel does not support user namespaces (CONFIG_USER_NS)"
	default:
		return "creating one failed: " + err.Error()
	}
}

func inContainer() bool {
	if _, err := os.Stat("/.dockerenv"); err == nil {
		return true
	}
	if _, err := os.Stat("/run/.containerenv"); err == nil {
		return true
	}
	b, _ := os.ReadFile("/proc/1/environ")
	return strings.Contains(string(b), "container=")
}

func cgroupSupport(root bool) (version, note string) {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		return "none", "/sys/fs/cgroup is not mounted"
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		version = "v2"
	} else if _, err := os.Stat("/sys/fs/cgroup/unified/cgroup.controllers"); err == nil {
		version = "v1 (hybrid, v2 at /sys/fs/cgroup/unified)"
	} else {
		version = "v1"
	}
	switch {
	case root:
		note = "usable (root)"
	case version == "v2" && unix.Access("/sys/fs/cgroup/user.slice", unix.W_OK) == nil:
		note = "delegated v2 subtree writable"
	default:
		note = "not delegated to this user: limits fall back to rlimits"
	}
	return version, note
}
