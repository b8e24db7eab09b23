package sandbox

// Where a run's memory and process limits live, and how the sandbox gets into them.
//
// # Why not libcontainer's cgroup manager
//
// libcontainer.Create always builds a cgroup manager with a path in every v1 hierarchy, and
// Container.Run writes the init's pid into each of their cgroup.procs files. Moving a process
// takes the kernel's cgroup_threadgroup_rwsem for writing, and after an idle spell that write
// waits for an RCU grace period: 7–20 ms for the first write of a burst, measured on this
// project's machines (later writes cost ~0.1 ms). It was the largest single cost of a run. Most
// plans need at most two hierarchies (memory, pids), rootless runs need none (rlimits stand in),
// and libcontainer has no switch to skip its manager.
//
// # What instead, on cgroup v1
//
// A process is born in the cgroups of the thread that forks it, and a single thread that moves
// itself (writing "0" to a v1 `tasks` file) skips the threadgroup lock, and so the grace period:
// 10–100 µs. libcontainer forks runc's init from the goroutine that calls Run (initProcess.start
// → exec.Cmd.Start), and Run keeps that goroutine locked to its thread for the parent-death
// signal. So skillrun makes the run's cgroups itself, only in the hierarchies its limits need,
// writes the limits, and the locked thread joins them just before Run and goes back to its own
// cgroups as soon as Run returns: the init, and everything in the sandbox, is born inside, and
// nothing is ever attached. While the thread is inside it forks nothing else but Go's one-time
// check that pidfds work (a child of os.StartProcess that exits at once); the Go runtime starts
// new threads from its template thread when the asking thread is locked; and its user memory is
// charged to the process's memory cgroup (v1 charges the mm's owner, not the thread). Until it
// leaves, the thread counts as one task against pids.max, and what the kernel allocates for it
// (kernel memory) is charged to the run: both before the command starts, in practice.
//
// libcontainer must then attach nothing, so the container is not made by Create but loaded
// (libcontainer.Load) from a state whose cgroup_paths is an empty map: Load builds its manager
// with manager.NewWithPaths, and a v1 manager with no paths has nothing to create, join, set or
// remove. TestEmptyCgroupPathsManageNothing pins that behaviour of libcontainer and cgroups: it
// fails if an upgrade changes it. [checkBornInside] checks, at every run, that the init was born
// in the run's cgroups, and stops the run if it was not.
//
// The other route measured (a read-only view of the cgroup mounts and Cgroups.Rootless, so that
// libcontainer ignores its EROFS) needs a mount namespace for the launching thread, still pays
// the manager's path discovery and a failed mkdir per hierarchy, and changes how libcontainer
// treats every cgroup error; loading the state is the smaller lie.
//
// # cgroup v2
//
// Not on the machines this was built on: what runs there is tested here only as far as a v2
// hierarchy without the memory and pids controllers allows (TestCgroupV2Limits: such a run is
// refused). A thread cannot join a
// domain cgroup of its own (v2 moves threads only within one threaded subtree, and memory is a
// domain controller), and the clean v2 answer, clone3 with CLONE_INTO_CGROUP, must be asked for
// by whoever forks: libcontainer forks the init itself and sets CLONE_INTO_CGROUP only for
// `runc exec` processes (setnsProcess.prepareCgroupFD); it offers no way to pass a cgroup for
// the init. An empty-paths manager is no help either: fs2.NewManager computes the default path
// when given none, and creates and joins it. So on v2 every run keeps libcontainer's own manager,
// as before this route existed (less the device rules, see buildConfig): it creates the cgroup,
// attaches the init by cgroup.procs and writes the limits, and any failure stops the run (fail
// closed). Plans without limits, and rootless runs where the user's cgroup is delegated, so join
// a cgroup there too. What would remove that
// cost: libcontainer accepting a cgroup fd for the init (as it does for exec), or the stage
// starting the command with clone3(CLONE_INTO_CGROUP) itself.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/configs/validate"
	"golang.org/x/sys/unix"
)

// ErrCgroup marks limits that need a cgroup this machine or user cannot make or join.
var ErrCgroup = fmt.Errorf("%w: cgroups", ErrUnsupported)

