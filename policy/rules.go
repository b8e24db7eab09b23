package policy

import (
	"fmt"
	"sort"
)

// The merge works on rules: one expanded path, host or variable each, with the bits it grants and
// the document line it came from. Requested rules (profiles and manifest) are intersected with
// allowed rules (the approval and the developer's grants), then deny and the floor are subtracted.
// Every step can only remove or narrow, which is what the never-widens property test checks.

// pathRule grants access to one path and everything below it.
type pathRule struct {
	path              string
	read, write, exec bool
	origin            string
	builtin           bool // from a built-in profile: may open what an integration needs
	profile           bool // from a built-in profile or skillrun itself, not a grant (kept through intersect, unlike builtin)
	unsafe            bool // from an unsafe: section: lifts the floor
	workspace         bool // the workspace itself: always exists
}

type hostRule struct {
	pattern hostPattern
	origin  string
}

type envRule struct {
	pattern string
	origin  string
}

type setRule struct {
	value   string
	origin  string
	builtin bool
}

// rules is one side of the merge.
type rules struct {
	paths   []pathRule
	hosts   []hostRule
	pass    []envRule
	secrets []envRule
	set     map[string]setRule
}

// docRef says where capabilities come from, for origins and positions.
type docRef struct {
	label   string // "profile agent", "manifest", "policy"
	src     *source
	prefix  []any // keys leading to the capabilities inside the document
	builtin bool
	unsafe  bool
}

func (d docRef) origin(keys ...any) string {
	at := d.src.at(append(append([]any{}, d.prefix...), keys...)...)
	if at == "" {
		return d.label
	}
	return d.label + " (" + at + ")"
}

// add expands c's paths with vars and appends its rules. In a grant, write and exec imply read; in
// a deny section (deny true) each list takes away exactly its own access.
func (rs *rules) add(c *Capabilities, vars Vars, ref docRef, deny bool) error {
	kinds := []struct {
		name string
		list []string
	}{{"read", c.Filesystem.Read}, {"write", c.Filesystem.Write}, {"exec", c.Filesystem.Exec}}
	for _, k := range kinds {
		for i, raw := range k.list {
			p, err := vars.expand(raw)
			if err != nil {
				return fmt.Errorf("%s: %w", ref.origin("filesystem", k.name, i), err)
			}
			if p == "/" {
				return fmt.Errorf("%w: %s: the whole file system (%q) cannot be granted", ErrInvalid, ref.origin("filesystem", k.name, i), raw)
			}
			r := pathRule{path: p, origin: ref.origin("filesystem", k.name, i), builtin: ref.builtin, profile: ref.builtin, unsafe: ref.unsafe,
				workspace: p == vars["WORKSPACE"]}
			switch k.name {
			case "read":
				r.read = true
			case "write":
				r.read, r.write = !deny, true
			case "exec":
				r.read, r.exec = !deny, true
			}
			rs.paths = append(rs.paths, r)
		}
	}
	for i, h := range c.Network.Allow {
		hp, err := parseHostPattern(h)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrInvalid, ref.origin("network", "allow", i), err)
		}
		rs.hosts = append(rs.hosts, hostRule{hp, ref.origin("network", "allow", i)})
	}
	for i, n := range c.Env.Pass {
		rs.pass = append(rs.pass, envRule{n, ref.origin("env", "pass", i)})
	}
	for i, n := range c.Env.Secrets {
		rs.secrets = append(rs.secrets, envRule{n, ref.origin("env", "secrets", i)})
	}
	if len(c.Env.Set) > 0 && rs.set == nil {
		rs.set = map[string]setRule{}
	}
	for k, v := range c.Env.Set {
		rs.set[k] = setRule{v, ref.origin("env", "set", k), ref.builtin}
	}
	return nil
}

