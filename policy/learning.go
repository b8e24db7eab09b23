package policy

import "path"

// LearnProfile is the built-in profile skillrun learn runs a skill in (profiles/learn.yaml).
const LearnProfile = "learn"

// learning compiles a skill's learning view: the learn profile, whatever the skill's approval and
// manifest say, minus the developer's denies (global and the skill's own) and the floor. The
// policy's grants and unsafe lines do not apply: they lift what an approved skill gets, and a
// skill being learned is not approved. The skill's folder is shown live and read-only (not a
// verified copy: learning is what comes before an approval), and the plan always has the egress
// proxy, which records every host the command asks for; which of them it lets through is the
// caller's choice (skillrun learn --allow-hosts), never the plan's.
func (m *merge) learning(sp *SkillPolicy) error {
	// A verified copy needs an approval to verify against; learning runs the folder as it is.
	cp := *m.r.Skill
	cp.Lock, cp.Digest = nil, ""
	m.r.Skill = &cp
	r, s, pol := m.r, m.r.Skill, m.r.Policy
	if r.CacheDir != "" {
		m.vars["CACHE"] = path.Join(r.CacheDir, "skillrun", s.Name)
	}
	m.vars["SKILL_DIR"] = s.Dir
	m.plan.Skill = &Skill{Name: s.Name, Dir: s.Dir, Source: s.Source, State: "learning"}
	m.plan.Profile = LearnProfile
	rs := &rules{set: map[string]setRule{}}
	if err := m.addProfiles(rs, []string{LearnProfile}, true); err != nil {
		return err
	}
	if writesWorkspace(rs, r.Workspace) {
		for _, g := range r.GitDirs {
			rs.paths = append(rs.paths, pathRule{path: g, read: true, write: true, builtin: true,
				origin: "git folder of the workspace (its .git names it)"})
		}
	}
	if c := m.vars["CACHE"]; c != "" {
		// The skill's own persistent cache: only this skill ever sees it.
		rs.paths = append(rs.paths, pathRule{path: c, read: true, write: true, builtin: true,
			origin: "profile learn (the skill's ${CACHE})"})
	}
	m.effective = rs
	m.limits = append(m.limits, limitSource{sp.Limits, policyRef(pol, "skills", s.Name).origin("limits")})
	return m.deny(sp)
}
