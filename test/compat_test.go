package test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The compatibility suite: real developer work inside the default `agent` profile, run the way an
// agent runs it (skillrun -- CMD or skillrun -c STRING, the workspace as the cwd), as root and as
// the unprivileged user. Every case asserts concrete output and exit codes: a tool that stops
// working inside the sandbox (a false block) is a bug just like an escape.

// compatPath is the PATH the harness gives skillrun; tools are looked up in it on the host, so a
// tool that is installed there but missing inside the sandbox fails instead of being skipped.
var compatPath = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// compatTool reports the host path of name on the harness's PATH, or skips t saying why.
func compatTool(t *testing.T, name string) string {
	t.Helper()
	for _, d := range compatPath {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	t.Skipf("%s is not installed on the host (not in %s): case not run", name, strings.Join(compatPath, ":"))
	return ""
}

// compatOn returns a copy of e that reports to t, for subtests.
func (e *env) compatOn(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// compatFiles writes files (relative to dir, "/"-separated) owned by the identity, parents included.
func (e *env) compatFiles(dir string, files map[string]string) {
	e.t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		var parents []string
		for d := filepath.Dir(p); d != dir && d != filepath.Dir(d); d = filepath.Dir(d) {
			parents = append(parents, d)
		}
		e.mkdir(dir, 0o755)
		for i := len(parents) - 1; i >= 0; i-- {
			e.mkdir(parents[i], 0o755)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		e.write(p, content, mode)
	}
}

// hostGit runs git on the host, as the identity, in dir (for setting up, never under test).
func (e *env) hostGit(dir string, args ...string) string {
	e.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=Host", "-c", "user.email=host@example.invalid",
		"-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(e.environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.id.cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.t.Fatalf("host git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// compatRepo turns e's workspace into a real git repository with one commit (the harness's
// workspace has a stand-in .git of a config and hooks only).
func (e *env) compatRepo() {
	e.t.Helper()
	if err := os.RemoveAll(filepath.Join(e.workspace, ".git")); err != nil {
		e.t.Fatal(err)
	}
	e.hostGit(e.workspace, "init", "-q")
	e.write(filepath.Join(e.workspace, ".gitignore"), "probe\n", 0o644)
	e.hostGit(e.workspace, "add", "README", ".gitignore")
	e.hostGit(e.workspace, "commit", "-q", "-m", "initial")
}

// compatPlain makes e's workspace a plain folder, not a git repository.
func (e *env) compatPlain() {
	e.t.Helper()
	if err := os.RemoveAll(filepath.Join(e.workspace, ".git")); err != nil {
		e.t.Fatal(err)
	}
}

// compatSh runs script with skillrun -c in the workspace and fails t unless it exits 0.
func (e *env) compatSh(script string) result {
	e.t.Helper()
	r := e.run("-c", script)
	if r.code != 0 {
		e.t.Fatalf("exit %d, want 0\n%s", r.code, r)
	}
	return r
}

// compatWantOut fails unless r's stdout is exactly want.
func compatWantOut(t *testing.T, r result, want string) {
	t.Helper()
	if r.stdout != want {
		t.Errorf("stdout %q, want %q\n%s", r.stdout, want, r)
	}
}

// compatWantLines fails unless every line of want appears in r's stdout, in order.
func compatWantLines(t *testing.T, r result, want ...string) {
	t.Helper()
	rest := r.stdout
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("stdout lacks %q (in order)\n%s", w, r)
			return
		}
		rest = rest[i+len(w):]
	}
}

// compatGoPrelude is the shell prelude that puts the host's go toolchain on the PATH and its caches in the
// run's private /tmp, with no network and no toolchain download.
func compatGoPrelude(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go is not installed: case not run")
	}
	if real, err := filepath.EvalSymlinks(goBin); err == nil {
		goBin = real
	}
	visible := false
	for _, d := range []string{"/usr/", "/opt/", "/bin/", "/sbin/", "/lib"} {
		visible = visible || strings.HasPrefix(goBin, d)
	}
	if !visible {
		t.Skipf("go is installed at %s, outside the system folders the agent profile shows: case not run", goBin)
	}
	return fmt.Sprintf("export PATH=%s:$PATH GOCACHE=$TMPDIR/gocache GOPATH=$TMPDIR/gopath GOMODCACHE=$TMPDIR/gopath/pkg/mod "+
		"GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local GOTELEMETRY=off GOSUMDB=off CGO_ENABLED=0\n", filepath.Dir(goBin))
}

var compatGoModule = map[string]string{
	"go.mod": "module example.com/hello\n\ngo 1.21\n",
	"main.go": `package main

import (
	"fmt"
	"sync"
)

// Sum adds 1..n with one goroutine per number.
func Sum(n int) int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	total := 0
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			mu.Lock()
			total += i
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	return total
}

func main() { fmt.Println("hello", Sum(100)) }
`,
	"main_test.go": `package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSum(t *testing.T) {
	if got := Sum(1000); got != 500500 {
		t.Fatalf("Sum(1000) = %d", got)
	}
}

func TestTempDir(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
}
`,
}

