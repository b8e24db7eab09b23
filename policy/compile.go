package policy

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultProfile runs commands that name no profile.
const DefaultProfile = "agent"

// DefaultPath is the command's PATH when the caller has none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// SandboxTmp is where the private temporary directory appears inside every sandbox.
const SandboxTmp = "/tmp"

// Request is everything the CLI knows about one invocation. It is filled from the process and the
// file system by the caller; Compile itself never looks at either.
type Request struct {
	Command   Command
	Cwd       string // absolute, the caller's working directory
	Workspace string // absolute, already resolved (symlinks evaluated)
	Home      string // the caller's home directory
	User      User
	Environ   []string // the caller's environment, KEY=VALUE
	Profile   string   // "" means DefaultProfile; a toolchain (go) means the default view plus it
	// Toolchains are built-in toolchain profiles added to an agent command's view (--profile go
	// --profile node); see toolchain.go.
	Toolchains []string
	Timeout    time.Duration
	// ConfigDir and StateDir are skillrun's own XDG bases ($XDG_CONFIG_HOME, $XDG_STATE_HOME): the
	// floor keeps skillrun's files out of every sandbox.
	ConfigDir string
	StateDir  string
	// CacheDir is $XDG_CACHE_HOME; a skill's ${CACHE} lives under it.
	CacheDir string
	// Policy is the developer's policy, nil for the defaults; PolicyFile where it was read from.
	Policy     *DevPolicy
	PolicyFile string
	// Skill is the skill the command belongs to, nil for an agent command.
	Skill *SkillRequest
	// SkillRoots and SkillDirs are every skill root and every discovered skill's real folder:
	// never writable from any sandbox.
	SkillRoots []string
	SkillDirs  []string
	// Binaries are skillrun's own binary and the names it was started by: replacing one in a
	// writable folder would run the replacement, unconfined, next time.
	Binaries []string
	// GitLinks are the workspace's .git when it is a symlink or a "gitdir:" file, and GitDirs
	// the real git folders behind them (and their common folder): their configs and hooks are
	// what host git runs.
	GitLinks []string
	GitDirs  []string
	// NoGit says the workspace has no .git at all. It protects nothing by itself: a repository
	// the command creates there is checked when the command ends.
	NoGit bool
	// Learning compiles the skill's learning view for skillrun learn (learning.go).
	Learning bool
	// Repos are the workspace's repositories, its own and every one found below it, with what
	// host git runs in them; NestedFiles are files found at any depth that tools obey (a
	// nested CLAUDE.md); Unchecked the folders the walk that found them did not check, and why.
	Repos       []GitRepo
	NestedFiles []string
	Unchecked   []string
}

// inNewRepo says p lies in the .git of a workspace that has none: the sandbox would undo the
// repository a legitimate `git init` makes there (a missing protected path is watched, and what
// appears at it undone). Such a repository is checked when the command ends instead.
func (r *Request) inNewRepo(p string) bool {
	return r.NoGit && within(p, path.Join(r.Workspace, ".git"))
}

// gitControl are the parts of a git folder that make host git run something: see floor.yaml.
var gitControl = []string{"hooks", "config", "commondir", "config.worktree", "modules"}

// systemDirs may never be a workspace: a workspace is writable, and these hold the system.
var systemDirs = []string{"/", "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32",
	"/opt", "/proc", "/run", "/sbin", "/srv", "/sys", "/usr", "/var", "/home", "/tmp", "/var/tmp"}

// CheckWorkspace refuses workspaces that would hand the system or skillrun's own files to a command.
func CheckWorkspace(ws string, r *Request) error {
	if !path.IsAbs(ws) || path.Clean(ws) != ws {
		return fmt.Errorf("%w: %q is not a clean absolute path", ErrWorkspace, ws)
	}
	for _, d := range systemDirs {
		if ws == d {
			return fmt.Errorf("%w: %s is a system directory", ErrWorkspace, ws)
		}
	}
	for _, d := range []string{"/usr", "/etc", "/proc", "/sys", "/dev", "/boot", "/run"} {
		if within(ws, d) {
			return fmt.Errorf("%w: %s lies inside the system directory %s", ErrWorkspace, ws, d)
		}
	}
	for _, own := range []string{r.ConfigDir, r.StateDir} {
		if own == "" {
			continue
		}
		// A workspace above skillrun's folders (the home, say) is fine: the floor masks them.
		own = path.Join(own, "skillrun")
		if within(ws, own) {
			return fmt.Errorf("%w: %s is inside skillrun's own folder %s", ErrWorkspace, ws, own)
		}
	}
	return nil
}

