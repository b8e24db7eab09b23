// Command probe is run inside sandboxes by the end-to-end tests: each subcommand tries one thing
// and prints what happened, so tests assert on outcomes instead of on a shell's error wording.
package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe fds|tiocsti|connect ADDR|udp ADDR")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "fds":
		// Every open descriptor, from the kernel's own list, read with raw system calls so that
		// the Go runtime opens no descriptor of its own; the directory handle is left out.
		dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			fail(err)
		}
		buf := make([]byte, 8192)
		var fds []int
		for {
			n, err := unix.ReadDirent(dir, buf)
			if err != nil {
				fail(err)
			}
			if n == 0 {
				break
			}
			_, _, names := unix.ParseDirent(buf[:n], -1, nil)
			for _, name := range names {
				if fd, err := strconv.Atoi(name); err == nil && fd != dir {
					fds = append(fds, fd)
				}
			}
		}
		sort.Ints(fds)
		fmt.Println(fds)
	case "tiocsti":
		// Push a character into the input queue of the terminal on stdin.
		c := byte('X')
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, 0, unix.TIOCSTI, uintptr(unsafePointer(&c)))
		if errno != 0 {
			fmt.Println("tiocsti: blocked:", errno)
			return
		}
		fmt.Println("tiocsti: INJECTED")
	case "connect":
		conn, err := net.DialTimeout("tcp", os.Args[2], 2*time.Second)
		if err != nil {
			fmt.Println("connect: failed:", err)
			return
		}
		conn.Write([]byte("CANARY-NET\n"))
		conn.Close()
		fmt.Println("connect: CONNECTED")
	case "udp":
		conn, err := net.Dial("udp", os.Args[2])
		if err == nil {
			_, err = conn.Write([]byte("CANARY-NET\n"))
			conn.Close()
		}
		if err != nil {
			fmt.Println("udp: failed:", err)
			return
		}
		fmt.Println("udp: SENT")
	case "rss":
		// Run a command and print the peak resident set (KiB) of it and the children it waited
		// for. Started from this small program, the figure is the command's own: a child forked
		// from a large process starts with that process's high-water mark.
		cmd := exec.Command(os.Args[2], os.Args[3:]...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fail(err)
		}
		fmt.Println(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	case "loopback":
		ownLoopback()
	case "reach":
		reach(os.Args[2:])
	case "bind":
		bind(os.Args[2:])
	case "flood":
		flood(os.Args[2])
	case "no-userns":
		// Run the rest of the command line where creating a user namespace is refused, as a
		// container runtime's seccomp profile refuses it.
		noUserNamespaces(os.Args[2:])
	default:
		fail(fmt.Errorf("unknown probe %q", os.Args[1]))
	}
}

// noUserNamespaces installs a seccomp filter that fails clone and unshare with CLONE_NEWUSER
// (EPERM) and clone3 (ENOSYS, so callers fall back to clone), then executes argv.
func noUserNamespaces(argv []string) {
	const (
		archX8664 = 0xc000003e
		retAllow  = 0x7fff0000
		retErrno  = 0x00050000
	)
	stmt := func(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }
	jump := func(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
		return unix.SockFilter{Code: code, K: k, Jt: jt, Jf: jf}
	}
	prog := []unix.SockFilter{
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 4), // arch
		jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, archX8664, 1, 0),
		stmt(unix.BPF_RET|unix.BPF_K, retAllow),
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 0), // syscall number
		jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, unix.SYS_CLONE3, 0, 1),
		stmt(unix.BPF_RET|unix.BPF_K, retErrno|uint32(unix.ENOSYS)),
		jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, unix.SYS_CLONE, 1, 0),
		jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, unix.SYS_UNSHARE, 0, 3),
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 16), // low half of the flags argument
		jump(unix.BPF_JMP|unix.BPF_JSET|unix.BPF_K, unix.CLONE_NEWUSER, 0, 1),
		stmt(unix.BPF_RET|unix.BPF_K, retErrno|uint32(unix.EPERM)),
		stmt(unix.BPF_RET|unix.BPF_K, retAllow),
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fail(err)
	}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, 1 /* SECCOMP_SET_MODE_FILTER */, 1 /* TSYNC */, uintptr(unsafePointer2(&fprog))); errno != 0 {
		fail(errno)
	}
	fail(unix.Exec(argv[0], argv, os.Environ()))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "probe:", err)
	os.Exit(1)
}
