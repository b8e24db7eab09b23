package sandbox

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/skillrun/skillrun/policy"
)

func TestMissingPlaceholders(t *testing.T) {
	ws := t.TempDir()
	os.Mkdir(filepath.Join(ws, ".claude"), 0o755)
	os.WriteFile(filepath.Join(ws, "afile"), nil, 0o644)
	got := missingPlaceholders([]string{
		ws + "/.git/hooks", ws + "/.git/config", // .git missing: created first, once
		ws + "/.claude",     // exists: nothing
		ws + "/.envrc",      // missing
		ws + "/afile/below", // below a file: nothing can be created there
		ws + "/.vscode/a/b", // missing parents, in order
	})
	want := []string{ws + "/.git", ws + "/.git/hooks", ws + "/.git/config", ws + "/.envrc",
		ws + "/.vscode", ws + "/.vscode/a", ws + "/.vscode/a/b"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestPlaceholdersComeAndGo(t *testing.T) {
	state, ws := t.TempDir(), t.TempDir()
	protect := []string{ws + "/.git/hooks", ws + "/.envrc"}
	a, err := holdPlaceholders(state, ws, protect)
	if err != nil {
		t.Fatal(err)
	}
	b, err := holdPlaceholders(state, ws, protect) // a second run in the same workspace
	if err != nil {
		t.Fatal(err)
	}
	a.release()
	if _, err := os.Stat(ws + "/.git/hooks"); err != nil {
		t.Fatalf("the first run out removed placeholders the second still needs: %v", err)
	}
	os.WriteFile(ws+"/.git/kept", []byte("user data"), 0o644) // something real appeared meanwhile
	b.release()
	if _, err := os.Stat(ws + "/.envrc"); !os.IsNotExist(err) {
		t.Errorf("the last run out left .envrc behind: %v", err)
	}
	if _, err := os.Stat(ws + "/.git/kept"); err != nil {
		t.Errorf("a real file was removed: %v", err)
	}
	if _, err := os.Stat(ws + "/.git/hooks"); !os.IsNotExist(err) {
		t.Errorf("the empty placeholder .git/hooks was left behind: %v", err)
	}
}

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
	mounts, covers := protectMounts(plan)
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

func TestExpandMasks(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"ssh_host_rsa_key", "ssh_host_ed25519_key", "ssh_host_rsa_key.pub"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o600)
	}
	got := expandMasks([]string{"/etc/shadow", dir + "/*_key"})
	want := []string{"/etc/shadow", dir + "/ssh_host_ed25519_key", dir + "/ssh_host_rsa_key"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