// SkillRequest is the skill a command was attributed to, with what the caller read about it.
type SkillRequest struct {
	Name string // the folder's name in its skill root
	// Dir is the folder as the command names it; Source is its real path (symlinks resolved).
	Dir    string
	Source string
	// Manifest is the folder's skillrun.yaml, nil when it has none.
	Manifest *Manifest
	// Lock is the folder's approval, nil when it was never approved.
	Lock *LockedSkill
	// Digest is the folder's digest now, when the caller computed it. Empty means not computed:
	// the sandbox verifies the approved digest while it copies the folder.
	Digest string
}

// Compile computes the plan for r. It is deterministic: the same request gives the same plan.
func Compile(r Request) (*Plan, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	floor, err := LoadFloor()
	if err != nil {
		return nil, err
	}
	if err := refuseWorkspaceInFloor(r, floor); err != nil {
		return nil, err
	}
	vars := Vars{
		"WORKSPACE": r.Workspace,
		"HOME":      r.Home,
		"TMPDIR":    SandboxTmp,
		"CONFIG":    r.ConfigDir,
		"STATE":     r.StateDir,
		"SKILL_DIR": "",
		"CACHE":     "",
	}
	plan := &Plan{
		Version:    PlanVersion,
		Command:    r.Command,
		Cwd:        r.Cwd,
		Workspace:  r.Workspace,
		Home:       r.Home,
		User:       r.User,
		Network:    Network{Allow: []string{}},
		Namespaces: []string{"mount", "pid", "ipc", "uts", "net"},
	}
	if r.User.UID != 0 {
		plan.Namespaces = append(plan.Namespaces, "user")
	}
	m := &merge{r: &r, plan: plan, vars: vars, floor: floor}
	if r.Skill == nil {
		err = m.agent()
	} else {
		err = m.skill()
	}
	if err != nil {
		return nil, err
	}
	if err := m.finish(); err != nil {
		return nil, err
	}
	if len(m.unprotectable) > 0 {
		return nil, fmt.Errorf("%w: %q must stay unwritable, and its name (not valid UTF-8) cannot be protected where it is", ErrUnprotectable, m.unprotectable[0])
	}
	if !plan.visible(r.Cwd) {
		return nil, fmt.Errorf("%w: %s (the sandbox shows %s)", ErrCwd, r.Cwd, plan.visibleSummary())
	}
	return plan, nil
}

func (r *Request) check() error {
	if len(r.Command.Argv) == 0 && r.Command.Shell == nil {
		return fmt.Errorf("%w: no command", ErrRequest)
	}
	for _, p := range []struct{ name, val string }{{"cwd", r.Cwd}, {"workspace", r.Workspace}, {"home", r.Home},
		{"config dir", r.ConfigDir}, {"state dir", r.StateDir}} {
		// skillrun's own folders are what the floor keeps out of every sandbox: without them
		// neither the refusal nor the mask could be computed.
		if !path.IsAbs(p.val) {
			return fmt.Errorf("%w: %s %q is not absolute", ErrRequest, p.name, p.val)
		}
	}
	if r.Timeout < 0 {
		return fmt.Errorf("%w: negative timeout %s", ErrRequest, r.Timeout)
	}
	r.Cwd, r.Workspace, r.Home = path.Clean(r.Cwd), path.Clean(r.Workspace), path.Clean(r.Home)
	r.ConfigDir, r.StateDir = path.Clean(r.ConfigDir), path.Clean(r.StateDir)
	if r.CacheDir != "" {
		if !path.IsAbs(r.CacheDir) {
			return fmt.Errorf("%w: cache dir %q is not absolute", ErrRequest, r.CacheDir)
		}
		r.CacheDir = path.Clean(r.CacheDir)
	}
	if s := r.Skill; s != nil {
		if err := checkFolderName(s.Name); err != nil {
			return fmt.Errorf("%w: skill: %v", ErrRequest, err)
		}
		for _, p := range []string{s.Dir, s.Source} {
			if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
				return fmt.Errorf("%w: skill folder %q is not a clean absolute path", ErrRequest, p)
			}
		}
		if r.Profile != "" || len(r.Toolchains) > 0 {
			return fmt.Errorf("%w: --profile applies to agent commands; skill %s gets its capabilities from its manifest and your policy", ErrRequest, s.Name)
		}
	}
	return CheckWorkspace(r.Workspace, r)
}

