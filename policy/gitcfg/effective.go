package gitcfg

import (
	"path"
	"strings"
)

// Repo says where a repository's parts are on the host.
type Repo struct {
	// Worktree is the top of the working tree; empty for a bare repository.
	Worktree string
	// GitDir is the repository's git folder for this worktree; CommonDir the folder shared by
	// all its worktrees (the same as GitDir unless this is a linked worktree).
	GitDir    string
	CommonDir string
}

// Env is what git's configuration depends on outside the repository.
type Env struct {
	Home string
	// XDGConfigHome is $XDG_CONFIG_HOME; empty means ~/.config.
	XDGConfigHome string
	// SystemConfig is the system-wide file; empty means /etc/gitconfig.
	SystemConfig string
	// ReadFile reads a file; an error that is not "does not exist" is a problem to report.
	ReadFile func(string) ([]byte, error)
	// IsNotExist says an error of ReadFile means the file does not exist.
	IsNotExist func(error) bool
}

// Config is a repository's configuration as git reads it: every level, includes in place.
type Config struct {
	Entries []Entry
	// Files are every config file git reads or would read for the repository, existing or not,
	// in order: writing any of them changes what git does.
	Files []string
	// Problems are files that could not be read or parsed, and includes too deep to follow.
	Problems []string
}

// maxIncludeDepth is git's own limit on nested includes.
const maxIncludeDepth = 10

// Load reads the configuration git uses in repo: system, global (XDG, then ~/.gitconfig),
// the repository's config and its worktree's config.worktree, with their includes.
func Load(repo Repo, env Env) *Config {
	c := &Config{}
	sys := env.SystemConfig
	if sys == "" {
		sys = "/etc/gitconfig"
	}
	xdg := env.XDGConfigHome
	if xdg == "" && env.Home != "" {
		xdg = path.Join(env.Home, ".config")
	}
	files := []string{sys}
	if xdg != "" {
		files = append(files, path.Join(xdg, "git", "config"))
	}
	if env.Home != "" {
		files = append(files, path.Join(env.Home, ".gitconfig"))
	}
	common := repo.CommonDir
	if common == "" {
		common = repo.GitDir
	}
	if common != "" {
		files = append(files, path.Join(common, "config"))
	}
	if repo.GitDir != "" {
		// Read only when extensions.worktreeConfig is on; taken always, which protects more.
		files = append(files, path.Join(repo.GitDir, "config.worktree"))
	}
	for _, f := range files {
		c.read(f, repo, env, 0)
	}
	return c
}

func (c *Config) read(file string, repo Repo, env Env, depth int) {
	c.Files = appendUnique(c.Files, file)
	if depth > maxIncludeDepth {
		c.Problems = append(c.Problems, file+": includes nested deeper than git follows")
		return
	}
	b, err := env.ReadFile(file)
	if err != nil {
		if env.IsNotExist == nil || !env.IsNotExist(err) {
			c.Problems = append(c.Problems, file+": "+err.Error())
		}
		return
	}
	entries, err := Parse(file, b)
	if err != nil {
		c.Problems = append(c.Problems, err.Error())
	}
	for _, e := range entries {
		c.Entries = append(c.Entries, e)
		inc, ok := includePath(e, repo, env)
		if !ok {
			continue
		}
		if !path.IsAbs(inc) {
			inc = path.Join(path.Dir(file), inc)
		}
		c.read(path.Clean(inc), repo, env, depth+1)
	}
}

// includePath returns the file an include entry names, when git could follow it. A condition
// this package cannot decide (the branch checked out, the remotes' URLs) counts as true.
func includePath(e Entry, repo Repo, env Env) (string, bool) {
	if e.NoValue || e.Value == "" {
		return "", false
	}
	switch {
	case e.Key == "include.path":
	case strings.HasPrefix(e.Key, "includeif.") && strings.HasSuffix(e.Key, ".path"):
		cond := strings.TrimSuffix(strings.TrimPrefix(e.Key, "includeif."), ".path")
		if !conditionMayHold(cond, e.File, repo, env) {
			return "", false
		}
	default:
		return "", false
	}
	return expandHome(e.Value, env.Home), true
}

