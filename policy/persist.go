package policy

import (
	"path"
	"strings"

	"github.com/skillrun/skillrun/policy/gitcfg"
)

// GitRepo is a repository of the workspace (its own, or one at any depth below it) with what
// host git runs or obeys in it, as the CLI read it from the host.
type GitRepo struct {
	// Worktree is the folder holding DotGit; DotGit the .git folder, gitfile or link.
	Worktree string
	DotGit   string
	// GitDir and CommonDir are the repository's git folders (see gitcfg.Repo); empty when a
	// gitfile names nothing readable.
	GitDir    string
	CommonDir string
	// Hooks are the folders git may run hooks from, ConfigFiles every config file it reads,
	// Managers the files hook managers read when the hooks call them.
	Hooks       []gitcfg.HooksDir
	ConfigFiles []string
	Managers    []gitcfg.Manager
	// Problems are configs that could not be read or parsed: git may refuse them, or read
	// them differently; they are protected all the same.
	Problems []string
}

// Protection classes: what a protected path is, in `skillrun plan` and in reports.
const (
	ClassGit    = "git"    // git runs or obeys it
	ClassPath   = "path"   // a folder on PATH: a program put there shadows a real one
	ClassHome   = "home"   // start-up and config files at the top of the home
	ClassAgent  = "agent"  // an agent's or editor's instructions, settings, MCP or tasks
	ClassFloor  = "floor"  // the floor's fixed list
	ClassPolicy = "policy" // the developer's deny
)

// protection is one path kept unwritable, with why.
type protection struct {
	path, class, reason string
}

// gitControlParts are what a git folder holds that makes host git run something: hooks, the
// config, a common folder elsewhere, a per-worktree config, submodules' git folders, and
// info/ (attributes that select filter drivers, and the exclude file git status obeys).
var gitControlParts = []string{"hooks", "config", "commondir", "config.worktree", "modules", "info"}

// gitProtections lists, for every repository of the request, what host git would run or obey.
func (r *Request) gitProtections() []protection {
	var out []protection
	for _, g := range r.Repos {
		rel := g.DotGit
		if g.Worktree != "" {
			rel = strings.TrimPrefix(strings.TrimPrefix(g.DotGit, r.Workspace), "/")
			if rel == "" {
				rel = g.DotGit
			}
		}
		if g.GitDir == "" || g.GitDir != g.DotGit {
			// A gitfile or a link: what it names is what git opens.
			out = append(out, protection{g.DotGit, ClassGit, "git follows it to the repository's folder (" + rel + ")"})
		}
		for _, dir := range []string{g.GitDir, g.CommonDir} {
			if dir == "" {
				continue
			}
			for _, part := range gitControlParts {
				out = append(out, protection{path.Join(dir, part), ClassGit, "git runs or reads it: " + part + " of the repository at " + g.Worktree})
			}
		}
		for _, h := range g.Hooks {
			if !path.IsAbs(h.Path) || h.Path == "/dev/null" {
				continue
			}
			why := "git runs the hooks in it: " + h.Why
			if !h.Effective {
				why += " (not in force now; an include or a later level may put it in force)"
			}
			out = append(out, protection{h.Path, ClassGit, why})
		}
		for _, f := range g.ConfigFiles {
			out = append(out, protection{f, ClassGit, "git reads it as configuration of the repository at " + g.Worktree})
		}
		for _, m := range g.Managers {
			out = append(out, protection{m.Path, ClassGit, m.Why})
		}
	}
	return out
}

// pathProtections lists the folders of the caller's PATH (which is the command's PATH too:
// skillrun never lets a manifest set it): a program planted in one shadows the real one the
// next time the developer, or the agent, runs it on the host. Relative entries (".", "" for the
// current folder) name wherever the developer happens to be and cannot be protected: plan says so.
func (r *Request) pathProtections() (out []protection, relative []string) {
	p := envValue(r.Environ, "PATH")
	if p == "" {
		p = DefaultPath
	}
	for _, d := range strings.Split(p, ":") {
		if !path.IsAbs(d) {
			relative = appendUnique(relative, d)
			continue
		}
		out = append(out, protection{path.Clean(d), ClassPath, "a folder on PATH: a program put there shadows a real one on the host"})
	}
	return out, relative
}

// homeProtections keeps the top of the home read-only when a writable mount shows it: every
// hidden entry (the start-up and config files of shells, editors, REPLs, toolchains and package
// managers, and the folders that hold more of them) and ~/bin. A developer opens one with an
// explicit grant of that path (which then goes on top).
func (m *merge) homeProtections() []protection {
	home := m.r.Home
	if !m.plan.writableAround(home) {
		return nil
	}
	why := "start-up and config files at the top of the home: the host's shells, editors and tools run or obey them"
	return []protection{
		{path.Join(home, ".*"), ClassHome, why},
		{path.Join(home, "bin"), ClassHome, "a folder of the home that shells put on PATH"},
	}
}

// grantedExactly reports whether a grant (not a built-in profile) writes exactly p: an explicit
// grant is how a developer opens up a folder the home or PATH classes protect. A grant below p
// needs nothing: the sandbox mounts it on top of p's read-only bind.
func (m *merge) grantedExactly(p string) bool {
	for _, r := range m.effective.paths {
		if r.write && r.path == p && !r.builtin {
			return true
		}
	}
	return false
}

// persistPaths are the persist section's paths at the top of the workspace, as floor lines
// (${WORKSPACE}/…): a grant of one is refused like a grant of any never-writable path.
func (f *FloorDoc) persistPaths() []string {
	var out []string
	for _, c := range f.Persist {
		for _, p := range c.Paths {
			out = append(out, "${WORKSPACE}/"+p)
		}
	}
	return out
}