// merge carries one compilation.
type merge struct {
	r     *Request
	plan  *Plan
	vars  Vars
	floor *FloorDoc
	// effective are the rules after intersection and deny; limits collects every bound.
	effective *rules
	limits    []limitSource
	sub       subtraction
	why       []Decision
	// protected are the paths already in the plan's Protect list; unprotectable those that
	// can be neither protected nor covered by a folder above them.
	protected     map[string]bool
	unprotectable []string
}

type limitSource struct {
	caps   LimitCaps
	origin string
}

// profileChain loads a built-in profile and the profiles it extends, parents first.
func profileChain(name string) ([]*Profile, error) {
	var out []*Profile
	seen := map[string]bool{}
	var visit func(n string, depth int) error
	visit = func(n string, depth int) error {
		if seen[n] {
			return nil
		}
		if depth > 8 {
			return fmt.Errorf("%w: profile %s extends too deep (a cycle?)", ErrInvalid, n)
		}
		seen[n] = true
		p, err := LoadProfile(n)
		if err != nil {
			return err
		}
		for _, e := range p.Extends {
			if err := visit(e, depth+1); err != nil {
				return err
			}
		}
		out = append(out, p)
		return nil
	}
	return out, visit(name, 0)
}

func (m *merge) addProfiles(rs *rules, names []string, limits bool) error {
	for _, n := range names {
		chain, err := profileChain(n)
		if err != nil {
			return err
		}
		for _, p := range chain {
			ref := docRef{label: "profile " + p.Name, src: p.src, builtin: true}
			if err := rs.add(&p.Capabilities, m.vars, ref, false); err != nil {
				return err
			}
			if limits {
				m.limits = append(m.limits, limitSource{p.Limits, "profile " + p.Name})
			}
		}
	}
	return nil
}

func policyRef(p *DevPolicy, keys ...any) docRef {
	if p == nil {
		return docRef{label: "policy"}
	}
	return docRef{label: "policy", src: p.src, prefix: keys}
}

// agent compiles an agent command: its profile plus the policy's agent grants and unsafe lines.
func (m *merge) agent() error {
	r, pol := m.r, m.r.Policy
	name, toolchains, err := agentProfiles(r) // toolchain.go
	if err != nil {
		return err
	}
	m.plan.Profile, m.plan.Toolchains = name, toolchains
	rs := &rules{set: map[string]setRule{}}
	if err := m.addProfiles(rs, append([]string{name}, toolchains...), true); err != nil {
		return err
	}
	if f := ClaudeCwdFile(r); f != "" && name == ClaudeCodeProfile {
		// The one file of the host's /tmp the command may write: the sandbox's /tmp is private.
		rs.paths = append(rs.paths, pathRule{path: f, read: true, write: true, builtin: true, profile: true,
			origin: "profile claude-code (the cwd file of Claude Code's command wrapper)"})
	}
	if writesWorkspace(rs, r.Workspace) {
		// A workspace whose .git names a folder elsewhere (a linked worktree, a separate git
		// folder): git in it needs that folder; its control files stay protected (gitControl).
		for _, g := range r.GitDirs {
			rs.paths = append(rs.paths, pathRule{path: g, read: true, write: true, builtin: true, profile: true,
				origin: "git folder of the workspace (its .git names it)"})
		}
	}
	if d := envValue(r.Environ, "CLAUDE_CONFIG_DIR"); name == ClaudeCodeProfile && path.IsAbs(d) {
		// Claude Code keeps its shell snapshots under its config folder when it is moved.
		rs.paths = append(rs.paths, pathRule{path: path.Join(path.Clean(d), "shell-snapshots"), read: true, builtin: true, profile: true,
			origin: "profile claude-code (CLAUDE_CONFIG_DIR's shell snapshots)"})
	}
	if pol != nil {
		if err := m.refuseFloorGrant(&pol.Agent.Capabilities, policyRef(pol, "agent")); err != nil {
			return err
		}
		if err := rs.add(&pol.Agent.Capabilities, m.vars, policyRef(pol, "agent"), false); err != nil {
			return err
		}
		m.limits = append(m.limits, limitSource{pol.Agent.Limits, policyRef(pol, "agent").origin("limits")})
		ref := policyRef(pol, "unsafe")
		ref.unsafe = true
		if err := rs.add(&pol.Unsafe, m.vars, ref, false); err != nil {
			return err
		}
	}
	m.effective = rs
	return m.deny(nil)
}

