// Command probe is run inside sandboxes by the end-to-end tests: each subcommand tries one thing
// and prints what happened, so tests assert on outcomes instead of on a shell's error wording.
package main

import (
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
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
	default:
		fail(fmt.Errorf("unknown probe %q", os.Args[1]))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "probe:", err)
	os.Exit(1)
}
