package degraded

import (
	"encoding/json"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/sandbox"
)

// Arg makes the skillrun binary run as degraded mode's supervisor (Main).
const Arg = "__degraded"

// lifelineFD is the read end of a pipe whose only write end the host-side skillrun holds: it
// breaks when skillrun dies, or when Run cuts it because the timeout's grace ran out.
const lifelineFD = 3

// Main is the supervisor: in its own session, a child subreaper, it starts
// the exec step (which confines itself and executes the command) in a new session with a
// parent-death signal, forwards signals to the command's process group, and when the command
// ends, or its lifeline (fd 3) breaks, kills every process the command left behind before it
// exits with the command's status. It never returns.
func Main(args []string) {
	runtime.LockOSThread() // the exec step's parent-death signal follows this thread
	_ = unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	// Non-dumpable: its /proc entries (the lifeline among them) stay closed to the command.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fail(exitSetup, "degraded: cannot become a subreaper: %v", err)
	}
	if len(args) != 1 {
		fail(exitSetup, "degraded: want one argument, got %d", len(args))
	}
	var spec execSpec
	if err := json.Unmarshal(specArg(args[0]), &spec); err != nil {
		fail(exitSetup, "degraded: bad spec: %v", err)
	}
	signals := make(chan os.Signal, 64)
	signal.Notify(signals, append([]os.Signal{unix.SIGCHLD}, sandbox.ForwardedSignals...)...)
	cut := make(chan struct{})
	go func() {
		var b [1]byte
		for {
			if _, err := unix.Read(lifelineFD, b[:]); err != unix.EINTR {
				close(cut)
				return
			}
		}
	}()
	if fi, err := os.Stat(spec.Cwd); err != nil {
		fail(exitSetup, "cannot enter the working directory %s: %v", spec.Cwd, errors.Unwrap(err))
	} else if !fi.IsDir() {
		fail(exitSetup, "cannot enter the working directory %s: not a directory", spec.Cwd)
	}
	const self = "/proc/self/exe"
	pid, err := syscall.ForkExec(self, []string{self, ExecArg, args[0]}, &syscall.ProcAttr{
		Dir:   spec.Cwd,
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		fail(exitSetup, "degraded: starting the command: %v", err)
	}
	status := -1
	record := func(got int, ws unix.WaitStatus) {
		if got == pid {
			switch {
			case ws.Exited():
				status = ws.ExitStatus()
			case ws.Signaled():
				status = 128 + int(ws.Signal())
			}
		}
	}
	for status < 0 {
		select {
		case sig := <-signals:
			if sig != unix.SIGCHLD {
				s := sig.(syscall.Signal)
				if unix.Kill(-pid, s) != nil {
					_ = unix.Kill(pid, s)
				}
				continue
			}
			for {
				var ws unix.WaitStatus
				got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
				if err == unix.EINTR {
					continue
				}
				if got <= 0 || err != nil {
					break
				}
				record(got, ws)
			}
		case <-cut:
			// skillrun is gone, or the timeout's grace ran out: nothing of the command stays.
			_ = unix.Kill(-pid, unix.SIGKILL)
			for _, st := range killDescendants(pid) {
				record(pid, st)
			}
			if status < 0 {
				status = 128 + int(unix.SIGKILL)
			}
		}
	}
	killDescendants(-1)
	os.Exit(status)
}

// killDescendants kills every child of this process with SIGKILL and reaps it, over and over,
// until none is left: as each dies, what it started is re-parented to this process (a child
// subreaper), so the whole tree goes, daemons in new sessions included. It returns the wait
// statuses of pid (none when pid is -1 or was reaped before).
func killDescendants(pid int) []unix.WaitStatus {
	var out []unix.WaitStatus
	reap := func(who, flags int) (int, error) {
		var ws unix.WaitStatus
		for {
			got, err := unix.Wait4(who, &ws, flags, nil)
			if err == unix.EINTR {
				continue
			}
			if got > 0 && got == pid {
				out = append(out, ws)
			}
			return got, err
		}
	}
	for idle := 0; idle < 1000; {
		kids := childPIDs()
		if len(kids) == 0 {
			got, err := reap(-1, unix.WNOHANG)
			switch {
			case got > 0:
				continue
			case err == unix.ECHILD:
				return out
			}
			// A child /proc did not list yet (being forked): look again.
			idle++
			time.Sleep(time.Millisecond)
			continue
		}
		for _, k := range kids {
			_ = unix.Kill(k, unix.SIGKILL)
		}
		for _, k := range kids {
			_, _ = reap(k, 0)
		}
	}
	return out
}

// childPIDs lists this process's children, from every thread's children file, or by scanning
// /proc where the kernel has no such files (CONFIG_PROC_CHILDREN).
func childPIDs() []int {
	var out []int
	tasks, err := os.ReadDir("/proc/self/task")
	if err == nil {
		for _, t := range tasks {
			b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/children")
			if err != nil {
				tasks = nil
				break
			}
			for _, f := range strings.Fields(string(b)) {
				if n, err := strconv.Atoi(f); err == nil {
					out = append(out, n)
				}
			}
		}
	}
	if len(tasks) > 0 {
		return out
	}
	out = out[:0]
	self := os.Getpid()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold anything, so parse after its last ')'.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 {
			if ppid, err := strconv.Atoi(f[1]); err == nil && ppid == self {
				if n, err := strconv.Atoi(filepath.Base(filepath.Dir(s))); err == nil {
					out = append(out, n)
				}
			}
		}
	}
	return out
}
