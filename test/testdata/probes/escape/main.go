// Command escape is the escape battery's probe (test/escape_test.go): each subcommand attempts one
// class of attack from inside a sandbox and prints one line per attempt, "NAME: RESULT", where
// RESULT is OK (the attempt worked), an errno name (EPERM, ENOENT, ...), or what was read. Tests
// assert on these lines and on the absence of the planted canary anywhere in the output.
//
// The syscalls subcommand uses bubblewrap's wrong-pointer technique (tests/try-syscall.c): every
// dangerous syscall is called with an invalid pointer, descriptor or flag combination, so that if
// no filter stops it the kernel answers EFAULT, EBADF or EINVAL and nothing happens, while a
// seccomp denial answers EPERM, ENOSYS or EAFNOSUPPORT.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// bad is an address no process maps: the kernel answers EFAULT when it reads or writes it.
const bad = uintptr(1)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: escape SUBCOMMAND [ARGS...] (see the source)")
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "syscalls":
		syscalls()
	case "fds":
		fds()
	case "meta":
		for _, p := range args {
			meta(p)
		}
	case "metasafe":
		for _, p := range args {
			metaSafe(p)
		}
	case "exchange":
		result("exchange "+args[0]+" "+args[1], unix.Renameat2(unix.AT_FDCWD, args[0], unix.AT_FDCWD, args[1], unix.RENAME_EXCHANGE))
	case "reopen":
		for _, p := range args {
			reopen(p)
		}
	case "read":
		for _, p := range args {
			readFile(p)
		}
	case "environ":
		environ()
	case "ptrace":
		ptrace(args)
	case "tcp":
		tcp(args)
	case "mptcp":
		mptcp(args)
	case "udp":
		udp(args)
	case "dns":
		dns(args[0], args[1:])
	case "unix":
		unixConnect(args)
	case "tty":
		tty()
	case "status":
		status()
	case "subreaper":
		subreaper(args)
	case "spawn":
		spawn(args)
	default:
		fmt.Fprintf(os.Stderr, "escape: unknown subcommand %q\n", os.Args[1])
		os.Exit(2)
	}
}

// result prints one attempt's outcome.
func result(name string, err error) {
	if err == nil {
		fmt.Printf("%s: OK\n", name)
		return
	}
	fmt.Printf("%s: %s\n", name, errName(err))
}

func errName(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if n := unix.ErrnoName(errno); n != "" {
			return n
		}
		return "errno " + strconv.Itoa(int(errno))
	}
	return "error " + strings.ReplaceAll(err.Error(), "\n", " ")
}

func rawResult(name string, r1 uintptr, errno syscall.Errno) {
	if errno != 0 {
		result(name, errno)
		return
	}
	fmt.Printf("%s: OK (returned %d)\n", name, int(r1))
}

func sys(nr uintptr, a ...uintptr) (uintptr, syscall.Errno) {
	var v [6]uintptr
	copy(v[:], a)
	r1, _, errno := unix.Syscall6(nr, v[0], v[1], v[2], v[3], v[4], v[5])
	return r1, errno
}

