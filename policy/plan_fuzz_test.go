package policy

import (
	"errors"
	"path"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/skillrun/skillrun/profiles"
)

// These fuzz targets complement fuzz_test.go (FuzzParseProfile, FuzzCompileNeverWidens,
// FuzzMatchEnv). Their names share no prefix with those, so `go test -fuzz FuzzCompile` still
// names exactly one target. Each seed corpus runs as an ordinary test.

// FuzzPlanNeverWidens fuzzes the caller's environment (KEY=VALUE lines), the profile (agent or
// untrusted, so no fuzzing time is spent on unknown names), the workspace below the home, the cwd
// below the workspace, the user (root or not) and the --timeout flag, and checks that a plan never
// grants more than the profile plus the floor allow.
func FuzzPlanNeverWidens(f *testing.F) {
	f.Add("GITHUB_TOKEN=x\nLANG=C\nLC_ALL=C\nLD_PRELOAD=/x\nMY_API_KEY=k\nFOO_TOKEN=t", false, "proj", "src", false, uint32(0))
	f.Add("AWS_SECRET_ACCESS_KEY=1\nTERM=xterm\nOPENAI_BASE_URL=u\nTZ=UTC", true, "", "", true, uint32(60))
	f.Add("PATH=/x\nHOME=/evil\nUSER=evil\nTMPDIR=/t\nLOGNAME=e", false, ".", "..", false, uint32(3600))
	f.Add("LC_X_TOKEN=a\nLC_Y_BASE_URL=b\nLC_GIT_SSH_COMMAND=c\nGIT_CONFIG_GLOBAL=d", false, ".config", "", false, uint32(1))
	f.Add("=x\nnoequals\nLANG=a=b\nLANG=again\nSSH_AUTH_SOCK=/s\nBASH_ENV=/e", true, "a/b/../c", "d", false, uint32(601))
	f.Add("TERM=dumb", false, "../../tmp/x", "", false, uint32(0))
	f.Add("TERM=dumb", false, "../../srv/p", "q", true, uint32(0))
	f.Add("TERM=dumb", true, ".config/skillrun/x", "", false, uint32(0))
	f.Add("TERM=dumb", false, "../..", "", false, uint32(0))
	floor, err := LoadFloor()
	if err != nil {
		f.Fatal(err)
	}
	loaded := map[string]*Profile{}
	for _, name := range []string{"agent", "untrusted"} {
		if loaded[name], err = flatProfile(name); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, environ string, untrusted bool, wsSuffix, cwdSuffix string, root bool, timeoutSec uint32) {
		r := Request{
			Command:   Command{Argv: []string{"true"}},
			Home:      "/home/u",
			User:      User{Name: "u", UID: 1000, GID: 1000},
			Environ:   strings.Split(environ, "\n"),
			Profile:   "agent",
			Timeout:   time.Duration(timeoutSec) * time.Second,
			ConfigDir: "/home/u/.config",
			StateDir:  "/home/u/.local/state",
		}
		if untrusted {
			r.Profile = "untrusted"
		}
		if root {
			r.User = User{Name: "root"}
		}
		r.Workspace = "/home/u/" + wsSuffix
		r.Cwd = r.Workspace + "/" + cwdSuffix
		p, err := Compile(r)
		if err != nil {
			if p != nil {
				t.Fatalf("a plan returned with the error %v", err)
			}
			for _, known := range []error{ErrWorkspace, ErrCwd, ErrRequest, ErrInvalid, ErrVariable, profiles.ErrUnknown} {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("error %v wraps no sentinel", err)
		}
		prof := loaded[r.Profile]
		if p.Profile != r.Profile || p.Version != PlanVersion {
			t.Fatalf("plan for profile %s/%d", p.Profile, p.Version)
		}
		if len(p.Network.Allow) != 0 {
			t.Fatalf("network granted: %v", p.Network.Allow)
		}
		vars := Vars{"WORKSPACE": p.Workspace, "HOME": p.Home, "TMPDIR": SandboxTmp, "CONFIG": r.ConfigDir, "STATE": r.StateDir}
		execs := map[string]bool{}
		for _, raw := range prof.Filesystem.Exec {
			if pth, err := vars.expand(raw); err == nil {
				execs[pth] = true
			}
		}

		// Mounts: clean, unique, parents first; writable only in the workspace; tmpfs only for the
		// home and /tmp; executable only where the profile says so.
		seen := map[string]bool{}
		for i, m := range p.Mounts {
			if m.Path != path.Clean(m.Path) || !path.IsAbs(m.Path) || m.Path == "/" || seen[m.Path] {
				t.Fatalf("bad or repeated mount path %q", m.Path)
			}
			seen[m.Path] = true
			for _, later := range p.Mounts[i+1:] {
				if within(m.Path, later.Path) {
					t.Fatalf("%s comes before its parent %s", m.Path, later.Path)
				}
			}
			switch m.Access {
			case ReadWrite:
				if !within(m.Path, p.Workspace) {
					t.Fatalf("writable mount %s outside the workspace %s", m.Path, p.Workspace)
				}
				if untrusted {
					t.Fatalf("untrusted gets a writable mount %s", m.Path)
				}
			case Tmpfs:
				if m.Path != p.Home && m.Path != SandboxTmp {
					t.Fatalf("unexpected tmpfs %s", m.Path)
				}
			case ReadOnly:
			default:
				t.Fatalf("mount %s with access %q", m.Path, m.Access)
			}
			if m.Exec && !execs[m.Path] {
				t.Fatalf("%s is executable but the profile does not say so", m.Path)
			}
		}
		if h, ok := mountAt(p, p.Home); !ok || (p.Workspace != p.Home && h.Access != Tmpfs) {
			t.Fatalf("home %+v (workspace %s), want an empty tmpfs", h, p.Workspace)
		}
		if !p.visible(p.Cwd) {
			t.Fatalf("cwd %s not visible", p.Cwd)
		}

		// The floor: every never-writable path a writable mount shows is protected, every
		// never-readable path a bind shows is masked (a glob by what shows its directory).
		for _, raw := range floor.NeverWrite {
			pth, err := vars.expand(raw)
			if err != nil {
				continue
			}
			if m := p.cover(pth); m != nil && m.Access == ReadWrite && !inList(p.Protect, pth) {
				t.Fatalf("%s is writable and not protected", pth)
			}
		}
		for _, raw := range floor.NeverRead {
			pth, err := vars.expand(raw)
			if err != nil {
				continue
			}
			probe := pth
			if hasGlob(path.Base(pth)) {
				probe = path.Dir(pth)
			}
			if m := p.cover(probe); m != nil && m.Access != Tmpfs && !inList(p.Mask, pth) {
				t.Fatalf("%s is visible and not masked", pth)
			}
		}
		for _, pr := range p.Protect {
			if m := p.cover(pr); m == nil || m.Access != ReadWrite {
				t.Fatalf("protected %s is in no writable mount", pr)
			}
		}
		if !sort.StringsAreSorted(p.Mask) || !sort.StringsAreSorted(p.Protect) {
			t.Fatal("mask or protect not sorted")
		}

		// The environment: only identity, passed and set variables; nothing the floor names;
		// every caller variable either passed or named as dropped.
		caller := map[string]bool{}
		for _, kv := range r.Environ {
			if k, _, ok := strings.Cut(kv, "="); ok && k != "" {
				caller[k] = true
			}
		}
		env := map[string]string{}
		for _, kv := range p.Env {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("env entry %q", kv)
			}
			if _, dup := env[k]; dup {
				t.Fatalf("%s set twice", k)
			}
			env[k] = v
			if matchAny(floor.NeverEnv, k) || matchAny(floor.StripEnv, k) {
				t.Fatalf("floor variable %s passed", k)
			}
			if !matchAny(baseEnv, k) && !matchAny(prof.Env.Pass, k) {
				if _, set := prof.Env.Set[k]; !set {
					t.Fatalf("%s passed although the profile does not pass it", k)
				}
			}
		}
		if env["HOME"] != p.Home || env["TMPDIR"] != SandboxTmp || env["USER"] != r.User.Name || env["LOGNAME"] != r.User.Name || env["PATH"] == "" {
			t.Fatalf("identity %v", env)
		}
		if !sort.StringsAreSorted(p.Env) || !sort.StringsAreSorted(p.EnvDropped) {
			t.Fatal("env or env_dropped not sorted")
		}
		for i, d := range p.EnvDropped {
			if !caller[d] || strings.Contains(d, "=") {
				t.Fatalf("env_dropped %q is not a caller variable's name", d)
			}
			if _, passed := env[d]; passed {
				t.Fatalf("%s both passed and dropped", d)
			}
			if i > 0 && p.EnvDropped[i-1] == d {
				t.Fatalf("%s dropped twice", d)
			}
		}
		for k := range caller {
			if _, passed := env[k]; !passed && !matchAny(baseEnv, k) && !inList(p.EnvDropped, k) {
				t.Fatalf("caller variable %s neither passed nor listed as dropped", k)
			}
		}

		// Identity, limits, determinism.
		if inList(p.Namespaces, "user") != (r.User.UID != 0) {
			t.Fatalf("uid %d with namespaces %v", r.User.UID, p.Namespaces)
		}
		got := time.Duration(p.Limits.Timeout)
		if got < 0 || (r.Timeout > 0 && got > r.Timeout) || (got == 0) != (r.Timeout == 0 && (prof.Limits.Timeout == nil || *prof.Limits.Timeout == 0)) {
			t.Fatalf("timeout %v from --timeout %v and profile %v", got, r.Timeout, prof.Limits.Timeout)
		}
		if pt := prof.Limits.Timeout; pt != nil && *pt > 0 && got > time.Duration(*pt) {
			t.Fatalf("timeout %v exceeds the profile's %v", got, time.Duration(*pt))
		}
		again, err := Compile(r)
		if err != nil || !reflect.DeepEqual(again, p) || again.Digest() != p.Digest() {
			t.Fatalf("the same request gave another plan (%v)", err)
		}
	})
}

