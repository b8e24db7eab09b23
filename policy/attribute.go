package policy

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// HostFS is what skill discovery and attribution read from the file system. The CLI passes the
// real one; tests pass a fake. Keeping it an interface keeps this package free of syscalls.
type HostFS interface {
	// ReadDir lists a directory; a missing directory is an error.
	ReadDir(dir string) ([]fs.DirEntry, error)
	// RealPath resolves every symlink in an absolute path (like filepath.EvalSymlinks).
	RealPath(p string) (string, error)
	// IsDir and IsFile follow symlinks.
	IsDir(p string) bool
	IsFile(p string) bool
}

// FoundSkill is a skill folder found in a skill root.
type FoundSkill struct {
	Name string `json:"name"`
	// Dir is the folder in its root; Source its real path (installers symlink one copy into many
	// agents' folders, so several Dirs may share a Source).
	Dir    string `json:"dir"`
	Source string `json:"source"`
	Root   string `json:"root"`
}

// pluginsGlob marks the root whose skills sit at any depth below it, in folders named "skills".
const pluginsGlob = "/**/skills"

// SkillRoots lists the folders that hold skills (design section 3), the policy's own first.
// The Claude plugins root is returned as "<dir>/**/skills" and expanded by Discover.
func SkillRoots(home, workspace string, pol *DevPolicy) []string {
	var roots []string
	if pol != nil {
		vars := Vars{"HOME": home, "WORKSPACE": workspace}
		for _, r := range pol.SkillRoots {
			if p, err := vars.expand(r); err == nil {
				roots = append(roots, p)
			}
		}
	}
	for _, r := range []string{
		home + "/.claude/skills", workspace + "/.claude/skills",
		home + "/.claude/plugins" + pluginsGlob,
		home + "/.codex/skills", workspace + "/.codex/skills",
		home + "/.agents/skills", workspace + "/.agents/skills",
		home + "/.gemini/skills", workspace + "/.gemini/skills",
	} {
		roots = appendUnique(roots, path.Clean(strings.TrimSuffix(r, pluginsGlob))+suffixOf(r))
	}
	return roots
}

func suffixOf(r string) string {
	if strings.HasSuffix(r, pluginsGlob) {
		return pluginsGlob
	}
	return ""
}

// RootDirs returns the roots as plain folders (the plugins root as its base folder): everything
// below them is never writable from a sandbox.
func RootDirs(roots []string) []string {
	var out []string
	for _, r := range roots {
		out = appendUnique(out, strings.TrimSuffix(r, pluginsGlob))
	}
	return out
}

// Discover lists the skills in roots: every folder (or symlink to one) holding a SKILL.md or a
// skillrun.yaml. Missing roots are skipped.
func Discover(h HostFS, roots []string) []FoundSkill {
	var out []FoundSkill
	seen := map[string]bool{}
	scan := func(root string) {
		entries, err := h.ReadDir(root)
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.Type()&fs.ModeSymlink == 0 && !e.IsDir() {
				continue
			}
			dir := path.Join(root, e.Name())
			if seen[dir] || checkFolderName(e.Name()) != nil {
				continue
			}
			if !h.IsFile(dir+"/SKILL.md") && !h.IsFile(dir+"/"+ManifestFile) {
				continue
			}
			real, err := h.RealPath(dir)
			if err != nil || !h.IsDir(real) {
				continue
			}
			seen[dir] = true
			out = append(out, FoundSkill{Name: e.Name(), Dir: dir, Source: real, Root: root})
		}
	}
	for _, r := range roots {
		if !strings.HasSuffix(r, pluginsGlob) {
			scan(r)
			continue
		}
		// Plugins nest their skills a few folders down (marketplace/plugin/version/skills).
		var walk func(dir string, depth int)
		walk = func(dir string, depth int) {
			entries, err := h.ReadDir(dir)
			if err != nil || depth > 5 {
				return
			}
			for _, e := range entries {
				if !e.IsDir() {
					continue
				}
				sub := path.Join(dir, e.Name())
				if e.Name() == "skills" {
					scan(sub)
					continue
				}
				walk(sub, depth+1)
			}
		}
		walk(strings.TrimSuffix(r, pluginsGlob), 0)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dir < out[j].Dir })
	return out
}

