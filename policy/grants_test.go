package policy

import (
	"strings"
	"testing"
)

// TestCreateMissingGrants: a writable grant strictly inside the workspace is marked for creation
// (Mount.Create); the workspace itself, grants outside it, read-only grants and whatever the floor
// protects or masks are not. Grants asked for by a document are marked Grant, a profile's are not.
func TestCreateMissingGrants(t *testing.T) {
	pol, err := ParsePolicy("policy.yaml", []byte(`version: 1
agent:
  filesystem:
    write: ["${WORKSPACE}/dist", "${WORKSPACE}/build/out", "${HOME}/exports"]
    read: ["${WORKSPACE}/docs"]
`))
	if err != nil {
		t.Fatal(err)
	}
	r := request()
	r.Policy, r.PolicyFile = pol, "/home/dev/policy.yaml"
	p := compile(t, r)
	type want struct{ create, grant bool }
	cases := map[string]want{
		"/home/dev/proj/dist":      {true, true},
		"/home/dev/proj/build/out": {true, true},
		"/home/dev/exports":        {false, true}, // outside the workspace: skipped when missing
		"/home/dev/proj":           {false, false},
		"/home/dev/proj/docs":      {false, true}, // read-only: nothing to create
		"/lib32":                   {false, false},
	}
	for path, w := range cases {
		m := findMount(p, path)
		if m == nil {
			t.Errorf("%s: no mount", path)
			continue
		}
		if m.Create != w.create || m.Grant != w.grant {
			t.Errorf("%s: create %v grant %v, want create %v grant %v", path, m.Create, m.Grant, w.create, w.grant)
		}
	}
	for _, m := range p.Mounts {
		if m.Create && (strings.Contains(m.Path, "/.git") || m.Access != ReadWrite) {
			t.Errorf("%s (%s) is marked for creation", m.Path, m.Access)
		}
	}
}

func findMount(p *Plan, path string) *Mount {
	for i := range p.Mounts {
		if p.Mounts[i].Path == path {
			return &p.Mounts[i]
		}
	}
	return nil
}

// TestCreateMissingGrantsSkill: in a skill's plan, its output folder in the workspace is created,
// its cache (made by the CLI before every run) is no grant to report, and the workspace it reads
// is neither.
func TestCreateMissingGrantsSkill(t *testing.T) {
	caps := "filesystem:\n  read: [\"${WORKSPACE}\"]\n  write: [\"${WORKSPACE}/out\", \"${CACHE}\"]\n"
	p := compile(t, skRequestFor(t, skSpec{manifest: skManifestDoc("python", caps), lock: skLockDoc("python", caps)}))
	for path, w := range map[string]struct{ create, grant bool }{
		"/home/u/proj/out":                  {true, true},
		"/home/u/.cache/skillrun/" + skName: {false, false},
		"/home/u/proj":                      {false, true},
	} {
		m := findMount(p, path)
		if m == nil {
			t.Errorf("%s: no mount", path)
			continue
		}
		if m.Create != w.create || m.Grant != w.grant {
			t.Errorf("%s: create %v grant %v, want create %v grant %v", path, m.Create, m.Grant, w.create, w.grant)
		}
	}
}