func TestCompat(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		// The usual agent's workspace: a git repository with a commit.
		e.compatRepo()
		// A workspace that is a plain folder, not a repository.
		plain := newEnv(t, e.id)
		plain.compatPlain()

		t.Run("git/top of a repository", func(t *testing.T) { compatGitTop(t, e.compatOn(t)) })
		t.Run("git/worktree", func(t *testing.T) { compatGitWorktree(t, e.compatOn(t)) })
		t.Run("git/subdirectory", func(t *testing.T) { compatGitSubdir(t, e.compatOn(t)) })
		t.Run("git/linked worktree as the workspace", func(t *testing.T) { compatGitLinkedWorkspace(t, plain.compatOn(t)) })
		t.Run("git/init at the top of a plain folder", func(t *testing.T) { compatGitInitTop(t, plain.compatOn(t)) })
		t.Run("python3", func(t *testing.T) { compatPython(t, e.compatOn(t)) })
		t.Run("go/repository", func(t *testing.T) { compatGo(t, e.compatOn(t), true) })
		t.Run("go/plain folder", func(t *testing.T) { compatGo(t, plain.compatOn(t), false) })
		t.Run("gcc and make", func(t *testing.T) { compatC(t, e.compatOn(t)) })
		t.Run("System V and POSIX IPC", func(t *testing.T) { compatIPC(t, e.compatOn(t)) })
		t.Run("node", func(t *testing.T) { compatNode(t, e.compatOn(t)) })
		t.Run("tar", func(t *testing.T) { compatTar(t, e.compatOn(t)) })
		t.Run("find and grep", func(t *testing.T) { compatFindGrep(t, e.compatOn(t)) })
		t.Run("sort 20MB", func(t *testing.T) { compatSort(t, e.compatOn(t)) })
		t.Run("sqlite3", func(t *testing.T) { compatSQLite(t, e.compatOn(t)) })
		t.Run("bash", func(t *testing.T) { compatBash(t, e.compatOn(t)) })
		t.Run("stdout is a file", func(t *testing.T) { compatStdoutFile(t, e.compatOn(t)) })
		e.compatOn(t).assertNoState()
		plain.compatOn(t).assertNoState()
	})
}

func compatGitSubdir(t *testing.T, e *env) {
	r := e.compatSh(`set -e
git init -q -b main proj
cd proj
git config user.name "Agent"
git config user.email agent@example.invalid
printf 'one\n' > a.txt
mkdir -p src && printf 'package x\n' > src/x.go
git add a.txt src
git commit -q -m "first commit"
printf 'two\n' >> a.txt
git diff
git commit -q -am "second commit"
git log --format='%s|%an'
git diff HEAD~1 --stat
git status --porcelain
git rev-list --count HEAD
git switch -q -c feature && printf 'three\n' >> a.txt && git commit -q -am third && git switch -q main
git merge -q --ff-only feature && cat a.txt
git gc -q --prune=now && git fsck --no-progress && echo fsck-ok
cd .. && git clone -q proj proj-clone && git -C proj-clone log --format=%s -1
`)
	compatWantLines(t, r, "--- a/a.txt", "+++ b/a.txt", " one", "+two",
		"second commit|Agent\nfirst commit|Agent\n",
		" a.txt | 1 +\n 1 file changed, 1 insertion(+)\n",
		"2\n", "one\ntwo\nthree\n", "fsck-ok\n", "third\n")
	// The repository is the host's now: readable by the host's git, owned by the identity.
	if out := e.hostGit(filepath.Join(e.workspace, "proj"), "log", "--format=%s"); out != "third\nsecond commit\nfirst commit\n" {
		t.Errorf("host git log: %q", out)
	}
}

func compatGitTop(t *testing.T, e *env) {
	r := e.compatSh(`set -e
export GIT_AUTHOR_NAME=Agent GIT_AUTHOR_EMAIL=agent@example.invalid GIT_COMMITTER_NAME=Agent GIT_COMMITTER_EMAIL=agent@example.invalid
git status --porcelain -- README new.txt
printf 'more\n' >> README
printf 'new\n' > new.txt
git status --porcelain -- README new.txt
git add README new.txt
git commit -q -m "agent change"
git log --format=%s
git diff HEAD~1 --name-only
git branch -q topic && git branch --list
git stash list | wc -l
printf 'stash me\n' >> README && git stash -q && git stash list | wc -l && git stash pop -q && git diff --stat
git checkout -q README
`)
	compatWantOut(t, r, " M README\n?? new.txt\nagent change\ninitial\nREADME\nnew.txt\n* main\n  topic\n0\n1\n"+
		" README | 1 +\n 1 file changed, 1 insertion(+)\n")

	// Documented, by design (the floor): <ws>/.git/config is never writable, so `git config` that
	// writes the repository's config fails and leaves it as it was; reading it works.
	before, err := os.ReadFile(filepath.Join(e.workspace, ".git", "config"))
	if err != nil {
		t.Fatal(err)
	}
	r = e.run("-c", "git config --local --get core.bare; git config --local user.name Agent")
	after, _ := os.ReadFile(filepath.Join(e.workspace, ".git", "config"))
	if r.code == 0 || r.stdout != "false\n" || !bytes.Equal(before, after) {
		t.Errorf("git config writing <ws>/.git/config: want it refused (floor), config unchanged\n%s", r)
	}
	t.Logf("documented: git config --local inside the sandbox exits %d: %s", r.code, strings.TrimSpace(r.stderr))
}

