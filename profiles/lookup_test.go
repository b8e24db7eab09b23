package profiles

import (
	"errors"
	"sort"
	"strings"
	"testing"
)

// These complement profiles_test.go: how Names and Get treat odd names.

func TestNamesAreTheProfiles(t *testing.T) {
	names := Names()
	if !sort.StringsAreSorted(names) {
		t.Errorf("Names() = %v, not sorted", names)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] || n == Floor || n == "" || strings.ContainsAny(n, "/\\.") {
			t.Errorf("Names() lists %q", n)
		}
		seen[n] = true
		if _, err := Get(n); err != nil {
			t.Errorf("Get(%q) of a listed name: %v", n, err)
		}
	}
	for _, want := range []string{"agent", "untrusted"} {
		if !seen[want] {
			t.Errorf("Names() = %v lacks %s", names, want)
		}
	}
	// Names returns a fresh slice: a caller sorting or editing it changes nothing here.
	names[0] = "changed"
	if Names()[0] == "changed" {
		t.Error("Names() shares its slice")
	}
}

func TestGetRefusesPathLikeAndUnknownNames(t *testing.T) {
	for _, name := range []string{"", "../x", "a/b", "/agent", "agent/", `..\agent`, `a\b`, ".", "..", ".agent",
		"agent.yaml", "floor.yaml", "AGENT", "Agent", " agent", "agent ", "agent\x00", "*", "?", "[a]", "nope"} {
		b, err := Get(name)
		if !errors.Is(err, ErrUnknown) || b != nil {
			t.Errorf("Get(%q) = %d bytes, %v; want ErrUnknown", name, len(b), err)
		}
	}
	// An unknown name is answered with the names that exist.
	_, err := Get("nope")
	for _, n := range Names() {
		if err == nil || !strings.Contains(err.Error(), n) {
			t.Errorf("Get(nope) = %v, does not list %s", err, n)
		}
	}
}

func TestGetFloor(t *testing.T) {
	b, err := Get(Floor)
	if err != nil || !strings.Contains(string(b), "never_read:") {
		t.Errorf("Get(%q) = %q, %v", Floor, b, err)
	}
}
