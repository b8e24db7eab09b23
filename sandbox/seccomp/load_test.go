package seccomp

import (
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// childEnv makes the re-executed test binary load the filter and probe syscalls: a filter
// cannot be removed, so the test process itself never loads one.
const childEnv = "SKILLRUN_SECCOMP_CHILD"

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		child(v)
	}
	os.Exit(m.Run())
}

// probe is one syscall called with arguments that make it fail harmlessly when the filter lets it
// through (bubblewrap's wrong-pointer technique): the kernel answers EFAULT, EBADF or EINVAL and
// nothing happens even if the filter is missing.
type probe struct {
	name string
	nr   uintptr
	args [6]uintptr
}

const bad = ^uintptr(0) &^ 0xfff // an unmapped kernel-half address: EFAULT if it gets through

var probes = []probe{
	{"getppid", unix.SYS_GETPPID, [6]uintptr{}},
	{"mount", unix.SYS_MOUNT, [6]uintptr{bad, bad, bad, 0, 0}},
	{"unshare-user", unix.SYS_UNSHARE, [6]uintptr{unix.CLONE_NEWUSER}},
	{"clone3", unix.SYS_CLONE3, [6]uintptr{bad, 88}},
	{"io_uring_setup", unix.SYS_IO_URING_SETUP, [6]uintptr{1, bad}},
	{"ptrace", unix.SYS_PTRACE, [6]uintptr{unix.PTRACE_PEEKDATA, 1, bad}},
	{"bpf", unix.SYS_BPF, [6]uintptr{0, bad, 8}},
	{"keyctl", unix.SYS_KEYCTL, [6]uintptr{0, bad}},
	{"init_module", unix.SYS_INIT_MODULE, [6]uintptr{bad, 0, bad}},
	{"open_by_handle_at", unix.SYS_OPEN_BY_HANDLE_AT, [6]uintptr{bad, bad, 0}},
	{"ioctl-tiocsti", unix.SYS_IOCTL, [6]uintptr{bad, unix.TIOCSTI, bad}},
	{"ioctl-tiocsti-high", unix.SYS_IOCTL, [6]uintptr{bad, 0x123<<32 | unix.TIOCSTI, bad}},
	{"ioctl-other", unix.SYS_IOCTL, [6]uintptr{bad, unix.TCGETS, bad}},
	{"socket-inet", unix.SYS_SOCKET, [6]uintptr{unix.AF_INET, unix.SOCK_STREAM, 0}},
	{"socket-mptcp", unix.SYS_SOCKET, [6]uintptr{unix.AF_INET, unix.SOCK_STREAM, 262}},
	{"socket-raw", unix.SYS_SOCKET, [6]uintptr{unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP}},
	{"socket-packet", unix.SYS_SOCKET, [6]uintptr{unix.AF_PACKET, unix.SOCK_RAW, 0}},
	{"socket-netlink-audit", unix.SYS_SOCKET, [6]uintptr{unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_AUDIT}},
	{"personality-rie", unix.SYS_PERSONALITY, [6]uintptr{0x0400000}},
	{"socket-unix", unix.SYS_SOCKET, [6]uintptr{unix.AF_UNIX, unix.SOCK_STREAM | unix.SOCK_CLOEXEC, 0}},
	{"socketpair-stream", unix.SYS_SOCKETPAIR, [6]uintptr{unix.AF_UNIX, unix.SOCK_STREAM, 0, bad}},
	{"socketpair-seqpacket", unix.SYS_SOCKETPAIR, [6]uintptr{unix.AF_UNIX, unix.SOCK_SEQPACKET | unix.SOCK_CLOEXEC, 0, bad}},
	{"socketpair-dgram", unix.SYS_SOCKETPAIR, [6]uintptr{unix.AF_UNIX, unix.SOCK_DGRAM, 0, bad}},
	{"shmget", unix.SYS_SHMGET, [6]uintptr{unix.IPC_PRIVATE, 0, 0}},
	{"msgctl", unix.SYS_MSGCTL, [6]uintptr{^uintptr(0), unix.IPC_RMID, 0}},
	{"mq_unlink", unix.SYS_MQ_UNLINK, [6]uintptr{bad}},
	{"prlimit-self", unix.SYS_PRLIMIT64, [6]uintptr{0, unix.RLIMIT_NOFILE, 0, bad}},
}

// selfPID marks a probe argument that the child replaces with its own pid.
const selfPID = ^uintptr(0) - 1

