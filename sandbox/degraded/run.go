package degraded

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/sandbox"
	"github.com/skillrun/skillrun/sandbox/landlock"
	"github.com/skillrun/skillrun/sandbox/seccomp"
)

// MinABI is the Landlock ABI degraded mode needs: its signal and abstract-unix-socket
// scopes replace the PID and network namespaces that keep other processes out of reach.
const MinABI = 6

// Support reports why this kernel cannot run a degraded sandbox, or nil when it can.
func Support() error {
	abi, err := landlock.ABI()
	if err != nil {
		return fmt.Errorf("degraded mode needs Landlock ABI %d: %v", MinABI, err)
	}
	if abi < MinABI {
		return fmt.Errorf("degraded mode needs Landlock ABI %d (Linux 6.12 or later) for its signal and abstract unix socket scopes, and this kernel has ABI %d", MinABI, abi)
	}
	if _, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0); err != nil {
		return errors.New("degraded mode needs seccomp, and this kernel was built without it (CONFIG_SECCOMP)")
	}
	return nil
}

// Run runs the plan's command without namespaces, with Landlock, seccomp and rlimits alone. Only
// for an unprivileged user who cannot create user namespaces, and only when the developer policy
// allows it (the caller checks `degraded: allow`). It prints the warning, once, on opt.Stderr.
// The command and every process it started are gone when it returns.
func Run(plan *policy.Plan, opt sandbox.Options) (*sandbox.Result, error) {
	// The supervisor's lifeline and the exec step's parent-death signal are tied to threads.
	runtime.LockOSThread()
	if os.Geteuid() == 0 {
		return nil, fmt.Errorf("%w: degraded mode is for unprivileged users (as root the sandbox needs no user namespace)", sandbox.ErrSetup)
	}
	reason := sandbox.ProbeUserNamespace()
	if reason == "" {
		return nil, fmt.Errorf("%w: user namespaces are available here: a degraded run is not needed", sandbox.ErrSetup)
	}
	if err := Support(); err != nil {
		return nil, fmt.Errorf("%w: %s; %v", sandbox.ErrUserNamespace, reason, err)
	}
	if opt.StateRoot == "" {
		opt.StateRoot = sandbox.StateRoot()
	}
	if opt.Stderr == nil {
		opt.Stderr = os.Stderr
	}
	exe := opt.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("%w: cannot find the skillrun binary: %v", sandbox.ErrSetup, err)
		}
	}
	st, err := sandbox.NewRunState(opt.StateRoot)
	if err != nil {
		return nil, err
	}
	defer st.Release()
	home, tmp := st.Path(sandbox.RunHome), st.Path(sandbox.RunTmp)
	for _, d := range []string{home, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, fmt.Errorf("%w: %v", sandbox.ErrState, err)
		}
	}
	rules, err := translateHost(plan, home, tmp)
	if err != nil {
		return nil, err
	}
	for _, r := range rules.Paths {
		if within(st.Dir(), r.Path) {
			return nil, fmt.Errorf("%w: the state directory %s lies inside %s, which the command may use; point XDG_RUNTIME_DIR elsewhere", sandbox.ErrState, st.Root(), r.Path)
		}
	}
	// The filter for the host's namespaces, without notifications (the exec step hands no
	// listener over in degraded mode) and without inet sockets (Confine.Seccomp below).
	prog, err := seccomp.Program(seccomp.Options{HostNamespaces: true})
	if err != nil {
		return nil, fmt.Errorf("%w: seccomp: %v", sandbox.ErrSetup, err)
	}
	spec := execSpec{
		Seccomp: prog,
		Argv:    plan.Command.Argv, Shell: plan.Command.Shell, Cwd: workingDir(plan, home, tmp),
		Confine: policy.Confine{
			Seccomp:  policy.SeccompDefault, // never AF_INET: no namespace confines the network
			Landlock: policy.Landlock{MinABI: MinABI, Paths: rules.Paths, DenyTCP: true},
		},
		Rlimits: rlimits(plan.Limits, userTasks(os.Getuid())),
	}
	// The spec goes through a file: a ruleset over a large folder would not fit in one argument.
	specFile := st.Path(sandbox.RunSpec)
	b, _ := json.Marshal(spec)
	if err := os.WriteFile(specFile, b, 0o600); err != nil {
		return nil, fmt.Errorf("%w: %v", sandbox.ErrState, err)
	}
	// Verified skill folders run from the live folder here: hash them right before the start.
	if err := sandbox.VerifyFolders(plan); err != nil {
		return nil, err
	}
	fmt.Fprintf(opt.Stderr, "skillrun: warning: degraded: user namespaces are unavailable (%s); running with Landlock, seccomp and rlimits only: %s\n",
		reason, strings.Join(losses(plan, rules), "; "))

	// skillrun is a subreaper too: should the supervisor itself be killed, what the command left
	// behind comes to us and is killed below.
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	lifeR, lifeW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", sandbox.ErrSetup, err)
	}
	var cutOnce sync.Once
	cut := func() { cutOnce.Do(func() { lifeW.Close() }) }
	defer cut()
	cmd := &exec.Cmd{
		Path:       exe,
		Args:       []string{exe, Arg, "@" + specFile},
		Env:        environment(plan, home, tmp),
		Dir:        "/",
		Stderr:     opt.Stderr,
		ExtraFiles: []*os.File{lifeR}, // fd 3 in the supervisor
		// Its own session: a kill of skillrun's process group leaves the supervisor alive to see
		// the lifeline break and clean up.
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if opt.Stdin != nil {
		cmd.Stdin = opt.Stdin
	}
	if opt.Stdout != nil {
		cmd.Stdout = opt.Stdout
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, sandbox.ForwardedSignals...)
	defer signal.Stop(sigs)
	start := time.Now()
	err = cmd.Start()
	lifeR.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: starting the supervisor: %v", sandbox.ErrSetup, err)
	}
	done := make(chan struct{})
	supervised := make(chan bool)
	go func() {
		supervised <- superviseRun(cmd.Process, cut, plan.Limits.Timeout, sigs, done)
	}()
	werr := cmd.Wait()
	close(done)
	res := &sandbox.Result{TimedOut: <-supervised, Duration: time.Since(start), Degraded: true,
		Blocked: st.Swept()}
	killDescendants(-1)
	if cmd.ProcessState == nil {
		return nil, fmt.Errorf("%w: waiting for the supervisor: %v", sandbox.ErrSetup, werr)
	}
	res.ExitCode = exitCode(cmd.ProcessState)
	return res, nil
}

