package policy

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Describe says in plain words what a manifest asks for, one line per kind, for the developer
// who approves it. Paths keep their ${VARIABLES}: that is what the approval covers.
func Describe(m *Manifest) []string {
	var out []string
	c := m.Capabilities
	list := func(s []string) string { return strings.Join(s, ", ") }
	if len(m.Extends) > 0 {
		var parts []string
		for _, e := range m.Extends {
			d := e
			if p, err := LoadProfile(e); err == nil && p.Description != "" {
				d += " (" + p.Description + ")"
			}
			parts = append(parts, d)
		}
		out = append(out, "uses the built-in profiles "+strings.Join(parts, "; "))
	}
	if len(c.Filesystem.Read) > 0 {
		out = append(out, "reads "+list(c.Filesystem.Read))
	}
	if len(c.Filesystem.Write) > 0 {
		out = append(out, "writes "+list(c.Filesystem.Write))
	}
	if len(c.Filesystem.Exec) > 0 {
		out = append(out, "runs programs from "+list(c.Filesystem.Exec))
	}
	if len(c.Network.Allow) > 0 {
		out = append(out, "connects to "+list(c.Network.Allow))
	} else {
		out = append(out, "no network")
	}
	if len(c.Env.Secrets) > 0 {
		out = append(out, "wants the secrets "+list(c.Env.Secrets)+" (passed only if you grant them in your policy)")
	}
	if len(c.Env.Pass) > 0 {
		out = append(out, "gets the variables "+list(c.Env.Pass))
	}
	if len(c.Env.Set) > 0 {
		var kv []string
		for k, v := range c.Env.Set {
			kv = append(kv, k+"="+v)
		}
		sort.Strings(kv)
		out = append(out, "sets "+list(kv))
	}
	if l := describeLimits(c.Limits); l != "" {
		out = append(out, "limits "+l)
	}
	return out
}

func describeLimits(l LimitCaps) string {
	var parts []string
	if l.Timeout != nil && *l.Timeout > 0 {
		parts = append(parts, "time "+time.Duration(*l.Timeout).String())
	}
	if l.Memory != nil {
		parts = append(parts, "memory "+l.Memory.String())
	}
	if l.Processes != nil {
		parts = append(parts, fmt.Sprintf("%d processes", *l.Processes))
	}
	if l.CPU != nil && *l.CPU > 0 {
		parts = append(parts, "cpu "+time.Duration(*l.CPU).String())
	}
	if l.FileSize != nil {
		parts = append(parts, "files up to "+l.FileSize.String())
	}
	if l.OpenFiles != nil {
		parts = append(parts, fmt.Sprintf("%d open files", *l.OpenFiles))
	}
	return strings.Join(parts, ", ")
}