// matchWildcard is a reference matcher for env patterns: '*' matches any run of bytes, every other
// byte matches itself. Dynamic programming over bytes, independent of matchEnv's greedy scan.
func matchWildcard(pattern, name string) bool {
	// ok[j] reports whether pattern[:i] matches name[:j] for the current i.
	ok := make([]bool, len(name)+1)
	ok[0] = true
	for i := 0; i < len(pattern); i++ {
		next := make([]bool, len(name)+1)
		if pattern[i] == '*' {
			reach := false
			for j := 0; j <= len(name); j++ {
				reach = reach || ok[j]
				next[j] = reach
			}
		} else {
			for j := 1; j <= len(name); j++ {
				next[j] = ok[j-1] && name[j-1] == pattern[i]
			}
		}
		ok = next
	}
	return ok[len(name)]
}

// FuzzEnvPattern checks matchEnv against the reference matcher for patterns with any number of
// '*', plus the prefix/suffix/literal properties in their simplest form.
func FuzzEnvPattern(f *testing.F) {
	for _, s := range [][2]string{{"*_TOKEN", "GITHUB_TOKEN"}, {"A*B*A", "ABA"}, {"A*A", "A"}, {"*AB*BA", "ABA"},
		{"*_SECRET_*", "MY_SECRET_X"}, {"**", ""}, {"a*b*c*d", "abcabcd"}, {"GIT_CONFIG_*", "GIT_CONFIG"}, {"*", "\xff"},
		{"LC_*", "LC_"}, {"\xff*", "\xfe"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		got := matchEnv(pattern, name)
		if want := matchWildcard(pattern, name); got != want {
			t.Fatalf("matchEnv(%q, %q) = %v, want %v", pattern, name, got, want)
		}
		if !strings.Contains(pattern, "*") && got != (pattern == name) {
			t.Fatalf("literal %q vs %q: %v", pattern, name, got)
		}
		if !matchEnv("*", name) || !matchEnv(name+"*", name) || !matchEnv("*"+name, name) {
			t.Fatalf("%q: '*', %q* or *%q does not match it", name, name, name)
		}
		if !strings.Contains(pattern, "*") {
			if matchEnv(pattern+"*", name) != strings.HasPrefix(name, pattern) {
				t.Fatalf("%q* vs %q disagrees with HasPrefix", pattern, name)
			}
			if matchEnv("*"+pattern, name) != strings.HasSuffix(name, pattern) {
				t.Fatalf("*%q vs %q disagrees with HasSuffix", pattern, name)
			}
		}
	})
}

