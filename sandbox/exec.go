package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/sandbox/landlock"
	"github.com/skillrun/skillrun/sandbox/seccomp"

	"github.com/skillrun/skillrun/policy"
)

// ExecArg is the argument that makes the skillrun binary run as the exec step: the command's own
// process, which confines itself and executes the command.
const ExecArg = "__exec"

// errNoFilter: the spec reached the exec step without its seccomp program.
var errNoFilter = errors.New("seccomp: the sandbox spec holds no filter program; refusing to run the command unfiltered")

// ExecMain finds the command, applies the plan's Landlock ruleset and seccomp filter to its own
// thread, and executes the command on that thread, so the command starts confined and nothing
// runs between the confinement and the command. It never returns.
func ExecMain(args []string) {
	// Landlock and seccomp bind the thread that applies them; execve must come from it too.
	runtime.LockOSThread()
	if len(args) != 1 {
		stageFail(exitSetup, "exec: want one argument, got %d", len(args))
	}
	var spec stageSpec
	if err := json.Unmarshal(specArg(args[0]), &spec); err != nil { // degraded.go: "@FILE" too
		stageFail(exitSetup, "exec: bad spec: %v", err)
	}
	if spec.Degraded != nil {
		spec.Degraded.prepare() // degraded.go: descriptors, no_new_privs and rlimits
	}
	argv, path := resolveCommand(spec)
	notify := spec.Notify && spec.Degraded == nil
	confineOrExit(spec, spec.Degraded != nil, notify, notifyExecFD)
	// Last: loading the filter allocates, and a small limit would stop that, not the command.
	if spec.Degraded != nil {
		spec.DataLimit = spec.Degraded.dataLimit()
	}
	if spec.DataLimit > 0 {
		if err := unix.Setrlimit(unix.RLIMIT_DATA, &unix.Rlimit{Cur: spec.DataLimit, Max: spec.DataLimit}); err != nil {
			stageFail(exitSetup, "exec: memory limit: %v", err)
		}
	}
	err := unix.Exec(path, argv, os.Environ())
	execFail(argv[0], err)
}

// confineOrExit confines the calling thread for the command (see confine) and hands the seccomp
// listener to the supervisor over notifyFD; on failure it says why and exits.
func confineOrExit(spec stageSpec, host, notify bool, notifyFD int) {
	listener, err := confine(spec.Confine, spec.Seccomp, host, notify)
	if err != nil {
		fmt.Fprintf(os.Stderr, "skillrun: error: %v\n", err)
		if errors.Is(err, landlock.ErrUnsupported) {
			fmt.Fprintf(os.Stderr, "skillrun: hint: see what this kernel enforces with: skillrun doctor\n")
		}
		os.Exit(exitSetup)
	}
	if notify {
		// The supervisor answers the reported refusals; nothing inside may keep the listener.
		err := unix.Sendmsg(notifyFD, []byte{1}, unix.UnixRights(listener), nil, 0)
		unix.Close(listener)
		unix.Close(notifyFD)
		if err != nil {
			stageFail(exitSetup, "exec: handing over the seccomp listener: %v", err)
		}
	}
}

// confine applies the Landlock ruleset, then the seccomp filter (which would otherwise have to
// allow Landlock's syscalls to the command). Every descriptor above stderr is already
// close-on-exec: Landlock does not restrict descriptors opened before it. host says the command
// shares the host's namespaces (degraded mode): the ruleset names real host paths, and the filter
// refuses what those namespaces would expose. The filter is the program the host put in the spec
// (seccomp.Program, chosen for the plan and the mode): without one the command would run
// unfiltered, so confine refuses.
func confine(c policy.Confine, prog []byte, host, notify bool) (int, error) {
	if len(prog) == 0 {
		return -1, errNoFilter
	}
	apply := landlock.Apply
	if host {
		apply = landlock.ApplyReal
	}
	if _, err := apply(c.Landlock, []int{0, 1, 2}); err != nil {
		return -1, err
	}
	fd, err := seccomp.LoadProgram(prog, notify)
	if err != nil {
		return -1, fmt.Errorf("seccomp: %w", err)
	}
	return fd, nil
}
