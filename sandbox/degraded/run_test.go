package degraded

import (
	"os"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
)

// TestEnvironmentAndWorkingDir: the empty home and the private /tmp of the plan become the run's
// own folders, in the environment and as the working directory; a granted home stays the real one.
func TestEnvironmentAndWorkingDir(t *testing.T) {
	plan := &policy.Plan{Home: "/home/u", Cwd: "/home/u",
		Env:    []string{"HOME=/home/u", "TMPDIR=/tmp", "GOCACHE=/tmp/go-build", "GOMODCACHE=/home/u/go/pkg/mod", "TMPX=/tmpx", "LANG=C"},
		Mounts: []policy.Mount{{Path: "/tmp", Access: policy.Tmpfs}, {Path: "/home/u", Access: policy.Tmpfs}}}
	got := environment(plan, "/run/h", "/run/t")
	want := []string{"HOME=/run/h", "TMPDIR=/run/t", "GOCACHE=/run/t/go-build", "GOMODCACHE=/home/u/go/pkg/mod", "TMPX=/tmpx", "LANG=C"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("env:\n got %v\nwant %v", got, want)
	}
	if c := workingDir(plan, "/run/h", "/run/t"); c != "/run/h" {
		t.Errorf("cwd in the empty home: %s", c)
	}
	plan.Cwd = "/ws/sub"
	if c := workingDir(plan, "/run/h", "/run/t"); c != "/ws/sub" {
		t.Errorf("cwd: %s", c)
	}
	// The home granted as a path (the workspace is $HOME) is the real one.
	plan.Mounts[1] = policy.Mount{Path: "/home/u", Access: policy.ReadWrite}
	if got := environment(plan, "/run/h", "/run/t"); got[0] != "HOME=/home/u" {
		t.Errorf("HOME of a granted home: %s", got[0])
	}
}

// TestRlimits: the plan's limits as rlimits, the process limit on top of the user's own tasks.
func TestRlimits(t *testing.T) {
	l := policy.Limits{Memory: 1 << 30, Processes: 100, CPU: policy.Duration(1500e6), FileSize: 1 << 20, OpenFiles: 64}
	got := map[int][2]uint64{}
	for _, r := range rlimits(l, 40) {
		got[r.Resource] = [2]uint64{r.Cur, r.Max}
	}
	want := map[int][2]uint64{
		unix.RLIMIT_NOFILE: {64, 64}, unix.RLIMIT_FSIZE: {1 << 20, 1 << 20}, unix.RLIMIT_CPU: {2, 3},
		unix.RLIMIT_DATA:  {1 << 30, 1 << 30},
		unix.RLIMIT_NPROC: {142, 142}, // the user's 40 tasks, the supervisor and the exec step on top
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rlimits: got %v, want %v", got, want)
	}
	if n := userTasks(os.Getuid()); n < 1 {
		t.Errorf("userTasks counts this test at least: %d", n)
	}
}
