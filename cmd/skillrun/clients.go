package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
)

// prepareClientFiles creates the files an agent client's wrapper writes through the sandbox: the
// plan binds them, and a bind needs an existing file. Claude Code's cwd file lives in the host's
// /tmp, where another user could have planted a link: it must be a regular file of the caller's,
// with no other name (a hard link to ~/.bashrc would otherwise become writable).
func prepareClientFiles(req *policy.Request, plan *policy.Plan) error {
	f := policy.ClaudeCwdFile(req)
	if f == "" || plan.Profile != policy.ClaudeCodeProfile {
		return nil
	}
	fd, err := unix.Open(f, unix.O_WRONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0o600)
	if err != nil {
		return withHints(exitFailed, fmt.Errorf("cannot prepare Claude Code's cwd file %s: %v", f, err),
			"remove it if it is not yours, then rerun: rm "+f)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return withHints(exitFailed, fmt.Errorf("cannot prepare Claude Code's cwd file %s: %v", f, err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != os.Getuid() || st.Nlink != 1 {
		return withHints(exitFailed, fmt.Errorf("refusing Claude Code's cwd file %s: not a regular file of yours with one name", f),
			"remove it if it is not yours, then rerun: rm "+f)
	}
	return nil
}

// ownBinaries are the paths of this skillrun binary: the file itself and the name it was
// started by, when that is a link.
func ownBinaries() []string {
	var out []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			out = append(out, real)
		}
		if !slices.Contains(out, exe) {
			out = append(out, exe)
		}
	}
	if filepath.IsAbs(os.Args[0]) && !slices.Contains(out, os.Args[0]) {
		out = append(out, os.Args[0])
	}
	return out
}

// gitIndirection finds a workspace's .git that is not a plain folder: a symlink, or a "gitdir:"
// file (worktrees, submodules). The link itself and the real git folder's control files are
// protected like .git/hooks and .git/config are.
func gitIndirection(ws string) (links, dirs []string) {
	dotgit := filepath.Join(ws, ".git")
	fi, err := os.Lstat(dotgit)
	if err != nil || fi.IsDir() {
		return nil, nil
	}
	var gitdir string
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		gitdir, err = filepath.EvalSymlinks(dotgit)
	case fi.Mode().IsRegular() && fi.Size() < 4096:
		var b []byte
		if b, err = os.ReadFile(dotgit); err == nil {
			line, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
			if !ok {
				return []string{dotgit}, nil
			}
			gitdir = strings.TrimSpace(line)
			if !filepath.IsAbs(gitdir) {
				gitdir = filepath.Join(ws, gitdir)
			}
			gitdir, err = filepath.EvalSymlinks(gitdir)
		}
	default:
		return []string{dotgit}, nil
	}
	if err != nil {
		return []string{dotgit}, nil
	}
	dirs = append(dirs, gitdir)
	if b, err := os.ReadFile(filepath.Join(gitdir, "commondir")); err == nil {
		common := strings.TrimSpace(string(b))
		if !filepath.IsAbs(common) {
			common = filepath.Join(gitdir, common)
		}
		if c, err := filepath.EvalSymlinks(common); err == nil && c != gitdir {
			dirs = append(dirs, c)
		}
	}
	return []string{dotgit}, dirs
}