// syscalls probes every syscall the floor denies. Each line is "NAME: ERRNO"; a syscall that
// returns success closes what it created at once.
func syscalls() {
	// Thread-bound state (personality, a failed unshare) must not move between threads.
	runtime.LockOSThread()
	self := uintptr(os.Getpid())
	probe := func(name string, nr uintptr, a ...uintptr) {
		r1, errno := sys(nr, a...)
		if errno == 0 && (strings.HasPrefix(name, "socket") || strings.HasPrefix(name, "userfaultfd") ||
			strings.HasPrefix(name, "io_uring") || strings.HasPrefix(name, "fanotify") || strings.HasPrefix(name, "memfd_secret")) {
			unix.Close(int(r1))
		}
		rawResult(name, r1, errno)
	}
	// D1, D5: mounts and roots (no path is ever valid: target pointer 1).
	probe("mount", unix.SYS_MOUNT, 0, bad, 0, 0, 0)
	probe("umount2", unix.SYS_UMOUNT2, bad, 0)
	probe("pivot_root", unix.SYS_PIVOT_ROOT, bad, bad)
	probe("chroot", unix.SYS_CHROOT, bad)
	probe("fsopen", unix.SYS_FSOPEN, bad, 0)
	probe("open_tree", unix.SYS_OPEN_TREE, ^uintptr(0), bad, 0)
	probe("move_mount", unix.SYS_MOVE_MOUNT, ^uintptr(0), bad, ^uintptr(0), bad, 0)
	probe("mount_setattr", unix.SYS_MOUNT_SETATTR, ^uintptr(0), bad, 0, bad, 32)
	// D2, D4: namespaces. unshare(CLONE_NEWUSER) fails with EINVAL in a multi-threaded process
	// if nothing stops it; clone with CLONE_THREAD but not CLONE_SIGHAND is EINVAL before the
	// kernel looks at anything else.
	probe("unshare(CLONE_NEWUSER)", unix.SYS_UNSHARE, unix.CLONE_NEWUSER)
	probe("unshare(CLONE_NEWNS)", unix.SYS_UNSHARE, unix.CLONE_NEWNS|unix.CLONE_THREAD)
	probe("setns", unix.SYS_SETNS, ^uintptr(0), 0)
	for _, f := range []struct {
		name string
		flag uintptr
	}{{"NEWUSER", unix.CLONE_NEWUSER}, {"NEWNS", unix.CLONE_NEWNS}, {"NEWPID", unix.CLONE_NEWPID},
		{"NEWNET", unix.CLONE_NEWNET}, {"NEWUTS", unix.CLONE_NEWUTS}, {"NEWIPC", unix.CLONE_NEWIPC},
		{"NEWCGROUP", unix.CLONE_NEWCGROUP}} {
		probe("clone(CLONE_"+f.name+")", unix.SYS_CLONE, f.flag|unix.CLONE_THREAD, 0, 0, 0, 0)
	}
	// D3: clone3's flags live in memory the filter cannot read: it must be ENOSYS.
	probe("clone3", unix.SYS_CLONE3, bad, 88)
	// D6, D7: other processes.
	probe("ptrace(PTRACE_ATTACH)", unix.SYS_PTRACE, unix.PTRACE_ATTACH, 0)
	probe("ptrace(PTRACE_PEEKDATA)", unix.SYS_PTRACE, unix.PTRACE_PEEKDATA, self, bad, 0)
	probe("process_vm_readv", unix.SYS_PROCESS_VM_READV, self, bad, 1, bad, 1, 0)
	probe("process_vm_writev", unix.SYS_PROCESS_VM_WRITEV, self, bad, 1, bad, 1, 0)
	probe("kcmp", unix.SYS_KCMP, self, self, 0 /* KCMP_FILE */, ^uintptr(0), ^uintptr(0))
	probe("pidfd_getfd", unix.SYS_PIDFD_GETFD, ^uintptr(0), 0, 0)
	// D11-D14: kernel surface.
	probe("init_module", unix.SYS_INIT_MODULE, bad, 16, bad)
	probe("finit_module", unix.SYS_FINIT_MODULE, ^uintptr(0), bad, 0)
	probe("delete_module", unix.SYS_DELETE_MODULE, bad, 0)
	probe("kexec_load", unix.SYS_KEXEC_LOAD, 0, 1, bad, 0)
	probe("kexec_file_load", unix.SYS_KEXEC_FILE_LOAD, ^uintptr(0), ^uintptr(0), 0, bad, 0)
	probe("reboot", unix.SYS_REBOOT, 0, 0, 0, 0) // wrong magic: EINVAL even with CAP_SYS_BOOT
	probe("swapon", unix.SYS_SWAPON, bad, 0)
	probe("swapoff", unix.SYS_SWAPOFF, bad)
	probe("bpf", unix.SYS_BPF, unix.BPF_PROG_LOAD, bad, 64)
	probe("perf_event_open", unix.SYS_PERF_EVENT_OPEN, bad, 0, ^uintptr(0), ^uintptr(0), 0)
	probe("userfaultfd", unix.SYS_USERFAULTFD, 1|2) // UFFD_USER_MODE_ONLY plus a bad flag: EINVAL
	probe("keyctl", unix.SYS_KEYCTL, unix.KEYCTL_JOIN_SESSION_KEYRING, bad)
	probe("add_key", unix.SYS_ADD_KEY, bad, bad, bad, 0, 0)
	probe("request_key", unix.SYS_REQUEST_KEY, bad, bad, bad, 0)
	probe("settimeofday", unix.SYS_SETTIMEOFDAY, bad, 0)
	probe("clock_settime", unix.SYS_CLOCK_SETTIME, unix.CLOCK_REALTIME, bad)
	probe("adjtimex", unix.SYS_ADJTIMEX, bad)
	probe("sethostname", unix.SYS_SETHOSTNAME, bad, 8)
	probe("open_by_handle_at", unix.SYS_OPEN_BY_HANDLE_AT, ^uintptr(0), bad, 0)
	probe("name_to_handle_at", unix.SYS_NAME_TO_HANDLE_AT, ^uintptr(0), bad, bad, bad, 0)
	probe("fanotify_init", unix.SYS_FANOTIFY_INIT, 0x80000000, 0) // unknown flag: EINVAL
	probe("acct", unix.SYS_ACCT, bad)
	probe("iopl", unix.SYS_IOPL, 4) // level above 3: EINVAL
	probe("ioperm", unix.SYS_IOPERM, ^uintptr(0), 1, 1)
	probe("syslog", unix.SYS_SYSLOG, 3 /* READ_ALL */, bad, 16)
	probe("quotactl", unix.SYS_QUOTACTL, 0, bad, 0, bad)
	probe("lookup_dcookie", unix.SYS_LOOKUP_DCOOKIE, 0, bad, 16)
	probe("memfd_secret", unix.SYS_MEMFD_SECRET, 0x80000000)
	// D15: io_uring creates sockets and opens files without the syscalls the filter checks.
	probe("io_uring_setup", unix.SYS_IO_URING_SETUP, 1, bad)
	probe("io_uring_enter", unix.SYS_IO_URING_ENTER, ^uintptr(0), 0, 0, 0, 0, 0)
	probe("io_uring_register", unix.SYS_IO_URING_REGISTER, ^uintptr(0), 0, 0, 0)
	// personality(READ_IMPLIES_EXEC) would make every readable mapping executable.
	probe("personality(READ_IMPLIES_EXEC)", unix.SYS_PERSONALITY, 0x0400000)
	// E2, E4: terminal ioctls on no descriptor (EBADF if unfiltered), the 64-bit variant too.
	probe("ioctl(TIOCSTI)", unix.SYS_IOCTL, ^uintptr(0), unix.TIOCSTI, bad)
	probe("ioctl(TIOCSTI|0x123<<32)", unix.SYS_IOCTL, ^uintptr(0), 0x123<<32|unix.TIOCSTI, bad)
	probe("ioctl(TIOCLINUX)", unix.SYS_IOCTL, ^uintptr(0), unix.TIOCLINUX, bad)
	probe("ioctl(TIOCLINUX|0x123<<32)", unix.SYS_IOCTL, ^uintptr(0), 0x123<<32|unix.TIOCLINUX, bad)
	// G3, G7-G9: socket families, types and protocols. A socket that is created is closed at once.
	for _, s := range []struct {
		name              string
		family, typ, prot uintptr
	}{
		{"socket(AF_PACKET,SOCK_RAW)", unix.AF_PACKET, unix.SOCK_RAW, 0x0300},
		{"socket(AF_PACKET,SOCK_DGRAM)", unix.AF_PACKET, unix.SOCK_DGRAM, 0x0300},
		{"socket(AF_VSOCK)", unix.AF_VSOCK, unix.SOCK_STREAM, 0},
		{"socket(AF_ALG)", unix.AF_ALG, unix.SOCK_SEQPACKET, 0},
		{"socket(AF_KEY)", unix.AF_KEY, unix.SOCK_RAW, 2 /* PF_KEY_V2 */},
		{"socket(AF_BLUETOOTH)", unix.AF_BLUETOOTH, unix.SOCK_RAW, 0},
		{"socket(AF_XDP)", unix.AF_XDP, unix.SOCK_RAW, 0},
		{"socket(AF_CAN)", unix.AF_CAN, unix.SOCK_RAW, 1},
		{"socket(AF_TIPC)", unix.AF_TIPC, unix.SOCK_RDM, 0},
		{"socket(AF_RDS)", unix.AF_RDS, unix.SOCK_SEQPACKET, 0},
		{"socket(AF_APPLETALK)", unix.AF_APPLETALK, unix.SOCK_DGRAM, 0},
		{"socket(AF_NETLINK,NETLINK_AUDIT)", unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_AUDIT},
		{"socket(AF_NETLINK,NETLINK_KOBJECT_UEVENT)", unix.AF_NETLINK, unix.SOCK_DGRAM, unix.NETLINK_KOBJECT_UEVENT},
		{"socket(AF_NETLINK,NETLINK_NETFILTER)", unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_NETFILTER},
		{"socket(AF_NETLINK,NETLINK_SOCK_DIAG)", unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_SOCK_DIAG},
		{"socket(AF_NETLINK,NETLINK_XFRM)", unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_XFRM},
		{"socket(AF_INET,SOCK_RAW)", unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW},
		{"socket(AF_INET,SOCK_RAW,ICMP)", unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP},
		{"socket(AF_INET6,SOCK_RAW)", unix.AF_INET6, unix.SOCK_RAW, unix.IPPROTO_RAW},
		{"socket(AF_INET,SOCK_PACKET)", unix.AF_INET, unix.SOCK_PACKET, 0x0300},
		{"socket(AF_INET,SOCK_DGRAM,ICMP)", unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_ICMP},
		{"socket(AF_INET,IPPROTO_MPTCP)", unix.AF_INET, unix.SOCK_STREAM, 262},
		{"socket(AF_INET6,IPPROTO_MPTCP)", unix.AF_INET6, unix.SOCK_STREAM, 262},
		{"socket(AF_INET,IPPROTO_MPTCP|CLOEXEC)", unix.AF_INET, unix.SOCK_STREAM | unix.SOCK_CLOEXEC | unix.SOCK_NONBLOCK, 262},
		{"socket(AF_INET,SOCK_STREAM,IPPROTO_SCTP)", unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_SCTP},
		{"socketpair(AF_INET)", 0, 0, 0},
		// Controls: what every toolchain needs keeps working.
		{"socket(AF_UNIX)", unix.AF_UNIX, unix.SOCK_STREAM, 0},
		{"socket(AF_NETLINK,NETLINK_ROUTE)", unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE},
	} {
		if s.name == "socketpair(AF_INET)" {
			var fds [2]int32
			_, errno := sys(unix.SYS_SOCKETPAIR, unix.AF_INET, unix.SOCK_STREAM, 0, uintptr(unsafe.Pointer(&fds)))
			if errno == 0 {
				unix.Close(int(fds[0]))
				unix.Close(int(fds[1]))
			}
			rawResult(s.name, 0, errno)
			continue
		}
		probe(s.name, unix.SYS_SOCKET, s.family, s.typ, s.prot)
	}
	// Controls the toolchains rely on: these must not be denied (EBADF/EFAULT/OK are fine).
	probe("control:memfd_create", unix.SYS_MEMFD_CREATE, bad, 0)
	probe("control:close_range", unix.SYS_CLOSE_RANGE, 1<<30, 1<<30+1, 0)
	probe("control:statx", unix.SYS_STATX, ^uintptr(0), bad, 0, 0, bad)
	probe("control:flock", unix.SYS_FLOCK, ^uintptr(0), unix.LOCK_EX)
	probe("control:ioctl(TCGETS)", unix.SYS_IOCTL, ^uintptr(0), unix.TCGETS, bad)
	probe("control:landlock_create_ruleset", unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, 1 /* VERSION */)
}