// exitCode is the supervisor's status as the CLI reports it: 128+N when signal N ended it.
func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// superviseRun forwards the caller's signals to the supervisor and enforces the timeout: SIGTERM
// to the command's process group, and after sandbox.KillGrace the lifeline is cut, which makes
// the supervisor kill every process of the command. It returns, once done is closed, whether the
// timeout fired.
func superviseRun(p *os.Process, cut func(), timeout policy.Duration, sigs <-chan os.Signal, done <-chan struct{}) (timedOut bool) {
	var deadline, kill, last <-chan time.Time
	if timeout > 0 {
		deadline = time.After(time.Duration(timeout))
	}
	for {
		select {
		case <-done:
			return timedOut
		case s := <-sigs:
			_ = p.Signal(s)
		case <-deadline:
			timedOut = true
			_ = p.Signal(unix.SIGTERM)
			kill = time.After(sandbox.KillGrace)
		case <-kill:
			cut()
			last = time.After(sandbox.KillGrace)
		case <-last:
			// The supervisor did not finish: kill it; the command's processes come to us.
			_ = p.Kill()
		}
	}
}

// defaultOpenFiles bounds descriptors when the plan does not, as it does in a sandbox.
const defaultOpenFiles = 4096

// rlimits turns the plan's limits into rlimits, as the rootless sandbox does. Without a user
// namespace RLIMIT_NPROC counts every task of this user on the machine, so the command gets the
// plan's number on top of the userTasks already running.
func rlimits(l policy.Limits, userTasks int) []rlimitSpec {
	nofile := uint64(defaultOpenFiles)
	if l.OpenFiles > 0 && uint64(l.OpenFiles) < nofile {
		nofile = uint64(l.OpenFiles)
	}
	out := []rlimitSpec{{Resource: unix.RLIMIT_NOFILE, Cur: nofile, Max: nofile}}
	if l.FileSize > 0 {
		out = append(out, rlimitSpec{Resource: unix.RLIMIT_FSIZE, Cur: uint64(l.FileSize), Max: uint64(l.FileSize)})
	}
	if l.CPU > 0 {
		secs := uint64((time.Duration(l.CPU) + time.Second - 1) / time.Second)
		out = append(out, rlimitSpec{Resource: unix.RLIMIT_CPU, Cur: secs, Max: secs + 1})
	}
	if l.Memory > 0 {
		out = append(out, rlimitSpec{Resource: unix.RLIMIT_DATA, Cur: uint64(l.Memory), Max: uint64(l.Memory)})
	}
	if l.Processes > 0 {
		n := uint64(l.Processes) + uint64(userTasks) + 2 // the supervisor and the exec step
		out = append(out, rlimitSpec{Resource: unix.RLIMIT_NPROC, Cur: n, Max: n})
	}
	return out
}