// cgroupRoute is how a run gets its cgroups.
type cgroupRoute int

const (
	// cgroupsNone: no cgroup of its own; the sandbox stays in skillrun's.
	cgroupsNone cgroupRoute = iota
	// cgroupsV1Thread: skillrun's own v1 cgroups, joined by the launching thread.
	cgroupsV1Thread
	// cgroupsLibcontainer: libcontainer's manager makes them and attaches the init (cgroup v2).
	cgroupsLibcontainer
)

func (r cgroupRoute) String() string {
	return [...]string{"none", "v1 thread", "libcontainer"}[r]
}

// chooseCgroupRoute picks the route for a run's limits on a v1 (or hybrid) or a v2 machine.
func chooseCgroupRoute(lim cgroupLimits, unified bool) cgroupRoute {
	switch {
	case unified:
		return cgroupsLibcontainer
	case lim.none():
		return cgroupsNone
	default:
		return cgroupsV1Thread
	}
}

// runCgroups are one run's cgroups, whichever route made them.
type runCgroups struct {
	route  cgroupRoute
	dirs   []cgroupDir // cgroupsV1Thread
	record string      // the file naming dirs, for the cleaner of a killed run
	inside bool        // the launching thread is in dirs
}

// cgroupDir is the run's cgroup in one v1 hierarchy.
type cgroupDir struct {
	controller string
	path       string   // the run's cgroup
	shown      string   // the same, as /proc/PID/cgroup shows it
	join       *os.File // its tasks file
	home       *os.File // the tasks file of the launching thread's own cgroup, to go back to
}

// v1LimitFiles are the controllers the limits need, and the file each limit is written to.
var v1LimitFiles = []struct {
	controller, file string
	value            func(cgroupLimits) int64
}{
	{"memory", "memory.limit_in_bytes", func(l cgroupLimits) int64 { return l.Memory }},
	{"pids", "pids.max", func(l cgroupLimits) int64 { return l.Pids }},
}

// newContainer makes the run's container, and its cgroups where its limits need them. The
// caller must be the goroutine that will call Run, locked to its thread.
func newContainer(st *state, cfg *configs.Config, lim cgroupLimits) (*libcontainer.Container, *runCgroups, error) {
	cg := &runCgroups{route: chooseCgroupRoute(lim, cgroups.IsCgroup2UnifiedMode())}
	if cg.route == cgroupsLibcontainer {
		res := cfg.Cgroups.Resources
		res.Memory = lim.Memory
		if lim.Pids > 0 {
			n := lim.Pids
			res.PidsLimit = &n
		}
		ctr, err := libcontainer.Create(st.ctRoot, st.id, cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrSetup, err)
		}
		return ctr, cg, nil
	}
	if cg.route == cgroupsV1Thread {
		if err := cg.makeV1(st, lim); err != nil {
			cg.remove()
			return nil, nil, err
		}
	}
	ctr, err := createUnmanaged(st.ctRoot, st.id, cfg)
	if err != nil {
		cg.remove()
		return nil, nil, fmt.Errorf("%w: %v", ErrSetup, err)
	}
	return ctr, cg, nil
}

// unmanagedState is libcontainer's state file with cgroup_paths present and empty: the State
// type omits an empty map, and Load would then build a manager with every path.
type unmanagedState struct {
	libcontainer.State
	CgroupPaths map[string]string `json:"cgroup_paths"`
}

// createUnmanaged does what libcontainer.Create does, except that the container's cgroup
// manager has no paths: it validates the configuration, makes the container's state directory,
// writes a state that has no init yet, and loads it.
func createUnmanaged(root, id string, cfg *configs.Config) (*libcontainer.Container, error) {
	if err := validate.Validate(cfg); err != nil {
		return nil, err
	}
	dir := filepath.Join(root, id)
	if err := os.Mkdir(dir, 0o711); err != nil {
		return nil, err
	}
	b, err := json.Marshal(unmanagedState{
		State: libcontainer.State{BaseState: libcontainer.BaseState{
			ID:             id,
			InitProcessPid: -1, // what libcontainer itself records for a container with no init
			Config:         *cfg,
		}},
		CgroupPaths: map[string]string{},
	})
	if err != nil {
		return nil, err
	}
	if err := writeNew(filepath.Join(dir, "state.json"), b); err != nil {
		return nil, err
	}
	return libcontainer.Load(root, id)
}