// skill compiles a skill's command: (profiles ∪ manifest) ∩ (approved ∪ grant), or the
// untrusted profile when it has no approved manifest.
func (m *merge) skill() error {
	r, s, pol := m.r, m.r.Skill, m.r.Policy
	if r.Learning {
		return m.learning(pol.skill(s.Name))
	}
	if s.Lock != nil && s.Digest != "" && s.Lock.Digest != s.Digest {
		return fmt.Errorf("%w: %s (%s) was approved with %s and now hashes to %s", ErrModified, s.Name, s.Source, s.Lock.Digest, s.Digest)
	}
	m.vars["SKILL_DIR"] = s.Dir
	if r.CacheDir != "" {
		m.vars["CACHE"] = path.Join(r.CacheDir, "skillrun", s.Name)
	}
	sp := pol.skill(s.Name)
	state := "approved"
	switch {
	case s.Lock == nil && pol.unapproved() == UnapprovedRefuse:
		return fmt.Errorf("%w: %s (%s) is not approved and the policy refuses unapproved skills", ErrUnapproved, s.Name, s.Source)
	case s.Lock == nil:
		state = "unapproved"
	case !s.Lock.Manifest || s.Manifest == nil:
		state = "no-manifest"
	}
	m.plan.Skill = &Skill{Name: s.Name, Dir: s.Dir, Source: s.Source, State: state}
	if s.Lock != nil {
		m.plan.Skill.Digest = s.Lock.Digest
	}
	if state != "approved" {
		// Untrusted: read the workspace and the skill, write only the private tmp.
		m.plan.Profile = "untrusted"
		rs := &rules{set: map[string]setRule{}}
		if err := m.addProfiles(rs, []string{"untrusted"}, true); err != nil {
			return err
		}
		m.effective = rs
		m.limits = append(m.limits, limitSource{sp.Limits, policyRef(pol, "skills", s.Name).origin("limits")})
		return m.deny(sp)
	}
	man := s.Manifest
	if man.Name != s.Name {
		return fmt.Errorf("%w: %s: the manifest names the skill %q but its folder is %q", ErrInvalid, man.src.at("name"), man.Name, s.Name)
	}
	m.plan.Profile = "manifest"
	requested := &rules{set: map[string]setRule{}}
	if err := m.addProfiles(requested, append([]string{"base"}, man.Extends...), true); err != nil {
		return err
	}
	if err := requested.add(&man.Capabilities, m.vars, docRef{label: "manifest", src: man.src}, false); err != nil {
		return err
	}
	m.limits = append(m.limits, limitSource{man.Limits, docRef{label: "manifest", src: man.src}.origin("limits")})
	allowed := &rules{set: map[string]setRule{}}
	if err := m.addProfiles(allowed, append([]string{"base"}, s.Lock.Extends...), false); err != nil {
		return err
	}
	if s.Lock.Approved != nil {
		// Approving a manifest approves what it asks for, except secrets: those pass only when
		// the developer grants them in the policy.
		approved := *s.Lock.Approved
		approved.Env.Secrets = nil
		if err := allowed.add(&approved, m.vars, docRef{label: "approval (" + LockFile + ")"}, false); err != nil {
			return err
		}
	}
	if err := m.refuseFloorGrant(&sp.Grant, policyRef(pol, "skills", s.Name, "grant")); err != nil {
		return err
	}
	if err := allowed.add(&sp.Grant, m.vars, policyRef(pol, "skills", s.Name, "grant"), false); err != nil {
		return err
	}
	ref := policyRef(pol, "skills", s.Name, "unsafe")
	ref.unsafe = true
	if err := allowed.add(&sp.Unsafe, m.vars, ref, false); err != nil {
		return err
	}
	m.limits = append(m.limits, limitSource{sp.Limits, policyRef(pol, "skills", s.Name).origin("limits")})
	kept, denied := intersect(requested, allowed)
	m.why = append(m.why, denied...)
	m.effective = kept
	return m.deny(sp)
}

