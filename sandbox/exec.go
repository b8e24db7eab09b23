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

// ExecArg is the argument that makes the skillrun binary run as degraded mode's exec step: the
// command's own process, which confines itself and executes the command. (In a sandbox the C
// stage does this work: package stage.)
const ExecArg = "__exec"

// ExecMain finds the command, sets up what degraded mode needs, applies the Landlock ruleset for
// real host paths and the seccomp filter to its own thread, and executes the command on that
// thread, so the command starts confined and nothing runs between the confinement and the
// command. It never returns.
func ExecMain(args []string) {
	// Landlock and seccomp bind the thread that applies them; execve must come from it too.
	runtime.LockOSThread()
	if len(args) != 1 {
		stageFail(exitSetup, "exec: want one argument, got %d", len(args))
	}
	var spec execSpec
	if err := json.Unmarshal(specArg(args[0]), &spec); err != nil { // degraded.go: "@FILE" too
		stageFail(exitSetup, "exec: bad spec: %v", err)
	}
	if spec.Degraded == nil {
		stageFail(exitSetup, "exec: only degraded mode runs the exec step")
	}
	spec.Degraded.prepare() // degraded.go: descriptors, no_new_privs and rlimits
	argv, path := resolveCommand(spec)
	if err := confine(spec.Confine, spec.Seccomp); err != nil {
		fmt.Fprintf(os.Stderr, "skillrun: error: %v\n", err)
		if errors.Is(err, landlock.ErrUnsupported) {
			fmt.Fprintf(os.Stderr, "skillrun: hint: see what this kernel enforces with: skillrun doctor\n")
		}
		os.Exit(exitSetup)
	}
	// Last: loading the filter allocates, and a small limit would stop that, not the command.
	if limit := spec.Degraded.dataLimit(); limit > 0 {
		if err := unix.Setrlimit(unix.RLIMIT_DATA, &unix.Rlimit{Cur: limit, Max: limit}); err != nil {
			stageFail(exitSetup, "exec: memory limit: %v", err)
		}
	}
	err := unix.Exec(path, argv, os.Environ())
	execFail(argv[0], err)
}

// errNoFilter: the spec reached the exec step without its seccomp program.
var errNoFilter = errors.New("seccomp: the sandbox spec holds no filter program; refusing to run the command unfiltered")

// confine applies the Landlock ruleset, then the seccomp filter (which would otherwise have to
// allow Landlock's syscalls to the command). Every descriptor above stderr is already
// close-on-exec: Landlock does not restrict descriptors opened before it. The command shares the
// host's namespaces: the ruleset names real host paths, and the filter refuses what those
// namespaces would expose. The filter is the program the host put in the spec (seccomp.Program):
// without one the command would run unfiltered, so confine refuses.
func confine(c policy.Confine, prog []byte) error {
	if len(prog) == 0 {
		return errNoFilter
	}
	if _, err := landlock.ApplyReal(c.Landlock, []int{0, 1, 2}); err != nil {
		return err
	}
	if _, err := seccomp.LoadProgram(prog, false); err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	return nil
}
