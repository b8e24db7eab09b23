package wstree

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/gitcfg"
)

// Inspection is what a workspace holds that host tools run or obey.
type Inspection struct {
	Repos       []policy.GitRepo
	NestedFiles []string
	Unchecked   []string
	// Dirs and Read are the walk's counts (see Result).
	Dirs, Read int
}

// Env says where the caller's git configuration lives.
type Env struct {
	Home, XDGConfigHome string
}

// CacheFile is where the walk of workspace keeps its cache under skillrun's state root.
func CacheFile(stateRoot, workspace string) string {
	sum := sha256.Sum256([]byte(workspace))
	return filepath.Join(stateRoot, "walks", hex.EncodeToString(sum[:12]))
}

// Inspect walks the workspace and reads, for every repository found (its own included), what
// git would run or obey there.
func Inspect(workspace string, env Env, names []string, cacheFile string) *Inspection {
	set := map[string]bool{}
	for _, n := range names {
		set[n] = true
	}
	res := Walk(Options{Root: workspace, Names: set, CacheFile: cacheFile})
	in := &Inspection{NestedFiles: res.Found, Unchecked: res.Unchecked, Dirs: res.Dirs, Read: res.Read}
	for _, r := range res.Repos {
		in.Repos = append(in.Repos, InspectRepo(r, env))
	}
	return in
}

// maxGitFile bounds what is read of a gitfile, a commondir or a hook script.
const maxGitFile = 64 << 10

// InspectRepo reads what git would run or obey in one repository.
func InspectRepo(r Repo, env Env) policy.GitRepo {
	g := policy.GitRepo{Worktree: r.Dir, DotGit: r.DotGit}
	gitDir, err := resolveDotGit(r)
	if err != nil {
		g.Problems = append(g.Problems, r.DotGit+": "+err.Error())
		return g
	}
	g.GitDir, g.CommonDir = gitDir, gitDir
	if b, err := readSmall(filepath.Join(gitDir, "commondir")); err == nil {
		c := strings.TrimSpace(string(b))
		if !filepath.IsAbs(c) {
			c = filepath.Join(gitDir, c)
		}
		g.CommonDir = filepath.Clean(c)
	}
	repo := gitcfg.Repo{Worktree: r.Dir, GitDir: g.GitDir, CommonDir: g.CommonDir}
	genv := gitcfg.Env{Home: env.Home, XDGConfigHome: env.XDGConfigHome, ReadFile: readSmall,
		IsNotExist: func(err error) bool { return errors.Is(err, fs.ErrNotExist) }}
	cfg := gitcfg.Load(repo, genv)
	g.ConfigFiles = cfg.Files
	g.Problems = append(g.Problems, cfg.Problems...)
	g.Hooks = cfg.Hooks(repo, genv)
	scripts := map[string][]byte{}
	dirs := []string{}
	for _, h := range g.Hooks {
		dirs = append(dirs, h.Path)
		if filepath.Base(h.Path) == "_" {
			// husky's layout: core.hooksPath is .husky/_, whose generated hooks run the
			// scripts of the same names in the folder above.
			parent := filepath.Dir(h.Path)
			dirs = append(dirs, parent)
			g.Managers = append(g.Managers, gitcfg.Manager{Path: parent,
				Why: "the hooks in " + h.Path + " run the scripts in it (husky's layout)"})
		}
	}
	for _, dir := range dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for i, e := range ents {
			if i >= 64 || !e.Type().IsRegular() || strings.HasSuffix(e.Name(), ".sample") {
				continue
			}
			if b, err := readSmall(filepath.Join(dir, e.Name())); err == nil {
				scripts[e.Name()] = b
			}
		}
	}
	g.Managers = append(g.Managers, gitcfg.Managers(r.Dir, scripts)...)
	return g
}

// resolveDotGit returns the git folder a .git entry names: itself when it is a folder, the
// "gitdir:" of a gitfile, the target of a link.
func resolveDotGit(r Repo) (string, error) {
	fi, err := os.Lstat(r.DotGit)
	if err != nil {
		return "", err
	}
	switch {
	case fi.IsDir():
		return r.DotGit, nil
	case fi.Mode()&os.ModeSymlink != 0:
		return filepath.EvalSymlinks(r.DotGit)
	case fi.Mode().IsRegular():
		b, err := readSmall(r.DotGit)
		if err != nil {
			return "", err
		}
		line, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
		if !ok {
			return "", errors.New("not a gitfile (no gitdir: line)")
		}
		d := strings.TrimSpace(line)
		if !filepath.IsAbs(d) {
			d = filepath.Join(r.Dir, d)
		}
		return filepath.Clean(d), nil
	}
	return "", errors.New("neither a folder, a gitfile nor a link")
}

// readSmall reads at most maxGitFile bytes of a regular file, without following a final link
// (a config planted as a link to a device or a FIFO must not hang the run).
func readSmall(p string) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			// A link: git follows it; read what it names, with the same care.
			t, terr := filepath.EvalSymlinks(p)
			if terr != nil {
				return nil, terr
			}
			if f, err = os.OpenFile(t, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err != nil {
				return nil, err
			}
		} else {
			return nil, err
		}
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	return io.ReadAll(io.LimitReader(f, maxGitFile))
}