// compatGitWorktree: a linked worktree of the workspace's repository, inside the workspace (agents
// run parallel tasks in worktrees). git keeps its administrative files in <ws>/.git/worktrees/NAME.
func compatGitWorktree(t *testing.T, e *env) {
	r := e.run("-c", `set -e
export GIT_AUTHOR_NAME=Agent GIT_AUTHOR_EMAIL=agent@example.invalid GIT_COMMITTER_NAME=Agent GIT_COMMITTER_EMAIL=agent@example.invalid
git worktree add -q -b task wt
cd wt && printf 'task\n' > task.txt && git add task.txt && git commit -q -m "task work" && cd ..
git worktree list --porcelain | grep -c '^worktree '
git log --format=%s -1 task
git worktree remove wt
git worktree list --porcelain | grep -c '^worktree '
git branch -q -D task
`)
	if r.code != 0 && strings.Contains(r.stderr, "/.git/worktrees/") && strings.Contains(r.stderr, "Read-only file system") {
		t.Fatalf("git worktree add fails inside the sandbox: the floor makes <ws>/.git/worktrees read-only (a "+
			"placeholder directory when it does not exist yet), and git keeps every linked worktree's HEAD, index "+
			"and gitdir there, so no worktree can be created at all\n%s", r)
	}
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r)
	}
	compatWantOut(t, r, "2\ntask work\n1\n")
}

// compatGitLinkedWorkspace: the workspace is a linked worktree of a repository kept elsewhere (the
// agent was started in a worktree, e.g. `git worktree add ../task`): its .git is a file naming
// <main>/.git/worktrees/NAME, where git keeps the worktree's HEAD and index, and the objects and
// refs are the main repository's.
func compatGitLinkedWorkspace(t *testing.T, e *env) {
	main, wt := filepath.Join(e.base, "main-repo"), filepath.Join(e.base, "task-wt")
	e.mkdir(main, 0o755)
	e.hostGit(main, "init", "-q")
	e.write(filepath.Join(main, "README"), "main\n", 0o644)
	e.hostGit(main, "add", "README")
	e.hostGit(main, "commit", "-q", "-m", "initial")
	e.mkdir(wt, 0o755) // empty: git worktree add fills it
	e.hostGit(main, "worktree", "add", "-q", "-b", "task", wt)
	r := e.runIn(wt, "", "-c", `set -e
export GIT_AUTHOR_NAME=Agent GIT_AUTHOR_EMAIL=agent@example.invalid GIT_COMMITTER_NAME=Agent GIT_COMMITTER_EMAIL=agent@example.invalid
git status --porcelain
printf 'task\n' > task.txt
git add task.txt
git commit -q -m "task work"
git log --format=%s
`)
	if r.code != 0 && strings.Contains(r.stderr, "not a git repository: "+main) {
		t.Fatalf("git does not work in a workspace that is a linked worktree: the workspace is the worktree (the git "+
			"root containing the cwd), its .git file points to %s/.git/worktrees/%s, and nothing of the main "+
			"repository's .git (the worktree's HEAD and index, the objects, the refs) is visible inside the sandbox\n%s",
			main, filepath.Base(wt), r)
	}
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r)
	}
	compatWantOut(t, r, "task work\ninitial\n")
	if out := e.hostGit(main, "log", "--format=%s", "-1", "task"); out != "task work\n" {
		t.Errorf("the main repository does not have the commit: %q", out)
	}
}

// compatGitInitTop: `git init` at the top of a workspace that is not a git repository works, and
// the repository stays on the host: nothing holds .git there any more (a missing protected path is
// watched, not held, and a plain folder's .git is not protected; the repositories a command makes
// are checked when it ends). Nothing is reported as blocked.
func compatGitInitTop(t *testing.T, e *env) {
	r := e.run("-c", "git init -q -b main && git -c user.email=a@example.com -c user.name=a commit -q --allow-empty -m first && echo created")
	if r.code != 0 || !strings.Contains(r.stdout, "created") {
		t.Errorf("git init at the top of a plain workspace failed: exit %d\n%s", r.code, r)
	}
	if strings.Contains(r.stderr, "skillrun: blocked:") {
		t.Errorf("git init was reported as blocked:\n%s", r)
	}
	if out := e.hostGit(e.workspace, "log", "--format=%s", "-1"); out != "first\n" {
		t.Errorf("the repository git init made is not on the host: %q", out)
	}
	os.RemoveAll(filepath.Join(e.workspace, ".git"))
}

