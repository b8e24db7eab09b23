package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter" // the test binary is libcontainer's init
	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/trust"
)

// The test binary plays every part the skillrun binary plays: libcontainer's init, the stage, the
// hook, and a probe the command runs inside the sandbox. So the code under test is exactly what
// runs, with no separately built binary that could be stale.
const snapProbeArg = "__snapprobe"

func init() {
	if len(os.Args) < 2 {
		return
	}
	switch os.Args[1] {
	case "init":
		libcontainer.Init()
	case StageArg:
		StageMain(os.Args[2:])
	case SweepArg:
		SweepMain(os.Args[2:])
	case CoverArg:
		CoverMain(os.Args[2:])
	case ProbeArg:
		os.Exit(0)
	case snapProbeArg:
		snapProbe(os.Args[2:])
	case goStageArg:
		StageMain(os.Args[2:]) // what main does should the C stage ever not take __stage
	}
}

// probeReport is what the probe saw inside the sandbox.
type probeReport struct {
	Digest   string            `json:"digest"`
	Modes    map[string]string `json:"modes"`
	Link     string            `json:"link"`
	Data     string            `json:"data"`
	RunOut   string            `json:"run_out"`
	Writes   map[string]string `json:"writes"` // operation -> errno name ("ok" if it worked)
	After    string            `json:"after"`
	AfterNew bool              `json:"after_new"`
}

// snapProbe runs inside the sandbox: `inspect DIR WS [race]` or `touch FILE`.
func snapProbe(args []string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(99)
	}
	switch {
	case len(args) == 2 && args[0] == "touch":
		if err := os.WriteFile(args[1], []byte("ran\n"), 0o644); err != nil {
			fail(err)
		}
		os.Exit(0)
	case len(args) >= 3 && args[0] == "inspect":
	default:
		fail(fmt.Errorf("bad arguments %q", args))
	}
	dir, ws := args[1], args[2]
	r := probeReport{Modes: map[string]string{}, Writes: map[string]string{}}
	l, err := trust.Hash(os.DirFS(dir), trust.Options{})
	if err != nil {
		fail(err)
	}
	r.Digest = l.Digest()
	for _, name := range []string{"data.txt", "run.sh", "sub/deep/note.md", "link", "."} {
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			fail(err)
		}
		r.Modes[name] = fi.Mode().String()
	}
	if r.Link, err = os.Readlink(filepath.Join(dir, "link")); err != nil {
		fail(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "link")) // through the link
	if err != nil {
		fail(err)
	}
	r.Data = string(b)
	out, err := exec.Command(filepath.Join(dir, "run.sh")).Output()
	r.RunOut = string(out)
	if err != nil {
		r.RunOut += "error: " + err.Error()
	}
	errno := func(err error) string {
		var e syscall.Errno
		switch {
		case err == nil:
			return "ok"
		case errors.As(err, &e):
			return unix.ErrnoName(e)
		}
		return err.Error()
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	r.Writes["create"] = errno(os.WriteFile(p("new"), []byte("x"), 0o644))
	if f, err := os.OpenFile(p("data.txt"), os.O_WRONLY, 0); err != nil {
		r.Writes["open-write"] = errno(err)
	} else {
		f.Close()
		r.Writes["open-write"] = "ok"
	}
	r.Writes["chmod"] = errno(os.Chmod(p("run.sh"), 0o777))
	r.Writes["mkdir"] = errno(os.Mkdir(p("d"), 0o755))
	r.Writes["remove"] = errno(os.Remove(p("data.txt")))
	r.Writes["rename"] = errno(os.Rename(p("run.sh"), p("run2.sh")))
	r.Writes["symlink"] = errno(os.Symlink("data.txt", p("link2")))
	r.Writes["utimes"] = errno(os.Chtimes(p("data.txt"), time.Unix(1, 0), time.Unix(1, 0)))
	if len(args) > 3 && args[3] == "race" {
		// Let the host change the folder, then look again.
		if err := os.WriteFile(filepath.Join(ws, "ready"), nil, 0o644); err != nil {
			fail(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := os.Stat(filepath.Join(ws, "changed")); err == nil {
				break
			}
			if time.Now().After(deadline) {
				fail(errors.New("the host never changed the folder"))
			}
			time.Sleep(2 * time.Millisecond)
		}
		b, err := os.ReadFile(p("data.txt"))
		if err != nil {
			fail(err)
		}
		r.After = string(b)
		_, err = os.Lstat(p("added.txt"))
		r.AfterNew = err == nil
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fail(err)
	}
	os.Exit(0)
}

// eachIdentity runs body as root and as an unprivileged user: directly when the test runs as that
// user, else by re-running this one test in a copy of the test binary as SKILLRUN_TEST_USER.
func eachIdentity(t *testing.T, body func(t *testing.T)) {
	t.Run("root", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("not root: the root variant does not run (run the tests as root for it)")
		}
		body(t)
	})
	t.Run("user", func(t *testing.T) {
		if os.Geteuid() != 0 {
			body(t)
			return
		}
		reexecAsUser(t, t.Name())
	})
}

