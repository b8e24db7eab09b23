package sandbox

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

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

// ForwardedSignals are the signals passed on to the command's process group: by the stage in a
// sandbox (stage.c has the same list) and by degraded mode's supervisor.
var ForwardedSignals = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1,
	unix.SIGUSR2, unix.SIGWINCH, unix.SIGCONT, unix.SIGALRM}

// forwarded is ForwardedSignals under the name run.go uses.
var forwarded = ForwardedSignals

// exitSetup is the exit code of the sandbox's own failures, matching the CLI's contract.
const exitSetup = 125

func stageFail(code int, format string, a ...any) {
	fmt.Fprintf(os.Stderr, "skillrun: error: "+format+"\n", a...)
	os.Exit(code)
}