// Attribution is how a command was tied to a skill.
type Attribution struct {
	Skill *FoundSkill
	// By says what named the skill: "--skill", "--skill-dir", "argument /path", "cwd".
	By string
}

// Attribute finds the skill a command belongs to: the one named explicitly, else the one whose
// folder holds the program, a path argument (relative ones resolved against cwd) or the cwd.
// A command that names two different skills is refused. nil means an agent command.
func Attribute(h HostFS, cmd Command, cwd, home string, skills []FoundSkill, explicit *FoundSkill, by string) (*Attribution, error) {
	var found *Attribution
	claim := func(s *FoundSkill, how string) error {
		if found == nil {
			found = &Attribution{Skill: s, By: how}
			return nil
		}
		if found.Skill.Source == s.Source {
			return nil
		}
		return fmt.Errorf("%w: the command names two skills: %s (%s, by %s) and %s (%s, by %s); run one skill per command",
			ErrAttribution, found.Skill.Name, found.Skill.Dir, found.By, s.Name, s.Dir, how)
	}
	if explicit != nil {
		if err := claim(explicit, by); err != nil {
			return nil, err
		}
	}
	for _, c := range commandPaths(cmd, cwd, home) {
		if s := skillAt(h, skills, c); s != nil {
			if err := claim(s, "argument "+c); err != nil {
				return nil, err
			}
		}
	}
	if found == nil {
		if s := skillAt(h, skills, cwd); s != nil {
			found = &Attribution{Skill: s, By: "cwd " + cwd}
		}
	}
	return found, nil
}

// skillAt returns the skill whose folder (as found, or its real path) holds p.
func skillAt(h HostFS, skills []FoundSkill, p string) *FoundSkill {
	for i := range skills {
		if within(p, skills[i].Dir) {
			return &skills[i]
		}
	}
	real, err := h.RealPath(p)
	if err != nil {
		return nil
	}
	for i := range skills {
		if within(real, skills[i].Source) {
			s := skills[i]
			if !within(p, s.Dir) {
				// Reached through another path: show the skill at its real folder.
				s.Dir = s.Source
			}
			return &s
		}
	}
	return nil
}

// commandPaths returns the path-like words of a command, absolute and clean: the program and
// arguments that contain a slash, or for a shell string every word of it that does. "~/" and
// "$HOME/" are expanded; relative paths are resolved against cwd.
func commandPaths(cmd Command, cwd, home string) []string {
	var words []string
	if cmd.Shell != nil {
		words = shellWords(*cmd.Shell)
	}
	words = append(words, cmd.Argv...)
	var out []string
	for _, w := range words {
		if i := strings.IndexByte(w, '='); i > 0 && !strings.Contains(w[:i], "/") {
			w = w[i+1:] // VAR=/path and --flag=/path
		}
		switch {
		case strings.HasPrefix(w, "~/"):
			w = home + w[1:]
		case strings.HasPrefix(w, "$HOME/"):
			w = home + w[5:]
		case strings.HasPrefix(w, "${HOME}/"):
			w = home + w[7:]
		}
		if !strings.Contains(w, "/") || strings.Contains(w, "://") || strings.ContainsRune(w, 0) {
			continue
		}
		if !path.IsAbs(w) {
			w = path.Join(cwd, w)
		}
		out = appendUnique(out, path.Clean(w))
	}
	return out
}

// shellWords splits a shell string into rough words: good enough to find paths, never used to
// run anything.
func shellWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return strings.ContainsRune(" \t\n;|&()<>`'\"", r)
	})
}
