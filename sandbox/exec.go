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
	if err := json.Unmarshal([]byte(args[0]), &spec); err != nil {
		stageFail(exitSetup, "exec: bad spec: %v", err)
	}
	argv, path := resolveCommand(spec)
	if err := confine(spec.Confine); err != nil {
		fmt.Fprintf(os.Stderr, "skillrun: error: %v\n", err)
		if errors.Is(err, landlock.ErrUnsupported) {
			fmt.Fprintf(os.Stderr, "skillrun: hint: see what this kernel enforces with: skillrun doctor\n")
		}
		os.Exit(exitSetup)
	}
	err := unix.Exec(path, argv, os.Environ())
	execFail(argv[0], err)
}

// confine applies the Landlock ruleset, then the seccomp filter (which would otherwise have to
// allow Landlock's syscalls to the command). Every descriptor above stderr is already
// close-on-exec: Landlock does not restrict descriptors opened before it.
func confine(c policy.Confine) error {
	if _, err := landlock.Apply(c.Landlock, []int{0, 1, 2}); err != nil {
		return err
	}
	if err := seccomp.Load(seccomp.Options{Network: c.Seccomp == policy.SeccompInet}); err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	return nil
}
