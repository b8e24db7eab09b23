package test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNoPlaceholders: a missing protected name shows nowhere, inside the sandbox (ls -a), on the
// host while a run sleeps, and after it; in a repository and in a plain folder.
func TestNoPlaceholders(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		for _, plain := range []bool{false, true} {
			if plain {
				os.RemoveAll(filepath.Join(e.workspace, ".git"))
			}
			before := listDir(t, e.workspace)
			cmd := e.command(t.Context(), "-c", "ls -a; echo ready; read x")
			stdin, _ := cmd.StdinPipe()
			out, _ := cmd.StdoutPipe()
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			rd := bufio.NewReader(out)
			var inside []string
			for {
				line, err := rd.ReadString('\n')
				if err != nil {
					cmd.Wait()
					t.Fatalf("the run ended early: %v\n%s", err, stderr.String())
				}
				if line = strings.TrimSpace(line); line == "ready" {
					break
				}
				if line != "." && line != ".." {
					inside = append(inside, line)
				}
			}
			during := listDir(t, e.workspace)
			stdin.Write([]byte("\n"))
			stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Fatalf("the run failed: %v\n%s", err, stderr.String())
			}
			after := listDir(t, e.workspace)
			slices.Sort(inside)
			for what, got := range map[string][]string{"inside (ls -a)": inside, "on the host during the run": during, "after the run": after} {
				if !slices.Equal(got, before) {
					t.Errorf("plain=%v: the workspace %s shows %q, want %q", plain, what, got, before)
				}
			}
			if strings.Contains(stderr.String(), "blocked") {
				t.Errorf("a run that created nothing reported a block:\n%s", stderr.String())
			}
		}
	})
}

// TestProtectedCreationUndone: every way of making a protected name is undone and reported, with
// the policy line that would allow it, and the host has nothing there afterwards.
func TestProtectedCreationUndone(t *testing.T) {
	cases := []struct {
		name, script, path string
	}{
		{"echo >", `echo evil > CLAUDE.md`, "CLAUDE.md"},
		{"mkdir -p dir/file", `mkdir -p .claude && echo '{"hooks":{}}' > .claude/settings.json`, ".claude"},
		{"mkdir -p through a new folder", `mkdir -p .agents/skills/x && echo evil > .agents/skills/x/SKILL.md`, ".agents"},
		{"mv from elsewhere", `mkdir -p /tmp/built && echo 'export EVIL=1' > /tmp/built/envrc && mv /tmp/built/envrc build.tmp && mv build.tmp .envrc`, ".envrc"},
		{"mv a folder built elsewhere", `mkdir -p stage/cfg && echo evil > stage/cfg/config.toml && mv stage/cfg .codex`, ".codex"},
		{"ln -s", `ln -s README .mcp.json`, ".mcp.json"},
		{"ln (hard)", `ln README AGENTS.md`, "AGENTS.md"},
	}
	forEachIdentity(t, func(t *testing.T, e *env) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				readme, _ := os.ReadFile(filepath.Join(e.workspace, "README"))
				r := e.run("-c", c.script+"; sleep 0.1; echo done")
				if !strings.Contains(r.stdout, "done") {
					t.Fatalf("the command did not run:\n%s", r)
				}
				host := filepath.Join(e.workspace, c.path)
				if _, err := os.Lstat(host); !os.IsNotExist(err) {
					t.Errorf("%s exists on the host after the run: %v", c.path, err)
				}
				blocked := "skillrun: blocked: creation of " + host + " ("
				if !strings.Contains(r.stderr, blocked) {
					t.Errorf("not reported (want %q):\n%s", blocked, r)
				}
				if !strings.Contains(r.stderr, "undone, kept in "+e.stateRoot()+"/quarantine/") {
					t.Errorf("not kept in quarantine (the state root is on the workspace's file system here):\n%s", r)
				}
				if !strings.Contains(r.stderr, "skillrun: hint: ") || !strings.Contains(r.stderr, "unsafe: {filesystem: {write: [") {
					t.Errorf("no hint with the policy line that would allow it:\n%s", r)
				}
				if now, _ := os.ReadFile(filepath.Join(e.workspace, "README")); string(now) != string(readme) {
					t.Errorf("README changed: %q", now)
				}
				os.RemoveAll(filepath.Join(e.workspace, "stage"))
				// --quiet: still undone, not printed.
				r = e.run("--quiet", "-c", c.script+"; echo done")
				if _, err := os.Lstat(host); !os.IsNotExist(err) {
					t.Errorf("--quiet: %s exists on the host after the run: %v", c.path, err)
				}
				if strings.Contains(r.stderr, "blocked") {
					t.Errorf("--quiet printed the block:\n%s", r)
				}
				os.RemoveAll(filepath.Join(e.workspace, "stage"))
			})
		}
		r := e.run("log", "--denied", "--json")
		if !strings.Contains(r.stdout, `"access":"create"`) || !strings.Contains(r.stdout, filepath.Join(e.workspace, "CLAUDE.md")) {
			t.Errorf("the audit log has no creation denial:\n%s", r)
		}
		e.assertNoState()
	})
}