// fds reports every descriptor above stderr: what it is, what reading it gives, and what openat
// relative to it reaches (a leaked directory descriptor is a full bypass of every path rule).
func fds() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		result("readdir /proc/self/fd", err)
		return
	}
	var nums []int
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > 2 {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	found := 0
	for _, fd := range nums {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil {
			continue // the directory handle ReadDir used, already closed
		}
		found++
		target, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		fmt.Printf("fd %d: OPEN %s mode %o\n", fd, target, st.Mode)
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			for _, rel := range []string{".ssh/id_ed25519", "../.ssh/id_ed25519", ".aws/credentials", "home/.ssh/id_ed25519", "."} {
				f, err := unix.Openat(fd, rel, unix.O_RDONLY, 0)
				if err != nil {
					result(fmt.Sprintf("fd %d openat %s", fd, rel), err)
					continue
				}
				b := make([]byte, 4096)
				n, _ := unix.Read(f, b)
				unix.Close(f)
				fmt.Printf("fd %d openat %s: READ %q\n", fd, rel, b[:max(n, 0)])
			}
			continue
		}
		b := make([]byte, 4096)
		n, err := unix.Pread(fd, b, 0)
		if err != nil {
			n, err = unix.Read(fd, b)
		}
		if err != nil {
			result(fmt.Sprintf("fd %d read", fd), err)
		} else {
			fmt.Printf("fd %d read: READ %q\n", fd, b[:n])
		}
		// Re-opening through /proc gives a fresh description, with fresh permission checks.
		readFile("/proc/self/fd/" + strconv.Itoa(fd))
	}
	fmt.Printf("fds: %d open above stderr\n", found)
}

