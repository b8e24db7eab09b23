package sandbox

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
)

func needCreateWatch(t *testing.T) {
	t.Helper()
	if why := createWatchSupport(); why != "" {
		t.Skipf("fanotify directory events unavailable here: %s", why)
	}
}

func sh(t *testing.T, dir, script string) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
}

// TestCreateGuardUndoes: whatever way a protected name appears, the watcher undoes it while the
// command still runs (before any final sweep), reports it, and keeps it in quarantine.
func TestCreateGuardUndoes(t *testing.T) {
	needCreateWatch(t)
	cases := []struct {
		name    string
		pre     string // run before the watch starts
		protect []string
		do      string
		gone    []string // must be absent while the watch runs
		kept    []string // must still exist (legitimate work, or what existed before)
		report  []string // paths reported, relative to the workspace
	}{
		{name: "file", protect: []string{"CLAUDE.md"}, do: "echo evil > CLAUDE.md",
			gone: []string{"CLAUDE.md"}, report: []string{"CLAUDE.md"}},
		{name: "mkdir", protect: []string{".claude"}, do: "mkdir -p .claude/x && echo evil > .claude/x/settings.json",
			gone: []string{".claude"}, report: []string{".claude"}},
		{name: "through a new folder", protect: []string{".agents/skills"},
			do:   "mkdir -p .agents/skills/evil && echo x > .agents/skills/evil/SKILL.md; mkdir -p .agents/other && echo ok > .agents/other/f",
			gone: []string{".agents/skills"}, kept: []string{".agents/other/f"}, report: []string{".agents/skills"}},
		{name: "deep, renamed in", protect: []string{"a/b/c/d"},
			do:   "mkdir -p ../built/b/c/d && echo x > ../built/b/c/d/f && mv ../built a",
			gone: []string{"a/b/c/d"}, kept: []string{"a/b/c"}, report: []string{"a/b/c/d"}},
		{name: "renamed onto the name", protect: []string{".envrc"},
			do: "echo evil > ../envrc.tmp && mv ../envrc.tmp .envrc", gone: []string{".envrc"}, report: []string{".envrc"}},
		{name: "symlink", protect: []string{".mcp.json"}, do: "ln -s /etc/passwd .mcp.json",
			gone: []string{".mcp.json"}, report: []string{".mcp.json"}},
		{name: "hard link", protect: []string{"AGENTS.md"}, pre: "echo mine > notes",
			do: "ln notes AGENTS.md", gone: []string{"AGENTS.md"}, kept: []string{"notes"}, report: []string{"AGENTS.md"}},
		{name: "symlink on the way", protect: []string{".github/copilot-instructions.md"},
			do:   "mkdir -p docs && echo evil > docs/copilot-instructions.md && ln -s docs .github",
			gone: []string{".github"}, kept: []string{"docs/copilot-instructions.md"}, report: []string{".github"}},
		{name: "folder renamed away and back", protect: []string{".github/copilot-instructions.md"},
			pre:  "mkdir .github",
			do:   "mv .github gh && echo evil > gh/copilot-instructions.md && mv gh .github",
			gone: []string{".github/copilot-instructions.md"}, kept: []string{".github"}, report: []string{".github/copilot-instructions.md"}},
		{name: "file gives way to a folder", protect: []string{"f/x"}, pre: "echo plain > f",
			do: "rm f && mkdir f && echo evil > f/x", gone: []string{"f/x"}, kept: []string{"f"}, report: []string{"f/x"}},
		{name: "glob", protect: []string{".*rc"}, pre: "echo mine > .bashrc",
			do:   "echo evil > .zshrc; mkdir .vimrc; echo ok > .profile",
			gone: []string{".zshrc", ".vimrc"}, kept: []string{".bashrc", ".profile"}, report: []string{".vimrc", ".zshrc"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			ws, state := filepath.Join(base, "ws"), filepath.Join(base, "state")
			os.Mkdir(ws, 0o755)
			if c.pre != "" {
				sh(t, ws, c.pre)
			}
			plan := &policy.Plan{Mounts: []policy.Mount{{Path: ws, Access: policy.ReadWrite}}}
			for _, p := range c.protect {
				plan.Protect = append(plan.Protect, filepath.Join(ws, p))
			}
			_, _, targets := protectMounts(plan)
			if len(targets) == 0 {
				t.Fatal("no targets for missing protected paths")
			}
			g, err := watchCreations(targets, filepath.Join(state, "quarantine", "sr-test"))
			if err != nil {
				t.Fatal(err)
			}
			defer g.finish()
			// The command may fail half way: what it made may be undone before its next step.
			sh(t, ws, "("+c.do+") 2>/dev/null; true")
			// The watcher alone: the final sweep would hide a watcher that does nothing.
			for _, p := range c.gone {
				ok := waitUntil(func() bool { _, err := os.Lstat(filepath.Join(ws, p)); return os.IsNotExist(err) })
				if !ok {
					t.Errorf("%s still exists while the watch runs", p)
				}
			}
			blocked := g.finish()
			for _, p := range c.gone {
				if _, err := os.Lstat(filepath.Join(ws, p)); !os.IsNotExist(err) {
					t.Errorf("%s exists after the sweep: %v", p, err)
				}
			}
			for _, p := range c.kept {
				if _, err := os.Lstat(filepath.Join(ws, p)); err != nil {
					t.Errorf("%s was undone, but is legitimate: %v", p, err)
				}
			}
			var got []string
			for _, b := range blocked {
				got = append(got, strings.TrimPrefix(b.Path, ws+"/"))
				if b.Kept == "" {
					t.Errorf("%s was removed, not kept: %s", b.Path, b.Why)
				} else if _, err := os.Lstat(b.Kept); err != nil {
					t.Errorf("%s: not in quarantine at %s: %v", b.Path, b.Kept, err)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, c.report) {
				t.Errorf("reported %q, want %q", got, c.report)
			}
		})
	}
}

// waitUntil polls cond for up to five seconds: how long the watcher takes is the benchmark's
// business, this only asks whether it happens at all.
func waitUntil(cond func() bool) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// TestCreateGuardOverflow: an overflowed queue (events were lost) sweeps every target.
func TestCreateGuardOverflow(t *testing.T) {
	ws := t.TempDir()
	targets := []guardTarget{{Entry: ws + "/.envrc", Root: ws, Elems: []string{".envrc"}}}
	g := &createGuard{dirs: map[string]*watchedDir{}}
	g.targets, g.u = targets, newUndoer(filepath.Join(t.TempDir(), "q", "sr-x"))
	os.WriteFile(filepath.Join(ws, ".envrc"), []byte("evil"), 0o644)
	ev := make([]byte, fanMetaLen)
	binary.NativeEndian.PutUint32(ev, fanMetaLen)
	ev[4] = 3
	binary.NativeEndian.PutUint16(ev[6:], fanMetaLen)
	binary.NativeEndian.PutUint64(ev[8:], unix.FAN_Q_OVERFLOW)
	g.parse(ev)
	if _, err := os.Lstat(filepath.Join(ws, ".envrc")); !os.IsNotExist(err) {
		t.Fatalf("an overflow passed without a sweep: %v", err)
	}
}

// TestRemoveAtKeepsLinksTargets: removing (when no quarantine is possible) never follows a link.
func TestRemoveAtKeepsLinksTargets(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	os.MkdirAll(outside, 0o755)
	os.WriteFile(filepath.Join(outside, "keep"), []byte("x"), 0o644)
	ws := filepath.Join(base, "ws")
	sh(t, base, "mkdir -p ws/.claude/deep && ln -s ../outside ws/.claude/link && ln -s ../../outside/keep ws/.claude/deep/f && chmod 500 ws/.claude/deep")
	u := newUndoer("")
	u.undo(ws, ".claude", ws+"/.claude", false, "")
	if _, err := os.Lstat(filepath.Join(ws, ".claude")); !os.IsNotExist(err) {
		t.Errorf(".claude was not removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "keep")); err != nil {
		t.Errorf("removal followed a link: %v", err)
	}
	if r := u.results(); len(r) != 1 || r[0].Kept != "" {
		t.Errorf("report %+v", r)
	}
}

// TestStaleSweep: a killed run's list is swept by the next run's cleaner.
func TestStaleSweep(t *testing.T) {
	root, ws := t.TempDir(), t.TempDir()
	os.Mkdir(filepath.Join(root, "runs"), 0o700)
	targets := []guardTarget{{Entry: ws + "/CLAUDE.md", Root: ws, Elems: []string{"CLAUDE.md"}}}
	lock, err := lockedFile(filepath.Join(root, "runs", "sr-dead.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if err := writeGuard(lock, targets); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ws, "CLAUDE.md"), []byte("evil"), 0o644)
	lock.Close() // the run died: its lock is free
	got := cleanStale(root)
	if _, err := os.Lstat(filepath.Join(ws, "CLAUDE.md")); !os.IsNotExist(err) {
		t.Errorf("the killed run's CLAUDE.md is still there: %v", err)
	}
	if len(got) != 1 || got[0].Kept == "" || !strings.Contains(got[0].Why, "killed") {
		t.Errorf("report %+v", got)
	}
	if _, err := os.Lstat(filepath.Join(root, "runs", "sr-dead.lock")); !os.IsNotExist(err) {
		t.Errorf("the dead run's lock was left: %v", err)
	}
}