// intersect keeps what requested asks for as far as allowed grants it: for each pair of paths
// where one lies within the other, the deeper path with the access both give.
func intersect(requested, allowed *rules) (kept *rules, denied []Decision) {
	kept = &rules{set: map[string]setRule{}}
	for _, r := range requested.paths {
		matched := false
		for _, a := range allowed.paths {
			var p string
			switch {
			case (r.path == SandboxTmp) != (a.path == SandboxTmp):
				// The sandbox's /tmp is a private tmpfs: its rule covers no host path below /tmp.
				continue
			case within(r.path, a.path):
				p = r.path
			case within(a.path, r.path):
				p = a.path
			default:
				continue
			}
			k := r
			k.path = p
			k.read, k.write, k.exec = r.read && a.read, r.write && a.write, r.exec && a.exec
			k.unsafe = r.unsafe || a.unsafe
			k.builtin = r.builtin && a.builtin
			k.workspace = r.workspace && p == r.path
			if k.read || k.write || k.exec {
				kept.paths = append(kept.paths, k)
				matched = true
			}
		}
		if !matched {
			denied = append(denied, Decision{Subject: r.path, Kind: "path", Decision: "denied", Origin: r.origin, Reason: "not approved or granted"})
		}
	}
	for _, r := range requested.hosts {
		matched := false
		for _, a := range allowed.hosts {
			if h, ok := intersectHosts(r.pattern, a.pattern); ok {
				kept.hosts = append(kept.hosts, hostRule{h, r.origin})
				matched = true
			}
		}
		if !matched {
			denied = append(denied, Decision{Subject: r.pattern.String(), Kind: "host", Decision: "denied", Origin: r.origin, Reason: "not approved or granted"})
		}
	}
	for _, r := range requested.pass {
		if coveredEnv(allowed.pass, r.pattern) {
			kept.pass = append(kept.pass, r)
		} else {
			denied = append(denied, Decision{Subject: r.pattern, Kind: "env", Decision: "denied", Origin: r.origin, Reason: "not approved or granted"})
		}
	}
	for _, r := range requested.secrets {
		if coveredEnv(allowed.secrets, r.pattern) {
			kept.secrets = append(kept.secrets, r)
		} else {
			denied = append(denied, Decision{Subject: r.pattern, Kind: "secret", Decision: "denied", Origin: r.origin, Reason: "a secret passes only when the developer grants it (policy skills.NAME.grant.env.secrets)"})
		}
	}
	for k, r := range requested.set {
		if a, ok := allowed.set[k]; ok && a.value == r.value {
			kept.set[k] = r
		} else {
			denied = append(denied, Decision{Subject: k, Kind: "env", Decision: "denied", Origin: r.origin, Reason: "value not approved"})
		}
	}
	return kept, denied
}

// coveredEnv reports whether some pattern in list matches every name pattern p matches: a glob
// matching p's text, with p's '*' taken literally, does (its own '*' absorbs p's).
func coveredEnv(list []envRule, p string) bool {
	for _, a := range list {
		if matchEnv(a.pattern, p) {
			return true
		}
	}
	return false
}

// subtraction is what a deny section takes away below the rules it does not remove whole.
type subtraction struct {
	denied    []Decision
	maskBelow []denyPath // unreadable paths below a kept mount
	protBelow []denyPath // unwritable paths below a kept writable mount
	hostDeny  []string   // deny patterns that overlap kept hosts without covering them
	envDeny   []string   // variable patterns never passed
}

// subtract applies a deny section: paths denied for reading disappear (and are masked below a
// broader mount), for writing become read-only (protected below a rw mount), for exec lose exec
// (a non-executable re-bind below an executable mount); hosts and variables a deny pattern covers
// are dropped, and deny patterns that only overlap are kept for the proxy and the environment.
func (rs *rules) subtract(deny *rules) (s subtraction) {
	var out []pathRule
	for _, r := range rs.paths {
		keep := true
		for _, d := range deny.paths {
			if !within(r.path, d.path) {
				continue
			}
			if d.read {
				keep = false
				s.denied = append(s.denied, Decision{Subject: r.path, Kind: "path", Decision: "denied", Origin: d.origin, Reason: "denied by the policy"})
				break
			}
			if d.write && r.write {
				r.write = false
				s.denied = append(s.denied, Decision{Subject: r.path, Kind: "path", Decision: "read-only", Origin: d.origin, Reason: "writing denied by the policy"})
			}
			if d.exec && r.exec {
				r.exec = false
				s.denied = append(s.denied, Decision{Subject: r.path, Kind: "path", Decision: "not executable", Origin: d.origin, Reason: "exec denied by the policy"})
			}
		}
		if keep {
			out = append(out, r)
		}
	}
	for _, d := range deny.paths {
		r := coveringAccess(out, d.path)
		if r == nil || r.path == d.path {
			continue
		}
		switch {
		case d.read:
			s.maskBelow = append(s.maskBelow, denyPath{d.path, d.origin})
		case d.write && r.write:
			s.protBelow = append(s.protBelow, denyPath{d.path, d.origin})
		case d.exec && r.exec:
			out = append(out, pathRule{path: d.path, read: r.read, write: r.write, origin: d.origin, profile: true})
		}
	}
	rs.paths = out
	var hosts []hostRule
	for _, h := range rs.hosts {
		drop := false
		for _, d := range deny.hosts {
			if d.pattern.denies(h.pattern) {
				drop = true
				s.denied = append(s.denied, Decision{Subject: h.pattern.String(), Kind: "host", Decision: "denied", Origin: d.origin, Reason: "denied by the policy"})
				break
			}
			if d.pattern.deniesSome(h.pattern) {
				s.hostDeny = appendUnique(s.hostDeny, d.pattern.String())
			}
		}
		if !drop {
			hosts = append(hosts, h)
		}
	}
	rs.hosts = hosts
	denyEnv := append(append([]envRule{}, deny.pass...), deny.secrets...)
	filter := func(list []envRule, kind string) []envRule {
		var out []envRule
		for _, e := range list {
			if coveredEnv(denyEnv, e.pattern) {
				s.denied = append(s.denied, Decision{Subject: e.pattern, Kind: kind, Decision: "denied", Origin: denyOrigin(denyEnv, e.pattern), Reason: "denied by the policy"})
				continue
			}
			out = append(out, e)
		}
		return out
	}
	rs.pass, rs.secrets = filter(rs.pass, "env"), filter(rs.secrets, "secret")
	for _, d := range denyEnv {
		s.envDeny = append(s.envDeny, d.pattern)
	}
	return s
}