// meta tries every change Landlock does not cover, and the ordinary writes, on path.
func meta(p string) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		result("lstat "+p, err)
		return
	}
	result("chmod "+p, unix.Chmod(p, 0o777))
	result("chmod-same "+p, unix.Chmod(p, st.Mode&0o7777))
	result("chown-same "+p, unix.Lchown(p, int(st.Uid), int(st.Gid)))
	result("utimes "+p, unix.UtimesNano(p, []unix.Timespec{{Sec: 1}, {Sec: 1}}))
	result("utimes-same "+p, unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{st.Atim, st.Mtim}, unix.AT_SYMLINK_NOFOLLOW))
	result("setxattr "+p, unix.Lsetxattr(p, "user.skillrun-escape", []byte("1"), 0))
	result("removexattr "+p, unix.Lremovexattr(p, "user.skillrun-escape"))
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		result("truncate "+p, unix.Truncate(p, 0))
		fd, err := unix.Open(p, unix.O_WRONLY|unix.O_APPEND, 0)
		if err == nil {
			_, err = unix.Write(fd, []byte("ESCAPED\n"))
			unix.Close(fd)
		}
		result("append "+p, err)
	} else if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		f := filepath.Join(p, "escape-new-file")
		fd, err := unix.Open(f, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o755)
		if err == nil {
			unix.Close(fd)
		}
		result("create "+f, err)
	}
	result("rename "+p, unix.Rename(p, p+".moved"))
	result("link "+p, unix.Link(p, p+".link"))
	result("unlink "+p, unix.Unlink(p))
}

