package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/sandbox/stage"
)

// StageArg is the argument that makes the skillrun binary run as the in-sandbox stage, which is
// C code that runs before the Go runtime (package stage).
const StageArg = stage.Arg

// StageMain is reached only when the C stage did not take over: a binary built without package
// stage. It fails closed rather than run a command unconfined.
func StageMain([]string) {
	stageFail(exitSetup, "stage: this binary was built without its in-sandbox stage (package sandbox/stage); rebuild it with cgo")
}

// SweepArg is the argument with which the C stage, after skillrun died and every process of the
// command is gone or killed, re-executes this binary as PID 1 to sweep the missing protected
// paths (createguard.go): the one thing the stage leaves to Go, on a path runs rarely take.
const SweepArg = "__sweep"

// SweepMain undoes what the command made at missing protected paths; args are the run's lock
// file's descriptor and "done" when no process of the command is left, so the list can be
// emptied. It never returns.
func SweepMain(args []string) {
	if len(args) != 2 {
		stageFail(exitSetup, "sweep: want two arguments, got %d", len(args))
	}
	fd, err := strconv.Atoi(args[0])
	if err != nil || fd < 3 {
		stageFail(exitSetup, "sweep: bad descriptor %q", args[0])
	}
	unix.CloseOnExec(fd)
	guard, err := readGuardFD(fd)
	if err != nil {
		stageFail(exitSetup, "sweep: the missing protected paths: %v", err)
	}
	sweepInStage(guard, fd, args[1] == "done")
	os.Exit(exitSetup)
}

// lifelineFD is the read end of a pipe whose only write end the host-side skillrun holds.
const lifelineFD = 3

// forwarded are the signals passed on to the command's process group (stage.c has the same list).
var forwarded = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1,
	unix.SIGUSR2, unix.SIGWINCH, unix.SIGCONT, unix.SIGALRM}

// Exit codes for the sandbox's own failures, matching the CLI's contract.
const (
	exitSetup       = 125
	exitNotRunnable = 126
	exitNotFound    = 127
)

// execSpec is what degraded mode's supervisor tells the exec step (exec.go), as JSON.
type execSpec struct {
	Argv  []string `json:"argv"`
	Shell *string  `json:"shell,omitempty"`
	Cwd   string   `json:"cwd"`
	// Confine is applied by the exec step, in the command's own process, just before execve.
	Confine policy.Confine `json:"confine"`
	// Seccomp is Confine's filter as the classic BPF program the host chose for the run
	// (seccomp.Program); the exec step refuses to run a command without it.
	Seccomp []byte `json:"seccomp,omitempty"`
	// Degraded is the run without namespaces (degraded.go): the exec step sets up its own
	// descriptors, no_new_privs and rlimits before it confines itself.
	Degraded *degradedExec `json:"degraded,omitempty"`
}

// resolveCommand finds the program through the command's PATH (stage.c does the same in the
// sandbox).
func resolveCommand(spec execSpec) (argv []string, path string) {
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

func stageFail(code int, format string, a ...any) {
	fmt.Fprintf(os.Stderr, "skillrun: error: "+format+"\n", a...)
	os.Exit(code)
}
