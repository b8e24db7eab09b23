package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/trust"
	"github.com/skillrun/skillrun/sandbox/landlock"
	"github.com/skillrun/skillrun/sandbox/seccomp"
)

// Degraded mode: where an unprivileged user may not create user namespaces (Ubuntu 24.04's
// AppArmor restriction, a container's seccomp profile) and the developer policy says
// `degraded: allow`, RunDegraded runs the command without any namespace, confined by Landlock,
// seccomp and rlimits alone, and says so on stderr.
//
// What the namespaces did is taken over where it can be:
//   - the plan's view becomes a Landlock ruleset over the host's own paths (translateHost);
//   - Landlock's signal and abstract-unix-socket scopes (ABI 6) stand in for the PID and network
//     namespaces, so a kernel without them is refused;
//   - the seccomp filter refuses every AF_INET/AF_INET6 socket whatever the plan allows, and
//     socket(AF_UNIX), datagram socketpairs, System V IPC and other processes' prlimit64, which
//     the host's namespaces would expose (seccomp.Options.HostNamespaces);
//   - a supervisor (DegradedMain, a child subreaper in its own session) stands in for the PID
//     namespace's init: it forwards signals to the command's process group and, when the command
//     ends, when the timeout's grace runs out or when skillrun dies (its lifeline), kills every
//     process the command left behind, daemons included.
//
// The process tree: skillrun → supervisor (skillrun __degraded) → exec step (skillrun __exec,
// which applies rlimits, Landlock and seccomp to itself) → the command.

// DegradedArg makes the skillrun binary run as the degraded-mode supervisor.
const DegradedArg = "__degraded"

// DegradedMinABI is the Landlock ABI degraded mode needs: its signal and abstract-unix-socket
// scopes replace the PID and network namespaces that keep other processes out of reach.
const DegradedMinABI = 6

// DegradedSupport reports why this kernel cannot run a degraded sandbox, or nil when it can.
func DegradedSupport() error {
	abi, err := landlock.ABI()
	if err != nil {
		return fmt.Errorf("degraded mode needs Landlock ABI %d: %v", DegradedMinABI, err)
	}
	if abi < DegradedMinABI {
		return fmt.Errorf("degraded mode needs Landlock ABI %d (Linux 6.12 or later) for its signal and abstract unix socket scopes, and this kernel has ABI %d", DegradedMinABI, abi)
	}
	if _, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0); err != nil {
		return errors.New("degraded mode needs seccomp, and this kernel was built without it (CONFIG_SECCOMP)")
	}
	return nil
}

