// Package landlock applies a plan's Landlock ruleset to the calling thread, which then executes
// the command: the kernel refuses every file access outside the plan's paths and, from ABI 6,
// signals and abstract unix sockets that leave the sandbox. TCP is left alone unless the ruleset
// says DenyTCP (degraded mode): in the sandbox's own network namespace a port reaches only the
// command's own loopback and the egress proxy, and Landlock's port rules cannot say "loopback".
//
// It talks to the kernel through go-landlock's syscall layer rather than its Config API: the
// stage reads the ABI itself and refuses to run below the plan's minimum (go-landlock's
// BestEffort enforces nothing at all when its probe fails), and it adds rules for the exact
// descriptors the command inherits as stdin, stdout and stderr, which have no path inside the
// sandbox.
//
//	abi, err := landlock.Apply(plan.Confine.Landlock, []int{0, 1, 2})
package landlock

import (
	"errors"
	"fmt"
	"os"

	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
)

// MaxABI is the newest Landlock ABI whose rights skillrun handles; newer kernels are used at
// this level.
const MaxABI = 7

// ErrUnsupported means the kernel's Landlock cannot enforce what the plan needs.
var ErrUnsupported = errors.New("landlock cannot enforce the plan")

// ABI returns the kernel's Landlock ABI version, 0 when Landlock is off, with the reason.
func ABI() (int, error) {
	v, err := ll.LandlockGetABIVersion()
	switch {
	case err == nil:
		return v, nil
	case errors.Is(err, unix.ENOSYS):
		return 0, errors.New("the kernel was built without Landlock")
	case errors.Is(err, unix.EOPNOTSUPP):
		return 0, errors.New("landlock is built in but not enabled (add landlock to the lsm= boot parameter)")
	default:
		return 0, err
	}
}

// Rights of each ABI: what a ruleset handles (denies unless a rule allows it).
const (
	fsV1 = ll.AccessFSExecute | ll.AccessFSWriteFile | ll.AccessFSReadFile | ll.AccessFSReadDir |
		ll.AccessFSRemoveDir | ll.AccessFSRemoveFile | ll.AccessFSMakeChar | ll.AccessFSMakeDir |
		ll.AccessFSMakeReg | ll.AccessFSMakeSock | ll.AccessFSMakeFifo | ll.AccessFSMakeBlock |
		ll.AccessFSMakeSym
	fileOnly = ll.AccessFSExecute | ll.AccessFSWriteFile | ll.AccessFSReadFile | ll.AccessFSTruncate |
		ll.AccessFSIoctlDev
)

func handledFS(abi int) uint64 {
	h := uint64(fsV1)
	if abi >= 2 {
		h |= ll.AccessFSRefer
	}
	if abi >= 3 {
		h |= ll.AccessFSTruncate
	}
	if abi >= 5 {
		h |= ll.AccessFSIoctlDev
	}
	return h
}

// rightsOf turns a plan rule's rights into Landlock access bits. Creating device nodes is never
// granted: it needs CAP_MKNOD, which no sandbox has.
func rightsOf(rights []string) (uint64, error) {
	var a uint64
	for _, r := range rights {
		switch r {
		case policy.RightRead:
			a |= ll.AccessFSReadFile | ll.AccessFSReadDir
		case policy.RightList:
			a |= ll.AccessFSReadDir
		case policy.RightWrite:
			a |= ll.AccessFSWriteFile | ll.AccessFSRemoveDir | ll.AccessFSRemoveFile | ll.AccessFSMakeDir |
				ll.AccessFSMakeReg | ll.AccessFSMakeSock | ll.AccessFSMakeFifo | ll.AccessFSMakeSym |
				ll.AccessFSRefer | ll.AccessFSTruncate
		case policy.RightExec:
			a |= ll.AccessFSExecute
		case policy.RightIoctl:
			a |= ll.AccessFSIoctlDev
		default:
			return 0, fmt.Errorf("%w: unknown right %q", ErrUnsupported, r)
		}
	}
	return a, nil
}

// Apply restricts the calling thread (and whatever it executes) to the ruleset and returns the
// ABI it enforced. The caller must have set no_new_privs, must hold the thread
// (runtime.LockOSThread) and must not have opened descriptors the command could use to get
// around it: Landlock does not restrict descriptors opened before.
//
// stdio lists inherited descriptors the command may re-open through /proc/self/fd (the
// /dev/stdout idiom): each gets the file rights its open mode already gives.
func Apply(rs policy.Landlock, stdio []int) (int, error) {
	return apply(rs, stdio, false)
}

// ApplyReal is Apply for a ruleset of real host paths (degraded mode, where no mount namespace
// gives the sandbox a view of its own): each path is opened without following any symlink, so a
// path that was swapped for a symlink since the ruleset was computed fails the run instead of
// granting whatever the link points to.
func ApplyReal(rs policy.Landlock, stdio []int) (int, error) {
	return apply(rs, stdio, true)
}

// Ruleset is a plan's ruleset compiled for this kernel's ABI: the access bits the kernel handles,
// and each path's bits already masked by them. Apply enforces it in Go; the in-sandbox stage
// (sandbox/stage), which runs before any Go runtime, receives it from the host as plain numbers
// and enforces it with the same few syscalls, so both read their rights from this one place.
type Ruleset struct {
	// MinABI is the plan's minimum; ABI is the kernel's (at most MaxABI), for which the masks
	// below were computed. The stage re-reads the kernel's ABI and refuses to run below either.
	MinABI, ABI int
	// HandledFS, HandledNet and Scoped are landlock_ruleset_attr's fields.
	HandledFS, HandledNet, Scoped uint64
	// FileOnly are the rights a rule on a file (not a directory) may hold: the kernel refuses
	// directory rights there.
	FileOnly uint64
	// StdioRead, StdioWrite and StdioDevice are the rights a rule on an inherited stdio
	// descriptor gets: by its open mode, plus device ioctls for a character device (addStdio).
	StdioRead, StdioWrite, StdioDevice uint64
	Rules                              []Rule
}

