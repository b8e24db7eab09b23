package wstree

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/gitcfg"
)

// Neutralised is something a command left that host tools would run, and what was done to it so
// that they do not, with the command that undoes it.
type Neutralised struct {
	Path string
	// What the command left: "executable hook", "core.fsmonitor = ./x (git runs it …)", …
	What string
	// Done is what skillrun did; Undo the command that restores it.
	Done, Undo string
}

// disabledSuffix marks what skillrun moved out of the way: the name git and the agents look for
// no longer matches, and the content is kept for the developer.
const disabledSuffix = ".skillrun-disabled"

// After checks the workspace again once a command has ended: a repository the command created
// (none of before's) gets its executable hooks made non-executable and its config stripped of
// the keys that make git run a program (the original kept beside it); a file or folder that
// tools obey, created at a depth the run could not guard (a nested CLAUDE.md), is renamed out of
// their way. Everything it does can be undone with the command it reports.
func After(before *Inspection, workspace string, env Env, names []string, cacheFile string) ([]Neutralised, *Inspection) {
	now := Inspect(workspace, env, names, cacheFile)
	known := map[string]bool{}
	for _, g := range before.Repos {
		known[g.DotGit] = true
	}
	var out []Neutralised
	for _, g := range now.Repos {
		if known[g.DotGit] || g.GitDir == "" {
			continue
		}
		out = append(out, neutraliseRepo(g, workspace)...)
	}
	found := map[string]bool{}
	for _, f := range before.NestedFiles {
		found[f] = true
	}
	for _, f := range now.NestedFiles {
		if found[f] {
			continue
		}
		to := f + disabledSuffix
		if _, err := os.Lstat(to); err == nil {
			to = f + disabledSuffix + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		}
		if err := os.Rename(f, to); err != nil {
			out = append(out, Neutralised{Path: f, What: "a file agents obey, created by the command", Done: "could not move it: " + err.Error()})
			continue
		}
		out = append(out, Neutralised{Path: f, What: "a file agents obey, created by the command",
			Done: "renamed to " + filepath.Base(to), Undo: "mv " + shellQuote(to) + " " + shellQuote(f)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, now
}

// neutraliseRepo disarms a repository the command created inside the workspace. Its git folder
// must lie in the workspace too: one elsewhere (a gitfile naming another repository) is that
// repository's, protected or not by its own rules.
func neutraliseRepo(g policy.GitRepo, workspace string) []Neutralised {
	var out []Neutralised
	for _, dir := range uniq(g.GitDir, g.CommonDir) {
		if !within(dir, workspace) {
			continue
		}
		hooks := filepath.Join(dir, "hooks")
		ents, _ := os.ReadDir(hooks)
		for _, e := range ents {
			p := filepath.Join(hooks, e.Name())
			if strings.HasSuffix(e.Name(), ".sample") || !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if err != nil || fi.Mode().Perm()&0o111 == 0 {
				continue
			}
			if err := unix.Fchmodat(unix.AT_FDCWD, p, uint32(fi.Mode().Perm()&^0o111), 0); err != nil {
				out = append(out, Neutralised{Path: p, What: "an executable hook in a repository the command created", Done: "could not disable it: " + err.Error()})
				continue
			}
			out = append(out, Neutralised{Path: p, What: "an executable hook in a repository the command created",
				Done: "made it non-executable (git skips it)", Undo: "chmod +x " + shellQuote(p)})
		}
		for _, name := range []string{"config", "config.worktree"} {
			out = append(out, neutraliseConfig(filepath.Join(dir, name))...)
		}
	}
	return out
}

// neutraliseConfig rewrites a config without the entries that make git run a program, keeping
// the original beside it.
func neutraliseConfig(file string) []Neutralised {
	b, err := readSmall(file)
	if err != nil {
		return nil
	}
	entries, perr := gitcfg.Parse(file, b)
	runners := gitcfg.Runners(entries)
	if len(runners) == 0 && perr == nil {
		return nil
	}
	keep := keptEntries(entries, runners)
	kept := file + disabledSuffix
	if err := os.Rename(file, kept); err != nil {
		return []Neutralised{{Path: file, What: "a config that makes git run programs", Done: "could not move it: " + err.Error()}}
	}
	if err := os.WriteFile(file, []byte(gitcfg.Format(keep)), 0o644); err != nil {
		os.Rename(kept, file)
		return []Neutralised{{Path: file, What: "a config that makes git run programs", Done: "could not rewrite it: " + err.Error()}}
	}
	var what []string
	for _, r := range runners {
		what = append(what, fmt.Sprintf("%s = %q (%s)", r.Key, r.Value, r.Why))
	}
	if perr != nil {
		what = append(what, "a part git might read differently: "+perr.Error())
	}
	return []Neutralised{{Path: file, What: strings.Join(what, "; "),
		Done: "rewrote it without those keys; the original is " + filepath.Base(kept),
		Undo: "mv " + shellQuote(kept) + " " + shellQuote(file)}}
}

func keptEntries(entries []gitcfg.Entry, runners []gitcfg.Runner) []gitcfg.Entry {
	drop := map[string]bool{}
	for _, r := range runners {
		drop[r.File+":"+strconv.Itoa(r.Line)+":"+r.Key] = true
	}
	var out []gitcfg.Entry
	for _, e := range entries {
		if !drop[e.File+":"+strconv.Itoa(e.Line)+":"+e.Key] {
			out = append(out, e)
		}
	}
	return out
}

func uniq(a, b string) []string {
	if a == b || b == "" {
		return []string{a}
	}
	return []string{a, b}
}

func within(p, base string) bool { return p == base || strings.HasPrefix(p, base+"/") }

// shellQuote quotes a path for a command the developer copies.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+~") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
