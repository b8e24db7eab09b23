package degraded

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/sandbox/landlock"
	"github.com/skillrun/skillrun/sandbox/seccomp"
)

// ExecArg is the argument that makes the skillrun binary run as the exec step: the command's own
// process, which confines itself and executes the command. (In a sandbox the C stage does this
// work: package stage.)
const ExecArg = "__exec"

// Exit codes for degraded mode's own failures, matching the CLI's contract (and the stage's).
const (
	exitSetup       = 125
	exitNotRunnable = 126
	exitNotFound    = 127
)

// execSpec is what the supervisor hands the exec step, as JSON in a file of the run's state
// directory: a ruleset over a large folder would not fit in one argument.
type execSpec struct {
	Argv  []string `json:"argv"`
	Shell *string  `json:"shell,omitempty"`
	Cwd   string   `json:"cwd"`
	// Confine is applied by the exec step, in the command's own process, just before execve.
	Confine policy.Confine `json:"confine"`
	// Seccomp is Confine's filter as the classic BPF program the host chose for the run
	// (seccomp.Program); the exec step refuses to run a command without it.
	Seccomp []byte `json:"seccomp,omitempty"`
	// Rlimits are the plan's limits, set by the exec step before it confines itself (rlimits).
	Rlimits []rlimitSpec `json:"rlimits,omitempty"`
}

type rlimitSpec struct {
	Resource int    `json:"resource"`
	Cur      uint64 `json:"cur"`
	Max      uint64 `json:"max"`
}

// ExecMain finds the command, sets up its descriptors, no_new_privs and rlimits, applies the
// Landlock ruleset for real host paths and the seccomp filter to its own thread, and executes
// the command on that thread, so the command starts confined and nothing runs between the
// confinement and the command. It never returns.
func ExecMain(args []string) {
	// Landlock and seccomp bind the thread that applies them; execve must come from it too.
	runtime.LockOSThread()
	if len(args) != 1 {
		fail(exitSetup, "exec: want one argument, got %d", len(args))
	}
	var spec execSpec
	if err := json.Unmarshal(specArg(args[0]), &spec); err != nil {
		fail(exitSetup, "exec: bad spec: %v", err)
	}
	spec.prepare()
	argv, path := resolveCommand(spec)
	if err := confine(spec.Confine, spec.Seccomp); err != nil {
		fmt.Fprintf(os.Stderr, "skillrun: error: %v\n", err)
		if errors.Is(err, landlock.ErrUnsupported) {
			fmt.Fprintf(os.Stderr, "skillrun: hint: see what this kernel enforces with: skillrun doctor\n")
		}
		os.Exit(exitSetup)
	}
	// Last: loading the filter allocates, and a small limit would stop that, not the command.
	if limit := spec.dataLimit(); limit > 0 {
		if err := unix.Setrlimit(unix.RLIMIT_DATA, &unix.Rlimit{Cur: limit, Max: limit}); err != nil {
			fail(exitSetup, "exec: memory limit: %v", err)
		}
	}
	err := unix.Exec(path, argv, os.Environ())
	execFail(argv[0], err)
}

// prepare makes sure nothing the exec step inherited beyond stdio survives the exec, no
// privilege can be gained (Landlock and seccomp need no_new_privs without CAP_SYS_ADMIN), and the
// plan's limits hold before the command starts. It exits on failure.
func (s *execSpec) prepare() {
	_ = unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fail(exitSetup, "exec: no_new_privs: %v", err)
	}
	for _, r := range s.Rlimits {
		if r.Resource == unix.RLIMIT_DATA {
			continue // set last, after the filter is built (dataLimit)
		}
		var cur unix.Rlimit
		if err := unix.Getrlimit(r.Resource, &cur); err != nil {
			fail(exitSetup, "exec: rlimit %d: %v", r.Resource, err)
		}
		// Only ever lowered: an unprivileged process cannot raise its hard limit.
		lim := unix.Rlimit{Cur: min(r.Cur, cur.Max), Max: min(r.Max, cur.Max)}
		if err := unix.Setrlimit(r.Resource, &lim); err != nil {
			fail(exitSetup, "exec: rlimit %d: %v", r.Resource, err)
		}
	}
}

// dataLimit is the RLIMIT_DATA the exec step sets just before the command.
func (s *execSpec) dataLimit() uint64 {
	for _, r := range s.Rlimits {
		if r.Resource == unix.RLIMIT_DATA {
			return r.Cur
		}
	}
	return 0
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

// specArg returns the spec: the argument itself, or the file it names after '@'.
func specArg(arg string) []byte {
	name, ok := strings.CutPrefix(arg, "@")
	if !ok {
		return []byte(arg)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		fail(exitSetup, "exec: reading the spec: %v", err)
	}
	return b
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
		fail(exitSetup, "stage: empty command")
	}
	path, err := exec.LookPath(argv[0])
	if errors.Is(err, exec.ErrDot) {
		err = nil // found through a relative PATH entry the caller chose; run it as found
	}
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) && errors.Is(ee.Err, exec.ErrNotFound) {
			fail(exitNotFound, "command not found in the sandbox: %s", argv[0])
		}
		execFail(argv[0], err)
	}
	return argv, path
}

// execFail reports why the command could not be executed, with the CLI's exit code for it.
func execFail(name string, err error) {
	switch {
	case errors.Is(err, os.ErrNotExist):
		fail(exitNotFound, "command not found in the sandbox: %s", name)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM), errors.Is(err, os.ErrPermission):
		fmt.Fprintf(os.Stderr, "skillrun: error: cannot execute %s: permission denied\n", name)
		fmt.Fprintf(os.Stderr, "skillrun: hint: programs run only from executable mounts; see them with: skillrun plan -- %s\n", name)
		os.Exit(exitNotRunnable)
	case errors.Is(err, unix.ENOEXEC), errors.Is(err, unix.EISDIR):
		fail(exitNotRunnable, "cannot execute %s: not an executable file", name)
	default:
		fail(exitNotRunnable, "cannot execute %s: %v", name, err)
	}
}

// fail ends the supervisor or the exec step with the CLI's error line, before the command ran.
func fail(code int, format string, a ...any) {
	fmt.Fprintf(os.Stderr, "skillrun: error: "+format+"\n", a...)
	os.Exit(code)
}
