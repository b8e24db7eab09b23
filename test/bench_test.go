package test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// What BenchmarkOverhead runs: benchRuns timed runs of every variant after benchWarmups untimed
// ones, interleaved round-robin. A run that takes longer than benchRunTimeout counts as failed.
const (
	benchWarmups    = 10
	benchRuns       = 200
	benchRunTimeout = time.Minute
)

// benchIdentity is who the variants run as: the test process itself (cred nil) or, when the
// benchmark runs as root, the unprivileged SKILLRUN_TEST_USER.
type benchIdentity struct {
	label    string
	username string
	uid, gid int
	cred     *syscall.Credential
}

// benchEnv is one identity's private world under a 0755 temp parent: a home, an
// XDG_RUNTIME_DIR (skillrun keeps its state there) and a workspace, all owned by the identity.
type benchEnv struct {
	id                   benchIdentity
	base, home, run, ws  string
	environ              []string
	bareIdx, planIdx     int // indexes into the variants of this env
	skillrunIdx, bwrapIx int // bwrapIx is -1 without bwrap
	variants             []*benchVariant
}

// benchVariant is one way of running /bin/true, timed side by side with every other.
type benchVariant struct {
	env      *benchEnv
	name     string
	argv     []string
	optional bool // a failure is reported but does not fail the benchmark (bwrap)
	times    []time.Duration
	maxRSS   int64    // KiB, the largest ru_maxrss over all runs
	stderr   *os.File // the runs' stderr, kept to report a failure
	failure  string   // set at the first failed run; the variant then stops running
}

// BenchmarkOverhead measures what skillrun costs per command: bare exec of /bin/true, `skillrun
// plan -- /bin/true` (start-up and policy only, no sandbox), `skillrun -- /bin/true`, and
// bubblewrap with the same view when bwrap is installed; as root and as the unprivileged
// SKILLRUN_TEST_USER when run as root. Every variant of every identity runs in one round-robin
// loop (the starting variant rotates each round), so machine noise hits all of them alike. It
// runs a fixed number of rounds whatever b.N is (use -benchtime 1x), prints a table and reports
// the key numbers as metrics. Nothing here asserts on speed: only a variant that cannot run at
// all fails the benchmark (bwrap's failures are reported, never fatal).
func BenchmarkOverhead(b *testing.B) {
	bin := os.Getenv("SKILLRUN_BIN")
	if bin == "" {
		b.Skip("SKILLRUN_BIN is not set: run `make bench`, or set it to a built skillrun binary")
	}
	if _, err := os.Stat(bin); err != nil {
		b.Fatalf("SKILLRUN_BIN: %v", err)
	}
	bwrap, bwrapErr := exec.LookPath("bwrap")
	if bwrapErr != nil {
		fmt.Println("bench: bwrap is not on PATH: no bubblewrap comparison (make bench installs Debian's bubblewrap)")
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devnull.Close()

	var envs []*benchEnv
	var all []*benchVariant
	for _, id := range benchIdentities() {
		e, err := benchNewEnv(b, id)
		if err != nil {
			b.Fatalf("setting up the %s environment: %v", id.label, err)
		}
		add := func(name string, optional bool, argv ...string) int {
			f, err := os.CreateTemp(e.base, "stderr-")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { f.Close() })
			v := &benchVariant{env: e, name: name, argv: argv, optional: optional, stderr: f}
			e.variants = append(e.variants, v)
			all = append(all, v)
			return len(e.variants) - 1
		}
		e.bareIdx = add("bare exec /bin/true", false, "/bin/true")
		e.planIdx = add("skillrun plan -- /bin/true", false, bin, "plan", "--", "/bin/true")
		e.skillrunIdx = add("skillrun -- /bin/true", false, bin, "--", "/bin/true")
		e.bwrapIx = -1
		if bwrapErr == nil {
			e.bwrapIx = add("bwrap, same view", true, benchBwrapArgv(bwrap, e)...)
		}
		envs = append(envs, e)
	}

	fmt.Printf("bench: %d variants, %d warm-up + %d timed rounds, round-robin\n", len(all), benchWarmups, benchRuns)
	began := time.Now()
	for r := 0; r < benchWarmups+benchRuns; r++ {
		for i := range all {
			v := all[(i+r)%len(all)]
			if v.failure != "" {
				continue
			}
			d, rss, err := benchRunOnce(v, devnull)
			if err != nil {
				v.failure = fmt.Sprintf("round %d: %v", r, err)
				continue
			}
			v.maxRSS = max(v.maxRSS, rss)
			if r >= benchWarmups {
				v.times = append(v.times, d)
			}
		}
		if (r+1)%50 == 0 {
			fmt.Printf("bench: round %d/%d (%.0fs)\n", r+1, benchWarmups+benchRuns, time.Since(began).Seconds())
		}
	}

	b.ReportMetric(0, "ns/op") // the wall time of the whole loop means nothing
	for _, e := range envs {
		benchReport(b, e)
	}
	fmt.Println()
	fmt.Println("median/p90: wall time from fork to reaped exit, measured by this Go process (os/exec).")
	fmt.Println("over bare: median minus bare's median; x bare: median over bare's median.")
	fmt.Println("peak RSS: the largest ru_maxrss wait4 gave for the launched process over all runs. It covers")
	fmt.Println("  that process itself (for skillrun: the skillrun launcher, not a sum over the sandbox's")
	fmt.Println("  processes); a descendant it reaped itself counts only if it was larger (a max, not a sum).")
	for _, v := range all {
		if v.failure != "" && !v.optional {
			b.Errorf("%s as %s could not run: %s", v.name, v.env.id.label, v.failure)
		}
	}
}