// deny subtracts the policy's global deny and the skill's own.
func (m *merge) deny(sp *SkillPolicy) error {
	pol := m.r.Policy
	if pol == nil {
		return nil
	}
	d := &rules{}
	if err := d.add(&pol.Deny, m.vars, policyRef(pol, "deny"), true); err != nil {
		return err
	}
	if sp != nil && m.r.Skill != nil {
		if err := d.add(&sp.Deny, m.vars, policyRef(pol, "skills", m.r.Skill.Name, "deny"), true); err != nil {
			return err
		}
	}
	m.sub = m.effective.subtract(d)
	m.why = append(m.why, m.sub.denied...)
	return nil
}

// refuseFloorGrant refuses a grant of a path the floor never opens: such a line belongs under
// unsafe:, where every run that uses it says so.
func (m *merge) refuseFloorGrant(c *Capabilities, ref docRef) error {
	check := func(list []string, kind string, floorList []string, what string) error {
		floorPaths := pathsOf(floorList, m.vars)
		for i, raw := range list {
			p, err := m.vars.expand(raw)
			if err != nil {
				continue
			}
			for _, f := range floorPaths {
				if within(p, f) || hasGlob(path.Base(f)) && within(p, path.Dir(f)) && globMatch(path.Base(f), pathElem(p, path.Dir(f))) {
					return fmt.Errorf("%w: %s: %s grants %s, which the floor keeps %s; move the line under unsafe: if you mean it",
						ErrFloor, ref.origin("filesystem", kind, i), kind, p, what)
				}
			}
		}
		return nil
	}
	if err := check(c.Filesystem.Read, "read", m.floor.NeverRead, "unreadable"); err != nil {
		return err
	}
	if err := check(c.Filesystem.Exec, "exec", m.floor.NeverRead, "unreadable"); err != nil {
		return err
	}
	return check(c.Filesystem.Write, "write", append(append(append([]string{}, m.floor.NeverRead...), m.floor.NeverWrite...), m.floor.persistPaths()...), "unwritable")
}

// withinPattern reports whether p is, or lies below, the floor path f, whose last element may be
// a glob.
func withinPattern(p, f string) bool {
	if !hasGlob(path.Base(f)) {
		return within(p, f)
	}
	dir := path.Dir(f)
	return within(p, dir) && p != dir && globMatch(path.Base(f), pathElem(p, dir))
}

// pathElem returns the element of p directly below dir.
func pathElem(p, dir string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i]
	}
	return rest
}

