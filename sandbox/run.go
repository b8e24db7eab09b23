package sandbox

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/sandbox/landlock"
	"github.com/skillrun/skillrun/sandbox/seccomp"
	"github.com/skillrun/skillrun/sandbox/stage"
	"github.com/skillrun/skillrun/sandbox/trace"
)

// KillGrace is how long a timed-out command has between SIGTERM and SIGKILL.
const KillGrace = 2 * time.Second

// Options are the parts of a run that are not policy: where its stdio goes and where state lives.
type Options struct {
	Stdin          *os.File
	Stdout, Stderr *os.File
	// StateRoot defaults to [StateRoot]().
	StateRoot string
	// Executable is the skillrun binary the stage runs from; defaults to this process's binary.
	Executable string
	// Egress serves the proxy when the plan has one; a plan with a proxy and no Egress is
	// refused rather than run without its network.
	Egress Egress
	// Record, when set, records the command's file and exec syscalls (skillrun learn).
	Record *Recorder
}

// Result is how a run ended.
type Result struct {
	// ExitCode is the command's status, 128+N when signal N ended it.
	ExitCode int
	// TimedOut says the plan's timeout ended the command.
	TimedOut bool
	// Degraded says the run had no namespaces: Landlock, seccomp and rlimits only (RunDegraded).
	Degraded bool
	Duration time.Duration
	// Denials are the refusals the sandbox observed (reported syscalls), repeats counted.
	Denials []Denial
	// MaskedReads are the masked paths the command opened, repeats counted.
	MaskedReads []MaskedRead
	// Blocked are the objects the command created at missing protected paths, each undone; a
	// run that follows one that was killed also reports what it undid for that one.
	Blocked []BlockedCreation
	// BlockedWrites are the changes the command asked for below protected paths that existed,
	// which their read-only binds refused (EROFS).
	BlockedWrites []BlockedWrite
}

func init() {
	// libcontainer logs through logrus; its messages must not land on the command's stderr.
	logrus.SetOutput(io.Discard)
	if os.Getenv("SKILLRUN_DEBUG") != "" {
		logrus.SetOutput(os.Stderr)
		logrus.SetLevel(logrus.DebugLevel)
	}
}