// reopen opens p read-only, then tries to turn that descriptor into a writable one through
// /proc/self/fd (a re-open is a new open: the mount and Landlock must check it again).
func reopen(p string) {
	fd, err := unix.Open(p, unix.O_RDONLY, 0)
	if err != nil {
		result("open "+p, err)
		return
	}
	defer unix.Close(fd)
	via := "/proc/self/fd/" + strconv.Itoa(fd)
	for _, flag := range []struct {
		name string
		f    int
	}{{"O_WRONLY", unix.O_WRONLY | unix.O_APPEND}, {"O_RDWR", unix.O_RDWR | unix.O_APPEND}, {"O_TRUNC", unix.O_WRONLY | unix.O_TRUNC}} {
		w, err := unix.Open(via, flag.f, 0)
		if err == nil {
			_, err = unix.Write(w, []byte("ESCAPED\n"))
			unix.Close(w)
		}
		result(fmt.Sprintf("reopen %s %s", p, flag.name), err)
	}
	result("fchmod "+p, unix.Fchmod(fd, 0o777))
	result("fsetxattr "+p, unix.Fsetxattr(fd, "user.skillrun-escape", []byte("1"), 0))
	result("futimes "+p, unix.UtimesNanoAt(unix.AT_FDCWD, via, []unix.Timespec{{Sec: 1}, {Sec: 1}}, 0))
}

// readFile prints what reading p gives (the canary, if it leaks).
func readFile(p string) {
	b, err := os.ReadFile(p)
	if err != nil {
		result("read "+p, err)
		return
	}
	if len(b) > 4096 {
		b = b[:4096]
	}
	fmt.Printf("read %s: READ %q\n", p, b)
}