// finish applies the floor, builds mounts, environment and limits, and records why.
func (m *merge) finish() error {
	plan, rs := m.plan, m.effective
	// The floor first drops what lies inside a never-readable path and narrows what lies inside
	// a never-writable one; built-in profiles may open what an integration needs, unsafe lines
	// what the developer chose.
	neverRead := pathsOf(m.floor.NeverRead, m.vars)
	// What may never be read may never be written either: a command must not plant a
	// credentials file or a docker config with a credential helper of its choosing.
	neverWrite := append(append(append(pathsOf(m.floor.NeverWrite, m.vars), neverRead...), m.r.extraNeverWrite()...),
		pathsOf(m.floor.persistPaths(), m.vars)...)
	var kept []pathRule
	for _, r := range rs.paths {
		if m.r.Skill != nil && within(r.path, m.r.Skill.Dir) {
			kept = append(kept, r) // folded into the skill's own read-only folder below
			continue
		}
		drop := false
		for _, f := range neverRead {
			if hasGlob(path.Base(f)) || !within(r.path, f) || r.builtin {
				continue
			}
			if o, ok := lifted(rs.paths, r.path, false); ok {
				plan.Unsafe = appendUnique(plan.Unsafe, "read "+r.path+" ("+o+")")
				continue
			}
			drop = true
			m.why = append(m.why, Decision{Kind: "path", Subject: r.path, Decision: "denied", Origin: "floor", Reason: "never readable: " + f})
			break
		}
		if drop {
			continue
		}
		if r.write {
			for _, f := range neverWrite {
				if !withinPattern(r.path, f) {
					continue
				}
				if o, ok := lifted(rs.paths, r.path, true); ok {
					plan.Unsafe = appendUnique(plan.Unsafe, "write "+r.path+" ("+o+")")
					continue
				}
				r.write = false
				m.why = append(m.why, Decision{Kind: "path", Subject: r.path, Decision: "read-only", Origin: "floor", Reason: "never writable: " + f})
				break
			}
		}
		kept = append(kept, r)
	}
	rs.paths = kept
	plan.mountsFrom(rs)
	if err := m.addSkillMount(); err != nil {
		return err
	}
	for _, mt := range plan.Mounts {
		m.why = append(m.why, Decision{Kind: "path", Subject: mt.Path, Decision: mountDecision(mt), Origin: mt.Origin})
	}
	m.applyFloor(neverRead, append(append(pathsOf(m.floor.NeverWrite, m.vars), plantable(neverRead, m.r.Workspace)...), m.r.extraNeverWrite()...))
	m.applyPersist()
	plan.markCreate(m.vars["CACHE"]) // grants.go
	for _, h := range rs.hosts {
		plan.Network.Allow = appendUnique(plan.Network.Allow, h.pattern.String())
		m.why = append(m.why, Decision{Kind: "host", Subject: h.pattern.String(), Decision: "granted", Origin: h.origin})
	}
	sort.Strings(plan.Network.Allow)
	plan.Network.Deny = m.sub.hostDeny
	sort.Strings(plan.Network.Deny)
	if len(plan.Network.Allow) > 0 || m.r.Learning {
		plan.Network.Proxy = ProxyAddr
	}
	m.buildEnv()
	m.buildLimits()
	plan.Confine = confineFor(plan)
	plan.Why = m.why
	return nil
}

func mountDecision(mt Mount) string {
	d := string(mt.Access)
	if mt.Exec {
		d += "+exec"
	}
	if mt.Digest != "" {
		d += " (verified copy)"
	}
	return d
}

// extraNeverWrite are the never-writable paths the request adds to the floor: every skill root,
// every discovered skill's real folder and the policy file.
func (r *Request) extraNeverWrite() []string {
	out := append(append([]string{}, r.SkillRoots...), r.SkillDirs...)
	if r.Skill != nil {
		out = append(out, r.Skill.Dir, r.Skill.Source)
	}
	if r.PolicyFile != "" {
		out = append(out, r.PolicyFile)
	}
	out = append(append(out, r.Binaries...), r.GitLinks...)
	// NoGit no longer protects .git: `git init` at the top of a folder that is not a repository is
	// a legitimate edit. A missing protected path is watched, not held (sandbox/createguard.go),
	// so protecting .git would undo that repository; the repositories a command creates are
	// checked when it ends instead.
	for _, g := range r.GitDirs {
		for _, c := range gitControl {
			out = append(out, path.Join(g, c))
		}
	}
	return out
}

// addSkillMount shows the skill's folder read-only where the command names it. An approved skill
// gets a verified private copy (the sandbox checks the digest of what it copies); rules inside the
// folder can only add exec: a skill can never write itself.
func (m *merge) addSkillMount() error {
	s := m.r.Skill
	if s == nil {
		return nil
	}
	mt := Mount{Path: s.Dir, Access: ReadOnly, Exec: true, Origin: "skill " + s.Name}
	if s.Source != s.Dir {
		mt.Source = s.Source
	}
	if s.Lock != nil {
		mt.Digest = s.Lock.Digest
	}
	var out []Mount
	for _, x := range m.plan.Mounts {
		if within(x.Path, s.Dir) {
			if x.Access == ReadWrite {
				m.why = append(m.why, Decision{Kind: "path", Subject: x.Path, Decision: "read-only", Origin: x.Origin, Reason: "a skill's folder is never writable"})
			}
			continue // the verified copy serves the whole folder
		}
		out = append(out, x)
	}
	m.plan.Mounts = append(out, mt)
	sortMounts(m.plan.Mounts)
	return nil
}

// applyFloor masks never-readable paths and protects never-writable ones wherever a bind mount
// would show them from the host. Paths on a tmpfs come from nowhere and need nothing. A path may be
// both: masked when it exists, and held by a placeholder so it cannot be created when it does not.
// writesWorkspace says the rules make the workspace itself writable.
func writesWorkspace(rs *rules, ws string) bool {
	for _, r := range rs.paths {
		if r.write && r.path == ws {
			return true
		}
	}
	return false
}