// benchRunOnce runs v once and returns its wall time and the ru_maxrss (KiB) wait4 reported.
func benchRunOnce(v *benchVariant, devnull *os.File) (time.Duration, int64, error) {
	if err := v.stderr.Truncate(0); err != nil {
		return 0, 0, err
	}
	if _, err := v.stderr.Seek(0, io.SeekStart); err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), benchRunTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, v.argv[0], v.argv[1:]...)
	cmd.Dir, cmd.Env = v.env.ws, v.env.environ
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, v.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: v.env.id.cred}
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%v (killed after %v)", err, benchRunTimeout)
		}
		msg, _ := os.ReadFile(v.stderr.Name())
		return 0, 0, fmt.Errorf("%s: %v; stderr: %q", strings.Join(v.argv, " "), err, strings.TrimSpace(string(msg)))
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	return d, rss, nil
}

// benchReport prints e's table and reports its key numbers as metrics.
func benchReport(b *testing.B, e *benchEnv) {
	fmt.Printf("\nas %s: %d timed runs per variant after %d warm-ups, all variants interleaved\n",
		e.id.label, benchRuns, benchWarmups)
	fmt.Printf("  %-28s %9s %9s %11s %8s %9s\n", "variant", "median", "p90", "over bare", "x bare", "peak RSS")
	bare := e.variants[e.bareIdx]
	bareMed := benchPercentile(bare.times, 0.5)
	for _, v := range e.variants {
		if v.failure != "" {
			fmt.Printf("  %-28s FAILED: %s\n", v.name, v.failure)
			continue
		}
		med := benchPercentile(v.times, 0.5)
		over, ratio := "-", "-"
		if bare.failure == "" && v != bare {
			over = fmt.Sprintf("%+.2f ms", benchMS(med-bareMed))
			ratio = fmt.Sprintf("%.1fx", float64(med)/float64(bareMed))
		}
		fmt.Printf("  %-28s %6.2f ms %6.2f ms %11s %8s %6.1f MB\n", v.name, benchMS(med),
			benchMS(benchPercentile(v.times, 0.9)), over, ratio, float64(v.maxRSS)/1024)
	}
	prefix := strings.Fields(e.id.label)[0]
	metric := func(val float64, unit string) { b.ReportMetric(val, prefix+"-"+unit) }
	if bare.failure == "" {
		metric(benchMS(bareMed), "bare-ms")
	}
	run, plan := e.variants[e.skillrunIdx], e.variants[e.planIdx]
	if run.failure == "" {
		runMed := benchPercentile(run.times, 0.5)
		metric(benchMS(runMed), "skillrun-ms")
		metric(float64(run.maxRSS)/1024, "skillrun-peakRSS-MB")
		if bare.failure == "" {
			metric(benchMS(runMed-bareMed), "skillrun-overhead-ms")
		}
		if plan.failure == "" && bare.failure == "" {
			planMed := benchPercentile(plan.times, 0.5)
			fmt.Printf("  where skillrun's time goes: start-up + policy (plan - bare) %.2f ms, sandbox (run - plan) %.2f ms\n",
				benchMS(planMed-bareMed), benchMS(runMed-planMed))
			metric(benchMS(runMed-planMed), "sandbox-ms")
		}
	}
	if e.bwrapIx >= 0 {
		bw := e.variants[e.bwrapIx]
		if bw.failure == "" && run.failure == "" {
			bwMed, runMed := benchPercentile(bw.times, 0.5), benchPercentile(run.times, 0.5)
			line := fmt.Sprintf("  skillrun / bwrap: %.2fx median wall time", float64(runMed)/float64(bwMed))
			metric(float64(runMed)/float64(bwMed), "skillrun/bwrap")
			if bare.failure == "" && bwMed > bareMed {
				line += fmt.Sprintf(", %.2fx overhead over bare", float64(runMed-bareMed)/float64(bwMed-bareMed))
				metric(benchMS(bwMed-bareMed), "bwrap-overhead-ms")
			}
			fmt.Println(line)
		}
	}
}

