package policy

import (
	"fmt"
	"strings"

	"github.com/skillrun/skillrun/profiles"
)

// A built-in profile is either a whole view (agent, untrusted, claude-code: it shows the workspace)
// or a toolchain (base, python, node, go, rust, git, github: caches and tools, no workspace). An
// agent command runs with one view plus any toolchains: `--profile go` reads as "the agent's view
// plus Go", which is what a user means by it, and a toolchain alone could not show the command its
// working directory anyway.

// IsView reports whether the built-in profile name shows the workspace, so it can serve as a
// command's whole view. Unknown names are an error.
func IsView(name string) (bool, error) {
	chain, err := profileChain(name)
	if err != nil {
		return false, err
	}
	for _, p := range chain {
		for _, l := range [][]string{p.Filesystem.Read, p.Filesystem.Write, p.Filesystem.Exec} {
			for _, x := range l {
				if x == "${WORKSPACE}" || strings.HasPrefix(x, "${WORKSPACE}/") {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

// toolchainNames lists the built-in profiles that are toolchains, for messages.
func toolchainNames() string {
	var out []string
	for _, n := range profiles.Names() {
		if v, err := IsView(n); err == nil && !v {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

// viewNames lists the built-in profiles that are whole views, for messages.
func viewNames() string {
	var out []string
	for _, n := range profiles.Names() {
		if v, err := IsView(n); err == nil && v {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

// agentProfiles splits what the request and the policy name into the command's one view and the
// toolchains added to it, in order, without repeats. A toolchain named where a view is expected
// (--profile go, default_profile: go) is added to the default view instead.
func agentProfiles(r *Request) (view string, toolchains []string, err error) {
	add := func(n string) {
		for _, t := range toolchains {
			if t == n {
				return
			}
		}
		toolchains = append(toolchains, n)
	}
	cli := append([]string{}, r.Toolchains...)
	if r.Profile != "" {
		cli = append([]string{r.Profile}, cli...)
	}
	for _, n := range cli {
		v, err := IsView(n)
		if err != nil {
			return "", nil, err
		}
		switch {
		case !v:
			add(n)
		case view != "" && view != n:
			return "", nil, fmt.Errorf("%w: profiles %s and %s are both whole views (they show the workspace); name one view (%s) and any toolchains beside it (%s), e.g. --profile %s --profile go",
				ErrRequest, view, n, viewNames(), toolchainNames(), view)
		default:
			view = n
		}
	}
	if pol := r.Policy; pol != nil {
		for _, n := range pol.Agent.Extends {
			add(n) // checked by ParsePolicy: toolchains only
		}
		if view == "" && pol.DefaultProfile != "" {
			v, err := IsView(pol.DefaultProfile)
			if err != nil {
				return "", nil, err
			}
			if v {
				view = pol.DefaultProfile
			} else {
				add(pol.DefaultProfile)
			}
		}
	}
	if view == "" && fromClaudeCode(r.Environ) {
		view = ClaudeCodeProfile // recognised without configuration: the prefix allows no flags
	}
	if view == "" {
		view = DefaultProfile
	}
	return view, toolchains, nil
}

// checkAgentExtends validates the policy's agent.extends: built-in toolchain profiles only.
func checkAgentExtends(p *DevPolicy) error {
	for i, n := range p.Agent.Extends {
		v, err := IsView(n)
		if err != nil {
			return fmt.Errorf("%w: %s: agent.extends: %v", ErrInvalid, p.src.at("agent", "extends", i), err)
		}
		if v {
			return fmt.Errorf("%w: %s: agent.extends: %s is a whole view, not a toolchain: make it default_profile, or extend toolchains (%s)",
				ErrInvalid, p.src.at("agent", "extends", i), n, toolchainNames())
		}
	}
	return nil
}
