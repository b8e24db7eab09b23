package policy

import (
	"strings"
	"testing"
)

func FuzzParseProfile(f *testing.F) {
	f.Add([]byte("version: 1\nname: x\nfilesystem:\n  read: [/a]\n"))
	f.Add([]byte("version: 1\nname: x\nenv: {set: {A: b}}\nlimits: {timeout: 2m}\n"))
	f.Add([]byte("{{{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfile("f.yaml", data)
		if err != nil {
			if p != nil {
				t.Fatal("a profile returned with an error")
			}
			return
		}
		if p.Version != 1 || p.Name == "" {
			t.Fatalf("accepted an invalid profile: %+v", p)
		}
		for _, list := range [][]string{p.Filesystem.Read, p.Filesystem.Write, p.Filesystem.Exec} {
			for _, pth := range list {
				if strings.Contains(pth, "/../") || strings.HasSuffix(pth, "/..") {
					t.Fatalf("accepted a path with ..: %q", pth)
				}
			}
		}
	})
}

// FuzzCompileNeverWidens: whatever the caller's environment, cwd and profile, a plan never grants
// more than the profile and the floor allow: writable mounts are the workspace (or below it), the
// only tmpfs are the home and /tmp, no floor variable passes, every floor path a bind would show is
// masked or protected.
func FuzzCompileNeverWidens(f *testing.F) {
	f.Add("GITHUB_TOKEN=x\nLANG=C\nLC_ALL=C\nLD_PRELOAD=/x\nMY_API_KEY=k", "agent", "proj", "src")
	f.Add("AWS_SECRET_ACCESS_KEY=1\nTERM=xterm\nOPENAI_BASE_URL=u", "untrusted", "", "")
	f.Add("PATH=/x\nHOME=/evil\nUSER=evil", "agent", ".", "..")
	floor, err := LoadFloor()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, environ, profile, wsSuffix, cwdSuffix string) {
		r := request()
		r.Environ = strings.Split(environ, "\n")
		r.Profile = profile
		r.Workspace = "/home/dev/" + wsSuffix
		r.Cwd = r.Workspace + "/" + cwdSuffix
		p, err := Compile(r)
		if err != nil {
			if p != nil {
				t.Fatal("a plan returned with an error")
			}
			return
		}
		for _, m := range p.Mounts {
			switch m.Access {
			case ReadWrite:
				if !within(m.Path, p.Workspace) {
					t.Fatalf("writable mount %s outside the workspace %s", m.Path, p.Workspace)
				}
			case Tmpfs:
				if m.Path != p.Home && m.Path != SandboxTmp {
					t.Fatalf("unexpected tmpfs %s", m.Path)
				}
			}
		}
		for _, kv := range p.Env {
			k, _, _ := strings.Cut(kv, "=")
			if matchAny(baseEnv, k) {
				continue
			}
			if matchAny(floor.NeverEnv, k) || matchAny(floor.StripEnv, k) {
				t.Fatalf("floor variable %s passed", k)
			}
		}
		vars := Vars{"WORKSPACE": p.Workspace, "HOME": p.Home, "TMPDIR": SandboxTmp, "CONFIG": r.ConfigDir, "STATE": r.StateDir}
		for _, raw := range floor.NeverWrite {
			pth, err := vars.expand(raw)
			if err != nil {
				continue
			}
			if m := p.cover(pth); m != nil && m.Access == ReadWrite && !contains(p.Protect, pth) {
				t.Fatalf("%s is writable and not protected", pth)
			}
		}
		for _, raw := range floor.NeverRead {
			pth, err := vars.expand(raw)
			if err != nil || hasGlob(pth) {
				continue
			}
			if m := p.cover(pth); m != nil && m.Access != Tmpfs && !contains(p.Mask, pth) {
				t.Fatalf("%s is visible and not masked", pth)
			}
		}
	})
}

func FuzzMatchEnv(f *testing.F) {
	f.Add("*_TOKEN", "GITHUB_TOKEN")
	f.Add("A*B*A", "ABA")
	f.Add("AWS_*", "AWS")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		got := matchEnv(pattern, name)
		switch {
		case !strings.Contains(pattern, "*"):
			if got != (pattern == name) {
				t.Fatalf("literal %q vs %q: %v", pattern, name, got)
			}
		case pattern == "*":
			if !got {
				t.Fatalf("* did not match %q", name)
			}
		case strings.Count(pattern, "*") == 1:
			pre, suf, _ := strings.Cut(pattern, "*")
			want := len(name) >= len(pre)+len(suf) && strings.HasPrefix(name, pre) && strings.HasSuffix(name, suf)
			if got != want {
				t.Fatalf("%q vs %q: %v, want %v", pattern, name, got, want)
			}
		}
	})
}
