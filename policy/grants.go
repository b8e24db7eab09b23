package policy

// markCreate marks the writable mounts strictly inside the workspace that the sandbox creates
// when missing (Mount.Create). A protected or masked path, or one inside, is never created: the
// floor keeps it as it is, missing included (a protected path that does not exist must stay
// uncreatable). A skill's own folder is read-only and never marked. The skill's cache (below
// cache, "" for none) is made by the CLI before every run: it is no grant to report as missing.
func (p *Plan) markCreate(cache string) {
	if p.Workspace == "" {
		return
	}
	for i := range p.Mounts {
		m := &p.Mounts[i]
		if cache != "" && within(m.Path, cache) {
			m.Grant = false
		}
		if m.Access != ReadWrite || m.Path == p.Workspace || !within(m.Path, p.Workspace) || m.Source != "" || m.Digest != "" {
			continue
		}
		if insideAny(m.Path, p.Protect) || insideAny(m.Path, p.Mask) {
			continue
		}
		m.Create = true
	}
}

// insideAny reports whether p is, or lies below, one of list (whose last element may be a
// glob).
func insideAny(p string, list []string) bool {
	for _, f := range list {
		if withinPattern(p, f) {
			return true
		}
	}
	return false
}