// RunDegraded runs the plan's command without namespaces, with Landlock, seccomp and rlimits
// alone. Only for an unprivileged user who cannot create user namespaces, and only when the
// developer policy allows it (the caller checks `degraded: allow`). It prints the warning, once,
// on opt.Stderr. The command and every process it started are gone when it returns.
func RunDegraded(plan *policy.Plan, opt Options) (*Result, error) {
	// The supervisor's lifeline and the exec step's parent-death signal are tied to threads.
	runtime.LockOSThread()
	if os.Geteuid() == 0 {
		return nil, fmt.Errorf("%w: degraded mode is for unprivileged users (as root the sandbox needs no user namespace)", ErrSetup)
	}
	reason := ProbeUserNamespace()
	if reason == "" {
		return nil, fmt.Errorf("%w: user namespaces are available here: a degraded run is not needed", ErrSetup)
	}
	if err := DegradedSupport(); err != nil {
		return nil, fmt.Errorf("%w: %s; %v", ErrUserNamespace, reason, err)
	}
	if opt.StateRoot == "" {
		opt.StateRoot = StateRoot()
	}
	if opt.Stderr == nil {
		opt.Stderr = os.Stderr
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
	runs := filepath.Join(st.root, "runs")
	if runs, err = filepath.EvalSymlinks(runs); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrState, err)
	}
	home, tmp := filepath.Join(runs, st.id+degradedHome), filepath.Join(runs, st.id+degradedTmp)
	for _, d := range []string{home, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrState, err)
		}
	}
	rules, err := translateHost(plan, home, tmp)
	if err != nil {
		return nil, err
	}
	for _, r := range rules.Paths {
		if within(runs, r.Path) {
			return nil, fmt.Errorf("%w: the state directory %s lies inside %s, which the command may use; point XDG_RUNTIME_DIR elsewhere", ErrState, st.root, r.Path)
		}
	}
	// The filter for the host's namespaces, without notifications (the exec step hands no
	// listener over in degraded mode) and without inet sockets (Confine.Seccomp below).
	prog, err := seccomp.Program(seccomp.Options{HostNamespaces: true})
	if err != nil {
		return nil, fmt.Errorf("%w: seccomp: %v", ErrSetup, err)
	}
	spec := execSpec{
		Seccomp: prog,
		Argv:    plan.Command.Argv, Shell: plan.Command.Shell, Cwd: degradedCwd(plan, home, tmp),
		Confine: policy.Confine{
			Seccomp:  policy.SeccompDefault, // never AF_INET: no namespace confines the network
			Landlock: policy.Landlock{MinABI: DegradedMinABI, Paths: rules.Paths, DenyTCP: true},
		},
		Degraded: &degradedExec{Rlimits: degradedRlimits(plan.Limits, userTasks(os.Getuid()))},
	}
	// The spec goes through a file: a ruleset over a large folder would not fit in one argument.
	specFile := filepath.Join(runs, st.id+degradedSpec)
	b, _ := json.Marshal(spec)
	if err := os.WriteFile(specFile, b, 0o600); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrState, err)
	}
	// Verified skill folders run from the live folder here: hash them right before the start.
	if err := verifyDigests(plan); err != nil {
		return nil, err
	}
	fmt.Fprintf(opt.Stderr, "skillrun: warning: degraded: user namespaces are unavailable (%s); running with Landlock, seccomp and rlimits only: %s\n",
		reason, strings.Join(degradedLosses(plan, rules), "; "))

	// skillrun is a subreaper too: should the supervisor itself be killed, what the command left
	// behind comes to us and is killed below.
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	lifeR, lifeW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSetup, err)
	}
	var cutOnce sync.Once
	cut := func() { cutOnce.Do(func() { lifeW.Close() }) }
	defer cut()
	cmd := &exec.Cmd{
		Path:       exe,
		Args:       []string{exe, DegradedArg, "@" + specFile},
		Env:        degradedEnv(plan, home, tmp),
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
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	start := time.Now()
	err = cmd.Start()
	lifeR.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: starting the supervisor: %v", ErrSetup, err)
	}
	done := make(chan struct{})
	supervised := make(chan bool)
	go func() {
		supervised <- superviseDegradedRun(cmd.Process, cut, plan.Limits.Timeout, sigs, done)
	}()
	werr := cmd.Wait()
	close(done)
	res := &Result{TimedOut: <-supervised, Duration: time.Since(start), Degraded: true,
		Blocked: st.stale}
	killDescendants(-1)
	if cmd.ProcessState == nil {
		return nil, fmt.Errorf("%w: waiting for the supervisor: %v", ErrSetup, werr)
	}
	res.ExitCode = exitCode(cmd.ProcessState)
	return res, nil
}

// superviseDegradedRun forwards the caller's signals to the supervisor and enforces the timeout:
// SIGTERM to the command's process group, and after KillGrace the lifeline is cut, which makes the
// supervisor kill every process of the command. It returns, once done is closed, whether the
// timeout fired.
func superviseDegradedRun(p *os.Process, cut func(), timeout policy.Duration, sigs <-chan os.Signal, done <-chan struct{}) (timedOut bool) {
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
			kill = time.After(KillGrace)
		case <-kill:
			cut()
			last = time.After(KillGrace)
		case <-last:
			// The supervisor did not finish: kill it; the command's processes come to us.
			_ = p.Kill()
		}
	}
}

// Per-run files beside the run's lock: the private home and tmp, and the exec step's spec.
const (
	degradedHome = ".home"
	degradedTmp  = ".tmp"
	degradedSpec = ".spec"
)

// removeDegradedFiles removes what a degraded run kept; the command may have left folders it
// made unwritable, so modes are fixed on the way (never following a symlink).
func removeDegradedFiles(runs, id string) {
	os.Remove(filepath.Join(runs, id+degradedSpec))
	for _, d := range []string{degradedHome, degradedTmp} {
		removeTree(filepath.Join(runs, id+d))
	}
}

func removeTree(p string) {
	if err := os.RemoveAll(p); err == nil {
		return
	}
	_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if d != nil && d.IsDir() {
			_ = unix.Fchmodat(unix.AT_FDCWD, q, 0o700, 0)
		}
		return nil
	})
	_ = os.RemoveAll(p)
}