// TestLegitimateEditsNextToProtected: what agents do every day still works, and stays.
func TestLegitimateEditsNextToProtected(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		os.RemoveAll(filepath.Join(e.workspace, ".git")) // a plain folder: git init must work
		r := e.run("-c", `set -e
echo node_modules > .gitignore
mkdir -p .github/workflows && echo 'on: push' > .github/workflows/x.yml
echo '{"name":"x"}' > package.json
git init -q . && git -c user.email=a@example.com -c user.name=a commit -q --allow-empty -m init
echo done`)
		if r.code != 0 || !strings.Contains(r.stdout, "done") {
			t.Fatalf("legitimate edits failed:\n%s", r)
		}
		for _, p := range []string{".gitignore", ".github/workflows/x.yml", "package.json", ".git/HEAD", ".git/config"} {
			if _, err := os.Stat(filepath.Join(e.workspace, p)); err != nil {
				t.Errorf("%s is missing after the run: %v", p, err)
			}
		}
		if strings.Contains(r.stderr, "blocked") {
			t.Errorf("a legitimate edit was blocked:\n%s", r)
		}
		if out, err := exec.Command("git", "-c", "safe.directory=*", "-C", e.workspace, "log", "--oneline").CombinedOutput(); err != nil || !strings.Contains(string(out), "init") {
			t.Errorf("the repository git init made is not usable on the host: %v %s", err, out)
		}
	})
}

// TestExistingProtectedUnchanged: a protected file that exists is read-only (EROFS), and stays.
func TestExistingProtectedUnchanged(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		e.write(filepath.Join(e.workspace, "CLAUDE.md"), "mine\n", 0o644)
		r := e.run("-c", `echo evil > CLAUDE.md; rm -f CLAUDE.md; mv CLAUDE.md x; echo checked`)
		if !strings.Contains(r.stdout, "checked") || !strings.Contains(r.stderr, "Read-only file system") {
			t.Errorf("writing an existing protected file was not refused with EROFS:\n%s", r)
		}
		if b, err := os.ReadFile(filepath.Join(e.workspace, "CLAUDE.md")); err != nil || string(b) != "mine\n" {
			t.Errorf("CLAUDE.md changed: %q %v", b, err)
		}
	})
}