func compatPython(t *testing.T, e *env) {
	e.compatFiles(filepath.Join(e.workspace, "py"), map[string]string{"work.py": `import concurrent.futures as cf
import mmap
import multiprocessing as mp
import os
import socket
import subprocess
import tempfile
from multiprocessing import shared_memory


def square(x):
    return x * x


def main():
    with mp.Pool(4) as p:
        print("pool", sum(p.map(square, range(1000))))
    with mp.get_context("spawn").Pool(2) as p:
        print("spawn", sum(p.map(square, range(100))))
    with mp.get_context("forkserver").Pool(2) as p:
        print("forkserver", sum(p.map(square, range(100))))
    with cf.ThreadPoolExecutor(max_workers=8) as ex:
        print("threads", sum(ex.map(square, range(1000))))
    with cf.ProcessPoolExecutor(max_workers=2) as ex:
        print("processes", sum(ex.map(square, range(100))))
    q = mp.Queue()
    pr = mp.Process(target=q.put, args=("queued",))
    pr.start()
    print(q.get())
    pr.join()
    print("exitcode", pr.exitcode)
    with mp.Manager() as m:
        d = m.dict()
        d["k"] = 7
        print("manager", d["k"])
    v = mp.Value("i", 0)
    with v.get_lock():
        v.value += 1
    print("value", v.value)
    print("subprocess", subprocess.run(["echo", "child"], capture_output=True, text=True, check=True).stdout.strip())
    with tempfile.TemporaryDirectory() as d:
        print("tempdir", d.startswith("/tmp/"))
    a, b = socket.socketpair()
    a.sendall(b"ping")
    print("socketpair", b.recv(4).decode())
    print("cpus", os.cpu_count() >= 1)
    shm = shared_memory.SharedMemory(create=True, size=16)
    shm.buf[0] = 7
    print("shared_memory", shm.buf[0])
    shm.close()
    shm.unlink()
    fd = os.memfd_create("x")
    os.write(fd, b"hi")
    print("memfd", os.pread(fd, 2, 0).decode())
    m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    m.close()
    print("mmap exec ok")


if __name__ == "__main__":
    main()
`})
	r := e.run("--", "python3", "py/work.py")
	if r.code != 0 {
		t.Fatalf("python3: exit %d\n%s", r.code, r)
	}
	compatWantOut(t, r, "pool 332833500\nspawn 328350\nforkserver 328350\nthreads 332833500\nprocesses 328350\n"+
		"queued\nexitcode 0\nmanager 7\nvalue 1\nsubprocess child\ntempdir True\nsocketpair ping\ncpus True\n"+
		"shared_memory 7\nmemfd hi\nmmap exec ok\n")
}

// compatGo builds, vets and tests a module with no dependencies, offline. In a repository go
// stamps the build with the commit (it runs git); in a plain folder it must not need git at all.
func compatGo(t *testing.T, e *env, repo bool) {
	prelude := compatGoPrelude(t)
	e.compatFiles(filepath.Join(e.workspace, "gomod"), compatGoModule)
	r := e.run("-c", prelude+`set -e
cd gomod
go build -o hello .
./hello
go vet ./...
go test -count=1 ./...
if go version -m hello | grep -q 'vcs=git'; then echo stamped; else echo unstamped; fi
`)
	if r.code != 0 {
		if strings.Contains(r.stderr, "error obtaining VCS status") {
			t.Fatalf("go build fails inside the sandbox: go finds a .git it must stamp the build from, and git "+
				"cannot read it (exit 128).\n%s\n%s", r, compatGoDiagnosis(e, prelude))
		}
		t.Fatalf("go: exit %d\n%s", r.code, r)
	}
	stamp := "unstamped\n"
	if repo {
		stamp = "stamped\n"
	}
	compatWantLines(t, r, "hello 5050\n", "ok  \texample.com/hello\t", stamp)
}

// compatGoDiagnosis shows why go build failed: what .git looks like inside the sandbox and on the
// host, and the same build run bare on the host as the identity.
func compatGoDiagnosis(e *env, prelude string) string {
	inside := e.run("-c", `echo "ls -A .git: $(ls -A .git 2>&1 | tr '\n' ' ')"; echo "git rev-parse --git-dir: $(git -C gomod rev-parse --git-dir 2>&1 | head -1)"`)
	_, hostErr := os.Lstat(filepath.Join(e.workspace, ".git"))
	cache := filepath.Join(e.base, "diag-cache")
	e.mkdir(cache, 0o755)
	bare := exec.Command("/bin/bash", "-c", strings.ReplaceAll(prelude, "$TMPDIR", cache)+"cd gomod && go build -o /dev/null . && echo bare build ok")
	bare.Dir, bare.Env = e.workspace, e.environ()
	bare.SysProcAttr = &syscall.SysProcAttr{Credential: e.id.cred}
	out, _ := bare.CombinedOutput()
	return fmt.Sprintf("diagnosis: inside the sandbox:\n%son the host: <ws>/.git: %v\nthe same build bare on the host: %s"+
		"i.e. in a workspace that is not a repository, the read-only placeholders that hold the protected "+
		"<ws>/.git/config and <ws>/.git/hooks make a .git directory appear inside the sandbox; go's VCS "+
		"stamping (-buildvcs=auto) takes it for a repository and runs git, which fails",
		inside.stdout, hostErr, out)
}

