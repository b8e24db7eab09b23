package test

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPty returns a new pseudo-terminal pair with the given window size.
func openPty(t *testing.T, rows, cols uint16) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// TestTerminal runs skillrun the way an interactive shell does: on a terminal it controls, in the
// foreground. The command sees a terminal of the right size, Ctrl-C reaches it, and it cannot push
// keystrokes into the terminal's input (TIOCSTI).
func TestTerminal(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		master, slave := openPty(t, 41, 101)
		if e.id.cred != nil {
			if err := os.Chown(slave.Name(), e.id.uid, e.id.gid); err != nil {
				t.Fatal(err)
			}
		}
		cmd := e.command(t.Context(), "-c", `test -t 0 && test -t 1 && echo TTY-YES; stty size; ./probe tiocsti; echo ready; sleep 30; echo NOT-INTERRUPTED`)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr.Setsid = true
		cmd.SysProcAttr.Setctty = true
		cmd.SysProcAttr.Ctty = 0
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 64)
		go func() {
			rd := bufio.NewReader(master)
			for {
				l, err := rd.ReadString('\n')
				if l != "" {
					lines <- strings.TrimRight(l, "\r\n")
				}
				if err != nil {
					close(lines)
					return
				}
			}
		}()
		var seen []string
		deadline := time.After(20 * time.Second)
	wait:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break wait
				}
				seen = append(seen, l)
				if l == "ready" {
					master.Write([]byte{3}) // Ctrl-C
				}
			case <-deadline:
				cmd.Process.Kill()
				t.Fatalf("timed out; terminal said %q", seen)
			}
			if cmd.ProcessState != nil {
				break
			}
			if len(seen) > 0 && seen[len(seen)-1] == "ready" {
				break
			}
		}
		err := cmd.Wait()
		// Drain what the terminal still holds.
		for done := false; !done; {
			select {
			case l, ok := <-lines:
				if !ok {
					done = true
				} else {
					seen = append(seen, l)
				}
			case <-time.After(300 * time.Millisecond):
				done = true
			}
		}
		out := strings.Join(seen, "\n")
		code := cmd.ProcessState.ExitCode()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		if !strings.Contains(out, "TTY-YES") || !strings.Contains(out, "41 101") {
			t.Errorf("the command did not see a 41x101 terminal:\n%s", out)
		}
		if !strings.Contains(out, "tiocsti: blocked") || strings.Contains(out, "INJECTED") {
			t.Errorf("TIOCSTI was not blocked:\n%s", out)
		}
		if strings.Contains(out, "NOT-INTERRUPTED") || code != 130 {
			t.Errorf("Ctrl-C did not stop the command: exit %d (%v)\n%s", code, err, out)
		}
		// Nothing was pushed into the terminal's input queue.
		if n, _ := unix.IoctlGetInt(int(slave.Fd()), unix.TIOCINQ); n != 0 {
			t.Errorf("%d bytes were injected into the terminal's input", n)
		}
	})
}