// TestKillNineLeavesNoProtectedName: skillrun killed while its command has made a protected name
// (its watcher stopped first, so the name is really there): the stage sweeps it before it exits,
// with no further run; and when the stage is killed too, the next run sweeps and reports it.
// The names are FIFOs: a stopped skillrun also holds every write, mkdir and link the command
// makes (they wait for its supervisor, protectwrites.go), while mknod does not wait.
func TestKillNineLeavesNoProtectedName(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		for _, killStage := range []bool{false, true} {
			marker := fmt.Sprintf("%d.%d", 700+os.Getpid()%99, time.Now().UnixNano()%1000000)
			os.Remove(filepath.Join(e.workspace, "go"))
			os.Remove(filepath.Join(e.workspace, "made"))
			cmd := e.command(t.Context(), "-c", `echo ready; while [ ! -e go ]; do sleep 0.02; done
mkfifo .claude .envrc made
sleep `+marker)
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if line, _ := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
				t.Fatalf("the sandbox did not start: %q", line)
			}
			// Stopped, skillrun's watcher undoes nothing: the names stay until someone sweeps.
			cmd.Process.Signal(syscall.SIGSTOP)
			e.write(filepath.Join(e.workspace, "go"), "", 0o644)
			if !waitFor(10*time.Second, func() bool { _, err := os.Stat(filepath.Join(e.workspace, "made")); return err == nil }) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatal("the command never made its files")
			}
			if _, err := os.Lstat(filepath.Join(e.workspace, ".envrc")); err != nil {
				t.Fatalf("the test is void: .envrc was never there: %v", err)
			}
			if killStage {
				if pid := stageOf(cmd.Process.Pid); pid > 0 {
					syscall.Kill(pid, syscall.SIGKILL)
				} else {
					t.Fatal("cannot find the stage")
				}
			}
			cmd.Process.Kill()
			cmd.Wait()
			if !waitFor(5*time.Second, func() bool { return !markerAlive(marker) }) {
				t.Fatalf("the sandbox outlived skillrun's SIGKILL (sleep %s)", marker)
			}
			gone := func() bool {
				for _, p := range []string{".claude", ".envrc"} {
					if _, err := os.Lstat(filepath.Join(e.workspace, p)); err == nil {
						return false
					}
				}
				return true
			}
			if !killStage {
				if !waitFor(5*time.Second, gone) {
					t.Errorf("after kill -9, before any other run: .claude or .envrc is still on the host")
				}
				// Swept by the stage, the killed run's list is done with: an .envrc the developer
				// makes now is theirs, and the next run leaves it alone.
				e.write(filepath.Join(e.workspace, ".envrc"), "mine\n", 0o644)
				r := e.run("--", "true")
				if b, err := os.ReadFile(filepath.Join(e.workspace, ".envrc")); err != nil || string(b) != "mine\n" || strings.Contains(r.stderr, "blocked") {
					t.Errorf("the next run undid the developer's own .envrc (%q, %v):\n%s", b, err, r)
				}
				os.Remove(filepath.Join(e.workspace, ".envrc"))
				continue
			}
			if gone() {
				t.Fatal("the test is void: the names went without the stage or a next run")
			}
			r := e.run("--", "true")
			if !gone() {
				t.Errorf("the next run did not sweep what the killed one left")
			}
			if !strings.Contains(r.stderr, "skillrun: blocked: creation of "+filepath.Join(e.workspace, ".envrc")) || !strings.Contains(r.stderr, "killed") {
				t.Errorf("the next run did not report what it swept:\n%s", r)
			}
		}
		if r := e.run("--", "true"); r.code != 0 {
			t.Fatalf("the next run failed:\n%s", r)
		}
		e.assertNoState()
	})
}

// stageOf finds the sandbox's PID 1 (the stage) among the children of skillrun.
func stageOf(parent int) int {
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 || f[1] != strconv.Itoa(parent) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if cl, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "cmdline")); strings.Contains(string(cl), "__stage") {
			return pid
		}
	}
	return 0
}

// notUndone drops from ok (lines "ATTACK-OK ... PATH") the creations the sandbox undid: the run
// reported PATH, or a folder above it, as a blocked creation, and the host has nothing at PATH.
// A missing protected name is not refused inside (nothing holds it); it is undone at once.
// Relative paths are below dir; "~/" is home.
func notUndone(r result, dir, home string, ok []string) []string {
	abs := func(p string) string {
		if rest, found := strings.CutPrefix(p, "~/"); found {
			return filepath.Join(home, rest)
		}
		if !filepath.IsAbs(p) {
			return filepath.Join(dir, p)
		}
		return p
	}
	var reported []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if rest, found := strings.CutPrefix(l, "skillrun: blocked: creation of "); found {
			p, _, _ := strings.Cut(rest, " (")
			reported = append(reported, abs(p))
		}
	}
	var out []string
	for _, l := range ok {
		f := strings.Fields(l)
		p := abs(f[len(f)-1])
		undone := false
		for _, b := range reported {
			if p == b || strings.HasPrefix(p, b+"/") {
				_, err := os.Lstat(p)
				undone = os.IsNotExist(err)
			}
		}
		if !undone {
			out = append(out, l)
		}
	}
	return out
}

// TestStageIgnoresDeathSignalFromInside: the stage catches its parent-death signal to sweep when
// skillrun dies; the command sending it to PID 1 must not end the run (nor sweep anything).
func TestStageIgnoresDeathSignalFromInside(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		r := e.run("-c", "kill -PWR 1 2>/dev/null; sleep 0.2; echo still here")
		if r.code != 0 || r.stdout != "still here\n" {
			t.Errorf("SIGPWR to PID 1 from inside ended the run:\n%s", r)
		}
	})
}