// reexecAsUser runs the test named test (a full name, subtests and all) as SKILLRUN_TEST_USER,
// with env added to its environment.
func reexecAsUser(t *testing.T, test string, env ...string) {
	name := testUserName()
	uid, gid := testUser(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "skillrun-snaptest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "sandbox.test")
	copyFile(t, self, bin, 0o755)
	var parts []string
	for _, p := range strings.Split(test, "/") {
		parts = append(parts, "^"+regexp.QuoteMeta(p)+"$")
	}
	cmd := exec.Command(bin, "-test.run", strings.Join(parts, "/"), "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + dir, "TMPDIR=/tmp", "SKILLRUN_TEST_USER=" + name}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}}
	out, err := cmd.CombinedOutput()
	t.Logf("as %s (uid %d):\n%s", name, uid, out)
	switch {
	case strings.Contains(string(out), "--- SKIP: "+test):
		t.Skipf("skipped as %s (reason above)", name)
	case err != nil:
		t.Fatalf("as %s: %v", name, err)
	case !strings.Contains(string(out), "--- PASS: "+test):
		t.Fatalf("as %s: the test did not run", name)
	}
}

func testUserName() string {
	if name := os.Getenv("SKILLRUN_TEST_USER"); name != "" {
		return name
	}
	return "skillrun-test"
}

func testUser(t *testing.T) (uid, gid int) {
	t.Helper()
	u, err := user.Lookup(testUserName())
	if err != nil {
		t.Fatalf("running as root but the unprivileged test user %q does not exist (make test creates it): %v", testUserName(), err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// needSnapshotKernel skips when the kernel lacks a system call snapshots need.
func needSnapshotKernel(t testing.TB) {
	t.Helper()
	if fd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC); err == unix.ENOSYS {
		t.Skip("this kernel has no fsopen(2) (Linux 5.2+): verified folders cannot be copied")
	} else if err == nil {
		unix.Close(fd)
	}
	if _, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC}); err == unix.ENOSYS {
		t.Skip("this kernel has no openat2(2) (Linux 5.6+): verified folders cannot be read safely")
	}
	if err := unix.MountSetattr(-1, "", unix.AT_EMPTY_PATH, &unix.MountAttr{}); err == unix.ENOSYS {
		t.Skip("this kernel has no mount_setattr(2) (Linux 5.12+)")
	}
}

// makeSkill writes a small skill folder: a file, an executable, a nested file, a symlink.
func makeSkill(t testing.TB, dir string) {
	t.Helper()
	for name, content := range map[string]string{
		"data.txt":         "verified data\n",
		"run.sh":           "#!/bin/sh\necho ran from the copy\n",
		"sub/deep/note.md": "nested\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode) // whatever the umask
	}
	if err := os.Symlink("data.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
}

func digestOf(t testing.TB, dir string) string {
	t.Helper()
	l, err := trust.Hash(os.DirFS(dir), trust.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Digest()
}

// testPlan is a minimal plan: the system read-only, ws read-write, plus mounts, running argv.
func testPlan(ws string, mounts []policy.Mount, argv ...string) *policy.Plan {
	ro := func(p string, optional bool) policy.Mount {
		return policy.Mount{Path: p, Access: policy.ReadOnly, Exec: true, Optional: optional, Origin: "test"}
	}
	all := append([]policy.Mount{ro("/usr", false), ro("/bin", true), ro("/sbin", true), ro("/lib", true),
		ro("/lib64", true), {Path: ws, Access: policy.ReadWrite, Origin: "test"}}, mounts...)
	// The probe is this test binary at StagePath: the ruleset lets it run and see every mount.
	rules := []policy.LandlockPath{
		{Path: "/dev", Rights: []string{policy.RightRead, policy.RightWrite}},
		{Path: "/proc", Rights: []string{policy.RightRead}},
		{Path: StagePath, Rights: []string{policy.RightRead, policy.RightExec}},
	}
	for _, m := range all {
		rules = append(rules, policy.LandlockPath{Path: m.Path, Optional: m.Optional,
			Rights: []string{policy.RightRead, policy.RightWrite, policy.RightExec}})
	}
	return &policy.Plan{
		Version:   policy.PlanVersion,
		Profile:   "test",
		Command:   policy.Command{Argv: argv},
		Cwd:       ws,
		Workspace: ws,
		Home:      ws,
		User:      policy.User{UID: os.Getuid(), GID: os.Getgid()},
		Mounts:    all,
		Env:       []string{"PATH=/usr/bin:/bin"},
		Confine:   policy.Confine{Seccomp: policy.SeccompDefault, Landlock: policy.Landlock{MinABI: 1, Paths: rules}},
		Limits:    policy.Limits{Timeout: policy.Duration(time.Minute)},
	}
}

type runOutcome struct {
	res            *Result
	err            error
	stdout, stderr string
}

// runTestPlan runs plan with this test binary as the stage and the hook.
func runTestPlan(t testing.TB, plan *policy.Plan, stateRoot string) runOutcome {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return runWith(t, plan, stateRoot, self)
}

func runWith(t testing.TB, plan *policy.Plan, stateRoot, exe string) runOutcome {
	t.Helper()
	dir := t.TempDir()
	files := map[string]*os.File{}
	for _, n := range []string{"stdin", "stdout", "stderr"} {
		f, err := os.Create(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files[n] = f
	}
	res, err := Run(plan, Options{Stdin: files["stdin"], Stdout: files["stdout"], Stderr: files["stderr"],
		StateRoot: stateRoot, Executable: exe})
	o := runOutcome{res: res, err: err}
	b, _ := os.ReadFile(filepath.Join(dir, "stdout"))
	o.stdout = string(b)
	b, _ = os.ReadFile(filepath.Join(dir, "stderr"))
	o.stderr = string(b)
	return o
}

// TestSnapshotShowsVerifiedCopy: a matching digest shows exactly the verified content, read-only,
// and a change made to the host folder while the command runs does not reach it.
//
// In the workspace variant the folder lies under a protected directory, which is re-bound
// read-only after the plan's mounts (and holds a symlink the hook covers in the same run): the
// copy must still be what shows, not the live folder under the re-bound parent.
func TestSnapshotShowsVerifiedCopy(t *testing.T) {
	eachIdentity(t, func(t *testing.T) {
		needSnapshotKernel(t)
		t.Run("outside the workspace", func(t *testing.T) {
			base := t.TempDir()
			src, ws := filepath.Join(base, "skill"), filepath.Join(base, "ws")
			os.Mkdir(ws, 0o755)
			checkSnapshotRun(t, base, src, ws, nil)
		})
		t.Run("under a protected directory in the workspace", func(t *testing.T) {
			base := t.TempDir()
			ws := filepath.Join(base, "ws")
			src := filepath.Join(ws, ".agents", "skills", "demo")
			os.MkdirAll(filepath.Join(ws, ".agents"), 0o755)
			os.Symlink("/etc", filepath.Join(ws, ".vscode"))
			checkSnapshotRun(t, base, src, ws, []string{filepath.Join(ws, ".agents", "skills"), filepath.Join(ws, ".vscode")})
		})
	})
}

func checkSnapshotRun(t *testing.T, base, src, ws string, protect []string) {
	makeSkill(t, src)
	digest := digestOf(t, src)
	plan := testPlan(ws, []policy.Mount{{Path: src, Access: policy.ReadOnly, Exec: true, Origin: "test", Digest: digest}},
		StagePath, snapProbeArg, "inspect", src, ws, "race")
	plan.Protect = protect

	done := make(chan runOutcome, 1)
	go func() { done <- runTestPlan(t, plan, filepath.Join(base, "state")) }()
	var o runOutcome
	select {
	case o = <-done:
		t.Fatalf("the run ended before the command was ready: %v\nstdout: %s\nstderr: %s", o.err, o.stdout, o.stderr)
	case <-waitForFile(filepath.Join(ws, "ready"), 60*time.Second):
	}
	// The skill changes on the host while the command runs.
	if err := os.WriteFile(filepath.Join(src, "data.txt"), []byte("CHANGED ON THE HOST\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "added.txt"), []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "changed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o = <-done
	if o.err != nil || o.res.ExitCode != 0 {
		t.Fatalf("run: %v %+v\nstdout: %s\nstderr: %s", o.err, o.res, o.stdout, o.stderr)
	}
	var r probeReport
	if err := json.Unmarshal([]byte(o.stdout), &r); err != nil {
		t.Fatalf("probe output %q: %v", o.stdout, err)
	}
	if r.Digest != digest {
		t.Errorf("inside, the folder hashes to %s, want the verified %s", r.Digest, digest)
	}
	wantModes := map[string]string{"data.txt": "-rw-r--r--", "run.sh": "-rwxr-xr-x",
		"sub/deep/note.md": "-rw-r--r--", "link": "Lrwxrwxrwx", ".": "drwxr-xr-x"}
	for name, want := range wantModes {
		if r.Modes[name] != want {
			t.Errorf("%s: mode %s, want %s", name, r.Modes[name], want)
		}
	}
	if r.Link != "data.txt" || r.Data != "verified data\n" {
		t.Errorf("link -> %q reading %q, want data.txt reading the verified data", r.Link, r.Data)
	}
	if r.RunOut != "ran from the copy\n" {
		t.Errorf("run.sh (exec granted) printed %q", r.RunOut)
	}
	for op, got := range r.Writes {
		if got != "EROFS" {
			t.Errorf("%s in the copy: %s, want EROFS", op, got)
		}
	}
	if len(r.Writes) != 8 {
		t.Errorf("writes tried: %v", r.Writes)
	}
	if r.After != "verified data\n" || r.AfterNew {
		t.Errorf("a change on the host reached the copy: data.txt now %q, added.txt visible: %v", r.After, r.AfterNew)
	}
	assertNoRunLeft(t, filepath.Join(base, "state"))
}

func waitForFile(name string, d time.Duration) <-chan struct{} {
	c := make(chan struct{})
	go func() {
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(name); err == nil {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		close(c)
	}()
	return c
}

// TestSnapshotRefusesChangedFolder: a folder that changed after it was verified never runs, and
// Run says why with ErrIntegrity.
func TestSnapshotRefusesChangedFolder(t *testing.T) {
	eachIdentity(t, func(t *testing.T) {
		needSnapshotKernel(t)
		cases := []struct {
			name   string
			change func(t *testing.T, src string) // after the digest was taken
		}{
			{"one byte", func(t *testing.T, src string) {
				if err := os.WriteFile(filepath.Join(src, "data.txt"), []byte("verified dat4\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}},
			{"x bit", func(t *testing.T, src string) {
				if err := os.Chmod(filepath.Join(src, "sub/deep/note.md"), 0o755); err != nil {
					t.Fatal(err)
				}
			}},
			{"retargeted link", func(t *testing.T, src string) {
				os.Remove(filepath.Join(src, "link"))
				if err := os.Symlink("run.sh", filepath.Join(src, "link")); err != nil {
					t.Fatal(err)
				}
			}},
			{"FIFO", func(t *testing.T, src string) {
				if err := unix.Mkfifo(filepath.Join(src, "sub/pipe"), 0o644); err != nil {
					t.Fatal(err)
				}
			}},
			{"gone", func(t *testing.T, src string) {
				if err := os.RemoveAll(src); err != nil {
					t.Fatal(err)
				}
			}},
			// The same content, reached through a symlink: following it would match the digest.
			{"replaced by a symlink", func(t *testing.T, src string) {
				twin := src + "-twin"
				if err := os.Rename(src, twin); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(twin, src); err != nil {
					t.Fatal(err)
				}
			}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				base := t.TempDir()
				src, ws := filepath.Join(base, "skill"), filepath.Join(base, "ws")
				makeSkill(t, src)
				os.Mkdir(ws, 0o755)
				digest := digestOf(t, src)
				c.change(t, src)
				plan := testPlan(ws, []policy.Mount{{Path: src, Access: policy.ReadOnly, Exec: true, Origin: "test", Digest: digest}},
					StagePath, snapProbeArg, "touch", filepath.Join(ws, "ran"))
				o := runTestPlan(t, plan, filepath.Join(base, "state"))
				if !errors.Is(o.err, ErrIntegrity) {
					t.Errorf("Run: %v (result %+v), want ErrIntegrity", o.err, o.res)
				} else {
					t.Logf("Run: %v", o.err)
				}
				if _, err := os.Stat(filepath.Join(ws, "ran")); err == nil {
					t.Errorf("the command ran")
				}
				assertNoRunLeft(t, filepath.Join(base, "state"))
			})
		}
		// The same plan with the folder unchanged runs: the cases above fail for their change.
		base := t.TempDir()
		src, ws := filepath.Join(base, "skill"), filepath.Join(base, "ws")
		makeSkill(t, src)
		os.Mkdir(ws, 0o755)
		plan := testPlan(ws, []policy.Mount{{Path: src, Access: policy.ReadOnly, Origin: "test", Digest: digestOf(t, src)}},
			StagePath, snapProbeArg, "touch", filepath.Join(ws, "ran"))
		if o := runTestPlan(t, plan, filepath.Join(base, "state")); o.err != nil || o.res.ExitCode != 0 {
			t.Fatalf("unchanged folder: %v %+v %s", o.err, o.res, o.stderr)
		}
		if _, err := os.Stat(filepath.Join(ws, "ran")); err != nil {
			t.Errorf("unchanged folder: the command did not run: %v", err)
		}
	})
}

// assertNoRunLeft checks that a refused run left nothing behind in the state root.
func assertNoRunLeft(t *testing.T, stateRoot string) {
	t.Helper()
	for _, sub := range []string{"runs", "containers"} {
		ents, _ := os.ReadDir(filepath.Join(stateRoot, sub))
		for _, e := range ents {
			t.Errorf("left behind: %s/%s", sub, e.Name())
		}
	}
	ents, _ := os.ReadDir(stateRoot)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".emptyf") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestSnapshotOtherHookFailureIsNotIntegrity: a failure that says nothing about the content (a file
// the hook may not read) is a setup failure, never ErrIntegrity. Root reads every file, so the run
// is made by the unprivileged user, in a folder root prepared with a file only root may read.
func TestSnapshotOtherHookFailureIsNotIntegrity(t *testing.T) {
	const fixtureEnv = "SKILLRUN_SNAPTEST_FIXTURE"
	if os.Geteuid() == 0 {
		needSnapshotKernel(t)
		uid, gid := testUser(t)
		base, err := os.MkdirTemp("", "skillrun-snaptest-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(base) })
		os.Chmod(base, 0o755)
		src, ws := filepath.Join(base, "skill"), filepath.Join(base, "ws")
		makeSkill(t, src)
		os.Mkdir(ws, 0o755)
		for _, p := range []string{src, ws, filepath.Join(src, "sub"), filepath.Join(src, "sub/deep")} {
			os.Chown(p, uid, gid)
		}
		if err := os.WriteFile(filepath.Join(src, "sub/root-only"), []byte("root only\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		reexecAsUser(t, t.Name(), fixtureEnv+"="+base+"|"+digestOf(t, src))
		return
	}
	base, digest, ok := strings.Cut(os.Getenv(fixtureEnv), "|")
	if !ok {
		t.Skip("needs a file only root may read in the folder: run the tests as root (this test then runs as the unprivileged user)")
	}
	src, ws := filepath.Join(base, "skill"), filepath.Join(base, "ws")
	plan := testPlan(ws, []policy.Mount{{Path: src, Access: policy.ReadOnly, Origin: "test", Digest: digest}},
		StagePath, snapProbeArg, "touch", filepath.Join(ws, "ran"))
	o := runTestPlan(t, plan, filepath.Join(ws, "state"))
	if !errors.Is(o.err, ErrSetup) || errors.Is(o.err, ErrIntegrity) {
		t.Errorf("Run: %v, want ErrSetup and not ErrIntegrity", o.err)
	} else {
		t.Logf("Run: %v", o.err)
	}
	if _, err := os.Stat(filepath.Join(ws, "ran")); err == nil {
		t.Errorf("the command ran")
	}
}

// TestSourceShownAtPath: a plain read-only mount shows Source at Path, and a Source that is no
// longer its real path (a symlink on the way) is refused.
func TestSourceShownAtPath(t *testing.T) {
	eachIdentity(t, func(t *testing.T) {
		base := t.TempDir()
		src, shown, ws := filepath.Join(base, "real"), filepath.Join(base, "shown"), filepath.Join(base, "ws")
		makeSkill(t, src)
		os.Mkdir(ws, 0o755)
		// A decoy at Path on the host: binding Path onto itself would show it.
		os.Mkdir(shown, 0o755)
		os.WriteFile(filepath.Join(shown, "decoy"), []byte("decoy\n"), 0o644)
		plan := testPlan(ws, []policy.Mount{{Path: shown, Source: src, Access: policy.ReadOnly, Exec: true, Origin: "test"}},
			StagePath, snapProbeArg, "inspect", shown, ws)
		o := runTestPlan(t, plan, filepath.Join(base, "state"))
		if o.err != nil || o.res.ExitCode != 0 {
			t.Fatalf("run: %v %+v\nstdout: %s\nstderr: %s", o.err, o.res, o.stdout, o.stderr)
		}
		var r probeReport
		if err := json.Unmarshal([]byte(o.stdout), &r); err != nil {
			t.Fatalf("probe output %q: %v", o.stdout, err)
		}
		if want := digestOf(t, src); r.Digest != want {
			t.Errorf("at %s the sandbox shows content hashing to %s, want Source's %s", shown, r.Digest, want)
		}
		if r.Data != "verified data\n" || r.RunOut != "ran from the copy\n" {
			t.Errorf("data %q, run.sh printed %q", r.Data, r.RunOut)
		}
		for op, got := range r.Writes {
			if got != "EROFS" {
				t.Errorf("%s: %s, want EROFS", op, got)
			}
		}

		// A symlink on the way to Source: refused, nothing runs.
		alias := filepath.Join(base, "alias")
		os.Symlink(base, alias)
		plan = testPlan(ws, []policy.Mount{{Path: shown, Source: filepath.Join(alias, "real"), Access: policy.ReadOnly, Origin: "test"}},
			StagePath, snapProbeArg, "touch", filepath.Join(ws, "ran"))
		o = runTestPlan(t, plan, filepath.Join(base, "state"))
		if !errors.Is(o.err, ErrSetup) {
			t.Errorf("Source through a symlink: %v, want ErrSetup", o.err)
		}
		if _, err := os.Stat(filepath.Join(ws, "ran")); err == nil {
			t.Errorf("Source through a symlink: the command ran")
		}
	})
}

// TestHookOnlyWhenNeeded: the hook (a process start per run) runs only for covers or snapshots,
// and a verified folder is never bound from the live folder.
func TestHookOnlyWhenNeeded(t *testing.T) {
	st, err := newState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.release()
	ws, skill := t.TempDir(), t.TempDir()
	plain := testPlan(ws, []policy.Mount{{Path: skill, Access: policy.ReadOnly, Origin: "test"}}, "true")
	cfg, _, err := buildConfig(plain, st, "/skillrun", os.Geteuid() != 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Hooks) != 0 {
		t.Errorf("a plan with nothing to cover or copy has hooks: %v", cfg.Hooks)
	}
	verified := testPlan(ws, []policy.Mount{{Path: skill, Access: policy.ReadOnly, Origin: "test", Digest: "sha256:00"}}, "true")
	cfg, _, err = buildConfig(verified, st, "/skillrun", os.Geteuid() != 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Hooks["createContainer"]) != 1 {
		t.Errorf("a plan with a verified folder has no createContainer hook: %v", cfg.Hooks)
	}
	for _, m := range cfg.Mounts {
		if m.Destination == skill && m.Device != "tmpfs" {
			t.Errorf("the verified folder is mounted as %s from %s", m.Device, m.Source)
		}
	}
	for _, bad := range []policy.Mount{
		{Path: skill, Access: policy.ReadWrite, Origin: "test", Digest: "sha256:00"},
		{Path: skill, Access: policy.Tmpfs, Origin: "test", Digest: "sha256:00"},
		{Path: skill, Access: policy.ReadOnly, Origin: "test", Digest: "md5:00"},
	} {
		if _, _, err := buildConfig(testPlan(ws, []policy.Mount{bad}, "true"), st, "/skillrun", false); !errors.Is(err, ErrSetup) {
			t.Errorf("%+v: %v, want ErrSetup", bad, err)
		}
	}
}

// BenchmarkSnapshot compares a run with a 100-file, 2 MB skill folder bound read-only against the
// same folder copied and verified. SKILLRUN_BIN (make build) is the stage and hook when set, as in
// real use; else this test binary is.
func BenchmarkSnapshot(b *testing.B) {
	exe := os.Getenv("SKILLRUN_BIN")
	if exe == "" {
		exe, _ = os.Executable()
	}
	base := b.TempDir()
	src, ws := filepath.Join(base, "skill"), filepath.Join(base, "ws")
	os.Mkdir(ws, 0o755)
	chunk := strings.Repeat("0123456789abcdef", 20<<10/16)
	for i := range 100 {
		p := filepath.Join(src, fmt.Sprintf("d%d", i%10), fmt.Sprintf("f%02d.txt", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(fmt.Sprintf("%03d", i)+chunk), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	digest := digestOf(b, src)
	// The hook's own cost, nothing copied: a run whose only hook work is covering one symlink.
	os.Symlink("/etc", filepath.Join(ws, ".vscode"))
	small := filepath.Join(base, "small")
	os.Mkdir(small, 0o755)
	os.WriteFile(filepath.Join(small, "SKILL.md"), []byte("small\n"), 0o644)
	for _, c := range []struct {
		name    string
		mount   policy.Mount
		protect []string
	}{
		{"bind", policy.Mount{Path: src, Access: policy.ReadOnly, Exec: true, Origin: "bench"}, nil},
		{"bind+hook", policy.Mount{Path: src, Access: policy.ReadOnly, Exec: true, Origin: "bench"}, []string{filepath.Join(ws, ".vscode")}},
		{"snapshot-1-file", policy.Mount{Path: small, Access: policy.ReadOnly, Exec: true, Origin: "bench", Digest: digestOf(b, small)}, nil},
		{"snapshot", policy.Mount{Path: src, Access: policy.ReadOnly, Exec: true, Origin: "bench", Digest: digest}, nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			plan := testPlan(ws, []policy.Mount{c.mount}, "/bin/true")
			plan.Protect = c.protect
			for b.Loop() {
				if o := runWith(b, plan, filepath.Join(base, "state"), exe); o.err != nil || o.res.ExitCode != 0 {
					b.Fatalf("%v %+v %s", o.err, o.res, o.stderr)
				}
			}
		})
	}
}