func conditionMayHold(cond, file string, repo Repo, env Env) bool {
	fold := false
	var pat string
	switch {
	case strings.HasPrefix(cond, "gitdir:"):
		pat = strings.TrimPrefix(cond, "gitdir:")
	case strings.HasPrefix(cond, "gitdir/i:"):
		pat, fold = strings.TrimPrefix(cond, "gitdir/i:"), true
	default:
		return true // onbranch:, hasconfig:remote.*.url: and future conditions: assume they hold
	}
	if repo.GitDir == "" {
		return true
	}
	switch {
	case strings.HasPrefix(pat, "~/"):
		pat = expandHome(pat, env.Home)
	case strings.HasPrefix(pat, "./"):
		pat = path.Join(path.Dir(file), pat[2:])
	case !path.IsAbs(pat):
		pat = "**/" + pat
	}
	if strings.HasSuffix(pat, "/") {
		pat += "**"
	}
	dir := repo.GitDir
	if fold {
		pat, dir = strings.ToLower(pat), strings.ToLower(dir)
	}
	// git matches the git folder with and without a trailing slash.
	return wildmatch(pat, dir) || wildmatch(pat, dir+"/")
}

// wildmatch matches git's path globs: * within one path element, ** across elements, ? one
// character; [classes] are taken as matching anything, which errs toward protecting.
func wildmatch(pat, s string) bool {
	for len(pat) > 0 {
		switch {
		case strings.HasPrefix(pat, "**"):
			rest := strings.TrimPrefix(strings.TrimPrefix(pat, "**"), "/")
			for i := 0; i <= len(s); i++ {
				if (i == 0 || s[i-1] == '/' || rest == "") && wildmatch(rest, s[i:]) {
					return true
				}
			}
			return false
		case pat[0] == '*':
			for i := 0; i <= len(s); i++ {
				if wildmatch(pat[1:], s[i:]) {
					return true
				}
				if i < len(s) && s[i] == '/' {
					return false
				}
			}
			return false
		case pat[0] == '[':
			end := strings.IndexByte(pat, ']')
			if end < 0 || len(s) == 0 {
				return false
			}
			pat, s = pat[end+1:], s[1:]
		case pat[0] == '?':
			if len(s) == 0 || s[0] == '/' {
				return false
			}
			pat, s = pat[1:], s[1:]
		default:
			if len(s) == 0 || s[0] != pat[0] {
				return false
			}
			pat, s = pat[1:], s[1:]
		}
	}
	return len(s) == 0
}

// HooksDir is one folder git may run hooks from, and why.
type HooksDir struct {
	Path string
	// Why is "core.hooksPath = .husky (/ws/.git/config:3)" or "the default hooks folder".
	Why string
	// Effective says this is the value in force; the others may be, through an include whose
	// condition could not be decided, or were overridden by a later level.
	Effective bool
}

// Hooks returns the folders git may run hooks from in repo: the effective core.hooksPath, every
// other value any level or include sets (a conditional include may put it in force), and the
// default hooks folder of the common git folder. Relative values are taken from the top of the
// working tree, where git runs hooks (the git folder for a bare repository).
func (c *Config) Hooks(repo Repo, env Env) []HooksDir {
	common := repo.CommonDir
	if common == "" {
		common = repo.GitDir
	}
	base := repo.Worktree
	if base == "" {
		base = repo.GitDir
	}
	var out []HooksDir
	last := -1
	for i, e := range c.Entries {
		if e.Key == "core.hookspath" {
			last = i
		}
	}
	resolve := func(v string) string {
		p := expandHome(v, env.Home)
		if !path.IsAbs(p) {
			p = path.Join(base, p)
		}
		return path.Clean(p)
	}
	effective := ""
	if last >= 0 && c.Entries[last].Value != "" {
		effective = resolve(c.Entries[last].Value)
	}
	seen := map[string]bool{}
	for _, e := range c.Entries {
		if e.Key != "core.hookspath" || e.NoValue || e.Value == "" {
			continue
		}
		p := resolve(e.Value)
		if seen[p] {
			continue
		}
		seen[p] = true
		why := "core.hooksPath = " + e.Value + " (" + e.File + ":" + itoa(e.Line) + ")"
		out = append(out, HooksDir{Path: p, Why: why, Effective: p == effective})
	}
	if common != "" {
		def := path.Join(common, "hooks")
		if !seen[def] {
			out = append(out, HooksDir{Path: def, Why: "the default hooks folder", Effective: effective == ""})
		}
	}
	return out
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
