package test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The projects suite: small but real projects (test/testdata/projects) run their own test suites
// inside skillrun the way an agent runs them, offline, as root and as the unprivileged user: a Go
// module whose tests serve HTTP with net/http/httptest, a Python package whose pytest fixture
// starts a local server, a Node package whose tests start a server under node's test runner, a C
// project built and checked with make, and git work whose commit runs a pre-commit hook. The
// servers listen on the sandbox's own loopback, which is all the network a run without hosts has.
// The tools come from the host (`make test` installs the missing Debian packages); nothing is
// downloaded while the tests run.
//
// A project that fails inside the sandbox fails its case with the denials skillrun reported (its
// `skillrun: blocked:` lines) first, so the failure says what the sandbox refused.

// projectCopy copies the fixture test/testdata/projects/NAME into dir, owned by the identity, and
// returns the copy's path.
func (e *env) projectCopy(name, dir string) string {
	e.t.Helper()
	src := filepath.Join("testdata", "projects", name)
	dst := filepath.Join(dir, name)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			e.mkdir(target, 0o755)
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e.write(target, string(data), info.Mode().Perm())
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return dst
}

// denials returns skillrun's `skillrun: blocked:` lines of r.
func denials(r result) []string {
	var out []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "skillrun: blocked:") {
			out = append(out, l)
		}
	}
	return out
}

// projectFailure describes a failed run: the denials first, then the whole result.
func projectFailure(what string, r result) string {
	d := denials(r)
	head := "no `skillrun: blocked:` line: skillrun reported no denial, so the failure is the project's own or a refusal " +
		"that surfaced as an error (EACCES, EROFS) inside it"
	if len(d) > 0 {
		head = "denied by the sandbox:\n  " + strings.Join(d, "\n  ")
	}
	return what + ": exit " + strconv.Itoa(r.code) + "\n" + head + "\n" + r.String()
}

// projectRun runs script with skillrun -c in dir and fails t, naming the denials, unless it exits 0.
func (e *env) projectRun(t *testing.T, what, dir, script string) result {
	t.Helper()
	// Longer than the harness's two minutes: a Go build of net/http with a cold cache (each run
	// has its own /tmp) on a busy machine takes that long by itself.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := e.command(ctx, "-c", script)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running skillrun: %v", err)
	}
	if r.code != 0 {
		t.Fatal(projectFailure(what, r))
	}
	if d := denials(r); len(d) > 0 {
		t.Errorf("%s passed, but skillrun reported denials:\n  %s", what, strings.Join(d, "\n  "))
	}
	return r
}

// projectTool skips t unless name is installed where the sandbox sees it (the harness's PATH),
// saying what installs it.
func projectTool(t *testing.T, name, pkg string) {
	t.Helper()
	for _, d := range compatPath {
		if fi, err := os.Stat(filepath.Join(d, name)); err == nil && fi.Mode()&0o111 != 0 {
			return
		}
	}
	t.Skipf("%s is not installed (Debian package %s; `make test` installs it): case not run", name, pkg)
}

func TestProjects(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		e.compatRepo()
		t.Run("go httptest", func(t *testing.T) { projectGo(t, e.compatOn(t)) })
		t.Run("pytest with a local server", func(t *testing.T) { projectPytest(t, e.compatOn(t)) })
		t.Run("node test runner with a local server", func(t *testing.T) { projectNode(t, e.compatOn(t)) })
		t.Run("C with make", func(t *testing.T) { projectC(t, e.compatOn(t)) })
		t.Run("git commit running a pre-commit hook", func(t *testing.T) { projectGitHook(t, e.compatOn(t)) })
		e.compatOn(t).assertNoState()
	})
}

// projectGo runs the tests of a module whose tests start HTTP and HTTPS servers with httptest and
// talk to them over the loopback (go test runs its vet checks too).
func projectGo(t *testing.T, e *env) {
	prelude := compatGoPrelude(t)
	dir := e.projectCopy("goweb", e.workspace)
	r := e.projectRun(t, "go test", dir, prelude+"go test -count=1 -v ./...\n")
	t.Logf("go test:\n%s", r.stdout)
	compatWantLines(t, r, "--- PASS: TestRecorder", "--- PASS: TestServer", "--- PASS: TestTLSServer", "ok  \texample.com/goweb/kv")
}

// projectPytest runs a package's pytest suite: plain tests, tmp_path, and a session fixture that
// serves HTTP on 127.0.0.1 for the tests that fetch.
func projectPytest(t *testing.T, e *env) {
	projectTool(t, "python3", "python3")
	if err := exec.Command("/usr/bin/python3", "-c", "import pytest").Run(); err != nil {
		t.Skipf("pytest is not installed for /usr/bin/python3 (Debian package python3-pytest; `make test` installs it): case not run")
	}
	dir := e.projectCopy("pyserver", e.workspace)
	r := e.projectRun(t, "pytest", dir, "python3 -m pytest -v -p no:cacheprovider")
	compatWantLines(t, r, "test_fetch.py::test_from_url PASSED", "test_fetch.py::test_missing PASSED",
		"test_words.py::test_file PASSED", "6 passed")
}

