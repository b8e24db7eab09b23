package gitcfg

import (
	"path"
	"strings"
)

// Runner is a config entry that makes git run a program, or obey another file, on the host.
type Runner struct {
	Entry
	// Why says what git does with it, in plain words.
	Why string
}

// exactRunners are keys whose value git runs (or follows) as they are named.
var exactRunners = map[string]string{
	"core.fsmonitor":             "git runs it as a file system monitor on every status",
	"core.hookspath":             "git runs the hooks in that folder",
	"core.sshcommand":            "git runs it for every ssh transfer",
	"core.pager":                 "git pipes its output through it",
	"core.editor":                "git runs it for commit messages",
	"core.askpass":               "git runs it to ask for passwords",
	"core.gitproxy":              "git runs it for git:// connections",
	"core.worktree":              "git treats another folder as the working tree",
	"diff.external":              "git runs it for every diff",
	"credential.helper":          "git runs it for credentials",
	"sequence.editor":            "git runs it for interactive rebases",
	"gpg.program":                "git runs it to sign and verify",
	"interactive.difffilter":     "git runs it for interactive adds",
	"include.path":               "git reads another config file",
	"protocol.allow":             "git may run ext:: transports (commands)",
	"uploadpack.packobjectshook": "git runs it when serving fetches",
	"web.browser":                "git runs it to open pages",
}

// suffixRunners are keys of named subsections whose value git runs: filter.<driver>.clean, …
var suffixRunners = map[string]string{
	"clean":         "git runs it on add (a filter driver)",
	"smudge":        "git runs it on checkout (a filter driver)",
	"process":       "git runs it as a long-running filter",
	"textconv":      "git runs it to show diffs",
	"command":       "git runs it for diffs",
	"driver":        "git runs it to merge",
	"helper":        "git runs it for credentials",
	"program":       "git runs it to sign and verify",
	"cmd":           "git runs it",
	"uploadpack":    "git runs it on the remote end of a local fetch",
	"receivepack":   "git runs it on the remote end of a local push",
	"insteadof":     "git fetches from another URL instead",
	"pushinsteadof": "git pushes to another URL instead",
}

// Runners lists the entries of c (or of any entries) that make git run something or follow
// another file.
func Runners(entries []Entry) []Runner {
	var out []Runner
	for _, e := range entries {
		if why, ok := runs(e); ok {
			out = append(out, Runner{Entry: e, Why: why})
		}
	}
	return out
}

func runs(e Entry) (string, bool) {
	k := e.Key
	if why, ok := exactRunners[k]; ok {
		if k == "core.fsmonitor" && isBool(e) {
			return "", false // the built-in monitor, not a program
		}
		return why, true
	}
	switch {
	case strings.HasPrefix(k, "alias.") && strings.HasPrefix(strings.TrimSpace(e.Value), "!"):
		return "git runs the alias in a shell", true
	case strings.HasPrefix(k, "pager.") && !isBool(e):
		return "git pipes that command's output through it", true
	case strings.HasPrefix(k, "includeif.") && strings.HasSuffix(k, ".path"):
		return "git reads another config file", true
	case strings.HasPrefix(k, "protocol.") && strings.HasSuffix(k, ".allow") && strings.Contains(k, "ext"):
		return "git may run ext:: transports (commands)", true
	}
	if i := strings.LastIndexByte(k, '.'); i > 0 && strings.Count(k, ".") >= 2 {
		if why, ok := suffixRunners[k[i+1:]]; ok {
			return why, true
		}
	}
	return "", false
}

func isBool(e Entry) bool {
	if e.NoValue {
		return true
	}
	switch strings.ToLower(strings.TrimSpace(e.Value)) {
	case "", "true", "false", "yes", "no", "on", "off", "1", "0":
		return true
	}
	return false
}

// Manager is a file a git hook manager reads to decide what the repository's hooks run.
type Manager struct {
	Path string
	Why  string
}

// managers maps a word a hook script uses to the files that tool reads, relative to the top of
// the working tree. Each tool is named in its comment with where its documentation says so.
var managers = []struct {
	word  string
	tool  string
	files []string
}{
	// pre-commit (pre-commit.com): the hook it installs runs the hooks listed in this file.
	{"pre-commit", "pre-commit", []string{".pre-commit-config.yaml", ".pre-commit-config.yml"}},
	// lefthook (github.com/evilmartians/lefthook, docs "configuration"): main and local configs,
	// with or without the dot, yml/yaml/json/toml, and the .lefthook/ and .config/ forms.
	{"lefthook", "lefthook", []string{"lefthook.yml", ".lefthook.yml", "lefthook.yaml", ".lefthook.yaml",
		"lefthook.json", ".lefthook.json", "lefthook.toml", ".lefthook.toml", "lefthook-local.yml",
		".lefthook-local.yml", "lefthook-local.yaml", ".lefthook-local.yaml", ".lefthook", ".config/lefthook.yml",
		".config/lefthook.yaml", ".config/lefthook-local.yml"}},
	// husky (typicode.github.io/husky): core.hooksPath is .husky/_, whose hooks run the user's
	// scripts in .husky/.
	{"husky", "husky", []string{".husky"}},
	// lint-staged (github.com/lint-staged/lint-staged): commands run on staged files. Its
	// package.json key cannot be protected without blocking every package.json edit.
	{"lint-staged", "lint-staged", []string{".lintstagedrc", ".lintstagedrc.json", ".lintstagedrc.yaml",
		".lintstagedrc.yml", ".lintstagedrc.mjs", ".lintstagedrc.cjs", ".lintstagedrc.js",
		"lint-staged.config.js", "lint-staged.config.mjs", "lint-staged.config.cjs"}},
	// overcommit (github.com/sds/overcommit): hooks configured in .overcommit.yml.
	{"overcommit", "overcommit", []string{".overcommit.yml"}},
	// commitlint (commitlint.js.org): loads a JS config, which is code, from the commit-msg hook.
	{"commitlint", "commitlint", []string{"commitlint.config.js", "commitlint.config.cjs", "commitlint.config.mjs",
		"commitlint.config.ts", ".commitlintrc", ".commitlintrc.json", ".commitlintrc.yml", ".commitlintrc.yaml",
		".commitlintrc.js", ".commitlintrc.cjs", ".commitlintrc.mjs", ".commitlintrc.ts"}},
}

// Managers returns the files the hook managers named in the given hook scripts read, as paths
// below worktree. scripts maps a hook's file name to its content.
func Managers(worktree string, scripts map[string][]byte) []Manager {
	var out []Manager
	seen := map[string]bool{}
	for name, body := range scripts {
		text := string(body)
		for _, m := range managers {
			if !strings.Contains(text, m.word) {
				continue
			}
			for _, f := range m.files {
				p := path.Join(worktree, f)
				if !seen[p] {
					seen[p] = true
					out = append(out, Manager{Path: p, Why: "the " + name + " hook runs " + m.tool + ", which reads it"})
				}
			}
		}
	}
	return out
}
