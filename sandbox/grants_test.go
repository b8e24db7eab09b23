package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skillrun/skillrun/policy"
)

// TestGrantFolders: missing folders marked for creation are made beneath the workspace only when
// asked (PrepareGrants, never CheckGrants); a symlink or a file on the way refuses, and a refusal
// removes what the same call made.
func TestGrantFolders(t *testing.T) {
	ws := t.TempDir()
	outside := t.TempDir()
	os.Symlink(outside, filepath.Join(ws, "link"))
	os.WriteFile(filepath.Join(ws, "file"), []byte("x"), 0o644)
	os.Mkdir(filepath.Join(ws, "have"), 0o755)
	mount := func(p string) policy.Mount {
		return policy.Mount{Path: filepath.Join(ws, p), Access: policy.ReadWrite, Optional: true, Create: true, Grant: true, Origin: "manifest (m:1:1)"}
	}
	cases := []struct {
		name    string
		mounts  []string
		err     error
		created []string
	}{
		{"new", []string{"dist", "a/b/c"}, nil, []string{"dist", "a/b/c"}},
		{"exists", []string{"have", "file"}, nil, nil},
		{"symlink", []string{"a2/x", "link/dist"}, ErrLinkedGrant, nil},
		{"final symlink", []string{"link"}, ErrLinkedGrant, nil},
		{"file on the way", []string{"a3/x", "file/dist"}, ErrGrantFolder, nil},
	}
	for _, c := range cases {
		plan := &policy.Plan{Workspace: ws}
		for _, m := range c.mounts {
			plan.Mounts = append(plan.Mounts, mount(m))
		}
		notes, err := CheckGrants(plan)
		if c.err != nil && !errors.Is(err, c.err) {
			t.Errorf("%s: CheckGrants: %v, want %v", c.name, err, c.err)
		}
		if c.err == nil && len(notes) != len(c.created) {
			t.Errorf("%s: CheckGrants notes %+v, want %d", c.name, notes, len(c.created))
		}
		if _, err := os.Lstat(filepath.Join(ws, "dist")); err == nil && c.name == "new" {
			t.Errorf("%s: CheckGrants created dist", c.name)
		}
		notes, err = PrepareGrants(plan)
		if !errors.Is(err, c.err) && (c.err != nil || err != nil) {
			t.Errorf("%s: PrepareGrants: %v, want %v", c.name, err, c.err)
		}
		for _, p := range c.created {
			if fi, err := os.Stat(filepath.Join(ws, p)); err != nil || !fi.IsDir() {
				t.Errorf("%s: %s not created: %v", c.name, p, err)
			}
		}
		if len(notes) != len(c.created) {
			t.Errorf("%s: notes %+v, want %d", c.name, notes, len(c.created))
		}
	}
	for _, p := range []string{"a2", "a3"} {
		if _, err := os.Lstat(filepath.Join(ws, p)); !os.IsNotExist(err) {
			t.Errorf("%s was left after a refused call: %v", p, err)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) > 0 {
		t.Errorf("created outside the workspace: %v", entries)
	}
	// A missing grant outside the workspace is reported, not created.
	plan := &policy.Plan{Workspace: ws, Mounts: []policy.Mount{{Path: filepath.Join(outside, "x"), Access: policy.ReadWrite, Optional: true, Grant: true}}}
	notes, err := PrepareGrants(plan)
	if err != nil || len(notes) != 1 || notes[0].Created || notes[0].Skipped == "" {
		t.Errorf("outside: %+v, %v", notes, err)
	}
}

func TestGrantSkipReasons(t *testing.T) {
	ws := t.TempDir()
	plan := &policy.Plan{Workspace: ws, Mounts: []policy.Mount{
		{Path: "/nonexistent/skillrun-test/x", Access: policy.ReadWrite, Optional: true, Grant: true},
		{Path: filepath.Join(ws, "docs"), Access: policy.ReadOnly, Optional: true, Grant: true},
		{Path: filepath.Join(ws, ".claude", "commands"), Access: policy.ReadWrite, Optional: true, Grant: true},
		{Path: filepath.Join(ws, "lib"), Access: policy.ReadOnly, Optional: true}, // a profile's: not reported
	}}
	notes, err := CheckGrants(plan)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"only inside the workspace", "only writable grants are created", "the floor keeps it from being created"}
	if len(notes) != len(want) {
		t.Fatalf("notes %+v", notes)
	}
	for i, n := range notes {
		if n.Created || !strings.Contains(n.Skipped, want[i]) {
			t.Errorf("%s: %q, want %q", n.Path, n.Skipped, want[i])
		}
	}
}