func denyOrigin(list []envRule, p string) string {
	for _, a := range list {
		if matchEnv(a.pattern, p) {
			return a.origin
		}
	}
	return ""
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// denyPath is a path a deny section removes below a broader grant.
type denyPath struct {
	path, origin string
}

// mountsFrom turns the rules into the plan's ordered mounts. Home is an empty tmpfs first, so
// nothing of the caller's home shows unless a rule binds it; /tmp is always private.
func (p *Plan) mountsFrom(rs *rules) {
	byPath := map[string]*Mount{p.Home: {Path: p.Home, Access: Tmpfs, Origin: "home (empty)"}}
	for _, r := range rs.paths {
		m, ok := byPath[r.path]
		if ok && m.Access == Tmpfs && r.path != SandboxTmp {
			ok = false // the home granted as a path (the workspace is $HOME): bind the real one
		}
		if !ok {
			m = &Mount{Path: r.path, Access: ReadOnly, Origin: r.origin, Optional: !r.workspace}
			if r.path == SandboxTmp {
				m.Access = Tmpfs
			}
			byPath[r.path] = m
		}
		if r.write && m.Access == ReadOnly {
			m.Access = ReadWrite
			m.Origin = r.origin
		}
		m.Exec = m.Exec || r.exec
		m.Grant = m.Grant || !r.profile && m.Access != Tmpfs
	}
	p.Mounts = p.Mounts[:0]
	for _, m := range byPath {
		p.Mounts = append(p.Mounts, *m)
	}
	sortMounts(p.Mounts)
}

func sortMounts(ms []Mount) {
	sort.Slice(ms, func(i, j int) bool {
		a, b := ms[i].Path, ms[j].Path
		if depth(a) != depth(b) {
			return depth(a) < depth(b)
		}
		return a < b
	})
}

// coveringRule returns the innermost rule whose path contains p.
func coveringRule(list []pathRule, p string) *pathRule {
	var best *pathRule
	for i := range list {
		if within(p, list[i].path) && (best == nil || depth(list[i].path) > depth(best.path)) {
			best = &list[i]
		}
	}
	return best
}

// coveringAccess returns the innermost path containing p with the access of every rule at that
// path together: one mount is built from all of them.
func coveringAccess(list []pathRule, p string) *pathRule {
	r := coveringRule(list, p)
	if r == nil {
		return nil
	}
	merged := *r
	for _, x := range list {
		if x.path == r.path {
			merged.read, merged.write, merged.exec = merged.read || x.read, merged.write || x.write, merged.exec || x.exec
		}
	}
	return &merged
}

// lifted reports whether an unsafe rule with the given access covers p.
func lifted(list []pathRule, p string, write bool) (string, bool) {
	for _, r := range list {
		if r.unsafe && within(p, r.path) && (!write || r.write) {
			return r.origin, true
		}
	}
	return "", false
}

func pathsOf(list []string, vars Vars) []string {
	var out []string
	for _, raw := range list {
		if p, err := vars.expand(raw); err == nil {
			out = append(out, p)
		}
	}
	return out
}
