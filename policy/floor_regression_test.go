package policy

import (
	"errors"
	"testing"
	"time"

	"github.com/skillrun/skillrun/profiles"
)

// Regression tests for floor holes found by testing: each failed before its fix.

// A workspace inside a path the floor never shows or never lets be written (the default workspace
// is the cwd outside a git repository, so `cd ~/.config/systemd/user && skillrun -- …` gets here)
// must be refused, or be masked/protected itself.
func TestFloorRegressionWorkspaceInsideFloorPath(t *testing.T) {
	floor, err := LoadFloor()
	if err != nil {
		t.Fatal(err)
	}
	for _, ws := range []string{"/home/u/.ssh/config.d", "/home/u/.aws/sso", "/home/u/.gnupg/private-keys-v1.d",
		"/home/u/.config/gcloud/legacy_credentials", "/home/u/.mozilla/firefox", "/home/u/.config/systemd/user",
		"/home/u/.config/autostart/x", "/home/u/.config/fish/conf.d"} {
		r := fixture()
		r.Workspace, r.Cwd = ws, ws
		p, err := Compile(r)
		if errors.Is(err, ErrWorkspace) {
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", ws, err)
			continue
		}
		vars := Vars{"WORKSPACE": ws, "HOME": r.Home, "TMPDIR": SandboxTmp, "CONFIG": r.ConfigDir, "STATE": r.StateDir}
		for _, m := range p.Mounts {
			if m.Access == Tmpfs {
				continue
			}
			for _, raw := range floor.NeverRead {
				if fp, err := vars.expand(raw); err == nil && within(m.Path, fp) && !coveredBy(p.Mask, m.Path) {
					t.Errorf("workspace %s: mount %s lies in never-readable %s and is not masked", ws, m.Path, fp)
				}
			}
			if m.Access != ReadWrite {
				continue
			}
			for _, raw := range floor.NeverWrite {
				if fp, err := vars.expand(raw); err == nil && within(m.Path, fp) && !coveredBy(p.Protect, m.Path) {
					t.Errorf("workspace %s: writable mount %s lies in never-writable %s and is not protected", ws, m.Path, fp)
				}
			}
		}
	}
}

func coveredBy(list []string, pth string) bool {
	for _, x := range list {
		if within(pth, x) {
			return true
		}
	}
	return false
}

// Design section 4: skillrun's own files are never writable. The floor lists ${CONFIG}/skillrun and
// ${STATE}/skillrun only under never_read; a mask of a path that does not exist is skipped by the
// sandbox (libcontainer ignores missing MaskPaths), so with the home (or ~/.config) as the
// workspace a command can create ~/.config/skillrun/policy.yaml or skills.lock.
func TestFloorRegressionSkillrunFilesWritable(t *testing.T) {
	for _, ws := range []string{"/home/u", "/home/u/.config", "/home/u/.local"} {
		r := fixture()
		r.Workspace, r.Cwd = ws, ws
		p := mustCompile(t, r)
		for _, own := range []string{"/home/u/.config/skillrun", "/home/u/.local/state/skillrun"} {
			if c := p.cover(own); c != nil && c.Access == ReadWrite && !inList(p.Protect, own) {
				t.Errorf("workspace %s: %s is writable (mask only)", ws, own)
			}
		}
	}
}

// A negative --timeout is not a timeout: Compile takes it as the "stricter" value, so it replaces
// the untrusted profile's 10m, and the sandbox treats a non-positive timeout as none. The CLI
// refuses negative flags today, but Compile is the contract other callers use.
func TestFloorRegressionNegativeTimeoutDropsTheProfileLimit(t *testing.T) {
	r := fixture()
	r.Profile, r.Timeout = "untrusted", -time.Second
	p, err := Compile(r)
	if err == nil && time.Duration(p.Limits.Timeout) != 10*time.Minute {
		t.Errorf("untrusted with Timeout -1s: limit %v, want an ErrRequest or the profile's 10m", time.Duration(p.Limits.Timeout))
	}
	if err != nil && !errors.Is(err, ErrRequest) {
		t.Errorf("untrusted with Timeout -1s: %v, want ErrRequest", err)
	}
}

// "floor" is not a profile (Names does not list it), so --profile floor is an unknown profile, not a
// malformed one ("floor.yaml:6:1: unknown field never_read", without the CLI's profile hint).
func TestFloorRegressionFloorAsProfile(t *testing.T) {
	r := fixture()
	r.Profile = profiles.Floor
	if _, err := Compile(r); !errors.Is(err, profiles.ErrUnknown) {
		t.Errorf("profile floor: %v, want ErrUnknown", err)
	}
}

// Compile never checks ConfigDir and StateDir: empty or relative, they silently drop both the
// refusal of skillrun's own folders as a workspace and the floor's mask of them.
func TestFloorRegressionUncheckedConfigDirs(t *testing.T) {
	for _, dir := range []string{"", ".config"} {
		r := fixture()
		r.Workspace, r.Cwd, r.ConfigDir, r.StateDir = "/home/u", "/home/u", dir, dir
		if _, err := Compile(r); !errors.Is(err, ErrRequest) {
			t.Errorf("ConfigDir and StateDir %q: %v, want ErrRequest", dir, err)
		}
	}
}
