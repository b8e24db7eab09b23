//go:build !profilegen

package policy

import "testing"

// (Built with -tags profilegen, the built-in documents are parsed at run time: see builtin.go.)

// TestNoYAMLWithoutDocuments: a command with no policy, manifest or lock parses no YAML at all.
// The counter is live: parsing a policy moves it.
func TestNoYAMLWithoutDocuments(t *testing.T) {
	requests := builtinRequests(t) // parses the test's manifests and locks, before counting
	start := ParsedDocuments()
	for name, r := range requests {
		if r.Skill != nil && r.Skill.Manifest != nil {
			continue
		}
		if _, err := Compile(r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := AnyDepthNames(); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFloor(); err != nil {
		t.Fatal(err)
	}
	if n := ParsedDocuments() - start; n != 0 {
		t.Errorf("%d YAML documents parsed by plans that need none", n)
	}
	if _, err := ParsePolicy("policy.yaml", []byte("version: 1\n")); err != nil {
		t.Fatal(err)
	}
	if n := ParsedDocuments() - start; n != 1 {
		t.Errorf("parsing a policy counted %d documents, want 1", n)
	}
}