// Run executes the plan's command in a fresh sandbox and waits for it. The sandbox, its state and
// every process in it are gone when Run returns.
func Run(plan *policy.Plan, opt Options) (*Result, error) {
	record := opt.Record
	// The parent-death signal fires when the thread that started the stage exits; keep this
	// goroutine on its thread until the process ends.
	runtime.LockOSThread()
	rootless := os.Geteuid() != 0
	if err := kernelCanConfine(plan); err != nil {
		return nil, err
	}
	if rootless {
		if err := userNamespacesUsable(); err != nil {
			return nil, err
		}
	}
	// The filter was compiled at build time (seccomp.Program); the stage only loads it.
	notifying := notifySupported()
	if opt.Record != nil {
		if err := prepareRecording(notifying); err != nil {
			return nil, err
		}
	}
	// protectwrites.go: a normal run records the calls that change the file system, to report the
	// ones its read-only protected paths refused.
	var writes *writeWatch
	if record == nil && notifying && len(plan.Protect) > 0 {
		writes = newWriteWatch(plan)
		record = writes.rec
	}
	filter := compileFilter(seccomp.Options{Network: plan.Confine.Seccomp == policy.SeccompInet, Notify: notifying,
		Record: opt.Record != nil, RecordWrites: writes != nil})
	trace.Mark("sandbox: checks")
	if opt.StateRoot == "" {
		opt.StateRoot = StateRoot()
	}
	exe := opt.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("%w: cannot find the skillrun binary: %v", ErrSetup, err)
		}
	}
	st, err := newState(opt.StateRoot)
	if err != nil {
		return nil, err
	}
	defer st.release()
	trace.Mark("sandbox: state")

	cfg, pins, err := buildConfig(plan, st, exe, rootless)
	if err != nil {
		return nil, err
	}
	trace.Mark("sandbox: config and masks")
	// createguard.go: missing protected paths are watched, not held by anything on the host.
	var guard *createGuard
	var guardStage *os.File
	if len(st.guard) > 0 {
		if err := writeGuard(st.lock, st.guard); err != nil {
			return nil, err
		}
		if guard, err = watchCreations(st.guard, filepath.Join(st.root, "quarantine", st.id)); err != nil {
			return nil, err
		}
		defer guard.finish() // on every way out; what it undid is taken below once the command ends
		if guardStage, err = guardForStage(st.lock); err != nil {
			return nil, err
		}
		defer guardStage.Close()
	}
	// Without fanotify the masks hold all the same; only their reads go unreported (doctor says so).
	masks, _ := watchMasks(st.masks)
	if masks != nil {
		defer masks.finish() // on every way out; the reads are taken below once the command ends
	}
	trace.Mark("sandbox: guards and watches")
	// cgroup.go: the run's cgroups only where its limits need them, made by skillrun on v1.
	ctr, cg, err := newContainer(st, cfg, sandboxCgroupLimits(plan.Limits, rootless))
	if err != nil {
		return nil, err
	}
	defer cg.destroy(ctr)

	// The lifeline: the stage holds the read end and exits when it reads EOF, which happens
	// the moment this process dies, however it dies. (runc sets the parent-death signal only
	// on its first helper process, and the container's init does not inherit it.)
	lifeR, lifeW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSetup, err)
	}
	defer lifeW.Close()
	// The seccomp supervisor's socket: the command's process sends its filter's listener over it.
	var notifyHost, notifyStage *os.File
	notifyFD := 0
	if notifying {
		pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSetup, err)
		}
		notifyHost, notifyStage = os.NewFile(uintptr(pair[0]), "notify"), os.NewFile(uintptr(pair[1]), "notify-stage")
		defer notifyHost.Close()
		defer notifyStage.Close()
		notifyFD = 4 // after the lifeline, and the proxy's socket when there is one
		if plan.Network.Proxy != "" {
			notifyFD = 5
		}
	}
	guardFD := 0
	if guardStage != nil {
		guardFD = 4 // after the lifeline, the proxy's and the supervisor's sockets
		if plan.Network.Proxy != "" {
			guardFD++
		}
		if notifyFD > 0 {
			guardFD++
		}
	}
	trace.Mark("sandbox: libcontainer create")
	prog := <-filter
	if prog.err != nil {
		return nil, fmt.Errorf("%w: seccomp: %v", ErrSetup, prog.err)
	}
	spec, err := stageSpec(plan, prog.bpf, pins, rootless, notifyFD, guardFD)
	if err != nil {
		return nil, err
	}
	proc := &libcontainer.Process{
		Args:            append([]string{StagePath, StageArg}, spec...),
		Env:             plan.Env,
		Cwd:             "/",
		Stdin:           opt.Stdin,
		Stdout:          opt.Stdout,
		Stderr:          opt.Stderr,
		Capabilities:    &configs.Capabilities{},
		NoNewPrivileges: &noNewPrivs,
		Init:            true,
		ExtraFiles:      []*os.File{lifeR}, // fd 3 in the stage
	}
	if rootless {
		// Mapping the caller back onto the namespace's uid 0 needs CAP_SETFCAP there (the
		// kernel's verify_root_map); the stage holds it only until the command has started.
		setfcap := []string{"CAP_SETFCAP"}
		proc.Capabilities = &configs.Capabilities{Bounding: setfcap, Permitted: setfcap, Effective: setfcap}
	} else {
		proc.UID, proc.GID = plan.User.UID, plan.User.GID
	}
	var proxyHost *os.File
	if plan.Network.Proxy != "" {
		if opt.Egress == nil {
			return nil, fmt.Errorf("%w: the plan allows hosts but no egress proxy was given", ErrSetup)
		}
		pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSetup, err)
		}
		proxyHost = os.NewFile(uintptr(pair[0]), "egress")
		proxyStage := os.NewFile(uintptr(pair[1]), "egress-stage")
		defer proxyHost.Close()
		defer proxyStage.Close()
		proc.ExtraFiles = append(proc.ExtraFiles, proxyStage) // fd 4 in the stage
	}
	if notifyStage != nil {
		proc.ExtraFiles = append(proc.ExtraFiles, notifyStage) // notifyFD in the stage
	}
	if guardStage != nil {
		proc.ExtraFiles = append(proc.ExtraFiles, guardStage) // guardFD in the stage
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)

	trace.Mark("sandbox: filter and spec")
	start := time.Now()
	// The init is born in the cgroups of the thread that forks it: this one (cgroup.go).
	if err = cg.enter(); err == nil {
		err = ctr.Run(proc)
	}
	if lerr := cg.leave(); lerr != nil && err == nil {
		_ = proc.Signal(unix.SIGKILL)
		_, _ = proc.Wait()
		return nil, lerr
	}
	if err == nil {
		pid, _ := proc.Pid()
		if err := cg.checkBornInside(pid); err != nil {
			_ = proc.Signal(unix.SIGKILL)
			_, _ = proc.Wait()
			return nil, err
		}
	}
	trace.Mark("sandbox: libcontainer run")
	lifeR.Close()
	for _, f := range proc.ExtraFiles[1:] {
		f.Close() // the stage holds its own copy; ours would keep the pair open after it ends
	}
	if err == nil && proxyHost != nil {
		var l net.Listener
		if l, err = receiveListener(proxyHost, 10*time.Second); err != nil {
			_ = proc.Signal(unix.SIGKILL)
			_, _ = proc.Wait()
			return nil, err
		}
		stop := opt.Egress(l)
		defer stop()
	}
	if err != nil {
		if ierr := st.integrityFailure(); ierr != nil {
			return nil, ierr // the hook refused a verified folder that changed
		}
		if rootless {
			if reason := ProbeUserNamespace(); reason != "" {
				return nil, fmt.Errorf("%w: %s", ErrUserNamespace, reason)
			}
		}
		return nil, fmt.Errorf("%w: %v", ErrSetup, err)
	}
	var sup *supervisor
	if notifyHost != nil {
		opt := seccomp.Options{Network: plan.Confine.Seccomp == policy.SeccompInet, Notify: true}
		if sup, err = newSupervisor(notifyHost, opt, record); err != nil {
			_ = proc.Signal(unix.SIGKILL)
			_, _ = proc.Wait()
			return nil, fmt.Errorf("%w: %v", ErrSetup, err)
		}
	}
	res := &Result{}
	done := make(chan struct{})
	supervised := make(chan bool)
	go func() { supervised <- supervise(proc, plan.Limits.Timeout, sigs, done) }()
	ps, err := proc.Wait()
	trace.Mark("sandbox: stage and command")
	close(done)
	res.TimedOut = <-supervised
	res.Duration = time.Since(start)
	if ps == nil {
		return nil, fmt.Errorf("%w: waiting for the sandbox: %v", ErrSetup, err)
	}
	res.ExitCode = exitCode(ps)
	if sup != nil {
		res.Denials = sup.finish()
	}
	if masks != nil {
		res.MaskedReads = masks.finish()
	}
	res.Blocked = st.stale
	if guard != nil {
		res.Blocked = append(res.Blocked, guard.finish()...)
	}
	if writes != nil {
		res.BlockedWrites = writes.finish()
	}
	return res, nil
}