// writeNew writes a file that must not exist yet.
func writeNew(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// makeV1 makes the run's cgroup in each hierarchy its limits need, beside where the calling
// thread is (so the limits of the cgroups around skillrun still hold), and writes the limits.
func (c *runCgroups) makeV1(st *state, lim cgroupLimits) error {
	own, err := threadCgroups()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCgroup, err)
	}
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup"))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCgroup, err)
	}
	type planned struct {
		controller, file, path, shown, home string
		value                               int64
	}
	var todo []planned
	for _, f := range v1LimitFiles {
		v := f.value(lim)
		if v == 0 {
			continue
		}
		mnt, ok := v1Mount(mounts, f.controller)
		if !ok {
			return fmt.Errorf("%w: the plan's limits need the %s controller, and no cgroup v1 hierarchy has it", ErrCgroup, f.controller)
		}
		mine, ok := own[f.controller]
		if !ok {
			return fmt.Errorf("%w: this thread is in no %s cgroup", ErrCgroup, f.controller)
		}
		rel, err := filepath.Rel(mnt.Root, mine)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return fmt.Errorf("%w: skillrun's %s cgroup %s is outside the mounted %s", ErrCgroup, f.controller, mine, mnt.Mountpoint)
		}
		home := filepath.Join(mnt.Mountpoint, rel)
		todo = append(todo, planned{controller: f.controller, file: f.file, value: v,
			home: home, path: filepath.Join(home, "skillrun", st.id), shown: path.Join(mine, "skillrun", st.id)})
	}
	// Named before they exist, so that a cleaner finds them whenever this run dies.
	var list bytes.Buffer
	for _, p := range todo {
		list.WriteString(p.path + "\n")
	}
	c.record = filepath.Join(st.root, "runs", st.id+".cgroups")
	if err := writeNew(c.record, list.Bytes()); err != nil {
		c.record = ""
		return fmt.Errorf("%w: %v", ErrState, err)
	}
	for _, p := range todo {
		if err := os.Mkdir(filepath.Dir(p.path), 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %v", ErrCgroup, err)
		}
		if err := os.Mkdir(p.path, 0o755); err != nil {
			return fmt.Errorf("%w: %v", ErrCgroup, err)
		}
		d := cgroupDir{controller: p.controller, path: p.path, shown: p.shown}
		c.dirs = append(c.dirs, d)
		if err := writeCgroupFile(filepath.Join(p.path, p.file), strconv.FormatInt(p.value, 10)); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrCgroup, p.file, err)
		}
		last := &c.dirs[len(c.dirs)-1]
		if last.join, err = os.OpenFile(filepath.Join(p.path, "tasks"), os.O_WRONLY|unix.O_CLOEXEC, 0); err != nil {
			return fmt.Errorf("%w: %v", ErrCgroup, err)
		}
		if last.home, err = os.OpenFile(filepath.Join(p.home, "tasks"), os.O_WRONLY|unix.O_CLOEXEC, 0); err != nil {
			return fmt.Errorf("%w: %v", ErrCgroup, err)
		}
	}
	return nil
}

// v1Mount finds the v1 hierarchy that has controller.
func v1Mount(mounts []*mountinfo.Info, controller string) (*mountinfo.Info, bool) {
	for _, m := range mounts {
		for _, o := range strings.Split(m.VFSOptions, ",") {
			if o == controller {
				return m, true
			}
		}
	}
	return nil, false
}

// threadCgroups reads the calling thread's v1 cgroups: controller → path in its hierarchy. Only
// this thread's: a thread may be somewhere else than the process.
func threadCgroups() (map[string]string, error) {
	return parseCgroupFile("/proc/thread-self/cgroup")
}

func parseCgroupFile(name string) (map[string]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		// hierarchy-ID:controller,controller:path
		_, rest, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		ctrls, p, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		for _, c := range strings.Split(ctrls, ",") {
			out[c] = p
		}
	}
	return out, s.Err()
}

