package policy

import (
	"errors"
	"strings"
	"testing"
)

// Manifests come from skills, policies and locks from files a person edits: none of them may
// crash the parser, and whatever a parser accepts must be valid by every rule it enforces.

func FuzzManifest(f *testing.F) {
	f.Add([]byte("version: 1\nname: pdf-tools\nextends: [python]\nfilesystem:\n  read: [\"${WORKSPACE}\"]\n  write: [\"${WORKSPACE}/out\"]\nnetwork:\n  allow: [\"api.example.com:443\", \"*.example.org\", \"[2001:db8::1]:8443\"]\nenv:\n  pass: [LANG]\n  secrets: [EXAMPLE_API_KEY]\n  set: {A: \"${TMPDIR}/x\"}\nlimits: {timeout: 2m, memory: 1GiB, processes: 256, cpu: 60s, file_size: 1GiB, open_files: 64}\n"))
	f.Add([]byte("version: 1\nname: Bad_Name\n"))
	f.Add([]byte("version: 1\nname: x\nnetwork: {allow: [\"*.com\"]}\n"))
	f.Add([]byte("version: 1\nname: x\nlimits: {memory: 0}\n"))
	f.Add([]byte("version: 1\nname: x\nfilesystem:\n  read: !000 "))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest("skillrun.yaml", data)
		if err != nil {
			if m != nil || !errors.Is(err, ErrInvalid) && !strings.Contains(err.Error(), "unknown profile") {
				t.Fatalf("rejected with %v (manifest %v)", err, m)
			}
			return
		}
		if err := checkSkillName(m.Name); err != nil || m.Version != 1 {
			t.Fatalf("accepted name %q version %d", m.Name, m.Version)
		}
		for _, h := range m.Network.Allow {
			if err := checkHostPattern(h); err != nil {
				t.Fatalf("accepted host %q: %v", h, err)
			}
		}
		for _, list := range [][]string{m.Filesystem.Read, m.Filesystem.Write, m.Filesystem.Exec} {
			for _, p := range list {
				if checkPathPattern(p) != nil || checkVariables(p) != nil {
					t.Fatalf("accepted path %q", p)
				}
			}
		}
		for _, s := range m.Env.Secrets {
			if hasGlob(s) || !validEnvPattern(s) {
				t.Fatalf("accepted secret %q", s)
			}
		}
	})
}

func FuzzPolicy(f *testing.F) {
	f.Add([]byte("version: 1\ndefault_profile: agent\nunapproved: refuse\nskill_roots: [\"${HOME}/skills\"]\ndeny: {filesystem: {read: [\"${HOME}/secret\"]}}\nagent: {network: {allow: [\"api.example.com:443\"]}}\nunsafe: {filesystem: {read: [\"${HOME}/.aws\"]}}\nskills:\n  pdf-tools:\n    grant: {env: {secrets: [EXAMPLE_API_KEY]}}\n    deny: {network: {allow: [\"*\"]}}\n    limits: {timeout: 60s}\n"))
	f.Add([]byte("version: 1\nskills:\n  \"a/b\": {}\n"))
	f.Add([]byte("version: 1\ndeny: {limits: {timeout: 1s}}\n"))
	f.Add([]byte("version: 1\nunapproved: maybe\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy("policy.yaml", data)
		if err != nil {
			if p != nil {
				t.Fatalf("a policy returned with the error %v", err)
			}
			return
		}
		if p.Version != 1 || (p.Unapproved != "" && p.Unapproved != UnapprovedRefuse && p.Unapproved != UnapprovedUntrusted) {
			t.Fatalf("accepted version %d unapproved %q", p.Version, p.Unapproved)
		}
		for n, sp := range p.Skills {
			if checkFolderName(n) != nil || sp == nil {
				t.Fatalf("accepted skill entry %q (%v)", n, sp)
			}
		}
		if p.Deny.Limits != (LimitCaps{}) || len(p.Deny.Env.Set) > 0 {
			t.Fatal("accepted limits or env.set in deny")
		}
		// A parsed policy always compiles or fails with a sentinel: never a panic.
		r := request()
		r.Policy = p
		if _, err := Compile(r); err != nil && !errors.Is(err, ErrFloor) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrVariable) && !errors.Is(err, ErrCwd) {
			t.Fatalf("compile: %v", err)
		}
	})
}

func FuzzLock(f *testing.F) {
	f.Add([]byte("version: 1\nskills:\n  - name: pdf\n    path: /h/.claude/skills/pdf\n    digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\n    files: 3\n    manifest: true\n    approved:\n      filesystem:\n        read: [\"${WORKSPACE}\"]\n    approved_at: 2026-01-02T03:04:05Z\n"))
	f.Add([]byte("version: 1\nskills:\n  - name: pdf\n    path: relative\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLock("skills.lock", data)
		if err != nil {
			if l != nil || !errors.Is(err, ErrInvalid) && !strings.Contains(err.Error(), "unknown profile") {
				t.Fatalf("rejected with %v (lock %v)", err, l)
			}
			return
		}
		seen := map[string]bool{}
		for _, s := range l.Skills {
			if !digestPattern().MatchString(s.Digest) || seen[s.Path] || !strings.HasPrefix(s.Path, "/") {
				t.Fatalf("accepted entry %+v", s)
			}
			seen[s.Path] = true
		}
		// What the lock accepts, it writes back and reads again unchanged.
		out, err := l.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseLock("skills.lock", out)
		if err != nil {
			t.Fatalf("re-reading the written lock: %v\n%s", err, out)
		}
		out2, _ := again.Marshal()
		if string(out) != string(out2) {
			t.Fatalf("lock does not round-trip:\n%s\n---\n%s", out, out2)
		}
	})
}