// proxyFD is the stage's end of the socket pair over which it hands the host the egress proxy's
// listening socket: right after the lifeline (see the ExtraFiles in Run).
const proxyFD = 4

// stageSpec computes everything the C stage needs (package stage) and returns its arguments: the
// Landlock rights for this kernel's ABI, the seccomp program, the descriptors (see the
// ExtraFiles below) and the pins, then the command's words.
func stageSpec(plan *policy.Plan, prog []byte, pins []pin, rootless bool, notifyFD, guardFD int) ([]string, error) {
	ruleset, err := landlock.Compile(plan.Confine.Landlock)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLandlock, err)
	}
	spec := stage.Spec{
		Argv: plan.Command.Argv, Shell: plan.Command.Shell, Cwd: plan.Cwd,
		Nested:    rootless,
		NotifyFD:  notifyFD,
		GuardFD:   guardFD,
		DataLimit: dataLimit(plan.Limits, rootless),
		Landlock:  *ruleset,
		Seccomp:   prog,
	}
	if rootless {
		spec.MapUID, spec.MapGID = uint32(plan.User.UID), uint32(plan.User.GID)
	}
	if plan.Network.Proxy != "" {
		addr, err := netip.ParseAddrPort(plan.Network.Proxy)
		if err != nil {
			return nil, fmt.Errorf("%w: the egress proxy's address: %v", ErrSetup, err)
		}
		spec.ProxyFD, spec.ProxyAddr = proxyFD, addr
	}
	for _, p := range pins {
		spec.Pins = append(spec.Pins, stage.Pin{Path: p.Path, Dev: p.Dev, Ino: p.Ino})
	}
	args, err := spec.Args()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSetup, err)
	}
	return args, nil
}