// Rule is one path's rights, masked by what the ruleset handles.
type Rule struct {
	Path     string
	Access   uint64
	Optional bool
}

// Compile computes the ruleset for this kernel, failing closed below the plan's MinABI.
func Compile(rs policy.Landlock) (*Ruleset, error) {
	abi, err := ABI()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	return compileFor(rs, abi)
}

func compileFor(rs policy.Landlock, abi int) (*Ruleset, error) {
	if abi < rs.MinABI {
		return nil, fmt.Errorf("%w: the plan needs Landlock ABI %d, this kernel has %d", ErrUnsupported, rs.MinABI, abi)
	}
	abi = min(abi, MaxABI)
	c := &Ruleset{MinABI: rs.MinABI, ABI: abi, HandledFS: handledFS(abi)}
	if abi >= 4 && rs.DenyTCP {
		// Handled with no port rule: every bind and connect is refused.
		c.HandledNet = ll.AccessNetConnectTCP | ll.AccessNetBindTCP
	}
	if abi >= 6 {
		c.Scoped = ll.ScopeAbstractUnixSocket | ll.ScopeSignal
	}
	c.FileOnly = fileOnly & c.HandledFS
	c.StdioRead = ll.AccessFSReadFile & c.HandledFS
	c.StdioWrite = (ll.AccessFSWriteFile | ll.AccessFSTruncate) & c.HandledFS
	c.StdioDevice = ll.AccessFSIoctlDev & c.HandledFS
	for _, p := range rs.Paths {
		access, err := rightsOf(p.Rights)
		if err != nil {
			return nil, err
		}
		c.Rules = append(c.Rules, Rule{Path: p.Path, Access: access & c.HandledFS, Optional: p.Optional})
	}
	return c, nil
}

func apply(rs policy.Landlock, stdio []int, noFollow bool) (int, error) {
	c, err := Compile(rs)
	if err != nil {
		return 0, err
	}
	abi := c.ABI
	attr := ll.RulesetAttr{HandledAccessFS: c.HandledFS, HandledAccessNet: c.HandledNet, Scoped: c.Scoped}
	fd, err := ll.LandlockCreateRuleset(&attr, 0)
	if err != nil {
		return abi, fmt.Errorf("%w: creating the ruleset: %v", ErrUnsupported, err)
	}
	defer unix.Close(fd)
	for _, r := range c.Rules {
		if err := addPath(fd, r, c.FileOnly, noFollow); err != nil {
			return abi, err
		}
	}
	for _, s := range stdio {
		if err := addStdio(fd, s, c); err != nil {
			return abi, err
		}
	}
	if err := ll.LandlockRestrictSelf(fd, 0); err != nil {
		return abi, fmt.Errorf("%w: restrict_self: %v", ErrUnsupported, err)
	}
	return abi, nil
}

func addPath(rulesetFD int, p Rule, fileRights uint64, noFollow bool) error {
	access := p.Access
	// Following symlinks is right here: these are the sandbox's own paths (/bin -> usr/bin), in
	// a view the command could not change before this point. Real host paths are not followed.
	var fd int
	var err error
	if noFollow {
		fd, err = unix.Openat2(unix.AT_FDCWD, p.Path, &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		})
		if errors.Is(err, unix.ELOOP) {
			return fmt.Errorf("%w: %s: a symlink lies on the path now", ErrUnsupported, p.Path)
		}
	} else {
		fd, err = unix.Open(p.Path, unix.O_PATH|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		if p.Optional && errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("%w: %s: %v", ErrUnsupported, p.Path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnsupported, p.Path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		access &= fileRights // the kernel refuses directory rights on a file
	}
	if access == 0 {
		return nil
	}
	if err := ll.LandlockAddPathBeneathRule(rulesetFD, &ll.PathBeneathAttr{AllowedAccess: access, ParentFd: fd}, 0); err != nil {
		return fmt.Errorf("%w: rule for %s: %v", ErrUnsupported, p.Path, err)
	}
	return nil
}

// addStdio lets the command re-open its own stdin, stdout or stderr the way it already has it
// open: a terminal or a file the caller redirected has no path inside the sandbox, and
// `echo x > /dev/stderr` must keep working. Pipes and sockets need no rule.
func addStdio(rulesetFD, fd int, c *Ruleset) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil // not open: nothing to re-open
	}
	t := st.Mode & unix.S_IFMT
	if t != unix.S_IFREG && t != unix.S_IFCHR {
		return nil
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return nil
	}
	var access uint64
	switch fl & unix.O_ACCMODE {
	case unix.O_RDONLY:
		access = c.StdioRead
	case unix.O_WRONLY:
		access = c.StdioWrite
	case unix.O_RDWR:
		access = c.StdioRead | c.StdioWrite
	}
	if t == unix.S_IFCHR {
		access |= c.StdioDevice
	}
	if access == 0 {
		return nil
	}
	if err := ll.LandlockAddPathBeneathRule(rulesetFD, &ll.PathBeneathAttr{AllowedAccess: access, ParentFd: fd}, 0); err != nil {
		// A descriptor of an internal file system (an anonymous inode) cannot carry a rule
		// and needs none.
		if errors.Is(err, unix.EBADFD) || errors.Is(err, unix.EBADF) {
			return nil
		}
		return fmt.Errorf("%w: rule for descriptor %d (%s): %v", ErrUnsupported, fd, os.NewFile(uintptr(fd), "").Name(), err)
	}
	return nil
}