// plantable are the never-readable paths a command must not create either: credentials and
// configs outside the workspace. A project's own secrets (.env files) are masked where they exist;
// holding every missing one with a placeholder would litter each workspace with folders.
func plantable(neverRead []string, workspace string) []string {
	var out []string
	for _, f := range neverRead {
		if !within(f, workspace) {
			out = append(out, f)
		}
	}
	return out
}

func (m *merge) applyFloor(neverRead, neverWrite []string) {
	p := m.plan
	rs := m.effective.paths
	seen := map[string]bool{}
	mask := func(pth, reason, origin string, liftable bool) {
		probe := pth
		if hasGlob(path.Base(pth)) {
			probe = path.Dir(pth) // a glob's matches are covered by what covers their directory
		}
		mt := p.cover(probe)
		if mt == nil || mt.Access == Tmpfs || mt.Digest != "" || seen[pth] {
			return
		}
		if o, ok := lifted(rs, pth, false); ok && liftable {
			p.Unsafe = appendUnique(p.Unsafe, "read "+pth+" ("+o+")")
			return
		}
		seen[pth] = true
		p.Mask = append(p.Mask, pth)
		m.why = append(m.why, Decision{Kind: "path", Subject: pth, Decision: "masked", Origin: origin, Reason: reason})
	}
	for _, f := range neverRead {
		mask(f, "never readable", "floor", true)
	}
	for _, d := range m.sub.maskBelow {
		mask(d.path, "denied", d.origin, false) // unsafe: lifts the floor, never the developer's deny
	}
	for _, f := range neverWrite {
		if !hasGlob(path.Base(f)) && !m.r.inNewRepo(f) {
			m.protect(f, ClassFloor, "never writable", "floor", true)
		}
	}
	for _, d := range m.sub.protBelow {
		m.protect(d.path, ClassPolicy, "writing denied", d.origin, false)
	}
	p.Mask = outermost(p.Mask)
}

// protect keeps pth unwritable when a writable mount shows it, unless an unsafe: line lifts it
// (liftable) and says so.
func (m *merge) protect(pth, class, reason, origin string, liftable bool) {
	p := m.plan
	// Any writable mount around the path matters: a read-only mount nearer to it may be
	// optional and skipped when the path does not exist, leaving it creatable.
	if m.protected == nil {
		m.protected = map[string]bool{}
	}
	if !p.writableAround(pth) {
		return
	}
	if !utf8.ValidString(pth) {
		// The sandbox's mounts travel as JSON, which cannot carry such a name: the nearest
		// folder above it that can is protected whole, or the run is refused.
		up := path.Dir(pth)
		for !utf8.ValidString(up) {
			up = path.Dir(up)
		}
		if mt := p.cover(up); mt == nil || mt.Path == up || mt.Access != ReadWrite {
			m.unprotectable = append(m.unprotectable, pth)
			return
		}
		reason += "; its name is not valid UTF-8, which the sandbox cannot mount, so the folder above it that can be is protected whole"
		pth = up
		if m.protected[pth] {
			return
		}
	}
	if m.protected[pth] {
		// Already protected by the floor's fixed list: a class that says more replaces its reason.
		for i := range m.why {
			d := &m.why[i]
			if d.Subject == pth && d.Decision == "protected" && d.Class == ClassFloor && class != ClassFloor {
				d.Class, d.Reason, d.Origin = class, reason, origin
			}
		}
		return
	}
	if o, ok := lifted(m.effective.paths, pth, true); ok && liftable {
		p.Unsafe = appendUnique(p.Unsafe, "write "+pth+" ("+o+")")
		return
	}
	m.protected[pth] = true
	p.Protect = append(p.Protect, pth)
	m.why = append(m.why, Decision{Kind: "path", Subject: pth, Decision: "protected", Class: class, Origin: origin, Reason: reason})
}

