package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"unsafe"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Options are the parts of the plan the filter depends on.
type Options struct {
	// Network allows AF_INET and AF_INET6 sockets (TCP and UDP only): set for every sandbox with
	// its own network namespace, where they reach only its own lo (and the egress proxy there);
	// never in degraded mode, where the filter is the only network boundary.
	Network bool
	// HostNamespaces says the command shares the host's mount, IPC, PID and network namespaces
	// (degraded mode): the HostNS rules replace the OwnNS ones, which refuses socket(AF_UNIX),
	// datagram socketpairs, System V IPC, POSIX message queues and other processes' prlimit64.
	HostNamespaces bool
	// Notify makes the refusals of the reported syscalls (see notify.go) wait for the
	// supervisor, which records them and answers with the rule's errno.
	Notify bool
	// Record makes the allowed file and exec syscalls (record.go) notify the supervisor too,
	// which records them and lets them continue: skillrun learn. It needs Notify.
	Record bool
	// RecordWrites makes only the calls that change the file system notify the supervisor
	// (record.go, writeRecorded), which records them and lets them continue: a normal run
	// reports the writes its read-only protected paths refused. It needs Notify.
	RecordWrites bool
}

// ErrOptions says a combination of Options makes no filter: Record and RecordWrites act on the
// notification actions, so each needs Notify.
var ErrOptions = errors.New("invalid seccomp options")

func (o Options) check() error {
	if (o.Record || o.RecordWrites) && !o.Notify {
		return fmt.Errorf("%w: Record and RecordWrites need Notify (%+v)", ErrOptions, o)
	}
	return nil
}

// rules returns the table's rules that apply with opt.
func rules(opt Options) []Rule {
	var out []Rule
	for _, r := range Table() {
		if r.Net == WithNetwork && !opt.Network || r.Net == WithoutNetwork && opt.Network {
			continue
		}
		if r.NS == OwnNS && opt.HostNamespaces || r.NS == HostNS && !opt.HostNamespaces {
			continue
		}
		out = append(out, r)
	}
	return out
}

func (a Action) scmp() libseccomp.ScmpAction {
	switch a {
	case Allow:
		return libseccomp.ActAllow
	case EPERM:
		return libseccomp.ActErrno.SetReturnCode(int16(unix.EPERM))
	case ENOSYS:
		return libseccomp.ActErrno.SetReturnCode(int16(unix.ENOSYS))
	case EAFNOSUPPORT:
		return libseccomp.ActErrno.SetReturnCode(int16(unix.EAFNOSUPPORT))
	case EPROTONOSUPPORT:
		return libseccomp.ActErrno.SetReturnCode(int16(unix.EPROTONOSUPPORT))
	}
	panic("seccomp: unknown action")
}

func (c Cond) scmp() (libseccomp.ScmpCondition, error) {
	switch c.Op {
	case Eq:
		return libseccomp.MakeCondition(c.Arg, libseccomp.CompareEqual, c.Value)
	case Ne:
		return libseccomp.MakeCondition(c.Arg, libseccomp.CompareNotEqual, c.Value)
	case Gt:
		return libseccomp.MakeCondition(c.Arg, libseccomp.CompareGreater, c.Value)
	case MaskedEq:
		return libseccomp.MakeCondition(c.Arg, libseccomp.CompareMaskedEqual, c.Mask, c.Value)
	}
	return libseccomp.ScmpCondition{}, fmt.Errorf("unknown comparison %d", c.Op)
}

// Build compiles the table for opt into a filter for the native architecture only: any other
// architecture (i386, x32) kills the process. The caller releases it.
func Build(opt Options) (*libseccomp.ScmpFilter, error) {
	f, err := libseccomp.NewFilter(ENOSYS.scmp())
	if err != nil {
		return nil, err
	}
	if err := build(f, opt); err != nil {
		f.Release()
		return nil, err
	}
	return f, nil
}

