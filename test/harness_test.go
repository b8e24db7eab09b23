// Package test holds skillrun's end-to-end tests: they run the real binary and real sandboxes, as
// root and as an unprivileged user, and plant canaries to prove what must stay out of reach does.
package test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildTags are the Makefile's TAGS: the tests build skillrun as a release is built.
const buildTags = "seccomp netgo osusergo landlocktsync urfave_cli_no_docs"

var (
	skillrunBin string // the binary under test
	probeBin    string // test/testdata/probe, copied into workspaces
)

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "skillrun-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(tmp, 0o755)
	code := func() int {
		defer os.RemoveAll(tmp)
		// Everything the unprivileged variants run lives in tmp, never in the clone: a clone may
		// sit where the test user cannot enter (root's home is 0700), so SKILLRUN_BIN is copied.
		skillrunBin = filepath.Join(tmp, "skillrun")
		if bin := os.Getenv("SKILLRUN_BIN"); bin != "" {
			if err := copyFile(bin, skillrunBin, 0o755); err != nil {
				fmt.Fprintln(os.Stderr, "copying SKILLRUN_BIN:", err)
				return 1
			}
		} else if err := goBuild(skillrunBin, "./cmd/skillrun", "1", buildTags); err != nil {
			fmt.Fprintln(os.Stderr, "building skillrun:", err)
			return 1
		}
		probeBin = filepath.Join(tmp, "probe")
		if err := goBuild(probeBin, "./test/testdata/probe", "0", ""); err != nil {
			fmt.Fprintln(os.Stderr, "building the probe:", err)
			return 1
		}
		if err := testUserReaches(tmp); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

func copyFile(from, to string, mode os.FileMode) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, mode)
}

// testUserReaches checks, as root, that the unprivileged test user can enter the temporary
// folder and run skillrun there. When it cannot (a TMPDIR inside a private home), every
// unprivileged test would fail with "permission denied": stop at once and say what to do.
func testUserReaches(tmp string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	name := os.Getenv("SKILLRUN_TEST_USER")
	if name == "" {
		name = "skillrun-test"
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil // identities says it is missing, in every test that needs it
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cmd := exec.Command(skillrunBin, "__probe")
	cmd.Dir = tmp
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("skillrun: the unprivileged test user %s cannot run %s (%v%s): point TMPDIR at a folder every user can enter, e.g. TMPDIR=/tmp make test",
			name, skillrunBin, err, strings.TrimSpace(" "+string(out)))
	}
	return nil
}

func goBuild(out, pkg, cgo, tags string) error {
	args := []string{"build", "-o", out}
	if tags != "" {
		args = append(args, "-tags", tags, "-ldflags", `-extldflags "-static"`)
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, b)
	}
	return nil
}

// identity is who runs skillrun in a test: root, or an unprivileged user.
type identity struct {
	name     string
	uid, gid int
	cred     *syscall.Credential // nil: run as the test process itself
}

// identities lists the users the end-to-end tests run as. As root: root, and the unprivileged
// SKILLRUN_TEST_USER (make test creates it). As an ordinary user: that user only; the root cases
// are skipped with the reason printed.
func identities(t testing.TB) []identity {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Logf("not root: the root variants of this test do not run (run `make test` as root for them)")
		return []identity{{name: "user", uid: os.Getuid(), gid: os.Getgid()}}
	}
	ids := []identity{{name: "root"}}
	name := os.Getenv("SKILLRUN_TEST_USER")
	if name == "" {
		name = "skillrun-test"
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("running as root but the unprivileged test user %q does not exist (make test creates it): %v", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	ids = append(ids, identity{name: "user", uid: uid, gid: gid,
		cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}})
	return ids
}

// forEachIdentity runs f as a subtest per identity.
func forEachIdentity(t *testing.T, f func(t *testing.T, e *env)) {
	for _, id := range identities(t) {
		id := id
		t.Run(id.name, func(t *testing.T) { f(t, newEnv(t, id)) })
	}
}

// env is one identity's private world: a fake home with planted canaries, XDG dirs, a state
// root and a workspace, all owned by the identity.
type env struct {
	t         testing.TB
	id        identity
	base      string
	home      string
	runtime   string // XDG_RUNTIME_DIR: the state root is runtime/skillrun
	workspace string
	canary    string
	extraEnv  []string
}

