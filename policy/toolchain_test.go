package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestToolchainProfiles: a toolchain profile named for an agent command is added to a view (the
// default agent view, or the one named beside it), from the command line or the policy's
// agent.extends; two views, a view in agent.extends, or toolchains for a skill's command are
// refused with what to do instead.
func TestToolchainProfiles(t *testing.T) {
	cases := []struct {
		name       string
		profile    string
		toolchains []string
		policy     string
		view       string
		want       []string
		errIs      error
		errHas     string
	}{
		{name: "toolchain alone", profile: "go", view: "agent", want: []string{"go"}},
		{name: "several", profile: "go", toolchains: []string{"node", "go", "rust"}, view: "agent", want: []string{"go", "node", "rust"}},
		{name: "view and toolchain", profile: "untrusted", toolchains: []string{"python"}, view: "untrusted", want: []string{"python"}},
		{name: "toolchain first, then the view", profile: "git", toolchains: []string{"untrusted"}, view: "untrusted", want: []string{"git"}},
		{name: "view only", profile: "agent", view: "agent"},
		{name: "policy extends", profile: "go", policy: "version: 1\nagent:\n  extends: [node]\n", view: "agent", want: []string{"go", "node"}},
		{name: "policy extends without flags", policy: "version: 1\nagent:\n  extends: [go, github]\n", view: "agent", want: []string{"go", "github"}},
		{name: "default profile a toolchain", policy: "version: 1\ndefault_profile: rust\n", view: "agent", want: []string{"rust"}},
		{name: "default profile a view", policy: "version: 1\ndefault_profile: untrusted\nagent: {extends: [go]}\n", view: "untrusted", want: []string{"go"}},
		{name: "two views", profile: "agent", toolchains: []string{"untrusted"}, errIs: ErrRequest,
			errHas: "profiles agent and untrusted are both whole views (they show the workspace); name one view (agent, claude-code, learn, untrusted) and any toolchains beside it (base, git, github, go, node, python, rust)"},
		{name: "unknown", profile: "go", toolchains: []string{"cobol"}, errHas: `unknown profile "cobol"`},
	}
	for _, c := range cases {
		r := request()
		r.Profile, r.Toolchains = c.profile, c.toolchains
		if c.policy != "" {
			pol, err := ParsePolicy("policy.yaml", []byte(c.policy))
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			r.Policy, r.PolicyFile = pol, "/home/dev/policy.yaml"
		}
		p, err := Compile(r)
		if c.errHas != "" || c.errIs != nil {
			if err == nil || (c.errIs != nil && !errors.Is(err, c.errIs)) || !strings.Contains(err.Error(), c.errHas) {
				t.Errorf("%s: err %v, want %v containing %q", c.name, err, c.errIs, c.errHas)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if p.Profile != c.view || !reflect.DeepEqual(p.Toolchains, c.want) {
			t.Errorf("%s: view %s toolchains %v, want %s %v", c.name, p.Profile, p.Toolchains, c.view, c.want)
		}
	}
}

// TestToolchainAddsItsCapabilities: --profile go keeps the agent's view (the workspace, so the
// working directory is visible) and adds Go's: its module cache read-only, GOCACHE private.
func TestToolchainAddsItsCapabilities(t *testing.T) {
	r := request()
	r.Profile = "go"
	p := compile(t, r)
	if m := findMount(p, "/home/dev/proj"); m == nil || m.Access != ReadWrite {
		t.Errorf("the workspace is not writable: %+v", m)
	}
	if m := findMount(p, "/home/dev/go/pkg/mod"); m == nil || m.Access != ReadOnly {
		t.Errorf("the module cache is not read-only: %+v", m)
	}
	if !contains(p.Env, "GOCACHE=/tmp/go-build") {
		t.Errorf("GOCACHE not private: %v", p.Env)
	}
	if p.Limits.Processes != 4096 {
		t.Errorf("the agent's limits are gone: %+v", p.Limits)
	}
}

func TestAgentExtendsRefused(t *testing.T) {
	for doc, want := range map[string]string{
		"version: 1\nagent:\n  extends: [untrusted]\n": "policy.yaml:3:13: agent.extends: untrusted is a whole view, not a toolchain: make it default_profile, or extend toolchains (base, git, github, go, node, python, rust)",
		"version: 1\nagent:\n  extends: [nope]\n":      `policy.yaml:3:13: agent.extends: unknown profile "nope"`,
	} {
		_, err := ParsePolicy("policy.yaml", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", doc, err, want)
		}
	}
}

func TestToolchainsNotForSkills(t *testing.T) {
	r := skRequestFor(t, skSpec{})
	r.Toolchains = []string{"go"}
	if _, err := Compile(r); !errors.Is(err, ErrRequest) || !strings.Contains(err.Error(), "--profile applies to agent commands") {
		t.Errorf("a skill's command with toolchains: %v", err)
	}
}
