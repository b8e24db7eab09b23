package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/skillrun/skillrun/policy"
)

// TestResolveSkill pins that every spelling of a skill's folder, and its name, resolve to the
// one real folder the lock keys approvals by.
func TestResolveSkill(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(base, "store", "pdf-tools")
	root := filepath.Join(base, "home", ".claude", "skills")
	for _, d := range []string{real, root, filepath.Join(base, "work", "other"), filepath.Join(base, "work", "plain")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(real, "SKILL.md"), filepath.Join(base, "work", "other", "SKILL.md")} {
		if err := os.WriteFile(f, []byte("---\nname: x\n---\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Installers link one copy into an agent's skill root.
	if err := os.Symlink(real, filepath.Join(root, "pdf-tools")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(base, "work", "link")); err != nil {
		t.Fatal(err)
	}
	found := policy.Discover(hostFS{}, []string{root})
	if len(found) != 1 || found[0].Source != real {
		t.Fatalf("discover: %+v", found)
	}
	t.Chdir(filepath.Join(base, "work"))

	cases := []struct {
		arg        string
		name, dir  string // want; empty name: an error
		source     string
		candidates []policy.FoundSkill
	}{
		{arg: "pdf-tools", name: "pdf-tools", dir: filepath.Join(root, "pdf-tools"), source: real, candidates: found},
		{arg: real, name: "pdf-tools", dir: filepath.Join(root, "pdf-tools"), source: real, candidates: found},
		{arg: real + "/", name: "pdf-tools", dir: filepath.Join(root, "pdf-tools"), source: real, candidates: found},
		{arg: real + "/.", name: "pdf-tools", dir: filepath.Join(root, "pdf-tools"), source: real, candidates: found},
		{arg: "../store/pdf-tools", name: "pdf-tools", dir: filepath.Join(root, "pdf-tools"), source: real, candidates: found},
		{arg: "../store/pdf-tools/", name: "pdf-tools", dir: filepath.Join(root, "pdf-tools"), source: real, candidates: found},
		{arg: filepath.Join(root, "pdf-tools"), name: "pdf-tools", dir: filepath.Join(root, "pdf-tools"), source: real, candidates: found},
		{arg: filepath.Join(root, "pdf-tools") + "/", name: "pdf-tools", dir: filepath.Join(root, "pdf-tools"), source: real, candidates: found},
		{arg: "./link", name: "pdf-tools", dir: filepath.Join(root, "pdf-tools"), source: real, candidates: found},
		{arg: "link/", name: "pdf-tools", dir: filepath.Join(root, "pdf-tools"), source: real, candidates: found},
		// Outside every skill root: the folder is its own name.
		{arg: "./other", name: "other", dir: filepath.Join(base, "work", "other"), source: filepath.Join(base, "work", "other")},
		{arg: "other/", name: "other", dir: filepath.Join(base, "work", "other"), source: filepath.Join(base, "work", "other")},
		{arg: filepath.Join(base, "work", "other"), name: "other", dir: filepath.Join(base, "work", "other"), source: filepath.Join(base, "work", "other")},
		{arg: "./link", name: "link", dir: filepath.Join(base, "work", "link"), source: real},
		// A bare word that no skill is named, but that is a skill folder here.
		{arg: "other", name: "other", dir: filepath.Join(base, "work", "other"), source: filepath.Join(base, "work", "other"), candidates: found},
		// Errors: no such skill, no such folder, a folder that is no skill.
		{arg: "nope", candidates: found},
		{arg: "./nope"},
		{arg: "./plain"},
		{arg: "plain"},
		{arg: "pdf-tools", candidates: append(append([]policy.FoundSkill{}, found...),
			policy.FoundSkill{Name: "pdf-tools", Dir: "/elsewhere/pdf-tools", Source: "/elsewhere/pdf-tools"})},
	}
	for _, c := range cases {
		f, err := resolveSkill("approve", c.arg, c.candidates)
		if c.name == "" {
			if err == nil {
				t.Errorf("%q: resolved to %+v, want an error", c.arg, f)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.arg, err)
			continue
		}
		if f.Name != c.name || f.Dir != c.dir || f.Source != c.source {
			t.Errorf("%q: got name %s dir %s source %s; want %s %s %s", c.arg, f.Name, f.Dir, f.Source, c.name, c.dir, c.source)
		}
	}

	// verify keeps an approval whose folder is gone reachable by its path.
	gone := policy.FoundSkill{Name: "gone", Dir: filepath.Join(base, "gone"), Source: filepath.Join(base, "gone")}
	if m, err := matchSkills(filepath.Join(base, "gone")+"/", []policy.FoundSkill{gone}); err != nil || len(m) != 1 || m[0].Source != gone.Source {
		t.Errorf("a removed approved folder: %+v, %v", m, err)
	}
}
