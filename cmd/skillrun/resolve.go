package main

// One way to read a NAME|DIR argument, shared by approve, verify, skills, scan, sign and
// --skill/--skill-dir: the lock keys approvals by a skill's real folder, so a name and every
// spelling of its folder (relative, absolute, through a symlink, with a trailing slash) must
// land on that same real folder, or one command approves what the next cannot find.

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/skillrun/skillrun/policy"
)

// isDirArg reports whether arg is written as a folder rather than a skill name: skill names are
// folder names, so they never hold a slash and are never "." or "..".
func isDirArg(arg string) bool {
	return strings.ContainsRune(arg, '/') || arg == "." || arg == ".."
}

// holdsSkill reports whether dir has what makes a folder a skill.
func holdsSkill(dir string) bool {
	return (hostFS{}).IsFile(filepath.Join(dir, "SKILL.md")) || (hostFS{}).IsFile(filepath.Join(dir, policy.ManifestFile))
}

// resolveSkillDir reads a folder argument. The answer's Source is the real folder (made
// absolute, cleaned, symlinks resolved) that the lock keys approvals by; when a discovered
// skill has that real folder, its name and place are returned, so the folder and the name mean
// the same skill. anyFolder accepts a folder that holds neither SKILL.md nor a manifest (scan).
func resolveSkillDir(arg string, found []policy.FoundSkill, anyFolder bool) (*policy.FoundSkill, error) {
	abs, err := filepath.Abs(arg)
	if err != nil {
		return nil, withHints(exitFailed, fmt.Errorf("%s: %v", arg, err))
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil || !(hostFS{}).IsDir(real) {
		for _, f := range found {
			if f.Source == abs {
				return &f, nil // an approved folder that is gone: verify reports it
			}
		}
		return nil, withHints(exitFailed, fmt.Errorf("%s is not a folder", arg))
	}
	for _, f := range found {
		if f.Source == real {
			return &f, nil
		}
	}
	if !anyFolder && !holdsSkill(real) {
		return nil, withHints(exitFailed, fmt.Errorf("%s is not a skill folder: it holds neither SKILL.md nor %s", arg, policy.ManifestFile))
	}
	return &policy.FoundSkill{Name: filepath.Base(abs), Dir: abs, Source: real}, nil
}

// matchSkills resolves arg to every skill it can mean: a folder argument to its one skill, a
// name to each distinct real folder among candidates with that name. A name that matches none
// but is a skill folder in the current directory is read as that folder, which is what typing
// the folder's name next to it means.
func matchSkills(arg string, candidates []policy.FoundSkill) ([]policy.FoundSkill, error) {
	if isDirArg(arg) {
		f, err := resolveSkillDir(arg, candidates, false)
		if err != nil {
			return nil, err
		}
		return []policy.FoundSkill{*f}, nil
	}
	var out []policy.FoundSkill
	seen := map[string]bool{}
	for _, f := range candidates {
		if f.Name == arg && !seen[f.Source] {
			seen[f.Source] = true
			out = append(out, f)
		}
	}
	if len(out) == 0 && (hostFS{}).IsDir(arg) && holdsSkill(arg) {
		return matchSkills("./"+arg, candidates)
	}
	return out, nil
}

// errNoSkill is a NAME|DIR argument that names no skill.
var errNoSkill = errors.New("no skill")

// resolveSkill resolves arg to exactly one skill; verb is the command, for the hints.
func resolveSkill(verb, arg string, candidates []policy.FoundSkill) (*policy.FoundSkill, error) {
	matches, err := matchSkills(arg, candidates)
	if err != nil {
		return nil, err
	}
	switch len(matches) {
	case 0:
		return nil, withHints(exitFailed, fmt.Errorf("%w named %s in the skill roots", errNoSkill, arg),
			"list the skills with: skillrun skills", "or give its folder: skillrun "+verb+" DIR")
	case 1:
		return &matches[0], nil
	}
	return nil, withHints(exitFailed, fmt.Errorf("two skills are named %s: %s and %s", arg, matches[0].Dir, matches[1].Dir),
		"give the folder: skillrun "+verb+" "+matches[0].Dir)
}

// lockedAsFound lists the lock's approvals as skills, for commands that also reach approved
// skills no skill root shows from here (another workspace's).
func lockedAsFound(lock *policy.Lock) []policy.FoundSkill {
	var out []policy.FoundSkill
	for _, s := range lock.Skills {
		out = append(out, policy.FoundSkill{Name: s.Name, Dir: s.Path, Source: s.Path})
	}
	return out
}