func compatC(t *testing.T, e *env) {
	compatTool(t, "gcc")
	compatTool(t, "make")
	e.compatFiles(filepath.Join(e.workspace, "cproj"), map[string]string{
		"util.h": "long triangle(long n);\n",
		"util.c": "#include \"util.h\"\n\nlong triangle(long n) { return n * (n + 1) / 2; }\n",
		"main.c": `#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "util.h"

static void *worker(void *arg) {
	long *r = malloc(sizeof *r);
	*r = triangle((long)arg);
	return r;
}

int main(void) {
	pthread_t th[4];
	long total = 0;
	for (long i = 0; i < 4; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(i * 100)) != 0)
			return 1;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(th[i], &r);
		total += *(long *)r;
		free(r);
	}
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	int st;
	waitpid(pid, &st, 0);
	printf("total=%ld child=%d\n", total, WEXITSTATUS(st));
	return 0;
}
`,
		"Makefile": "CC = gcc\nCFLAGS = -O2 -Wall -Werror -pthread\n\napp: main.o util.o\n\t$(CC) $(CFLAGS) -o $@ main.o util.o\n\n" +
			"%.o: %.c util.h\n\t$(CC) $(CFLAGS) -c -o $@ $<\n\nclean:\n\trm -f app *.o\n\n.PHONY: clean\n",
	})
	r := e.compatSh(`set -e
cd cproj
make -s -j2
./app
make app
make -s clean
ls
`)
	compatWantOut(t, r, "total=70300 child=7\nmake: 'app' is up to date.\nMakefile\nmain.c\nutil.c\nutil.h\n")
}

// compatIPC: System V shared memory, semaphores and message queues, and POSIX message queues, from
// a C program (databases, test suites and IPC code use them). skillrun gives every run its own IPC
// namespace, so these are private to the run.
func compatIPC(t *testing.T, e *env) {
	compatTool(t, "gcc")
	e.compatFiles(filepath.Join(e.workspace, "ipc"), map[string]string{"ipc.c": `#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

struct msg {
	long type;
	char text[8];
};

int main(void) {
	int shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	if (shm < 0) { perror("shmget"); return 1; }
	char *p = shmat(shm, NULL, 0);
	if (p == (void *)-1) { perror("shmat"); return 1; }
	if (fork() == 0) { strcpy(p, "child"); _exit(0); }
	wait(NULL);
	printf("shm %s\n", p);
	shmdt(p);
	shmctl(shm, IPC_RMID, NULL);

	int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	if (sem < 0) { perror("semget"); return 1; }
	struct sembuf up = {0, 1, 0}, down = {0, -1, 0};
	if (semop(sem, &up, 1) || semop(sem, &down, 1)) { perror("semop"); return 1; }
	printf("sem ok\n");
	semctl(sem, 0, IPC_RMID);

	int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	if (q < 0) { perror("msgget"); return 1; }
	struct msg m = {1, "hello"}, r;
	if (msgsnd(q, &m, sizeof m.text, 0) || msgrcv(q, &r, sizeof r.text, 1, 0) < 0) { perror("msg"); return 1; }
	printf("msg %s\n", r.text);
	msgctl(q, IPC_RMID, NULL);
	fflush(stdout);

	struct mq_attr a = {.mq_maxmsg = 4, .mq_msgsize = 16};
	mqd_t mq = mq_open("/compat-mq", O_CREAT | O_RDWR, 0600, &a);
	if (mq == (mqd_t)-1) { perror("mq_open"); return 1; }
	char buf[16];
	if (mq_send(mq, "queued", 7, 0) || mq_receive(mq, buf, sizeof buf, NULL) < 0) { perror("mq"); return 1; }
	printf("mq %s\n", buf);
	mq_close(mq);
	mq_unlink("/compat-mq");
	return 0;
}
`})
	r := e.run("-c", "cd ipc && gcc -O2 -Wall -Werror -o ipc ipc.c -lrt && ./ipc")
	if r.code != 0 && strings.Contains(r.stderr, "mq_open: Permission denied") {
		t.Fatalf("POSIX message queues fail inside the sandbox: mq_open gets EACCES. A queue is a file on the IPC "+
			"namespace's internal mqueue mount, beneath no path of the Landlock ruleset, and Landlock's file-open check "+
			"refuses it (measured by hand: the same program under a Landlock ruleset alone, read-only / and read-write "+
			"/tmp and /dev, fails the same way; bare and under bwrap --unshare-all it works)\n%s", r)
	}
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r)
	}
	compatWantOut(t, r, "shm child\nsem ok\nmsg hello\nmq queued\n")
}