// writeCgroupFile writes one value to a cgroup file; it must not be created.
func writeCgroupFile(name, value string) error {
	f, err := os.OpenFile(name, os.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(value); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// enter moves the calling thread, alone, into the run's cgroups: what it forks next is born
// there. The caller must be locked to its thread, and leave as soon as the fork is done.
func (c *runCgroups) enter() error {
	for _, d := range c.dirs {
		c.inside = true // from the first write on, leave must undo
		if _, err := d.join.WriteString("0"); err != nil {
			return fmt.Errorf("%w: joining the run's %s cgroup: %v", ErrCgroup, d.controller, err)
		}
	}
	return nil
}

// leave moves the calling thread back to the cgroups it came from.
func (c *runCgroups) leave() error {
	if !c.inside {
		return nil
	}
	var first error
	for _, d := range c.dirs {
		if _, err := d.home.WriteString("0"); err != nil && first == nil {
			first = fmt.Errorf("%w: leaving the run's %s cgroup: %v", ErrCgroup, d.controller, err)
		}
	}
	if first == nil {
		c.inside = false
	}
	return first
}

// checkBornInside fails unless the process pid is in each of the run's cgroups: the limits hold
// only if libcontainer still forks the init from the thread that called Run. An init that is
// already exiting cannot be checked (the kernel shows "/" for its v1 cgroups): its command has
// run, and only the tests can tell (TestRunCgroups).
func (c *runCgroups) checkBornInside(pid int) error {
	if len(c.dirs) == 0 {
		return nil
	}
	in, err := parseCgroupFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return fmt.Errorf("%w: reading the sandbox's cgroups: %v", ErrCgroup, err)
	}
	for _, d := range c.dirs {
		if in[d.controller] != d.shown && !initExiting(pid) {
			return fmt.Errorf("%w: the sandbox's init is in the %s cgroup %q, not in the run's %q (was it not forked by the thread that joined? a libcontainer change?)",
				ErrCgroup, d.controller, in[d.controller], d.shown)
		}
	}
	return nil
}

// initExiting reports whether the process pid is exiting (PF_EXITING in the flags of /proc/PID/stat)
// or is gone. pid must be a child not yet waited for, so that it cannot be another process.
func initExiting(pid int) bool {
	const pfExiting = 0x4
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// pid (comm) state ppid pgrp session tty_nr tpgid flags ...; comm may hold anything.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 7 {
		return false
	}
	flags, err := strconv.ParseUint(f[6], 10, 64)
	return err == nil && flags&pfExiting != 0
}

// destroy removes the container and the run's cgroups once its processes are gone.
func (c *runCgroups) destroy(ctr *libcontainer.Container) {
	var managed []string
	if c.route == cgroupsLibcontainer {
		if st, err := ctr.State(); err == nil {
			for _, d := range st.CgroupPaths {
				managed = append(managed, d)
			}
		}
	}
	_ = ctr.Destroy()
	removeCgroupDirs(managed) // what Destroy could not remove yet (EBUSY on v1)
	c.remove()
}

// remove removes the cgroups this run made, then their record.
func (c *runCgroups) remove() {
	if c == nil {
		return
	}
	var dirs []string
	for _, d := range c.dirs {
		d.join.Close()
		d.home.Close()
		dirs = append(dirs, d.path)
	}
	c.dirs = nil
	if removeCgroupDirs(dirs) && c.record != "" {
		os.Remove(c.record)
	}
}

// removeStaleCgroups removes the cgroups a dead run named in its record, and the record.
func removeStaleCgroups(record string) {
	b, err := os.ReadFile(record)
	if err != nil {
		return
	}
	var dirs []string
	for _, l := range strings.Split(string(b), "\n") {
		// Only what this code makes: a record is in a private directory, but a directory is
		// removed only if it has the shape of a run's cgroup.
		if filepath.IsAbs(l) && strings.HasPrefix(filepath.Base(l), "sr-") && filepath.Base(filepath.Dir(l)) == "skillrun" {
			dirs = append(dirs, l)
		}
	}
	if removeCgroupDirs(dirs) {
		os.Remove(record)
	}
}