func build(f *libseccomp.ScmpFilter, opt Options) error {
	if err := opt.check(); err != nil {
		return err
	}
	if err := f.SetBadArchAction(libseccomp.ActKillProcess); err != nil {
		return err
	}
	// A binary tree of syscall numbers instead of a linear list: fewer instructions per call.
	if err := f.SetOptimize(2); err != nil {
		return err
	}
	for _, r := range rules(opt) {
		if r.Action == ENOSYS && len(r.Conds) == 0 {
			continue // the default action already; libseccomp refuses a rule that repeats it
		}
		conds := make([]libseccomp.ScmpCondition, 0, len(r.Conds))
		for _, c := range r.Conds {
			sc, err := c.scmp()
			if err != nil {
				return err
			}
			conds = append(conds, sc)
		}
		for _, name := range r.Syscalls {
			nr, err := syscallNumber(name)
			if err != nil {
				return err
			}
			action := r.Action.scmp()
			if opt.Notify && (isReported(name, r.Action) || opt.Record && isRecorded(name, r)) {
				action = libseccomp.ActNotify
			}
			if opt.Notify && opt.RecordWrites && !opt.Record && r.Action == Allow && len(conds) == 0 {
				if arg, ok := openFlagsArg[name]; ok {
					if err := addOpenWriteRules(f, nr, arg); err != nil {
						return fmt.Errorf("seccomp: rule %s: %v", name, err)
					}
					continue
				}
				if slices.Contains(writeRecorded, name) {
					action = libseccomp.ActNotify
				}
			}
			if len(conds) == 0 {
				err = f.AddRuleExact(nr, action)
			} else {
				err = f.AddRuleConditionalExact(nr, action, conds)
			}
			if err != nil {
				return fmt.Errorf("seccomp: rule %s %s%s: %v", name, r.Action, renderConds(r.Conds), err)
			}
		}
	}
	return nil
}

// addOpenWriteRules allows an open that only reads, and makes one whose flags ask to write,
// create or truncate notify the supervisor: a separate rule per flag, since a seccomp comparison
// tests one masked value, and rules of one action add up.
func addOpenWriteRules(f *libseccomp.ScmpFilter, nr libseccomp.ScmpSyscall, arg uint) error {
	var all uint64
	for _, b := range writeFlags {
		all |= b
	}
	readOnly, err := libseccomp.MakeCondition(arg, libseccomp.CompareMaskedEqual, all, 0)
	if err != nil {
		return err
	}
	if err := f.AddRuleConditionalExact(nr, libseccomp.ActAllow, []libseccomp.ScmpCondition{readOnly}); err != nil {
		return err
	}
	for _, b := range writeFlags {
		c, err := libseccomp.MakeCondition(arg, libseccomp.CompareMaskedEqual, b, b)
		if err != nil {
			return err
		}
		if err := f.AddRuleConditionalExact(nr, libseccomp.ActNotify, []libseccomp.ScmpCondition{c}); err != nil {
			return err
		}
	}
	return nil
}

// Load builds the filter for opt with libseccomp and installs it on the calling thread; it is
// inherited across fork and execve. A run uses Program and LoadProgram instead; the tests load
// both ways and expect the same refusals. no_new_privs must be set (the sandbox sets it). With opt.Notify it returns the
// listener descriptor (close-on-exec), which the caller hands to the supervisor and closes: a
// command holding it could answer its own notifications and let a refused call through.
func Load(opt Options) (notify int, err error) {
	f, err := Build(opt)
	if err != nil {
		return -1, err
	}
	defer f.Release()
	if err := f.Load(); err != nil {
		return -1, err
	}
	if !opt.Notify {
		return -1, nil
	}
	fd, err := f.GetNotifFd()
	if err != nil {
		return -1, fmt.Errorf("notification descriptor: %w", err)
	}
	unix.CloseOnExec(int(fd))
	return int(fd), nil
}

