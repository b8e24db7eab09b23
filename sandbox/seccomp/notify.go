package seccomp

import (
	"fmt"
	"slices"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// reported are the syscalls whose refusals say something about what a command tried: instead of
// failing at once they notify the supervisor (Options.Notify), which records the attempt and
// answers with the rule's errno. Everything else fails in the kernel without a round trip.
var reported = []string{"socket", "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2",
	"pivot_root", "chroot", "fsopen", "fsmount", "move_mount", "open_tree", "unshare", "setns", "clone",
	"keyctl", "add_key", "request_key", "bpf", "perf_event_open"}

func isReported(name string, a Action) bool {
	return (a == EPERM || a == EAFNOSUPPORT) && slices.Contains(reported, name)
}

// Attempt is a refused syscall the supervisor was told about.
type Attempt struct {
	Syscall string
	// Args are the key arguments in words, e.g. "AF_PACKET, SOCK_RAW".
	Args  string
	PID   int
	Errno unix.Errno
	// Why is the table's reason for refusing it.
	Why string
}

// Explain finds the rule that refused a notified syscall: its errno (the answer to give) and
// why. A notification no reported rule explains is answered EPERM.
func Explain(nr int, args []uint64, opt Options) (unix.Errno, string, string) {
	name, err := libseccomp.ScmpSyscall(nr).GetName()
	if err != nil {
		name = fmt.Sprintf("syscall %d", nr)
	}
	for _, r := range rules(opt) {
		if !slices.Contains(r.Syscalls, name) || !isReported(name, r.Action) || !condsMatch(r.Conds, args) {
			continue
		}
		errno := unix.EPERM
		if r.Action == EAFNOSUPPORT {
			errno = unix.EAFNOSUPPORT
		}
		return errno, name, r.Why
	}
	return unix.EPERM, name, "refused"
}

func condsMatch(conds []Cond, args []uint64) bool {
	for _, c := range conds {
		if int(c.Arg) >= len(args) {
			return false
		}
		v := args[c.Arg]
		switch c.Op {
		case Eq:
			if v != c.Value {
				return false
			}
		case Ne:
			if v == c.Value {
				return false
			}
		case Gt:
			if v <= c.Value {
				return false
			}
		case MaskedEq:
			if v&c.Mask != c.Value {
				return false
			}
		}
	}
	return true
}

var families = map[uint64]string{unix.AF_UNIX: "AF_UNIX", unix.AF_INET: "AF_INET", unix.AF_INET6: "AF_INET6",
	unix.AF_NETLINK: "AF_NETLINK", unix.AF_PACKET: "AF_PACKET", unix.AF_VSOCK: "AF_VSOCK", unix.AF_ALG: "AF_ALG",
	unix.AF_KEY: "AF_KEY", unix.AF_BLUETOOTH: "AF_BLUETOOTH", unix.AF_XDP: "AF_XDP"}

var sockTypes = map[uint64]string{unix.SOCK_STREAM: "SOCK_STREAM", unix.SOCK_DGRAM: "SOCK_DGRAM", unix.SOCK_RAW: "SOCK_RAW",
	unix.SOCK_SEQPACKET: "SOCK_SEQPACKET", unix.SOCK_PACKET: "SOCK_PACKET"}

// DescribeArgs puts a refused call's key arguments in words.
func DescribeArgs(name string, args []uint64) string {
	if len(args) < 3 {
		return ""
	}
	switch name {
	case "socket":
		f, ok := families[args[0]]
		if !ok {
			f = fmt.Sprintf("family %d", args[0])
		}
		t, ok := sockTypes[args[1]&sockType]
		if !ok {
			t = fmt.Sprintf("type %d", args[1]&sockType)
		}
		if args[2] != 0 {
			return fmt.Sprintf("%s, %s, protocol %d", f, t, args[2])
		}
		return f + ", " + t
	case "unshare", "clone":
		return fmt.Sprintf("flags %#x", args[0])
	}
	return ""
}
