package sandbox

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/skillrun/skillrun/policy"
)

func TestProtectMountsCoversSymlinks(t *testing.T) {
	ws := t.TempDir()
	os.MkdirAll(filepath.Join(ws, ".git", "hooks"), 0o755)
	os.WriteFile(filepath.Join(ws, ".git", "config"), nil, 0o644)
	os.Symlink("/somewhere/secret", filepath.Join(ws, ".vscode"))
	os.Symlink("/elsewhere", filepath.Join(ws, ".codex"))
	plan := &policy.Plan{
		Mounts:  []policy.Mount{{Path: ws, Access: policy.ReadWrite}},
		Protect: []string{ws + "/.git/config", ws + "/.git/hooks", ws + "/.vscode", ws + "/.codex/config.toml"},
	}
	mounts, covers, _ := protectMounts(plan)
	var dests []string
	for _, m := range mounts {
		dests = append(dests, m.Destination)
		if m.Destination == ws+"/.vscode" || m.Source == ws+"/.vscode" {
			t.Errorf("a symlinked protected path was bound (its target would be followed on the host)")
		}
	}
	// .git is pinned once (read-write, as a mount point), then each protected path read-only.
	if want := []string{ws + "/.git", ws + "/.git/config", ws + "/.git/hooks"}; !reflect.DeepEqual(dests, want) {
		t.Errorf("mounts %q, want %q", dests, want)
	}
	if want := []string{ws + "/.vscode", ws + "/.codex"}; !reflect.DeepEqual(covers, want) {
		t.Errorf("covers %q, want %q", covers, want)
	}
}

// TestProtectMountsTargets: a missing protected path becomes a target for the creation guard and
// gets no mount; a glob line binds each match and becomes a target for new names; nothing is
// created on the host.
func TestProtectMountsTargets(t *testing.T) {
	ws := t.TempDir()
	os.MkdirAll(filepath.Join(ws, ".github"), 0o755)
	os.WriteFile(filepath.Join(ws, ".bashrc"), nil, 0o644)
	os.WriteFile(filepath.Join(ws, "afile"), nil, 0o644)
	os.Symlink("/elsewhere", filepath.Join(ws, "linked"))
	plan := &policy.Plan{
		Mounts: []policy.Mount{{Path: ws, Access: policy.ReadWrite}},
		Protect: []string{ws + "/.envrc", ws + "/.github/copilot-instructions.md", ws + "/.agents/skills",
			ws + "/afile/below", ws + "/linked/x", ws + "/.*rc"},
	}
	before, _ := os.ReadDir(ws)
	mounts, covers, targets := protectMounts(plan)
	var dests []string
	for _, m := range mounts {
		dests = append(dests, m.Destination)
	}
	if want := []string{ws + "/.bashrc"}; !reflect.DeepEqual(dests, want) {
		t.Errorf("mounts %q, want %q", dests, want)
	}
	if want := []string{ws + "/linked"}; !reflect.DeepEqual(covers, want) {
		t.Errorf("covers %q, want %q", covers, want)
	}
	want := []guardTarget{
		{Entry: ws + "/.envrc", Root: ws, Elems: []string{".envrc"}},
		{Entry: ws + "/.github/copilot-instructions.md", Root: ws, Elems: []string{".github", "copilot-instructions.md"}},
		{Entry: ws + "/.agents/skills", Root: ws, Elems: []string{".agents", "skills"}},
		{Entry: ws + "/afile/below", Root: ws, Elems: []string{"afile", "below"}},
		{Entry: ws + "/.*rc", Root: ws, Elems: []string{".*rc"}, Glob: true, Keep: []string{".bashrc"}},
	}
	if !reflect.DeepEqual(targets, want) {
		t.Errorf("targets\n got %+v\nwant %+v", targets, want)
	}
	if after, _ := os.ReadDir(ws); len(after) != len(before) {
		t.Errorf("protectMounts created something on the host: %v", after)
	}
}

// TestRemoveOldPlaceholders: what an earlier version's killed run left on the host goes, unless
// something real is in it or a run of that version still holds the workspace.
func TestRemoveOldPlaceholders(t *testing.T) {
	root, ws := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(root, "workspaces"), 0o700)
	os.MkdirAll(filepath.Join(ws, ".claude"), 0o755)
	os.MkdirAll(filepath.Join(ws, ".vscode"), 0o755)
	os.WriteFile(filepath.Join(ws, ".vscode", "settings.json"), []byte("{}"), 0o644) // real
	os.WriteFile(filepath.Join(ws, ".git"), nil, 0o444)
	list := ws + "/.claude\n" + ws + "/.vscode\n" + ws + "/.git\n"
	os.WriteFile(filepath.Join(root, "workspaces", "abc.placeholders"), []byte(list), 0o600)
	removeOldPlaceholders(root)
	for _, p := range []string{".claude", ".git"} {
		if _, err := os.Lstat(filepath.Join(ws, p)); !os.IsNotExist(err) {
			t.Errorf("the old placeholder %s is still there: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(ws, ".vscode", "settings.json")); err != nil {
		t.Errorf("a real file went: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(root, "workspaces")); !os.IsNotExist(err) {
		t.Errorf("the old state folder is still there: %v", err)
	}
}