// FuzzProfileDocument: every rejected document is an ErrInvalid, and every accepted one holds only
// what the validator allows, parses the same way twice and has no negative timeout.
func FuzzProfileDocument(f *testing.F) {
	for _, name := range profiles.Names() {
		b, err := profiles.Get(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("version: 1\nname: x\nlimits: {timeout: -1s}\n"))
	f.Add([]byte("version: 1\nname: x\nenv: {set: {\"A*\": b}}\n"))
	f.Add([]byte("version: 1\nname: x\nfilesystem: {write: [\"${WORKSPACE}/../x\"]}\n"))
	f.Add([]byte("version: 1\nname: x\nnever_read: [/x]\n"))
	f.Add([]byte("version: 1\nname: x\nfilesystem:\n  read: !000 "))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfile("f.yaml", data)
		if err != nil {
			if p != nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("rejected with %v (profile %v), want an ErrInvalid and no profile", err, p)
			}
			return
		}
		if p.Version != 1 || p.Name == "" {
			t.Fatalf("accepted version %d name %q", p.Version, p.Name)
		}
		for _, list := range [][]string{p.Filesystem.Read, p.Filesystem.Write, p.Filesystem.Exec} {
			for _, pth := range list {
				if err := checkPathPattern(pth); err != nil {
					t.Fatalf("accepted path %q: %v", pth, err)
				}
			}
		}
		for _, n := range append(append([]string{}, p.Env.Pass...), p.Env.Secrets...) {
			if !validEnvPattern(n) {
				t.Fatalf("accepted env pattern %q", n)
			}
		}
		for k := range p.Env.Set {
			if !validEnvPattern(k) || hasGlob(k) {
				t.Fatalf("accepted env.set key %q", k)
			}
		}
		if p.Limits.Timeout != nil && *p.Limits.Timeout < 0 {
			t.Fatalf("accepted a negative timeout %v", time.Duration(*p.Limits.Timeout))
		}
		again, err := ParseProfile("f.yaml", data)
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Fatalf("parsing again gave %+v, %v", again, err)
		}
	})
}