// degradedExec is what the exec step does, in degraded mode, before it confines itself.
type degradedExec struct {
	Rlimits []rlimitSpec `json:"rlimits,omitempty"`
}

type rlimitSpec struct {
	Resource int    `json:"resource"`
	Cur      uint64 `json:"cur"`
	Max      uint64 `json:"max"`
}

// prepare runs in the exec step: nothing it inherited beyond stdio survives the exec, no
// privilege can be gained (Landlock and seccomp need no_new_privs without CAP_SYS_ADMIN), and the
// plan's limits hold before the command starts. It exits on failure.
func (d *degradedExec) prepare() {
	_ = unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		stageFail(exitSetup, "exec: no_new_privs: %v", err)
	}
	for _, r := range d.Rlimits {
		if r.Resource == unix.RLIMIT_DATA {
			continue // set last, after the filter is built (dataLimit)
		}
		var cur unix.Rlimit
		if err := unix.Getrlimit(r.Resource, &cur); err != nil {
			stageFail(exitSetup, "exec: rlimit %d: %v", r.Resource, err)
		}
		// Only ever lowered: an unprivileged process cannot raise its hard limit.
		lim := unix.Rlimit{Cur: min(r.Cur, cur.Max), Max: min(r.Max, cur.Max)}
		if err := unix.Setrlimit(r.Resource, &lim); err != nil {
			stageFail(exitSetup, "exec: rlimit %d: %v", r.Resource, err)
		}
	}
}

// dataLimit is the RLIMIT_DATA the exec step sets just before the command.
func (d *degradedExec) dataLimit() uint64 {
	for _, r := range d.Rlimits {
		if r.Resource == unix.RLIMIT_DATA {
			return r.Cur
		}
	}
	return 0
}

// specArg returns the exec step's spec: the argument itself, or the file it names after '@'.
func specArg(arg string) []byte {
	name, ok := strings.CutPrefix(arg, "@")
	if !ok {
		return []byte(arg)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		stageFail(exitSetup, "exec: reading the spec: %v", err)
	}
	return b
}

// degradedRlimits turns the plan's limits into rlimits, as the rootless sandbox does. Without a
// user namespace RLIMIT_NPROC counts every task of this user on the machine, so the command gets
// the plan's number on top of the userTasks already running.
func degradedRlimits(l policy.Limits, userTasks int) []rlimitSpec {
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

// degradedEnv is the plan's environment with the private home and tmp: HOME and TMPDIR, and any
// value naming the sandbox's /tmp (GOCACHE=/tmp/go-build), point into them.
func degradedEnv(plan *policy.Plan, home, tmp string) []string {
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

// degradedCwd is the plan's working directory on the host: the empty home and the private /tmp
// are the run's own folders.
func degradedCwd(plan *policy.Plan, home, tmp string) string {
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

// verifyDigests hashes every verified folder of the plan and refuses the run when one no longer
// matches its approved digest. (The command then runs from the live folder: a change between
// this check and the run is the one race degraded mode cannot close.)
func verifyDigests(plan *policy.Plan) error {
	for _, m := range plan.Mounts {
		if m.Digest == "" {
			continue
		}
		src := m.Path
		if m.Source != "" {
			src = m.Source
		}
		if err := checkRealPath(src); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrIntegrity, src, err)
		}
		root, err := os.OpenRoot(src)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrIntegrity, src, err)
		}
		l, err := trust.Hash(root.FS(), trust.Options{})
		root.Close()
		switch {
		case err != nil && folderChanged(err):
			return fmt.Errorf("%w: %s: %v", ErrIntegrity, src, err)
		case err != nil:
			return fmt.Errorf("%w: hashing %s: %v", ErrSetup, src, err)
		case l.Digest() != m.Digest:
			return fmt.Errorf("%w: %s: its content hashes to %s, not to the approved %s", ErrIntegrity, src, l.Digest(), m.Digest)
		}
	}
	return nil
}