var noNewPrivs = true

type compiledFilter struct {
	bpf []byte
	err error
}

// compileFilter finds the seccomp program for opt. Where the binary holds the programs compiled
// at build time (seccomp.Generated) that is a look-up, done here; on an architecture without
// them libseccomp compiles the program, in the background while the sandbox starts.
func compileFilter(opt seccomp.Options) <-chan compiledFilter {
	c := make(chan compiledFilter, 1)
	compile := func() {
		bpf, err := seccomp.Program(opt)
		c <- compiledFilter{bpf, err}
	}
	if seccomp.Generated() {
		compile()
	} else {
		go compile()
	}
	return c
}

// supervise forwards the caller's signals to the stage and enforces the timeout: SIGTERM to the
// whole sandbox, SIGKILL after KillGrace. It returns, once done is closed, whether the timeout
// fired.
func supervise(proc *libcontainer.Process, timeout policy.Duration, sigs <-chan os.Signal, done <-chan struct{}) (timedOut bool) {
	var deadline, kill <-chan time.Time
	if timeout > 0 {
		deadline = time.After(time.Duration(timeout))
	}
	for {
		select {
		case <-done:
			return timedOut
		case s := <-sigs:
			_ = proc.Signal(s)
		case <-deadline:
			timedOut = true
			_ = proc.Signal(unix.SIGTERM)
			kill = time.After(KillGrace)
		case <-kill:
			_ = proc.Signal(unix.SIGKILL)
		}
	}
}

func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// kernelCanConfine fails closed before anything starts when the kernel cannot apply the plan's
// Landlock ruleset or a seccomp filter; the stage checks again where it applies them.
func kernelCanConfine(plan *policy.Plan) error {
	abi, err := landlock.ABI()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrLandlock, err)
	}
	if abi < plan.Confine.Landlock.MinABI {
		return fmt.Errorf("%w: the plan needs ABI %d, this kernel has %d", ErrLandlock, plan.Confine.Landlock.MinABI, abi)
	}
	if _, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("%w: seccomp: the kernel was built without it (CONFIG_SECCOMP)", ErrUnsupported)
	}
	return nil
}

// userNamespacesUsable fails closed, with the reason, when an unprivileged user cannot create
// the user namespace the sandbox needs.
func userNamespacesUsable() error {
	if reason := userNamespaceSysctlProblem(); reason != "" {
		return fmt.Errorf("%w: %s", ErrUserNamespace, reason)
	}
	return nil
}