func compatNode(t *testing.T, e *env) {
	compatTool(t, "node")
	e.compatFiles(filepath.Join(e.workspace, "nodeapp"), map[string]string{"app.js": `const cp = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Worker } = require('worker_threads');

(async () => {
  console.log('exec', cp.execFileSync('sh', ['-c', 'echo child']).toString().trim());
  await fs.promises.writeFile('out.txt', 'x'.repeat(1000));
  console.log('size', (await fs.promises.stat('out.txt')).size);
  const data = await fs.promises.readFile('out.txt');
  console.log('sha256', crypto.createHash('sha256').update(data).digest('hex'));
  const w = new Worker('require("worker_threads").parentPort.postMessage(6 * 7)', { eval: true });
  console.log('worker', await new Promise((resolve) => w.on('message', resolve)));
  await w.terminate();
  const child = cp.spawn(process.execPath, ['-e', 'process.stdin.pipe(process.stdout)']);
  let echoed = '';
  child.stdout.on('data', (d) => { echoed += d; });
  child.stdin.end('piped');
  await new Promise((resolve) => child.on('close', resolve));
  console.log('spawn', echoed);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'n-'));
  console.log('tmp', dir.startsWith('/tmp/'));
  const watcher = fs.watch('.', () => {});
  watcher.close();
  console.log('watch ok');
})().catch((e) => { console.error(e); process.exit(1); });
`})
	sum := sha256.Sum256([]byte(strings.Repeat("x", 1000)))
	r := e.compatSh("cd nodeapp && node app.js")
	compatWantOut(t, r, "exec child\nsize 1000\nsha256 "+hex.EncodeToString(sum[:])+"\nworker 42\nspawn piped\ntmp true\nwatch ok\n")
}

func compatTar(t *testing.T, e *env) {
	r := e.compatSh(`set -e
mkdir -p tarwork/src/a tarwork/src/b
cd tarwork
for i in $(seq 1 200); do echo "file $i" > src/a/f$i.txt; done
ln -s a/f1.txt src/link
head -c 100000 /dev/urandom > src/b/blob
chmod 0750 src/b
tar -czf src.tar.gz src
tar -tzf src.tar.gz | wc -l
mkdir out && tar -xzf src.tar.gz -C out
diff -r src out/src && echo same
stat -c %a out/src/b
readlink out/src/link
mkdir piped && tar -cf - src | tar -xf - -C piped && cmp src/b/blob piped/src/b/blob && echo piped
`)
	compatWantOut(t, r, "205\nsame\n750\na/f1.txt\npiped\n")
}

func compatFindGrep(t *testing.T, e *env) {
	r := e.compatSh(`set -e
mkdir fg && cd fg
for d in 1 2 3 4 5; do
  mkdir -p d$d/sub
  for f in $(seq 1 40); do printf 'line one\nneedle %s-%s\nline three\n' $d $f > d$d/sub/f$f.txt; done
done
printf 'package x // needle\n' > d1/x.go
touch d2/empty
ln -s d1 link
find . -type f | wc -l
find . -name '*.go'
find . -type l
find . -type f -empty
find . -type f -name f1.txt | sort | head -2
find . -path ./d3 -prune -o -type f -print | wc -l
find . -type f -name '*.txt' -exec grep -l needle {} + | wc -l
find -L . -name x.go | sort
grep -r needle . | wc -l
grep -R needle . | wc -l
grep -rn 'needle 3-7$' .
grep -rl --include='*.go' needle .
grep -rc needle d4 | grep -c ':1$'
grep -rq nothing-like-this . || echo "no match: $?"
find . -name '*.txt' -print0 | xargs -0 -P4 -n20 grep -l needle | wc -l
`)
	compatWantOut(t, r, "202\n./d1/x.go\n./link\n./d2/empty\n./d1/sub/f1.txt\n./d2/sub/f1.txt\n162\n200\n./d1/x.go\n./link/x.go\n"+
		"201\n242\n./d3/sub/f7.txt:2:needle 3-7\n./d1/x.go\n40\nno match: 1\n200\n")
}

// compatSort sorts a 20 MB file written in the workspace with a small buffer, so sort spills to
// temporary files in the sandbox's /tmp and merges them with two threads.
func compatSort(t *testing.T, e *env) {
	const n = 800000
	lines := make([]string, n)
	x := uint64(0x9E3779B97F4A7C15)
	var b strings.Builder
	for i := range lines {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		lines[i] = fmt.Sprintf("%016x %08d\n", x, i)
		b.WriteString(lines[i])
	}
	e.mkdir(filepath.Join(e.workspace, "big"), 0o755)
	e.write(filepath.Join(e.workspace, "big", "data.txt"), b.String(), 0o644)
	first := lines[0]
	slices.Sort(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "")))
	uniq := len(slices.Compact(lines))
	r := e.compatSh(`set -e
cd big
wc -c < data.txt
LC_ALL=C sort -S 2M --parallel=2 -o sorted.txt data.txt
LC_ALL=C sort -c sorted.txt && echo sorted
sha256sum < sorted.txt
wc -l < sorted.txt
LC_ALL=C sort -t' ' -k2,2n -S 2M data.txt | head -1
LC_ALL=C sort -u data.txt | wc -l
`)
	compatWantOut(t, r, fmt.Sprintf("%d\nsorted\n%s  -\n%d\n%s%d\n", b.Len(), hex.EncodeToString(sum[:]), n, first, uniq))
}

func compatSQLite(t *testing.T, e *env) {
	compatTool(t, "sqlite3")
	r := e.compatSh(`set -e
mkdir db && cd db
sqlite3 app.db "PRAGMA journal_mode=WAL;
CREATE TABLE t(x INTEGER PRIMARY KEY, y TEXT);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 10000) INSERT INTO t SELECT i, 'row' || i FROM c;
CREATE INDEX ty ON t(y);
SELECT count(*), sum(x) FROM t;"
sqlite3 app.db "SELECT y FROM t WHERE x = 4242; PRAGMA integrity_check;"
sqlite3 :memory: "SELECT 6 * 7;"
`)
	compatWantOut(t, r, "wal\n10000|50005000\nrow4242\nok\n42\n")
}