func newEnv(t testing.TB, id identity) *env {
	t.Helper()
	base, err := os.MkdirTemp("", "skillrun-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(base, 0o755)
	e := &env{t: t, id: id, base: base,
		home:      filepath.Join(base, "home"),
		runtime:   filepath.Join(base, "run"),
		workspace: filepath.Join(base, "ws"),
		canary:    "CANARY-" + strconv.FormatInt(time.Now().UnixNano(), 36),
	}
	t.Cleanup(func() { e.cleanup() })
	e.mkdir(e.home, 0o755)
	e.mkdir(e.runtime, 0o700)
	e.mkdir(e.workspace, 0o755)
	e.mkdir(filepath.Join(e.workspace, ".git"), 0o755)
	e.mkdir(filepath.Join(e.workspace, ".git", "hooks"), 0o755)
	e.write(filepath.Join(e.workspace, ".git", "config"), "[core]\n\tbare = false\n", 0o644)
	e.write(filepath.Join(e.workspace, "README"), "hello from the workspace\n", 0o644)
	e.mkdir(filepath.Join(e.home, ".ssh"), 0o700)
	e.write(filepath.Join(e.home, ".ssh", "id_ed25519"), e.canary+"\n", 0o600)
	e.mkdir(filepath.Join(e.home, ".aws"), 0o700)
	e.write(filepath.Join(e.home, ".aws", "credentials"), "[default]\naws_secret_access_key = "+e.canary+"\n", 0o600)
	e.write(filepath.Join(e.home, ".bashrc"), "# bashrc\n", 0o644)
	probe, err := os.ReadFile(probeBin)
	if err != nil {
		t.Fatal(err)
	}
	e.write(filepath.Join(e.workspace, "probe"), string(probe), 0o755)
	return e
}

func (e *env) mkdir(p string, mode os.FileMode) {
	e.t.Helper()
	if err := os.MkdirAll(p, mode); err != nil {
		e.t.Fatal(err)
	}
	os.Chmod(p, mode)
	e.chown(p)
}

func (e *env) write(p, content string, mode os.FileMode) {
	e.t.Helper()
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		e.t.Fatal(err)
	}
	e.chown(p)
}

func (e *env) chown(p string) {
	if e.id.cred != nil {
		if err := os.Lchown(p, e.id.uid, e.id.gid); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) cleanup() {
	// A run a test killed left its state (and, as root, its cgroups) for the next run in this
	// state root to clean up: make that run before the state root goes.
	if locks, _ := filepath.Glob(filepath.Join(e.stateRoot(), "runs", "*.lock")); len(locks) > 0 {
		cmd := e.command(context.Background(), "--", "true")
		cmd.Run()
	}
	// Sandboxes may have left files owned by the identity; root removes everything.
	if err := os.RemoveAll(e.base); err != nil {
		e.t.Errorf("cleanup: %v", err)
	}
}

// stateRoot is where this env's runs keep their state.
func (e *env) stateRoot() string { return filepath.Join(e.runtime, "skillrun") }

// environ is the environment skillrun is started with.
func (e *env) environ() []string {
	name := "root"
	if e.id.cred != nil || os.Geteuid() != 0 {
		if u, err := user.LookupId(strconv.Itoa(e.uidOrSelf())); err == nil {
			name = u.Username
		}
	}
	return append([]string{
		"HOME=" + e.home,
		"USER=" + name,
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"XDG_RUNTIME_DIR=" + e.runtime,
		"XDG_CONFIG_HOME=" + filepath.Join(e.home, ".config"),
		"XDG_STATE_HOME=" + filepath.Join(e.home, ".local", "state"),
		"LANG=C.UTF-8",
	}, e.extraEnv...)
}

func (e *env) uidOrSelf() int {
	if e.id.cred != nil {
		return e.id.uid
	}
	return os.Getuid()
}

// command prepares skillrun with args, in the workspace, as the identity.
func (e *env) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, skillrunBin, args...)
	cmd.Dir = e.workspace
	cmd.Env = e.environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.id.cred}
	return cmd
}

// result is how one skillrun invocation ended.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// run runs skillrun to completion (bounded by a generous context) and returns its result.
func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runIn(e.workspace, "", args...)
}

func (e *env) runIn(dir, stdin string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := e.command(ctx, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("running skillrun: %v", err)
	}
	return r
}

// noCanary fails the test if the planted secret shows anywhere in r.
func (e *env) noCanary(r result) {
	e.t.Helper()
	if strings.Contains(r.stdout, e.canary) || strings.Contains(r.stderr, e.canary) {
		e.t.Fatalf("the canary leaked:\n%s", r)
	}
}

// assertNoState checks that no run left state behind: no run files, no libcontainer state.
func (e *env) assertNoState() {
	e.t.Helper()
	for _, sub := range []string{"runs", "containers"} {
		entries, err := os.ReadDir(filepath.Join(e.stateRoot(), sub))
		if err != nil && !os.IsNotExist(err) {
			e.t.Fatal(err)
		}
		for _, x := range entries {
			e.t.Errorf("state left behind: %s", filepath.Join(e.stateRoot(), sub, x.Name()))
		}
	}
}

// markerAlive reports whether any process on the machine has marker in its command line.
func markerAlive(marker string) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(marker)) {
			return true
		}
	}
	return false
}

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}