// userTasks counts the tasks (threads) whose real user is uid: what RLIMIT_NPROC counts.
func userTasks(uid int) int {
	procs, _ := filepath.Glob("/proc/[0-9]*/status")
	n := 0
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		ruid, threads := -1, 0
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Uid:"); ok {
				if f := strings.Fields(v); len(f) > 0 {
					ruid, _ = strconv.Atoi(f[0])
				}
			} else if v, ok := strings.CutPrefix(line, "Threads:"); ok {
				threads, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		if ruid == uid {
			n += max(threads, 1)
		}
	}
	return n
}

// environment is the plan's environment with the private home and tmp: HOME and TMPDIR, and any
// value naming the sandbox's /tmp (GOCACHE=/tmp/go-build), point into them.
func environment(plan *policy.Plan, home, tmp string) []string {
	homeTmpfs, tmpTmpfs := tmpfsMounts(plan)
	out := make([]string, 0, len(plan.Env))
	for _, kv := range plan.Env {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "HOME" && homeTmpfs:
			v = home
		case k == "TMPDIR" && tmpTmpfs:
			v = tmp
		case tmpTmpfs && (v == policy.SandboxTmp || strings.HasPrefix(v, policy.SandboxTmp+"/")):
			v = tmp + strings.TrimPrefix(v, policy.SandboxTmp)
		}
		out = append(out, k+"="+v)
	}
	return out
}

// workingDir is the plan's working directory on the host: the empty home and the private /tmp
// are the run's own folders.
func workingDir(plan *policy.Plan, home, tmp string) string {
	homeTmpfs, tmpTmpfs := tmpfsMounts(plan)
	switch {
	case homeTmpfs && plan.Cwd == plan.Home:
		return home
	case tmpTmpfs && plan.Cwd == policy.SandboxTmp:
		return tmp
	}
	return plan.Cwd
}

func tmpfsMounts(plan *policy.Plan) (home, tmp bool) {
	for _, m := range plan.Mounts {
		if m.Access == policy.Tmpfs {
			home = home || m.Path == plan.Home
			tmp = tmp || m.Path == policy.SandboxTmp
		}
	}
	return home, tmp
}

// losses says, for the warning, what this run does not get that a sandbox would give it.
func losses(plan *policy.Plan, rules *hostRules) []string {
	net := "no network: socket() refuses AF_INET, AF_INET6 and AF_UNIX"
	if len(plan.Network.Allow) > 0 {
		net += ", and the plan's hosts (" + strings.Join(plan.Network.Allow, ", ") + ") are unreachable"
	}
	out := []string{net}
	homeTmpfs, tmpTmpfs := tmpfsMounts(plan)
	switch {
	case homeTmpfs && tmpTmpfs:
		out = append(out, "HOME and TMPDIR are private empty folders, not "+plan.Home+" and /tmp")
	case tmpTmpfs:
		out = append(out, "TMPDIR is a private empty folder, not /tmp")
	}
	if len(rules.Narrowed) > 0 {
		out = append(out, "no entry can be created, removed or renamed directly in "+strings.Join(rules.Narrowed, ", ")+
			" (they hold protected paths, and Landlock grants by subtree)")
	}
	out = append(out, "names, sizes, modes and times of files outside the granted paths stay visible, and chmod, chown, utimes and xattrs on them are not stopped",
		"the host's processes show in /proc", "the process limit counts all of this user's processes")
	for _, m := range plan.Mounts {
		if m.Digest != "" {
			out = append(out, "verified skill folders run from the live folder, hashed just before the run, not from a private copy")
			break
		}
	}
	return out
}