var pidProbes = []probe{
	{"prlimit-pid", unix.SYS_PRLIMIT64, [6]uintptr{selfPID, unix.RLIMIT_NOFILE, 0, bad}},
}

func child(mode string) {
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		panic(err)
	}
	all := append([]probe{}, probes...)
	for _, p := range pidProbes {
		for i, a := range p.args {
			if a == selfPID {
				p.args[i] = uintptr(unix.Getpid())
			}
		}
		all = append(all, p)
	}
	// "prog:MODE" loads the program Program compiled, as the exec step does; "MODE" lets
	// libseccomp load it: both must refuse the same calls the same way.
	raw, ok := strings.CutPrefix(mode, "prog:")
	opt := Options{Network: raw == "inet", HostNamespaces: raw == "host"}
	var err error
	if ok {
		var prog []byte
		if prog, err = Program(opt); err == nil {
			_, err = LoadProgram(prog, false)
		}
	} else {
		_, err = Load(opt)
	}
	if err != nil {
		os.Stdout.WriteString("load: " + err.Error())
		os.Exit(3)
	}
	res := map[string]string{}
	for _, p := range all {
		r, _, e := unix.RawSyscall6(p.nr, p.args[0], p.args[1], p.args[2], p.args[3], p.args[4], p.args[5])
		switch {
		case e != 0:
			res[p.name] = unix.ErrnoName(e)
		default:
			res[p.name] = "ok"
			if p.nr == unix.SYS_SOCKET || p.nr == unix.SYS_SHMGET {
				unix.Close(int(r))
			}
		}
	}
	json.NewEncoder(os.Stdout).Encode(res)
	os.Exit(0)
}

func runProbes(t *testing.T, mode string) map[string]string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	res := map[string]string{}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("child output %q: %v", out, err)
	}
	return res
}

// TestFilter loads the real filter in a child process and checks what each probe got.
func TestFilter(t *testing.T) {
	if _, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0); err != nil {
		t.Skipf("no seccomp in this kernel: %v", err)
	}
	common := map[string]string{
		"getppid": "ok", "mount": "EPERM", "unshare-user": "EPERM", "clone3": "ENOSYS",
		"io_uring_setup": "ENOSYS", "ptrace": "EPERM", "bpf": "EPERM", "keyctl": "EPERM",
		"init_module": "EPERM", "open_by_handle_at": "EPERM", "ioctl-tiocsti": "EPERM",
		"ioctl-tiocsti-high": "EPERM", "ioctl-other": "EBADF",
		"socket-packet": "EAFNOSUPPORT", "socket-netlink-audit": "EPERM", "personality-rie": "ENOSYS",
		"socketpair-stream": "EFAULT", "socketpair-seqpacket": "EFAULT", "prlimit-self": "EFAULT",
	}
	// The sandbox's own namespaces keep unix sockets, System V IPC and prlimit64 usable; degraded
	// mode (the host's namespaces) refuses what would reach the user's other processes.
	own := map[string]string{"socket-unix": "ok", "socketpair-dgram": "EFAULT", "shmget": "EINVAL",
		"msgctl": "EINVAL", "mq_unlink": "EFAULT", "prlimit-pid": "EFAULT"}
	host := map[string]string{"socket-unix": "EPERM", "socketpair-dgram": "EPERM", "shmget": "EPERM",
		"msgctl": "EPERM", "mq_unlink": "EPERM", "prlimit-pid": "EPERM"}
	for _, mode := range []string{"default", "inet", "host", "prog:default", "prog:inet", "prog:host"} {
		got := runProbes(t, mode)
		kind := strings.TrimPrefix(mode, "prog:")
		want := map[string]string{}
		for k, v := range common {
			want[k] = v
		}
		ns := own
		if kind == "host" {
			ns = host
		}
		for k, v := range ns {
			want[k] = v
		}
		if kind == "inet" {
			want["socket-inet"], want["socket-mptcp"], want["socket-raw"] = "ok", "EPROTONOSUPPORT", "EPERM"
		} else {
			want["socket-inet"], want["socket-mptcp"], want["socket-raw"] = "EAFNOSUPPORT", "EAFNOSUPPORT", "EAFNOSUPPORT"
		}
		var bad []string
		for k, v := range want {
			if got[k] != v {
				bad = append(bad, k+": got "+got[k]+", want "+v)
			}
		}
		if len(bad) > 0 {
			t.Errorf("%s:\n%s", mode, strings.Join(bad, "\n"))
		}
	}
}
