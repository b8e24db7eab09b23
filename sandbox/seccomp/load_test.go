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
		child(v == "inet")
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
}

func child(inet bool) {
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		panic(err)
	}
	if err := Load(Options{Network: inet}); err != nil {
		os.Stdout.WriteString("load: " + err.Error())
		os.Exit(3)
	}
	res := map[string]string{}
	for _, p := range probes {
		r, _, e := unix.RawSyscall6(p.nr, p.args[0], p.args[1], p.args[2], p.args[3], p.args[4], p.args[5])
		switch {
		case e != 0:
			res[p.name] = unix.ErrnoName(e)
		default:
			res[p.name] = "ok"
			if p.nr == unix.SYS_SOCKET {
				unix.Close(int(r))
			}
		}
	}
	json.NewEncoder(os.Stdout).Encode(res)
	os.Exit(0)
}

func runProbes(t *testing.T, inet bool) map[string]string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	mode := "default"
	if inet {
		mode = "inet"
	}
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
	}
	for _, inet := range []bool{false, true} {
		got := runProbes(t, inet)
		want := map[string]string{}
		for k, v := range common {
			want[k] = v
		}
		if inet {
			want["socket-inet"], want["socket-mptcp"], want["socket-raw"] = "ok", "EPERM", "EPERM"
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
			t.Errorf("network=%v:\n%s", inet, strings.Join(bad, "\n"))
		}
	}
}