// Compile compiles the table for opt with libseccomp into the classic BPF program the kernel
// loads. go generate stores its output for every valid opt (programs.go); a run calls it only on
// an architecture without that table (Program).
func Compile(opt Options) ([]byte, error) {
	f, err := Build(opt)
	if err != nil {
		return nil, err
	}
	defer f.Release()
	// libseccomp 2.5 exports to a descriptor only (ExportBPFMem needs 2.6).
	fd, err := unix.MemfdCreate("skillrun-seccomp", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	mem := os.NewFile(uintptr(fd), "skillrun-seccomp")
	defer mem.Close()
	if err := f.ExportBPF(mem); err != nil {
		return nil, err
	}
	prog, err := io.ReadAll(io.NewSectionReader(mem, 0, maxProgram*bpfInsnLen+1))
	if err != nil {
		return nil, err
	}
	if _, err := decodeProgram(prog); err != nil {
		return nil, err
	}
	return prog, nil
}

// bpfInsnLen is the size of one struct sock_filter; maxProgram is the kernel's BPF_MAXINSNS.
const (
	bpfInsnLen = 8
	maxProgram = 4096
)

var errProgram = errors.New("not a seccomp program")

func decodeProgram(prog []byte) ([]unix.SockFilter, error) {
	n := len(prog) / bpfInsnLen
	if len(prog) == 0 || len(prog)%bpfInsnLen != 0 || n > maxProgram {
		return nil, fmt.Errorf("%w: %d bytes", errProgram, len(prog))
	}
	ne := binary.NativeEndian
	insns := make([]unix.SockFilter, n)
	for i := range insns {
		b := prog[i*bpfInsnLen:]
		insns[i] = unix.SockFilter{Code: ne.Uint16(b), Jt: b[2], Jf: b[3], K: ne.Uint32(b[4:])}
	}
	return insns, nil
}

// LoadProgram installs a program from Program on the calling thread, as Load does, and returns
// the listener descriptor (close-on-exec) when notify is set: the program must then hold the
// notification actions, i.e. come from Program with Options.Notify.
func LoadProgram(prog []byte, notify bool) (int, error) {
	insns, err := decodeProgram(prog)
	if err != nil {
		return -1, err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, fmt.Errorf("no_new_privs: %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(insns)), Filter: &insns[0]}
	flags := uintptr(0)
	if notify {
		flags = unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(insns)
	if errno != 0 {
		return -1, errno
	}
	if !notify {
		return -1, nil
	}
	unix.CloseOnExec(int(r))
	return int(r), nil
}

var opNames = map[Op]string{Eq: "==", Ne: "!=", Gt: ">"}

func renderConds(conds []Cond) string {
	var parts []string
	for _, c := range conds {
		if c.Op == MaskedEq {
			parts = append(parts, fmt.Sprintf("arg%d&%#x == %#x", c.Arg, c.Mask, c.Value))
		} else {
			parts = append(parts, fmt.Sprintf("arg%d %s %#x", c.Arg, opNames[c.Op], c.Value))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " if " + strings.Join(parts, " && ")
}

// Render prints the table as text, one rule per line, for review: a golden file holds it.
func Render() string {
	var b strings.Builder
	b.WriteString("default: ENOSYS\nother architectures (i386, x32): kill process\n")
	for _, r := range Table() {
		net := ""
		switch r.Net {
		case WithNetwork:
			net = " [with inet]"
		case WithoutNetwork:
			net = " [without inet]"
		}
		switch r.NS {
		case OwnNS:
			net += " [own namespaces]"
		case HostNS:
			net += " [host namespaces]"
		}
		if slices.ContainsFunc(r.Syscalls, func(n string) bool { return isReported(n, r.Action) }) {
			net += " [reported]"
		}
		fmt.Fprintf(&b, "%s%s%s: %s  # %s\n", r.Action, net, renderConds(r.Conds),
			strings.Join(r.Syscalls, " "), r.Why)
	}
	return b.String()
}

// newer are syscalls the libseccomp skillrun links may be too old to know by name.
var newer = map[string]int{
	"uretprobe": unix.SYS_URETPROBE, "uprobe": unix.SYS_UPROBE, "statmount": unix.SYS_STATMOUNT,
	"listmount": unix.SYS_LISTMOUNT, "lsm_get_self_attr": unix.SYS_LSM_GET_SELF_ATTR,
	"lsm_set_self_attr": unix.SYS_LSM_SET_SELF_ATTR, "lsm_list_modules": unix.SYS_LSM_LIST_MODULES,
	"mseal": unix.SYS_MSEAL, "setxattrat": unix.SYS_SETXATTRAT, "getxattrat": unix.SYS_GETXATTRAT,
	"listxattrat": unix.SYS_LISTXATTRAT, "removexattrat": unix.SYS_REMOVEXATTRAT,
	"open_tree_attr": unix.SYS_OPEN_TREE_ATTR,
}

func syscallNumber(name string) (libseccomp.ScmpSyscall, error) {
	nr, err := libseccomp.GetSyscallFromName(name)
	if err == nil {
		return nr, nil
	}
	if n, ok := newer[name]; ok {
		return libseccomp.ScmpSyscall(n), nil
	}
	return 0, fmt.Errorf("seccomp: %s: %v", name, err)
}
