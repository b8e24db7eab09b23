package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSkillNameOrFolder: a skill approved by any spelling of its folder is found by every other
// spelling and by its name, in approve, verify, skills and scan.
func TestSkillNameOrFolder(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		store := filepath.Join(e.base, "store")
		real := e.skill(filepath.Join(store, "pdf-tools"), pdfManifest, map[string]string{"run.sh": pdfScript, "data.txt": "x"})
		e.mkdir(filepath.Join(e.home, ".claude"), 0o755)
		e.mkdir(filepath.Join(e.home, ".claude", "skills"), 0o755)
		linked := filepath.Join(e.home, ".claude", "skills", "pdf-tools")
		if err := os.Symlink(real, linked); err != nil {
			t.Fatal(err)
		}
		e.chown(linked)

		spellings := []struct{ dir, arg string }{
			{e.workspace, "pdf-tools"},
			{store, "pdf-tools/"},
			{store, "./pdf-tools"},
			{e.workspace, "../store/pdf-tools/"},
			{e.workspace, real},
			{e.workspace, real + "/"},
			{e.workspace, linked},
			{e.workspace, linked + "/"},
		}
		for _, approveBy := range []string{real + "/", linked, "pdf-tools"} {
			if r := e.run("approve", "--yes", approveBy); r.code != 0 || !strings.Contains(r.stdout, "approved pdf-tools") {
				t.Fatalf("approve %s:\n%s", approveBy, r)
			}
			for _, s := range spellings {
				if r := e.runIn(s.dir, "", "verify", s.arg); r.code != 0 || !strings.Contains(r.stdout, "ok       pdf-tools  "+real+" ") {
					t.Errorf("approved by %s, verify %s (in %s):\n%s", approveBy, s.arg, s.dir, r)
				}
				if r := e.runIn(s.dir, "", "skills", s.arg); r.code != 0 || !strings.Contains(r.stdout, "approved") || strings.Count(r.stdout, "\n") != 2 {
					t.Errorf("approved by %s, skills %s (in %s):\n%s", approveBy, s.arg, s.dir, r)
				}
				if r := e.runIn(s.dir, "", "scan", s.arg); r.code != 0 {
					t.Errorf("scan %s (in %s):\n%s", s.arg, s.dir, r)
				}
			}
		}
		// The lock holds one approval, of the real folder.
		lock, err := os.ReadFile(filepath.Join(e.home, ".config", "skillrun", "skills.lock"))
		if err != nil || strings.Count(string(lock), "path:") != 1 || !strings.Contains(string(lock), "path: "+real+"\n") {
			t.Errorf("lock: %v\n%s", err, lock)
		}

		// A change is seen by every spelling too, and an unknown or unapproved one is a problem.
		e.write(filepath.Join(real, "data.txt"), "changed", 0o644)
		if r := e.run("verify", linked+"/"); r.code != 126 || !strings.Contains(r.stdout, "MODIFIED pdf-tools") {
			t.Errorf("verify after a change:\n%s", r)
		}
		other := e.skill(filepath.Join(e.base, "other"), "", nil)
		if r := e.run("verify", other+"/"); r.code != 126 || !strings.Contains(r.stdout, "UNAPPROVED other  "+other) {
			t.Errorf("verify an unapproved folder:\n%s", r)
		}
		if r := e.run("verify", "nope"); r.code != 126 || !strings.Contains(r.stdout, "UNKNOWN  nope") {
			t.Errorf("verify an unknown name:\n%s", r)
		}
		if r := e.run("approve", "--yes", e.base+"/"); r.code != 125 || !strings.Contains(r.stderr, "is not a skill folder") {
			t.Errorf("approve a folder that is no skill:\n%s", r)
		}
	})
}
