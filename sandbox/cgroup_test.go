package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
)

func TestChooseCgroupRoute(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lim     cgroupLimits
		unified bool
		want    cgroupRoute
	}{
		{"v1, no limits", cgroupLimits{}, false, cgroupsNone},
		{"v1, memory", cgroupLimits{Memory: 1 << 30}, false, cgroupsV1Thread},
		{"v1, processes", cgroupLimits{Pids: 65}, false, cgroupsV1Thread},
		{"v2, no limits: libcontainer's manager, as before", cgroupLimits{}, true, cgroupsLibcontainer},
		{"v2, limits", cgroupLimits{Memory: 1 << 30, Pids: 65}, true, cgroupsLibcontainer},
	} {
		if got := chooseCgroupRoute(tc.lim, tc.unified); got != tc.want {
			t.Errorf("%s: route %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSandboxCgroupLimits(t *testing.T) {
	for _, tc := range []struct {
		name     string
		l        policy.Limits
		rootless bool
		want     cgroupLimits
	}{
		{"root, none", policy.Limits{OpenFiles: 64, CPU: policy.Duration(time.Minute)}, false, cgroupLimits{}},
		{"root, memory", policy.Limits{Memory: 256 << 20}, false, cgroupLimits{Memory: 256 << 20}},
		{"root, processes: the stage counts", policy.Limits{Processes: 64}, false, cgroupLimits{Pids: 65}},
		{"rootless: rlimits instead", policy.Limits{Memory: 256 << 20, Processes: 64}, true, cgroupLimits{}},
	} {
		if got := sandboxCgroupLimits(tc.l, tc.rootless); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestEmptyCgroupPathsManageNothing pins the behaviour of libcontainer and cgroups that the v1
// route relies on (cgroup.go): a container loaded from a state whose cgroup_paths is an empty
// map gets a manager with no paths, and such a manager creates, joins, sets and removes nothing.
// If an upgrade changes either, this fails, and the route must be rethought.
func TestEmptyCgroupPathsManageNothing(t *testing.T) {
	if cgroups.IsCgroup2UnifiedMode() {
		t.Skip("cgroup v2: runs keep libcontainer's manager there (cgroup.go), and an empty-paths v2 manager computes its own path")
	}
	id := "sr-pintest" + strconv.Itoa(os.Getpid())
	cfg := &configs.Config{
		Rootfs:     t.TempDir(),
		Namespaces: configs.Namespaces{{Type: configs.NEWNS}, {Type: configs.NEWPID}},
		Cgroups:    &cgroups.Cgroup{Name: id, Parent: "skillrun", Resources: &cgroups.Resources{}},
	}
	// Where a manager of libcontainer's own would put this container: nothing may appear there.
	full, err := manager.New(&cgroups.Cgroup{Name: id, Parent: "skillrun", Resources: &cgroups.Resources{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(full.GetPaths()) == 0 {
		t.Fatal("a manager from manager.New has no paths: the premise of this test is gone")
	}

	root := t.TempDir()
	ctr, err := createUnmanaged(root, id, cfg)
	if err != nil {
		t.Fatalf("createUnmanaged: %v", err)
	}
	st, err := ctr.State()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.CgroupPaths) != 0 {
		t.Errorf("the loaded container's manager has paths %v: Load no longer builds it from cgroup_paths", st.CgroupPaths)
	}

	m, err := manager.NewWithPaths(cfg.Cgroups, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	procFile := "/proc/" + strconv.Itoa(child.Process.Pid) + "/cgroup"
	before, err := os.ReadFile(procFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(child.Process.Pid); err != nil {
		t.Errorf("Apply: %v", err)
	}
	if err := m.Set(cfg.Cgroups.Resources); err != nil {
		t.Errorf("Set: %v (a write to a path-less cgroup fails, so something tried to write)", err)
	}
	if s, err := m.GetFreezerState(); err != nil || s != cgroups.Undefined {
		t.Errorf("freezer state %q, %v: want undefined (no freezer cgroup)", s, err)
	}
	if m.Exists() {
		t.Error("a manager with no paths says its cgroup exists")
	}
	if err := m.Destroy(); err != nil {
		t.Errorf("Destroy: %v", err)
	}
	after, _ := os.ReadFile(procFile)
	if string(after) != string(before) {
		t.Errorf("Apply moved the process:\nbefore %s\nafter  %s", before, after)
	}
	if err := ctr.Destroy(); err != nil {
		t.Errorf("destroying the loaded container: %v", err)
	}
	for sub, p := range full.GetPaths() {
		if _, err := os.Stat(p); err == nil {
			os.Remove(p)
			t.Errorf("%s: %s was created", sub, p)
		}
	}
	if _, err := os.Stat(filepath.Join(root, id)); err == nil {
		t.Error("Destroy left the container's state directory")
	}
}

// TestRunCgroups: as root on cgroup v1, a run whose plan has memory or process limits is born in
// cgroups of its own in exactly those hierarchies, with the limits written, and without the
// thread that started it; one without limits, and every rootless run, is in skillrun's own
// cgroups. No cgroup outlives the run. This also proves that libcontainer still forks the init
// from the thread that calls Run: otherwise the init is not born inside, and the run stops.
func TestRunCgroups(t *testing.T) {
	if cgroups.IsCgroup2UnifiedMode() {
		t.Skip("cgroup v2: runs keep libcontainer's manager there (cgroup.go); this is the v1 route")
	}
	eachIdentity(t, func(t *testing.T) {
		root := os.Geteuid() == 0
		for _, tc := range []struct {
			name   string
			limits policy.Limits
			files  map[string]string // controller → limit file → value, as root
		}{
			{"no limits", policy.Limits{}, nil},
			{"memory", policy.Limits{Memory: 256 << 20}, map[string]string{"memory": "memory.limit_in_bytes=268435456"}},
			{"processes", policy.Limits{Processes: 64}, map[string]string{"pids": "pids.max=65"}},
			{"both", policy.Limits{Memory: 300 << 20, Processes: 100},
				map[string]string{"memory": "memory.limit_in_bytes=314572800", "pids": "pids.max=101"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if !root {
					tc.files = nil // rlimits instead: no cgroup
				}
				checkRunCgroups(t, tc.limits, tc.files)
			})
		}
	})
}

func checkRunCgroups(t *testing.T, limits policy.Limits, want map[string]string) {
	base := t.TempDir()
	ws, state := filepath.Join(base, "ws"), filepath.Join(base, "state")
	os.Mkdir(ws, 0o755)
	plan := testPlan(ws, nil, "/bin/sh", "-c", "cat /proc/self/cgroup > cg; touch ready; while [ ! -e go ]; do sleep 0.01; done")
	plan.Limits = limits
	plan.Limits.Timeout = policy.Duration(time.Minute)
	own, err := parseCgroupFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	hostPath := func(controller, shown string) string {
		m, ok := v1Mount(mounts, controller)
		if !ok {
			t.Fatalf("no v1 hierarchy has %s", controller)
		}
		rel, _ := filepath.Rel(m.Root, shown)
		return filepath.Join(m.Mountpoint, rel)
	}

	done := make(chan runOutcome, 1)
	go func() { done <- runTestPlan(t, plan, state) }()
	select {
	case o := <-done:
		t.Fatalf("the run ended before the command was ready: %v\nstdout: %s\nstderr: %s", o.err, o.stdout, o.stderr)
	case <-waitForFile(filepath.Join(ws, "ready"), 60*time.Second):
	}
	locks, _ := filepath.Glob(filepath.Join(state, "runs", "*.lock"))
	if len(locks) != 1 {
		t.Fatalf("runs: %v, want the one lock of the running run", locks)
	}
	id := strings.TrimSuffix(filepath.Base(locks[0]), ".lock")
	inside, err := parseCgroupFile(filepath.Join(ws, "cg"))
	if err != nil {
		t.Fatal(err)
	}
	var made []string
	for controller, path := range inside {
		if controller == "" || controller == "name=systemd" && own[controller] == path {
			continue
		}
		spec, limited := want[controller]
		if !limited {
			if path != own[controller] {
				t.Errorf("%s: the sandbox is in %q, not in skillrun's %q: no limit needs that hierarchy", controller, path, own[controller])
			}
			// Nothing made for this run there either.
			if p := hostPath(controller, filepath.Join(own[controller], "skillrun", id)); exists(p) {
				t.Errorf("%s: %s exists, but no limit needs that hierarchy", controller, p)
			}
			continue
		}
		if wantPath := filepath.Join(own[controller], "skillrun", id); path != wantPath {
			t.Errorf("%s: the sandbox is in %q, want the run's %q", controller, path, wantPath)
			continue
		}
		dir := hostPath(controller, path)
		made = append(made, dir)
		file, value, _ := strings.Cut(spec, "=")
		if b, err := os.ReadFile(filepath.Join(dir, file)); err != nil || strings.TrimSpace(string(b)) != value {
			t.Errorf("%s: %s is %q (%v), want %s", controller, file, b, err, value)
		}
		// The thread that started the sandbox went back: no thread of this process is inside.
		tasks, _ := os.ReadFile(filepath.Join(dir, "tasks"))
		for _, tid := range strings.Fields(string(tasks)) {
			if exists("/proc/self/task/" + tid) {
				t.Errorf("%s: thread %s of the process that ran the sandbox is still in the run's cgroup", controller, tid)
			}
		}
	}
	if len(made) != len(want) {
		t.Errorf("the sandbox is in the run's cgroups %v, want one for each of %v", made, want)
	}
	if err := os.WriteFile(filepath.Join(ws, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o := <-done
	if o.err != nil || o.res.ExitCode != 0 {
		t.Fatalf("run: %v %+v\nstdout: %s\nstderr: %s", o.err, o.res, o.stdout, o.stderr)
	}
	for _, d := range made {
		if exists(d) {
			t.Errorf("%s outlived the run", d)
		}
	}
	assertNoRunLeft(t, state)
}

func exists(p string) bool {
	return unix.Access(p, unix.F_OK) == nil
}

// TestInitExiting: a running child is not exiting; one that exited and was not waited for is
// (the kernel then shows "/" for its v1 cgroups, so checkBornInside cannot judge it).
func TestInitExiting(t *testing.T) {
	running := exec.Command("sleep", "30")
	done := exec.Command("true")
	for _, c := range []*exec.Cmd{running, done} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	defer func() { running.Process.Kill(); running.Wait(); done.Wait() }()
	if initExiting(running.Process.Pid) {
		t.Error("a sleeping child is reported exiting")
	}
	// A zombie until waited for.
	if !waitForCond(5*time.Second, func() bool { return initExiting(done.Process.Pid) }) {
		t.Error("a child that exited is not reported exiting")
	}
}

func waitForCond(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// TestLockOwnerOf: the owner of a run's lock, as /proc/locks names it, is alive while it lives,
// gone once it died even though a child still holds the lock (a sandbox's init does), and
// unlisted once nobody does.
func TestLockOwnerOf(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("no flock(1) to take a lock from another process")
	}
	name := filepath.Join(t.TempDir(), "run.lock")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// flock(1) takes the lock and leaves its descriptor to sleep, as skillrun leaves its lock to
	// the stage.
	owner := exec.Command("flock", "-x", name, "sleep", "30")
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { owner.Process.Kill(); owner.Wait() }()
	if !waitForCond(5*time.Second, func() bool { return lockOwnerOf(f) == ownerAlive }) {
		t.Fatalf("while flock(1) lives: %v, want alive", lockOwnerOf(f))
	}
	sleeper := childOf(t, owner.Process.Pid)
	owner.Process.Kill()
	owner.Wait()
	if got := lockOwnerOf(f); got != ownerGone {
		t.Errorf("owner dead, its child holding the lock: %v, want gone", got)
	}
	unix.Kill(sleeper, unix.SIGKILL)
	if !waitForCond(5*time.Second, func() bool { return lockOwnerOf(f) == ownerUnlisted }) {
		t.Errorf("nobody holding the lock: %v, want unlisted", lockOwnerOf(f))
	}
}

// childOf waits for the one child of pid and returns it.
func childOf(t *testing.T, pid int) int {
	var child int
	if !waitForCond(5*time.Second, func() bool {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children")
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return child > 0
	}) {
		t.Fatalf("process %d started no child", pid)
	}
	return child
}

func (o lockOwner) String() string {
	return [...]string{"alive", "gone", "unlisted"}[o]
}