// degradedLosses says, for the warning, what this run does not get that a sandbox would give it.
func degradedLosses(plan *policy.Plan, rules *hostRules) []string {
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

// access is a set of Landlock rights in the plan's terms.
type access uint8

const (
	accList access = 1 << iota // list directories
	accRead                    // read files
	accWrite
	accExec
	accIoctl
	accReadAll = accList | accRead
)

func (a access) rights() []string {
	var r []string
	switch {
	case a&accReadAll == accReadAll:
		r = append(r, policy.RightRead)
	case a&accList != 0:
		r = append(r, policy.RightList)
	}
	if a&accWrite != 0 {
		r = append(r, policy.RightWrite)
	}
	if a&accExec != 0 {
		r = append(r, policy.RightExec)
	}
	if a&accIoctl != 0 {
		r = append(r, policy.RightIoctl)
	}
	return r
}

func mountAccess(m policy.Mount) access {
	a := accReadAll
	if m.Access == policy.ReadWrite || m.Access == policy.Tmpfs {
		a |= accWrite
	}
	if m.Exec {
		a |= accExec
	}
	return a
}

// degradedDevices are the only devices a degraded command reaches (besides the terminal it was
// given on stdio, which the exec step adds): no /dev/pts, where the user's other terminals are.
var degradedDevices = []struct {
	path string
	acc  access
}{
	{"/dev/null", accReadAll | accWrite | accIoctl},
	{"/dev/zero", accReadAll | accWrite | accIoctl},
	{"/dev/full", accReadAll | accWrite | accIoctl},
	{"/dev/random", accReadAll | accWrite | accIoctl},
	{"/dev/urandom", accReadAll | accWrite | accIoctl},
	{"/dev/tty", accReadAll | accWrite | accIoctl},
	{"/dev/shm", accReadAll | accWrite},
	{"/proc", accReadAll},
}

// hostRules is a plan's view translated into a Landlock ruleset over the host's own paths.
type hostRules struct {
	Paths []policy.LandlockPath
	// Narrowed are writable folders that hold a protected or masked path: Landlock's rights add
	// up down the tree, so such a folder keeps only what every path below it may have (read or
	// list), and each entry in it gets its own rule; nothing can be created in it directly.
	Narrowed []string
}

// Kinds of node, in precedence order: at the same path a mask wins over a protection, which wins
// over a mount.
type nodeKind int

const (
	kindMount nodeKind = iota + 1
	kindProtect
	kindMask
)

// hostNode is a path whose rights the plan fixes: everything below it has the same rights unless
// a deeper node says otherwise.
type hostNode struct {
	path string
	acc  access
	kind nodeKind
}

type translator struct {
	nodes    map[string]*hostNode
	sorted   []*hostNode
	visited  map[string]bool
	out      []policy.LandlockPath
	narrowed []string
}

// translateHost turns the plan's mounts, protected and masked paths into Landlock rules on the
// host's real paths, for a run without a mount namespace. home and tmp are the run's private
// folders that stand in for the empty home and the private /tmp.
//
// The translation never grants more than the plan: a read-only mount gets read (and exec), a
// read-write one read and write (and exec); a protected path is read-only and a masked one gets
// nothing. Because Landlock's rights add up down the tree, a folder that holds a path with fewer
// rights than itself gets only what every path below it may have, and each of its entries is
// translated on its own (recursively). Symlinks are never granted through: a mount reached
// through a symlink in the workspace is skipped (the link's target keeps its own rules), a
// protected or masked symlink protects or masks its target too, and every rule names a real path.
func translateHost(plan *policy.Plan, home, tmp string) (*hostRules, error) {
	t := &translator{nodes: map[string]*hostNode{}, visited: map[string]bool{}}
	// Symlinks in the workspace or a writable mount are the command's or a cloned repository's
	// to plant: a mount is never made through one.
	untrusted := []string{plan.Workspace}
	for _, m := range plan.Mounts {
		if m.Access == policy.ReadWrite {
			untrusted = append(untrusted, m.Path)
		}
	}
	trustedLink := func(link string) bool {
		for _, u := range untrusted {
			if within(link, u) {
				return false
			}
		}
		return true
	}
	for _, m := range plan.Mounts {
		acc := mountAccess(m)
		if m.Access == policy.Tmpfs {
			var private string
			switch m.Path {
			case plan.Home:
				private = home
			case policy.SandboxTmp:
				private = tmp
			default:
				return nil, fmt.Errorf("%w: %s (%s): an empty folder at this path needs a mount namespace", ErrSetup, m.Path, m.Origin)
			}
			// The host's folder at the path is hidden; the private one stands in for it.
			t.setBoth(m.Path, 0, kindMount)
			t.set(private, acc, kindMount)
			continue
		}
		src := m.Path
		if m.Source != "" {
			src = m.Source
		}
		if m.Digest != "" {
			acc &^= accWrite
			// The signature folder is not part of the digest: nothing may run from it.
			t.setBoth(filepath.Join(src, ".skillrun"), 0, kindMask)
		}
		rp, exists, err := resolveHost(src, trustedLink)
		switch {
		case errors.Is(err, errUntrustedLink):
			continue // granted only through a symlink the command could have planted
		case err != nil:
			return nil, fmt.Errorf("%w: %s (%s): %v", ErrSetup, m.Path, m.Origin, err)
		case !exists && m.Optional:
			continue
		case !exists:
			return nil, fmt.Errorf("%w: %s (%s): %v", ErrSetup, m.Path, m.Origin, os.ErrNotExist)
		}
		t.set(rp, acc, kindMount)
	}
	for _, d := range degradedDevices {
		if rp, exists, err := resolveHost(d.path, func(string) bool { return true }); err == nil && exists {
			t.set(rp, d.acc, kindMount)
		}
	}
	// A missing protected path needs nothing more: the folder holding it is narrowed, so nothing
	// can be created in it at all. A glob line protects each existing match, and its pattern
	// stays a node of its own so its folder is narrowed too.
	for _, p := range append(append([]string{}, plan.Protect...), expandGlobs(plan.Protect)...) {
		t.setBoth(p, 0, kindProtect) // the rights are the mount's, read-only: see below
	}
	for _, p := range expandMasks(plan.Mask) {
		t.setBoth(p, 0, kindMask)
	}
	// A protected path may read, and run, what its mount shows, never write; only mounts decide
	// that (a repository's own pre-commit hook runs, as it does in a namespaced run).
	for _, n := range t.nodes {
		if n.kind == kindProtect {
			n.acc = t.mountAccessAt(n.path) & (accReadAll | accExec)
		}
	}
	// A mask hides everything below it, grants included (as a masked folder hides what is
	// mounted inside it).
	for p := range t.nodes {
		for q, n := range t.nodes {
			if n.kind == kindMask && p != q && within(p, q) {
				delete(t.nodes, p)
				break
			}
		}
	}
	for _, n := range t.nodes {
		t.sorted = append(t.sorted, n)
	}
	sort.Slice(t.sorted, func(i, j int) bool { return t.sorted[i].path < t.sorted[j].path })
	for _, n := range topmost(t.sorted) {
		t.visit(n.path)
	}
	sort.Slice(t.out, func(i, j int) bool { return t.out[i].Path < t.out[j].Path })
	return &hostRules{Paths: t.out, Narrowed: t.narrowed}, nil
}

// set records rights at p; see nodeKind for what wins at the same path. Two mounts add up, two
// protections keep the stricter.
func (t *translator) set(p string, acc access, k nodeKind) {
	n := t.nodes[p]
	switch {
	case n == nil:
		t.nodes[p] = &hostNode{path: p, acc: acc, kind: k}
	case k > n.kind:
		n.acc, n.kind = acc, k
	case k == n.kind && k == kindMount:
		n.acc |= acc
	case k == n.kind:
		n.acc &= acc
	}
}

// setBoth records p and, when symlinks lie on it, the path they lead to (which may not exist
// yet): protecting or hiding a link must protect or hide what it shows.
func (t *translator) setBoth(p string, acc access, k nodeKind) {
	t.set(p, acc, k)
	if rp, _, err := resolveHost(p, func(string) bool { return true }); err == nil && rp != p {
		t.set(rp, acc, k)
	}
}

// mountAccessAt returns the rights of the innermost mount node containing p.
func (t *translator) mountAccessAt(p string) access {
	best, acc := "", access(0)
	for _, n := range t.nodes {
		if n.kind == kindMount && within(p, n.path) && len(n.path) > len(best) {
			best, acc = n.path, n.acc
		}
	}
	return acc
}

// desired returns the rights the plan gives p: those of the innermost node containing it.
func (t *translator) desired(p string) access {
	best, acc := "", access(0)
	for _, n := range t.sorted {
		if within(p, n.path) && len(n.path) >= len(best) {
			best, acc = n.path, n.acc
		}
	}
	return acc
}

// below returns the nodes strictly below p.
func (t *translator) below(p string) []*hostNode {
	var out []*hostNode
	for _, n := range t.sorted {
		if n.path != p && within(n.path, p) {
			out = append(out, n)
		}
	}
	return out
}

// topmost returns the nodes that lie below no other node of the list.
func topmost(nodes []*hostNode) []*hostNode {
	var out []*hostNode
next:
	for _, n := range nodes {
		for _, o := range nodes {
			if o != n && within(n.path, o.path) {
				continue next
			}
		}
		out = append(out, n)
	}
	return out
}

// visit emits the rules for the real path x and what lies below it.
func (t *translator) visit(x string) {
	if t.visited[x] {
		return
	}
	t.visited[x] = true
	want := t.desired(x)
	fi, err := os.Lstat(x)
	if err != nil || fi.Mode()&os.ModeSymlink != 0 || checkRealPath(x) != nil {
		return // missing, or reached through a symlink: nothing is granted through links
	}
	if !fi.IsDir() {
		t.emit(x, want)
		return
	}
	below := t.below(x)
	common := want
	for _, n := range below {
		a := n.acc
		if nfi, err := os.Lstat(n.path); err != nil || !nfi.IsDir() {
			a |= accList // listing a folder shows nothing of a file's content
		}
		common &= a
	}
	if common == want {
		t.emit(x, want)
		for _, n := range topmost(below) {
			t.visit(n.path)
		}
		return
	}
	t.emit(x, common)
	if want&accWrite != 0 && common&accWrite == 0 {
		t.narrowed = append(t.narrowed, x)
	}
	entries, err := os.ReadDir(x)
	if err != nil {
		return
	}
	for _, e := range entries {
		t.visit(filepath.Join(x, e.Name()))
	}
}

func (t *translator) emit(p string, acc access) {
	if acc == 0 {
		return
	}
	// Optional: an entry that vanishes before the exec step applies the rules only loses them.
	t.out = append(t.out, policy.LandlockPath{Path: p, Rights: acc.rights(), Optional: true})
}

var errUntrustedLink = errors.New("a symlink the command could have planted lies on the path")

// resolveHost follows the symlinks on the absolute path p component by component, as the kernel
// would, and returns the real path; a missing tail is kept as it is (exists is then false). Each
// symlink met is followed only when follow says so; else errUntrustedLink.
func resolveHost(p string, follow func(link string) bool) (resolved string, exists bool, err error) {
	if !filepath.IsAbs(p) {
		return "", false, fmt.Errorf("%q is not absolute", p)
	}
	todo := strings.Split(p, "/")
	cur := "/"
	for hops := 0; len(todo) > 0; {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
			return filepath.Join(append([]string{next}, todo...)...), false, nil
		}
		if err != nil {
			return "", false, err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return "", false, fmt.Errorf("%s: %w", p, unix.ELOOP)
		}
		if !follow(next) {
			return "", false, fmt.Errorf("%s: %w", next, errUntrustedLink)
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", false, err
		}
		if filepath.IsAbs(target) {
			cur = "/"
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return cur, true, nil
}

func within(p, base string) bool {
	return p == base || base == "/" || strings.HasPrefix(p, base+"/")
}

// DegradedMain is the degraded-mode supervisor: in its own session, a child subreaper, it starts
// the exec step (which confines itself and executes the command) in a new session with a
// parent-death signal, forwards signals to the command's process group, and when the command
// ends, or its lifeline (fd 3) breaks, kills every process the command left behind before it
// exits with the command's status. It never returns.
func DegradedMain(args []string) {
	runtime.LockOSThread() // the exec step's parent-death signal follows this thread
	_ = unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	// Non-dumpable: its /proc entries (the lifeline among them) stay closed to the command.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		stageFail(exitSetup, "degraded: cannot become a subreaper: %v", err)
	}
	if len(args) != 1 {
		stageFail(exitSetup, "degraded: want one argument, got %d", len(args))
	}
	var spec execSpec
	if err := json.Unmarshal(specArg(args[0]), &spec); err != nil {
		stageFail(exitSetup, "degraded: bad spec: %v", err)
	}
	signals := make(chan os.Signal, 64)
	signal.Notify(signals, append([]os.Signal{unix.SIGCHLD}, forwarded...)...)
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
		stageFail(exitSetup, "cannot enter the working directory %s: %v", spec.Cwd, errors.Unwrap(err))
	} else if !fi.IsDir() {
		stageFail(exitSetup, "cannot enter the working directory %s: not a directory", spec.Cwd)
	}
	const self = "/proc/self/exe"
	pid, err := syscall.ForkExec(self, []string{self, ExecArg, args[0]}, &syscall.ProcAttr{
		Dir:   spec.Cwd,
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		stageFail(exitSetup, "degraded: starting the command: %v", err)
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