// projectNode runs `npm test` (node's built-in test runner; the package has no dependencies, so
// nothing is fetched), whose tests start the package's server on a free loopback port.
func projectNode(t *testing.T, e *env) {
	projectTool(t, "node", "nodejs")
	dir := e.projectCopy("nodeserver", e.workspace)
	script := "node --test test/server.test.js"
	if _, err := exec.LookPath("npm"); err == nil {
		script = "npm test --no-update-notifier --no-fund --no-audit"
	} else {
		t.Logf("npm is not installed: running the test script's command with node directly")
	}
	r := e.projectRun(t, "node tests", dir, script)
	compatWantLines(t, r, "ok 1 - starts empty", "ok 4 - unknown paths are 404", "# pass 4", "# fail 0")
}

// projectC builds a static library, a CLI and its unit tests with make, and runs the tests and the
// CLI.
func projectC(t *testing.T, e *env) {
	projectTool(t, "cc", "gcc")
	projectTool(t, "make", "make")
	dir := e.projectCopy("cmath", e.workspace)
	r := e.projectRun(t, "make check", dir, "set -e\nmake -s -j2\nmake -s check\necho '2 4 4 4 5 5 7 9' | ./cstat\nmake -s clean\n")
	compatWantOut(t, r, "test_stats: ok\ntest_parse: ok\nall tests passed\nn=8 mean=5.000 sd=2.138\n")
	// A failing run: the CLI's own error, not a denial.
	bad := e.runIn(dir, "", "-c", "make -s cstat && echo '1 x' | ./cstat")
	if bad.code != 2 || !strings.Contains(bad.stderr, "cstat: not a number in the input") || len(denials(bad)) > 0 {
		t.Errorf("cstat on bad input: want exit 2 with its own message and no denial\n%s", bad)
	}
}

// projectGitHook commits inside the sandbox in a repository whose pre-commit hook (installed on
// the host beforehand: the floor keeps .git/hooks read-only inside) runs the C project's tests and
// refuses changes marked DO NOT COMMIT.
func projectGitHook(t *testing.T, e *env) {
	projectTool(t, "git", "git")
	projectTool(t, "cc", "gcc")
	projectTool(t, "make", "make")
	hook, err := os.ReadFile(filepath.Join("testdata", "projects", "hooks", "pre-commit"))
	if err != nil {
		t.Fatal(err)
	}
	hookPath := filepath.Join(e.workspace, ".git", "hooks", "pre-commit")
	e.write(hookPath, string(hook), 0o755)
	e.projectCopy("cmath", e.workspace)
	e.write(filepath.Join(e.workspace, ".gitignore"), "probe\n*.o\n*.a\ncmath/cstat\ncmath/tests/test_stats\ncmath/tests/test_parse\n", 0o644)
	const ident = "export GIT_AUTHOR_NAME=Agent GIT_AUTHOR_EMAIL=agent@example.invalid GIT_COMMITTER_NAME=Agent GIT_COMMITTER_EMAIL=agent@example.invalid\n"
	r := e.projectRun(t, "git commit with the hook", e.workspace, ident+`set -e
git add .gitignore cmath
git commit -q -m "add cmath"
git log --format=%s -1
`)
	compatWantOut(t, r, "add cmath\n")
	for _, want := range []string{"test_parse: ok", "all tests passed", "pre-commit: checks passed"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the hook's output lacks %q: did it run?\n%s", want, r)
		}
	}
	// The hook refuses a marked change: git reports the hook's refusal, and no commit is made.
	refused := e.runIn(e.workspace, "", "-c", ident+`printf '/* DO NOT COMMIT */\n' >> cmath/src/stats.c
git commit -q -am "debug" ; echo "commit exit $?"
git log --format=%s -1
git checkout -q cmath/src/stats.c
`)
	if refused.code != 0 || refused.stdout != "commit exit 1\nadd cmath\n" || !strings.Contains(refused.stderr, "pre-commit: a staged change says DO NOT COMMIT") {
		t.Errorf("the hook did not refuse the marked change as expected\n%s", projectFailure("refused commit", refused))
	}
	if out := e.hostGit(e.workspace, "log", "--format=%s"); out != "add cmath\ninitial\n" {
		t.Errorf("host git log: %q", out)
	}
	if after, _ := os.ReadFile(hookPath); string(after) != string(hook) {
		t.Errorf("the hook changed during the run")
	}
}
