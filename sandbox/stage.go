package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
)

// StageArg is the argument that makes the skillrun binary run as the in-sandbox stage.
const StageArg = "__stage"

// stageSpec is what the host tells the stage, as the stage's one JSON argument. It carries no
// secrets: the command's environment is the stage's own environment.
type stageSpec struct {
	Argv  []string `json:"argv"`
	Shell *string  `json:"shell,omitempty"`
	Cwd   string   `json:"cwd"`
	// MapUID and MapGID, when Nested, are the caller's own ids: the stage starts the command in
	// a nested user namespace that maps them onto the stage's uid 0 (itself the caller's uid).
	Nested bool `json:"nested,omitempty"`
	MapUID int  `json:"uid"`
	MapGID int  `json:"gid"`
	// Proxy, when set, is the address the stage listens on for the egress proxy, handing the
	// socket to the host before the command starts.
	Proxy string `json:"proxy,omitempty"`
	// Notify, when set, is the stage's descriptor of the socket to the host's seccomp
	// supervisor; the exec step gets it as notifyExecFD and sends its filter's listener there.
	Notify   bool `json:"notify,omitempty"`
	NotifyFD int  `json:"notify_fd,omitempty"`
	// GuardFD, when set, is the stage's descriptor of the run's lock file, which lists the
	// missing protected paths (createguard.go): when skillrun dies, the stage kills the command,
	// sweeps them and empties the list.
	GuardFD int `json:"guard_fd,omitempty"`
	// Pins are the binds whose sources the host checked for links: the stage checks each shows
	// the same file before anything runs.
	Pins []pin `json:"pins,omitempty"`
	// DataLimit, when set, is the RLIMIT_DATA the exec step sets just before the command: as a
	// container rlimit it would bind runc's own init too, whose Go runtime dies under a small one.
	DataLimit uint64 `json:"data_limit,omitempty"`
	// Confine is applied by the exec step, in the command's own process, just before execve.
	Confine policy.Confine `json:"confine"`
	// Seccomp is Confine's filter as the classic BPF program the host chose for the run
	// (seccomp.Program); the exec step refuses to run a command without it.
	Seccomp []byte `json:"seccomp,omitempty"`
	// Degraded, when set, is a run without namespaces (degraded.go): the exec step sets up its
	// own descriptors, no_new_privs and rlimits before it confines itself.
	Degraded *degradedExec `json:"degraded,omitempty"`
}

// lifelineFD is the read end of a pipe whose only write end the host-side skillrun holds.
const lifelineFD = 3

// watchLifeline ends the sandbox when the host-side skillrun is gone: the read returns EOF as soon
// as its write end closes, even when skillrun was killed with SIGKILL.
func watchLifeline(fd int, guard []guardTarget, guardFD int) {
	var b [1]byte
	for {
		_, err := unix.Read(fd, b[:])
		if err != unix.EINTR {
			orphaned(guard, guardFD)
		}
	}
}

// stageDeathSignal is the stage's parent-death signal: a second line beside the lifeline. It is
// caught rather than SIGKILL, so the stage can still sweep, and acted on only when the lifeline is
// broken too: a command that sends it to PID 1 changes nothing.
const stageDeathSignal = unix.SIGPWR

// lifelineBroken says the host's end of the lifeline is closed.
func lifelineBroken(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0
}

// exiting is held by whoever ends the stage: the command's end must not exit the stage while it
// sweeps after skillrun died.
var exiting sync.Mutex

// orphaned ends the sandbox after skillrun died: every other process in the namespace is killed
// and gone, then what the command made at missing protected paths is swept (nobody else would
// until the next run), then the stage exits. It never returns.
func orphaned(guard []guardTarget, guardFD int) {
	exiting.Lock()
	gone := false
	for range 2000 { // a process in an uninterruptible sleep dies when it wakes
		if unix.Kill(-1, unix.SIGKILL) == unix.ESRCH {
			gone = true
			break
		}
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err == unix.EINTR {
				continue
			}
			if err != nil || pid <= 0 {
				break
			}
		}
		time.Sleep(time.Millisecond)
	}
	if len(guard) > 0 {
		// With a process left that could still create, the list stays for the next run.
		sweepInStage(guard, guardFD, gone)
	}
	os.Exit(exitSetup)
}