// applyPersist protects, by class, what the host later runs or obeys: every repository's git
// control files and hooks, the PATH folders, the top of a writable home, and the agents' and
// editors' files the floor lists, at the top of the workspace, of every repository in it, and
// wherever the walk found them.
func (m *merge) applyPersist() {
	p := m.plan
	for _, pr := range m.r.gitProtections() {
		m.protect(pr.path, pr.class, pr.reason, "git", true)
	}
	paths, relative := m.r.pathProtections()
	for _, pr := range paths {
		if !m.grantedExactly(pr.path) {
			m.protect(pr.path, pr.class, pr.reason, "PATH", true)
		}
	}
	for _, d := range relative {
		m.why = append(m.why, Decision{Kind: "path", Subject: "PATH entry " + strconv.Quote(d), Decision: "not protected", Class: ClassPath,
			Reason: "a relative PATH entry names whatever folder a shell is in; take it out of PATH"})
	}
	for _, pr := range m.homeProtections() {
		if !m.grantedExactly(pr.path) {
			m.protect(pr.path, pr.class, pr.reason, "home", true)
		}
	}
	roots := []string{m.r.Workspace}
	for _, g := range m.r.Repos {
		if g.Worktree != "" && g.Worktree != m.r.Workspace {
			roots = append(roots, g.Worktree)
		}
	}
	for _, c := range m.floor.Persist {
		why := c.Why
		for _, rel := range c.Paths {
			for _, root := range roots {
				m.protect(path.Join(root, rel), c.Class, why, "floor ("+c.Tool+")", true)
			}
		}
		for _, name := range c.AnyDepth {
			for _, f := range m.r.NestedFiles {
				if path.Base(f) == name && within(f, m.r.Workspace) {
					m.protect(f, c.Class, why, "floor ("+c.Tool+")", true)
				}
			}
		}
	}
	for _, u := range m.r.Unchecked {
		m.why = append(m.why, Decision{Kind: "path", Subject: u, Decision: "not checked", Class: ClassGit,
			Reason: "the walk for repositories and agent files stopped here; repositories below are not protected"})
	}
	p.Protect = outermost(p.Protect)
	sort.Strings(p.Unsafe)
}

// outermost sorts paths and drops those inside another: a protected .claude already protects
// .claude/skills, and each extra entry costs the sandbox a mount and maybe a placeholder.
func outermost(paths []string) []string {
	sort.Strings(paths)
	var out []string
	for _, p := range paths {
		if n := len(out); n > 0 && !hasGlob(p) && within(p, out[n-1]) {
			continue
		}
		out = append(out, p)
	}
	return out
}

func (p *Plan) visibleSummary() string {
	var parts []string
	for _, m := range p.Mounts {
		if m.Origin != "home (empty)" {
			parts = append(parts, m.Path)
		}
	}
	return strings.Join(parts, ", ")
}

// refuseWorkspaceInFloor refuses a workspace at or below a floor path (~/.aws/sso,
// ~/.config/systemd/user, …): applyFloor only sees floor paths below a mount, so a mount below a
// floor path would escape it entirely.
func refuseWorkspaceInFloor(r Request, f *FloorDoc) error {
	vars := Vars{"HOME": r.Home, "CONFIG": r.ConfigDir, "STATE": r.StateDir}
	for _, list := range [][]string{f.NeverRead, f.NeverWrite} {
		for _, raw := range list {
			pth, err := vars.expand(raw)
			if err != nil || hasGlob(path.Base(pth)) {
				continue // ${WORKSPACE}-relative entries lie inside the workspace by definition
			}
			if within(r.Workspace, pth) {
				return fmt.Errorf("%w: %s lies inside %s, which the floor never opens to a command", ErrWorkspace, r.Workspace, pth)
			}
		}
	}
	return nil
}

// cover returns the innermost mount that shows pth, or nil.
func (p *Plan) cover(pth string) *Mount {
	var best *Mount
	for i := range p.Mounts {
		m := &p.Mounts[i]
		if within(pth, m.Path) && (best == nil || depth(m.Path) > depth(best.Path)) {
			best = m
		}
	}
	return best
}

// writableAround reports whether a read-write mount contains pth.
func (p *Plan) writableAround(pth string) bool {
	for _, m := range p.Mounts {
		if m.Access == ReadWrite && within(pth, m.Path) {
			return true
		}
	}
	return false
}

// visible reports whether pth exists inside the sandbox as it does outside: a tmpfs (the empty
// home, the private /tmp) shows nothing of the host below it.
func (p *Plan) visible(pth string) bool {
	m := p.cover(pth)
	return m != nil && (m.Access != Tmpfs || m.Path == pth)
}