// compatBash: shell features agents' commands lean on, with stdout and stderr as pipes.
func compatBash(t *testing.T, e *env) {
	heredoc := strings.Repeat("0123456789abcdef", 70000/16) // above a pipe's 64 KiB: bash spills it to a file in TMPDIR
	cases := []struct {
		name, stdin, script string
		stdout, stderr      string
		code                int
	}{
		{name: "pipes", script: `seq 1 10000 | awk '{s += $1} END {print s}'
set -o pipefail; false | true; echo "pipefail $?"; set +o pipefail
true | false | true; echo "status ${PIPESTATUS[*]}"
yes | head -3`,
			stdout: "50005000\npipefail 1\nstatus 0 1 0\ny\ny\ny\n"},
		{name: "command substitution", script: "x=$(echo $(echo inner) outer); y=`echo back`; echo \"$x $y $(( 6 * 7 ))\"",
			stdout: "inner outer back 42\n"},
		{name: "here-docs", script: "name=world\ncat <<EOF\nhello $name\nEOF\ncat <<'EOF'\n$name\nEOF\ntr a-z A-Z <<< abc\n" +
			"cat <<EOF | wc -c\n" + heredoc + "\nEOF",
			stdout: fmt.Sprintf("hello world\n$name\nABC\n%d\n", len(heredoc)+1)},
		{name: "process substitution", script: "diff <(printf 'a\\nb\\n') <(printf 'a\\nb\\n') && echo same\npaste -d, <(seq 3) <(seq 4 6)",
			stdout: "same\n1,4\n2,5\n3,6\n"},
		{name: "/dev/stdout and /dev/stderr", stdin: "from stdin\n",
			script: "echo out > /dev/stdout; echo err > /dev/stderr; echo err2 >&2; echo more >> /dev/stdout\n" +
				"echo fd > /dev/fd/1; cat /dev/stdin; exec 3>&1; echo three >&3; echo via-proc > /proc/self/fd/2",
			stdout: "out\nmore\nfd\nfrom stdin\nthree\n", stderr: "err\nerr2\nvia-proc\n"},
		{name: "/dev/null and friends", script: "echo gone > /dev/null; wc -c < /dev/null; cat /dev/null\n" +
			"head -c 1000 /dev/zero | wc -c; head -c 16 /dev/urandom | wc -c; ls nonexistent 2>/dev/null || echo quiet",
			stdout: "0\n1000\n16\nquiet\n"},
		{name: "mktemp", script: `set -e
f=$(mktemp); d=$(mktemp -d); w=$(mktemp -p "$PWD" ws.XXXXXX)
echo data > "$f"; cat "$f"
case "$f$d" in /tmp/*/tmp/*) echo in-tmp;; esac
test -d "$d" && test -f "$w" && echo made
rm "$f" "$w"; rmdir "$d"`,
			stdout: "data\nin-tmp\nmade\n"},
		{name: "flock", script: `exec 9> lockfile
flock -n 9 && echo got
flock -n lockfile true; echo "second: $?"
flock -w 0.2 lockfile true; echo "timed: $?"
flock -u 9
flock -n lockfile echo free
rm lockfile`,
			stdout: "got\nsecond: 1\ntimed: 1\nfree\n"},
		{name: "background jobs", script: `sleep 0.1 & a=$!
(sleep 0.05; exit 3) & b=$!
wait $a; echo "a=$?"
wait $b; echo "b=$?"
for i in 1 2 3; do (echo job$i > job$i.out) & done
wait
cat job1.out job2.out job3.out; rm job?.out
sleep 30 & s=$!; kill $s; wait $s; echo "killed=$?"
(exit 5) & wait -n; echo "wait-n=$?"
trap 'echo trapped' EXIT`,
			stdout: "a=0\nb=3\njob1\njob2\njob3\nkilled=143\nwait-n=5\ntrapped\n"},
		{name: "ulimit", script: "ulimit -a | grep -c -e '^open files' -e '^max user processes' -e '^file size'\n" +
			"ulimit -S -n 128 && ulimit -n\nulimit -S -c 0 && ulimit -c\n( ulimit -S -f 1; head -c 2048 /dev/zero > small.bin ) 2>/dev/null; echo \"fsize=$?\"; rm -f small.bin",
			stdout: "3\n128\n0\nfsize=153\n"},
		{name: "scripts in the workspace and /tmp", script: `set -e
printf '#!/bin/sh\necho ran "$@"\n' > "$TMPDIR/t.sh"; chmod +x "$TMPDIR/t.sh"; "$TMPDIR/t.sh" tmp
mkdir -p bin; printf '#!/bin/sh\necho ran "$@"\n' > bin/w.sh; chmod +x bin/w.sh; ./bin/w.sh ws; PATH=$PWD/bin:$PATH w.sh path
rm -r bin "$TMPDIR/t.sh"`,
			stdout: "ran tmp\nran ws\nran path\n"},
		{name: "process tools", script: `ps -o comm= -p $$
ps -e -o comm= | grep -c '^ps$'
timeout 0.2 sleep 5; echo "timeout=$?"
kill -0 $$ && echo alive
nice -n 5 sh -c 'echo niced'
test "$(nproc)" -ge 1 && echo nproc
seq 8 | xargs -P4 -I{} sh -c 'echo {}' | sort -n | tr '\n' ' '; echo`,
			stdout: "bash\n1\ntimeout=124\nalive\nniced\nnproc\n1 2 3 4 5 6 7 8 \n"},
		{name: "exit code", script: "echo before; exit 42", stdout: "before\n", code: 42},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.compatOn(t).compatPipeRun(c.stdin, "-c", c.script)
			if r.code != c.code || r.stdout != c.stdout || r.stderr != c.stderr {
				t.Errorf("got exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q",
					r.code, r.stdout, r.stderr, c.code, c.stdout, c.stderr)
			}
		})
	}
}

