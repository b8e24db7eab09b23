package policy

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
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
	Profile   string   // "" means DefaultProfile
	Timeout   time.Duration
	// ConfigDir and StateDir are skillrun's own XDG bases ($XDG_CONFIG_HOME, $XDG_STATE_HOME): the
	// floor keeps skillrun's files out of every sandbox.
	ConfigDir string
	StateDir  string
}

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

// Compile computes the plan for r. It is deterministic: the same request gives the same plan.
func Compile(r Request) (*Plan, error) {
	if len(r.Command.Argv) == 0 && r.Command.Shell == nil {
		return nil, fmt.Errorf("%w: no command", ErrRequest)
	}
	for _, p := range []struct{ name, val string }{{"cwd", r.Cwd}, {"workspace", r.Workspace}, {"home", r.Home}} {
		if !path.IsAbs(p.val) {
			return nil, fmt.Errorf("%w: %s %q is not absolute", ErrRequest, p.name, p.val)
		}
	}
	for _, p := range []struct{ name, val string }{{"config dir", r.ConfigDir}, {"state dir", r.StateDir}} {
		// skillrun's own folders are what the floor keeps out of every sandbox: without them
		// neither the refusal nor the mask could be computed.
		if !path.IsAbs(p.val) {
			return nil, fmt.Errorf("%w: %s %q is not absolute", ErrRequest, p.name, p.val)
		}
	}
	if r.Timeout < 0 {
		return nil, fmt.Errorf("%w: negative timeout %s", ErrRequest, r.Timeout)
	}
	r.Cwd, r.Workspace, r.Home = path.Clean(r.Cwd), path.Clean(r.Workspace), path.Clean(r.Home)
	r.ConfigDir, r.StateDir = path.Clean(r.ConfigDir), path.Clean(r.StateDir)
	if err := CheckWorkspace(r.Workspace, &r); err != nil {
		return nil, err
	}
	name := r.Profile
	if name == "" {
		name = DefaultProfile
	}
	prof, err := LoadProfile(name)
	if err != nil {
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
		Profile:    prof.Name,
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
	if err := plan.addMounts(prof, vars); err != nil {
		return nil, err
	}
	if err := plan.applyFloor(floor, vars); err != nil {
		return nil, err
	}
	if !plan.visible(r.Cwd) {
		return nil, fmt.Errorf("%w: %s (the sandbox shows the workspace %s, the system and an empty home)", ErrCwd, r.Cwd, r.Workspace)
	}
	plan.Env, plan.EnvDropped = buildEnv(r, prof, floor)
	plan.Limits.Timeout = stricter(prof.Limits.Timeout, r.Timeout)
	return plan, nil
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

func stricter(profile *Duration, flag time.Duration) Duration {
	var p time.Duration
	if profile != nil {
		p = time.Duration(*profile)
	}
	switch {
	case p == 0:
		return Duration(flag)
	case flag == 0 || p < flag:
		return Duration(p)
	default:
		return Duration(flag)
	}
}

// addMounts turns the profile's paths into an ordered mount list. Home is always an empty tmpfs
// first, so nothing of the caller's home shows unless a later rule binds it.
func (p *Plan) addMounts(prof *Profile, vars Vars) error {
	byPath := map[string]*Mount{}
	add := func(raw string, access Access) error {
		pth, err := vars.expand(raw)
		if err != nil {
			return fmt.Errorf("profile %s: %w", prof.Name, err)
		}
		if pth == "/" {
			return fmt.Errorf("%w: profile %s: the whole file system (%q) cannot be granted", ErrInvalid, prof.Name, raw)
		}
		if pth == SandboxTmp {
			access = Tmpfs
		}
		m, ok := byPath[pth]
		if ok && m.Origin == "home" && access != Tmpfs {
			// The home granted as a path (the workspace is $HOME): the real directory replaces
			// the empty tmpfs, and the floor keeps its secrets and rc files out of reach.
			ok = false
		}
		if !ok {
			m = &Mount{Path: pth, Access: access, Origin: "profile " + prof.Name, Optional: !strings.HasPrefix(raw, "${WORKSPACE}")}
			byPath[pth] = m
			return nil
		}
		if access == ReadWrite && m.Access == ReadOnly {
			m.Access = ReadWrite
		}
		return nil
	}
	byPath[p.Home] = &Mount{Path: p.Home, Access: Tmpfs, Origin: "home"}
	for _, raw := range prof.Filesystem.Read {
		if err := add(raw, ReadOnly); err != nil {
			return err
		}
	}
	for _, raw := range prof.Filesystem.Write {
		if err := add(raw, ReadWrite); err != nil {
			return err
		}
	}
	for _, raw := range prof.Filesystem.Exec {
		pth, err := vars.expand(raw)
		if err != nil {
			return fmt.Errorf("profile %s: %w", prof.Name, err)
		}
		if m, ok := byPath[pth]; ok {
			m.Exec = true
		}
	}
	for _, m := range byPath {
		p.Mounts = append(p.Mounts, *m)
	}
	sort.Slice(p.Mounts, func(i, j int) bool {
		a, b := p.Mounts[i].Path, p.Mounts[j].Path
		if depth(a) != depth(b) {
			return depth(a) < depth(b)
		}
		return a < b
	})
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

func (p *Plan) visible(pth string) bool { return p.cover(pth) != nil }

// applyFloor masks never-readable paths and protects never-writable ones wherever a bind mount
// would show them from the host. Paths on a tmpfs come from nowhere and need nothing. A path may be
// both: masked when it exists, and held by a placeholder so it cannot be created when it does not.
func (p *Plan) applyFloor(f *FloorDoc, vars Vars) error {
	seen := map[string]bool{}
	for _, raw := range f.NeverRead {
		pth, err := vars.expand(raw)
		if err != nil {
			continue // a variable this run does not have: nothing of it is mounted
		}
		probe := pth
		if hasGlob(path.Base(pth)) {
			probe = path.Dir(pth) // a glob's matches are covered by what covers their directory
		}
		if m := p.cover(probe); m != nil && m.Access != Tmpfs && !seen[pth] {
			seen[pth] = true
			p.Mask = append(p.Mask, pth)
		}
	}
	seen = map[string]bool{}
	for _, raw := range f.NeverWrite {
		pth, err := vars.expand(raw)
		if err != nil {
			continue
		}
		if m := p.cover(pth); m != nil && m.Access == ReadWrite && !seen[pth] {
			seen[pth] = true
			p.Protect = append(p.Protect, pth)
		}
	}
	sort.Strings(p.Mask)
	sort.Strings(p.Protect)
	return nil
}

// baseEnv are always set by skillrun, never taken from the caller.
var baseEnv = []string{"HOME", "USER", "LOGNAME", "TMPDIR", "PATH"}

func buildEnv(r Request, prof *Profile, f *FloorDoc) (env, dropped []string) {
	caller := map[string]string{}
	for _, kv := range r.Environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k != "" {
			caller[k] = v
		}
	}
	out := map[string]string{
		"HOME":    r.Home,
		"USER":    r.User.Name,
		"LOGNAME": r.User.Name,
		"TMPDIR":  SandboxTmp,
		"PATH":    DefaultPath,
	}
	if v := caller["PATH"]; v != "" {
		out["PATH"] = v
	}
	for k, v := range caller {
		if matchAny(baseEnv, k) {
			continue
		}
		if !matchAny(prof.Env.Pass, k) || matchAny(f.NeverEnv, k) || matchAny(f.StripEnv, k) {
			dropped = append(dropped, k)
			continue
		}
		out[k] = v
	}
	for k, v := range prof.Env.Set {
		if !matchAny(f.StripEnv, k) {
			out[k] = v
		}
	}
	for k, v := range out {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	sort.Strings(dropped)
	return env, dropped
}