// environ prints every environment this process can read: its own and every visible process's.
func environ() {
	for _, kv := range os.Environ() {
		fmt.Printf("env: %s\n", kv)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		for _, f := range []string{"environ", "cmdline"} {
			b, err := os.ReadFile(p + "/" + f)
			if err != nil {
				result("read "+p+"/"+f, err)
				continue
			}
			fmt.Printf("read %s/%s: READ %q\n", p, f, b)
		}
	}
	fmt.Printf("processes visible: %d\n", len(procs))
}

// ptrace attaches to a child it starts (a sibling inside the sandbox) and to every pid named.
func ptrace(pids []string) {
	runtime.LockOSThread()
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		result("start child", err)
		return
	}
	defer child.Process.Kill()
	attach := func(name string, pid int) {
		_, errno := sys(unix.SYS_PTRACE, unix.PTRACE_ATTACH, uintptr(pid), 0, 0)
		if errno == 0 {
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, unix.WALL, nil)
			sys(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(pid), 0, 0)
		}
		rawResult(name, 0, errno)
		_, errno = sys(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, 0)
		if errno == 0 {
			sys(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(pid), 0, 0)
		}
		rawResult(name+" seize", 0, errno)
		var local [64]byte
		liov := unix.Iovec{Base: &local[0], Len: uint64(len(local))}
		riov := unix.RemoteIovec{Base: 0x400000, Len: len(local)}
		_, err := unix.ProcessVMReadv(pid, []unix.Iovec{liov}, []unix.RemoteIovec{riov}, 0)
		result(name+" process_vm_readv", err)
		f, err := os.OpenFile(fmt.Sprintf("/proc/%d/mem", pid), os.O_RDWR, 0)
		if err == nil {
			f.Close()
		}
		result(name+" /proc/mem", err)
	}
	attach("ptrace child", child.Process.Pid)
	attach("ptrace parent", os.Getppid())
	attach("ptrace pid1", 1)
	for _, p := range pids {
		n, _ := strconv.Atoi(p)
		attach("ptrace host "+p, n)
		result("kill -0 host "+p, unix.Kill(n, 0))
	}
}

func tcp(addrs []string) {
	for _, a := range addrs {
		c, err := net.DialTimeout("tcp", a, 2*time.Second)
		if err == nil {
			c.Write([]byte("ESCAPED\n"))
			c.Close()
		}
		result("tcp "+a, err)
	}
}

// mptcp connects with socket(AF_INET*, SOCK_STREAM, IPPROTO_MPTCP): Landlock's TCP rules do
// not see it.
func mptcp(addrs []string) {
	for _, a := range addrs {
		ap, err := netipAddr(a)
		if err != nil {
			result("mptcp "+a, err)
			continue
		}
		family := unix.AF_INET
		if ap.v6 {
			family = unix.AF_INET6
		}
		fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 262)
		if err != nil {
			result("mptcp socket "+a, err)
			continue
		}
		err = unix.Connect(fd, ap.sa)
		if err == nil {
			unix.Write(fd, []byte("ESCAPED\n"))
		}
		unix.Close(fd)
		result("mptcp "+a, err)
	}
}

func udp(addrs []string) {
	for _, a := range addrs {
		c, err := net.Dial("udp", a)
		if err == nil {
			_, err = c.Write([]byte("ESCAPED\n"))
			c.Close()
		}
		result("udp "+a, err)
	}
}

// dns sends a query for name to every server, over UDP and TCP, as a resolver would.
func dns(name string, servers []string) {
	q := []byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, label := range strings.Split(name, ".") {
		q = append(q, byte(len(label)))
		q = append(q, label...)
	}
	q = append(q, 0, 0, 1, 0, 1)
	for _, s := range servers {
		c, err := net.DialTimeout("udp", s, time.Second)
		if err == nil {
			_, err = c.Write(q)
			c.Close()
		}
		result("dns udp "+s, err)
		c, err = net.DialTimeout("tcp", s, time.Second)
		if err == nil {
			_, err = c.Write(append([]byte{0, byte(len(q))}, q...))
			c.Close()
		}
		result("dns tcp "+s, err)
	}
}

// unixConnect connects to unix sockets by path, or abstract names written "@name".
func unixConnect(paths []string) {
	for _, p := range paths {
		c, err := net.DialTimeout("unix", p, time.Second)
		if err == nil {
			c.Write([]byte("ESCAPED\n"))
			c.Close()
		}
		result("unix "+p, err)
	}
}