// compatStdoutFile runs skillrun with stdout and stderr redirected to regular files outside the
// workspace (skillrun -c '…' >out 2>err, and >>log 2>&1), and with stdout on the host's /dev/null:
// reopening /dev/stdout inside then reopens those host files.
func compatStdoutFile(t *testing.T, e *env) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	open := func(name string, flag int) *os.File {
		f, err := os.OpenFile(filepath.Join(dir, name), flag, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		e.chown(f.Name())
		t.Cleanup(func() { f.Close() })
		return f
	}
	run := func(stdin, stdout, stderr *os.File, script string) int {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := e.command(ctx, "-c", script)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
		err := cmd.Run()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatalf("running skillrun: %v", err)
		}
		return cmd.ProcessState.ExitCode()
	}
	read := func(f *os.File) string {
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// skillrun -c '…' > out 2> err
	out := open("out.txt", os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	errf := open("err.txt", os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	code := run(nil, out, errf, "echo hi > /dev/stdout; echo oops > /dev/stderr")
	if got, gotErr := read(out), read(errf); code != 0 || got != "hi\n" || gotErr != "oops\n" {
		t.Errorf("stdout and stderr to files: exit %d, stdout file %q (want \"hi\\n\"), stderr file %q (want \"oops\\n\")", code, got, gotErr)
	}

	// skillrun -c '…' >> log 2>&1: writes through fd 1 and through reopened /dev/stdout and
	// /dev/stderr all append, in order.
	log := open("log.txt", os.O_WRONLY|os.O_CREATE|os.O_APPEND)
	if _, err := log.WriteString("before\n"); err != nil {
		t.Fatal(err)
	}
	code = run(nil, log, log, "echo one; echo two >> /dev/stdout; echo three >&2; echo four >> /dev/stderr; echo five")
	if got := read(log); code != 0 || got != "before\none\ntwo\nthree\nfour\nfive\n" {
		t.Errorf("stdout and stderr appended to one file: exit %d, file %q", code, got)
	}

	// skillrun -c '…' < in > /dev/null (the host's /dev/null), stderr a pipe.
	e.write(filepath.Join(dir, "in.txt"), "input line\n", 0o644)
	in := open("in.txt", os.O_RDONLY)
	errR, errW := e.compatOwnedPipe()
	errc := compatDrain(errR)
	code = run(in, nil, errW, "echo hi > /dev/stdout && cat /dev/stdin > /dev/stderr && echo ok >&2")
	errW.Close()
	if got := <-errc; code != 0 || got != "input line\nok\n" {
		t.Errorf("stdout on /dev/null, stdin from a file: exit %d, stderr %q (want \"input line\\nok\\n\")", code, got)
	}
}

// compatOwnedPipe is a pipe owned by the identity, like the pipes its own agent would hand skillrun. A
// pipe keeps its creator's uid and mode 0600, and reopening it (echo > /dev/stdout opens
// /proc/self/fd/1) checks them: a pipe root made cannot be reopened by the unprivileged user,
// with or without skillrun (measured: bare setpriv --reuid … bash -c 'echo > /dev/stdout' | cat
// gets EACCES too).
func (e *env) compatOwnedPipe() (r, w *os.File) {
	e.t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if e.id.cred != nil {
		if err := r.Chown(e.id.uid, e.id.gid); err != nil {
			e.t.Fatal(err)
		}
	}
	e.t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// compatDrain reads r to the end in the background.
func compatDrain(r io.Reader) <-chan string {
	c := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(r)
		c <- string(b)
	}()
	return c
}

// compatPipeRun is runIn in the workspace with stdin, stdout and stderr on pipes the identity owns.
func (e *env) compatPipeRun(stdin string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	inR, inW := e.compatOwnedPipe()
	outR, outW := e.compatOwnedPipe()
	errR, errW := e.compatOwnedPipe()
	cmd := e.command(ctx, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("starting skillrun: %v", err)
	}
	inR.Close()
	outW.Close()
	errW.Close()
	go func() {
		io.WriteString(inW, stdin)
		inW.Close()
	}()
	outc, errc := compatDrain(outR), compatDrain(errR)
	err := cmd.Wait()
	r := result{stdout: <-outc, stderr: <-errc}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("running skillrun: %v", err)
	}
	return r
}