// stageExit exits with the command's status unless the stage is already ending on its own.
func stageExit(code int) {
	exiting.Lock()
	os.Exit(code)
}

// forwarded are the signals the stage passes on to the command's process group.
var forwarded = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1,
	unix.SIGUSR2, unix.SIGWINCH, unix.SIGCONT, unix.SIGALRM}

// Stage exit codes for its own failures, matching the CLI's contract.
const (
	exitSetup       = 125
	exitNotRunnable = 126
	exitNotFound    = 127
)

// StageMain runs as PID 1 inside the sandbox: it starts the command in a new session (so it has
// no controlling terminal to inject keystrokes into), forwards signals to it, reaps every orphan,
// and exits with the command's status (128+N if a signal killed it). It never returns.
func StageMain(args []string) {
	// Nothing the stage inherited may reach the command: mark every descriptor above 2
	// close-on-exec before anything else opens one.
	_ = unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	// Non-dumpable: the command runs as the same user, and /proc/1/fd would otherwise let it
	// re-open the lifeline pipe for writing and outlive skillrun. A parent-death signal is the
	// second line for the same guarantee.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	died := make(chan os.Signal, 1)
	signal.Notify(died, stageDeathSignal)
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(stageDeathSignal), 0, 0, 0)
	if len(args) != 1 {
		stageFail(exitSetup, "stage: want one argument, got %d", len(args))
	}
	var spec stageSpec
	if err := json.Unmarshal([]byte(args[0]), &spec); err != nil {
		stageFail(exitSetup, "stage: bad spec: %v", err)
	}
	var guard []guardTarget
	if spec.GuardFD > 0 {
		var err error
		if guard, err = readGuardFD(spec.GuardFD); err != nil {
			stageFail(exitSetup, "stage: the missing protected paths: %v", err)
		}
	}
	go watchLifeline(lifelineFD, guard, spec.GuardFD)
	go func() {
		for range died {
			if lifelineBroken(lifelineFD) {
				orphaned(guard, spec.GuardFD)
			}
		}
	}()
	signals := make(chan os.Signal, 32)
	signal.Notify(signals, append([]os.Signal{unix.SIGCHLD}, forwarded...)...)

	if err := os.Chdir(spec.Cwd); err != nil {
		stageFail(exitSetup, "cannot enter the working directory %s in the sandbox: %v", spec.Cwd, errors.Unwrap(err))
	}
	if err := checkPins(spec.Pins); err != nil {
		stageFail(exitSetup, "stage: %v", err)
	}
	if spec.Proxy != "" {
		if err := handOverListener(spec.Proxy, proxyFD); err != nil {
			stageFail(exitSetup, "stage: the egress proxy's socket: %v", err)
		}
		unix.Close(proxyFD)
	}
	if !spec.Nested && spec.DataLimit == 0 && len(spec.Seccomp) > 0 {
		stageExit(superviseChild(startConfined(spec), signals))
	}
	// The command starts as the exec step (this binary again), which confines itself and then
	// executes the command: Landlock and seccomp must apply to the command, not to the stage,
	// which still maps the nested user namespace and signals the command's group.
	attr := &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	if spec.Nested {
		attr.Cloneflags = unix.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: spec.MapUID, HostID: 0, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: spec.MapGID, HostID: 0, Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	files := []uintptr{0, 1, 2}
	if spec.Notify {
		files = append(files, uintptr(spec.NotifyFD)) // notifyExecFD in the exec step
	}
	pid, err := syscall.ForkExec(StagePath, []string{StagePath, ExecArg, args[0]}, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: files,
		Sys:   attr,
	})
	if spec.Notify {
		unix.Close(spec.NotifyFD)
	}
	if spec.Nested {
		if err := dropCapabilities(); err != nil {
			_ = unix.Kill(pid, unix.SIGKILL)
			stageFail(exitSetup, "stage: dropping capabilities: %v", err)
		}
	}
	if err != nil {
		stageFail(exitSetup, "stage: starting the command: %v", err)
	}
	stageExit(superviseChild(pid, signals))
}