// tty pushes keystrokes into the terminal on stdin and on /dev/tty: TIOCSTI, the 64-bit
// command variant of CVE-2019-10063, and TIOCLINUX's paste.
func tty() {
	c := byte('X')
	fdsToTry := []struct {
		name string
		fd   int
	}{{"stdin", 0}}
	if fd, err := unix.Open("/dev/tty", unix.O_RDWR|unix.O_NOCTTY, 0); err == nil {
		fdsToTry = append(fdsToTry, struct {
			name string
			fd   int
		}{"/dev/tty", fd})
	} else {
		result("open /dev/tty", err)
	}
	for _, f := range fdsToTry {
		for _, cmd := range []struct {
			name string
			nr   uintptr
		}{{"TIOCSTI", unix.TIOCSTI}, {"TIOCSTI|0x123<<32", 0x123<<32 | unix.TIOCSTI}, {"TIOCSTI|1<<63", 1<<63 | unix.TIOCSTI}} {
			_, errno := sys(unix.SYS_IOCTL, uintptr(f.fd), cmd.nr, uintptr(unsafe.Pointer(&c)))
			rawResult("tty "+f.name+" "+cmd.name, 0, errno)
		}
		sel := [2]byte{3 /* TIOCL_PASTESEL */, 0}
		_, errno := sys(unix.SYS_IOCTL, uintptr(f.fd), unix.TIOCLINUX, uintptr(unsafe.Pointer(&sel)))
		rawResult("tty "+f.name+" TIOCLINUX", 0, errno)
		// Becoming the terminal's controlling process would make TIOCSTI legal again.
		_, errno = sys(unix.SYS_IOCTL, uintptr(f.fd), unix.TIOCSCTTY, 1)
		rawResult("tty "+f.name+" TIOCSCTTY", 0, errno)
	}
}

// status prints this process's confinement as /proc reports it.
func status() {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		result("open status", err)
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		for _, k := range []string{"Uid:", "Gid:", "Cap", "NoNewPrivs:", "Seccomp:", "Seccomp_filters:"} {
			if strings.HasPrefix(l, k) {
				fmt.Println(strings.Join(strings.Fields(l), " "))
			}
		}
	}
}

// subreaper makes itself a child subreaper, then starts args (a double-forking daemon) and exits
// without waiting: the daemon is reparented to it, and then, when it exits, to PID 1.
func subreaper(args []string) {
	result("prctl(PR_SET_CHILD_SUBREAPER)", unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
	spawn(args)
}

// spawn starts args in a new session, detached from every descriptor, and returns at once.
func spawn(args []string) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	result("spawn", cmd.Start())
	time.Sleep(50 * time.Millisecond)
	io.WriteString(os.Stdout, "spawned\n")
}

// addr is a parsed host:port for raw sockets.
type addr struct {
	sa unix.Sockaddr
	v6 bool
}

func netipAddr(s string) (addr, error) {
	ta, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		return addr{}, err
	}
	if ip4 := ta.IP.To4(); ip4 != nil {
		sa := &unix.SockaddrInet4{Port: ta.Port}
		copy(sa.Addr[:], ip4)
		return addr{sa: sa}, nil
	}
	sa := &unix.SockaddrInet6{Port: ta.Port}
	copy(sa.Addr[:], ta.IP.To16())
	return addr{sa: sa, v6: true}, nil
}

// metaSafe tries only changes that leave p as it was if they succeed (same mode, same owner,
// same times, an open for writing that writes nothing): for files the test does not own, such as
// the host's own system files or skillrun's binary. Success is the failure it looks for.
func metaSafe(p string) {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		result("stat "+p, err)
		return
	}
	result("chmod-same "+p, unix.Chmod(p, st.Mode&0o7777))
	result("chown-same "+p, unix.Chown(p, int(st.Uid), int(st.Gid)))
	result("utimes-same "+p, unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{st.Atim, st.Mtim}, 0))
	fd, err := unix.Open(p, unix.O_WRONLY, 0)
	if err == nil {
		unix.Close(fd)
	}
	result("open-write "+p, err)
}