// benchIdentities is the current user and, when that is root, SKILLRUN_TEST_USER if it exists.
// Whatever is not measured is said.
func benchIdentities() []benchIdentity {
	self := benchIdentity{uid: os.Getuid(), gid: os.Getgid(), username: strconv.Itoa(os.Getuid())}
	if u, err := user.Current(); err == nil {
		self.username = u.Username
	}
	if os.Geteuid() != 0 {
		self.label = fmt.Sprintf("%s (uid %d, unprivileged)", self.username, self.uid)
		fmt.Println("bench: not root: measuring as the current user only; run `make bench` as root for the root numbers")
		return []benchIdentity{self}
	}
	self.label = "root"
	ids := []benchIdentity{self}
	name := os.Getenv("SKILLRUN_TEST_USER")
	if name == "" {
		name = "skillrun-test"
	}
	u, err := user.Lookup(name)
	if err != nil {
		fmt.Printf("bench: no unprivileged run: user %q does not exist (make bench creates it): %v\n", name, err)
		return ids
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil || uid == 0 {
		fmt.Printf("bench: no unprivileged run: user %q has uid %s gid %s, not an unprivileged numeric id\n", name, u.Uid, u.Gid)
		return ids
	}
	return append(ids, benchIdentity{
		label: fmt.Sprintf("%s (uid %d, unprivileged)", name, uid), username: name, uid: uid, gid: gid,
		// No supplementary groups: root's would otherwise be kept.
		cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}},
	})
}

// benchNewEnv makes id's home, runtime dir and workspace under a fresh 0755 temp parent, removed
// when the benchmark ends.
func benchNewEnv(b *testing.B, id benchIdentity) (*benchEnv, error) {
	base, err := os.MkdirTemp(benchTempParent(), "skillrun-bench-")
	if err != nil {
		return nil, err
	}
	b.Cleanup(func() {
		if err := os.RemoveAll(base); err != nil {
			b.Errorf("cleanup: %v", err)
		}
	})
	if err := os.Chmod(base, 0o755); err != nil {
		return nil, err
	}
	e := &benchEnv{id: id, base: base,
		home: filepath.Join(base, "home"), run: filepath.Join(base, "run"), ws: filepath.Join(base, "ws")}
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{e.home, 0o700}, {e.run, 0o700}, {e.ws, 0o755}} {
		if err := os.Mkdir(d.path, d.mode); err != nil {
			return nil, err
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			return nil, err
		}
		if id.cred != nil {
			if err := os.Chown(d.path, id.uid, id.gid); err != nil {
				return nil, err
			}
		}
	}
	e.environ = []string{
		"HOME=" + e.home,
		"USER=" + id.username,
		"LOGNAME=" + id.username,
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"XDG_RUNTIME_DIR=" + e.run,
		"LANG=C.UTF-8",
	}
	return e, nil
}

// benchTempParent is the temp directory when everyone can traverse it (the unprivileged user
// must reach its dirs below it), else /tmp.
func benchTempParent() string {
	dir := os.TempDir()
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if d == "/" {
			return dir
		}
	}
}

// benchBwrapArgv is bubblewrap with the view skillrun builds for /bin/true: the system
// read-only (a top-level symlink such as merged-/usr's /bin -> usr/bin stays a symlink, as in
// skillrun), empty /tmp and home, fresh /proc and /dev, the workspace read-write, every namespace
// (network included), a new session.
func benchBwrapArgv(bwrap string, e *benchEnv) []string {
	argv := []string{bwrap, "--unshare-all", "--die-with-parent", "--new-session"}
	for _, d := range []string{"/usr", "/etc", "/opt", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		fi, err := os.Lstat(d)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			if target, err := os.Readlink(d); err == nil {
				argv = append(argv, "--symlink", target, d)
			}
		case fi.IsDir():
			argv = append(argv, "--ro-bind", d, d)
		}
	}
	return append(argv, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", e.home,
		"--bind", e.ws, e.ws, "--chdir", e.ws, "/bin/true")
}

// benchPercentile interpolates linearly between the closest ranks (the median of an even count
// is the mean of the middle two).
func benchPercentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	pos := p * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + time.Duration(float64(s[hi]-s[lo])*(pos-float64(lo)))
}

func benchMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
