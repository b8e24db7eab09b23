package test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const siteManifest = `version: 1
name: site-builder
filesystem:
  read: ["${WORKSPACE}"]
  write: ["${WORKSPACE}/dist", "${WORKSPACE}/build/reports", "${HOME}/site-exports"]
`

// siteScript builds into the granted folders, which did not exist before the run.
const siteScript = `#!/bin/sh
mkdir -p "$PWD/dist/assets" && echo page > "$PWD/dist/index.html" && echo wrote-dist
echo report > "$PWD/build/reports/r.txt" && echo wrote-reports
mkdir "$PWD/other" 2>/dev/null && echo wrote-other
true
`

// TestWriteGrantCreatesFolder: a skill whose manifest grants writes to folders of the workspace
// that do not exist yet gets them, created before the run as the caller (and kept: they hold its
// output); plan says what a run would create and which grants it would skip (outside the
// workspace), with their lines, and the run says the same on stderr.
func TestWriteGrantCreatesFolder(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		dir := e.skill(filepath.Join(e.home, ".claude", "skills", "site-builder"), siteManifest, map[string]string{"run.sh": siteScript})
		script := filepath.Join(dir, "run.sh")
		if r := e.run("approve", "--yes", "site-builder"); r.code != 0 {
			t.Fatalf("approve:\n%s", r)
		}
		at := "manifest (" + filepath.Join(dir, "skillrun.yaml") + ":5:"
		dist, reports, exports := filepath.Join(e.workspace, "dist"), filepath.Join(e.workspace, "build", "reports"), filepath.Join(e.home, "site-exports")
		r := e.run("plan", "--", "sh", script)
		if r.code != 0 {
			t.Fatalf("plan:\n%s", r)
		}
		for _, want := range []string{
			"skillrun: note: " + dist + " does not exist yet; a run creates it for the grant at " + at,
			"skillrun: note: " + reports + " does not exist yet; a run creates it for the grant at " + at,
			"skillrun: warning: grant of " + exports + " skipped (" + at,
			"): it does not exist, and skillrun creates missing folders only inside the workspace",
		} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("plan: stderr lacks %q:\n%s", want, r)
			}
		}
		if _, err := os.Lstat(dist); !os.IsNotExist(err) {
			t.Fatalf("plan created %s: %v", dist, err)
		}
		r = e.run("--", "sh", script)
		if r.code != 0 || !strings.Contains(r.stdout, "wrote-dist") || !strings.Contains(r.stdout, "wrote-reports") {
			t.Fatalf("the skill could not write its granted folders:\n%s", r)
		}
		if strings.Contains(r.stdout, "wrote-other") {
			t.Errorf("the skill created a folder it was not granted:\n%s", r)
		}
		for _, want := range []string{"skillrun: note: created " + dist + " for the grant at " + at,
			"skillrun: note: created " + reports + " for the grant at " + at,
			"skillrun: warning: grant of " + exports + " skipped"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("run: stderr lacks %q:\n%s", want, r)
			}
		}
		for _, p := range []string{filepath.Join(dist, "index.html"), filepath.Join(reports, "r.txt"), filepath.Join(e.workspace, "build")} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			if uid := fi.Sys().(*syscall.Stat_t).Uid; int(uid) != e.uidOrSelf() {
				t.Errorf("%s is owned by %d, want the caller %d", p, uid, e.uidOrSelf())
			}
		}
		if _, err := os.Lstat(exports); !os.IsNotExist(err) {
			t.Errorf("a grant outside the workspace was created: %v", err)
		}
		// The folders stay; the next run finds them and creates nothing.
		r = e.run("--", "sh", script)
		if r.code != 0 || strings.Contains(r.stderr, "created") {
			t.Errorf("second run:\n%s", r)
		}
		// --quiet: no notes.
		os.RemoveAll(dist)
		if r = e.run("--quiet", "--", "sh", script); r.code != 0 || r.stderr != "" {
			t.Errorf("--quiet:\n%s", r)
		}
		e.assertNoState()
	})
}

// TestWriteGrantBadInput: write grants that climb out of the workspace are refused by the path
// rules; a grant through a symlink, or through a file where a folder is expected, refuses the
// run with a clear error, creates nothing outside the workspace and leaves nothing it made (even
// the folders of an earlier grant of the same run).
func TestWriteGrantBadInput(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		outside := filepath.Join(e.base, "outside")
		e.mkdir(outside, 0o755)
		if err := os.Symlink(outside, filepath.Join(e.workspace, "link")); err != nil {
			t.Fatal(err)
		}
		os.Lchown(filepath.Join(e.workspace, "link"), e.uidOrSelf(), -1)
		e.write(filepath.Join(e.workspace, "afile"), "not a folder\n", 0o644)
		before := treeHash(t, e.workspace)
		pol := filepath.Join(e.base, "policy.yaml")
		e.extraEnv = []string{"SKILLRUN_POLICY=" + pol}
		cases := []struct {
			name, write string
			code        int
			wants       []string
		}{
			{"dot-dot", `"${WORKSPACE}/../x"`, 125, []string{`".." is not allowed in paths`, pol + ":4:"}},
			{"symlink", `"${WORKSPACE}/link/dist"`, 126, []string{"passes through the symlink " + filepath.Join(e.workspace, "link"),
				"skillrun: hint: look at the link"}},
			{"file", `"${WORKSPACE}/afile/dist"`, 125, []string{filepath.Join(e.workspace, "afile") + " is a file where the grant of " +
				filepath.Join(e.workspace, "afile", "dist") + " (policy (" + pol + ":4:", "skillrun: hint: the path named above must be a folder"}},
			// The first grant's folders are made, then the second is refused: none stay.
			{"rollback", `"${WORKSPACE}/made/deep/er", "${WORKSPACE}/zz/link/y"`, 126, []string{"passes through the symlink"}},
		}
		for _, c := range cases {
			if c.name == "rollback" {
				e.mkdir(filepath.Join(e.workspace, "zz"), 0o755)
				os.Symlink(outside, filepath.Join(e.workspace, "zz", "link"))
				os.Lchown(filepath.Join(e.workspace, "zz", "link"), e.uidOrSelf(), -1)
				before = treeHash(t, e.workspace)
			}
			e.write(pol, "version: 1\nagent:\n  filesystem:\n    write: ["+c.write+"]\n", 0o600)
			r := e.run("--", "sh", "-c", "echo RAN")
			if r.code != c.code || strings.Contains(r.stdout, "RAN") {
				t.Errorf("%s: want exit %d and no run:\n%s", c.name, c.code, r)
			}
			for _, want := range c.wants {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("%s: stderr lacks %q:\n%s", c.name, want, r)
				}
			}
			if got := treeHash(t, e.workspace); got != before {
				t.Errorf("%s: the workspace changed", c.name)
			}
			if entries, _ := os.ReadDir(outside); len(entries) > 0 {
				t.Errorf("%s: something was created outside the workspace: %v", c.name, entries)
			}
			if _, err := os.Lstat(filepath.Join(e.base, "x")); !os.IsNotExist(err) {
				t.Errorf("%s: %s exists", c.name, filepath.Join(e.base, "x"))
			}
		}
		e.assertNoState()
	})
}