// startConfined starts the command from a thread of the stage that confined itself first, as
// the exec step would (Landlock, then the seccomp program), saving that start of this binary. The
// command inherits the thread's domain and filter; the stage's other threads stay unconfined for
// signals and reaping. Root runs only: a rootless command needs the nested user namespace the
// filter refuses, and RLIMIT_DATA would bind the stage. The thread stays parked until the stage
// exits: its death would also fire the command's parent-death signal.
func startConfined(spec stageSpec) int {
	started := make(chan int)
	go func() {
		runtime.LockOSThread() // never unlocked: no other goroutine ever runs on this thread
		argv, path := resolveCommand(spec)
		confineOrExit(spec, false, spec.Notify, spec.NotifyFD)
		pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
			Env:   os.Environ(),
			Files: []uintptr{0, 1, 2},
			Sys:   &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL},
		})
		if err != nil {
			execFail(argv[0], err)
		}
		started <- pid
		select {}
	}()
	return <-started
}

// resolveCommand finds the program through the sandbox's own PATH.
func resolveCommand(spec stageSpec) (argv []string, path string) {
	argv = spec.Argv
	if spec.Shell != nil {
		shell := "bash"
		if _, err := exec.LookPath(shell); err != nil {
			shell = "sh"
		}
		// "--": a string that starts with '-' is the command, not bash's options.
		argv = append([]string{shell, "-c", "--", *spec.Shell}, spec.Argv...)
	}
	if len(argv) == 0 {
		stageFail(exitSetup, "stage: empty command")
	}
	path, err := exec.LookPath(argv[0])
	if errors.Is(err, exec.ErrDot) {
		err = nil // found through a relative PATH entry the caller chose; run it as found
	}
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) && errors.Is(ee.Err, exec.ErrNotFound) {
			stageFail(exitNotFound, "command not found in the sandbox: %s", argv[0])
		}
		execFail(argv[0], err)
	}
	return argv, path
}

func execFail(name string, err error) {
	switch {
	case errors.Is(err, os.ErrNotExist):
		stageFail(exitNotFound, "command not found in the sandbox: %s", name)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM), errors.Is(err, os.ErrPermission):
		fmt.Fprintf(os.Stderr, "skillrun: error: cannot execute %s: permission denied\n", name)
		fmt.Fprintf(os.Stderr, "skillrun: hint: programs run only from executable mounts; see them with: skillrun plan -- %s\n", name)
		os.Exit(exitNotRunnable)
	case errors.Is(err, unix.ENOEXEC), errors.Is(err, unix.EISDIR):
		stageFail(exitNotRunnable, "cannot execute %s: not an executable file", name)
	default:
		stageFail(exitNotRunnable, "cannot execute %s: %v", name, err)
	}
}

// dropCapabilities empties the stage's permitted, effective and inheritable sets. The stage never
// executes anything after this and no_new_privs is set, so nothing can bring them back (dropping
// from the bounding set would itself need CAP_SETPCAP).
func dropCapabilities() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	return unix.Capset(&hdr, &data[0])
}

func stageFail(code int, format string, a ...any) {
	fmt.Fprintf(os.Stderr, "skillrun: error: "+format+"\n", a...)
	os.Exit(code)
}

// superviseChild forwards signals to the command's process group and reaps every child until the
// command itself is gone; it returns the command's exit status.
func superviseChild(pid int, signals <-chan os.Signal) int {
	for sig := range signals {
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
			if got != pid {
				continue // an orphan re-parented to us
			}
			switch {
			case ws.Exited():
				return ws.ExitStatus()
			case ws.Signaled():
				return 128 + int(ws.Signal())
			}
		}
	}
	return exitSetup
}
