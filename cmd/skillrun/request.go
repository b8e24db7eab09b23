package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
)

// buildRequest gathers what policy.Compile needs from the flags, the process and the file system.
func buildRequest(c *cli.Context) (policy.Request, error) {
	var r policy.Request
	words := commandWords(c)
	if c.IsSet("c") {
		s := c.String("c")
		r.Command = policy.Command{Shell: &s, Argv: words}
	} else {
		if len(words) == 0 {
			return r, withHints(exitFailed, errors.New("no command given"),
				"give one after --: skillrun -- CMD [ARGS...], or a shell string: skillrun -c 'STRING'")
		}
		r.Command = policy.Command{Argv: words}
	}
	if err := refuseUnimplemented(c); err != nil {
		return r, err
	}
	cwd, err := unix.Getwd()
	if err != nil {
		return r, withHints(exitFailed, fmt.Errorf("cannot read the current directory: %v", err),
			"cd to a directory that exists and that you can read")
	}
	r.Cwd = cwd
	if r.User, err = currentUser(); err != nil {
		return r, err
	}
	if r.Home, err = homeDir(); err != nil {
		return r, err
	}
	r.ConfigDir = xdgDir("XDG_CONFIG_HOME", r.Home, ".config")
	r.StateDir = xdgDir("XDG_STATE_HOME", r.Home, ".local/state")
	if r.Workspace, err = workspace(c.String("workspace"), cwd); err != nil {
		return r, err
	}
	r.Environ = os.Environ()
	r.Profile = c.String("profile")
	r.Timeout = c.Duration("timeout")
	if r.Timeout < 0 {
		return r, withHints(exitFailed, fmt.Errorf("--timeout %s is negative", r.Timeout), "give a positive duration, e.g. --timeout 2m")
	}
	return r, nil
}

// refuseUnimplemented fails closed on inputs a later version gives meaning to: running without the
// skill's manifest or the developer's policy would be a silently different run than asked for.
func refuseUnimplemented(c *cli.Context) error {
	if c.String("skill") != "" || c.String("skill-dir") != "" {
		return withHints(exitFailed, errors.New("per-skill capabilities (--skill, --skill-dir, SKILLRUN_SKILL) are not supported by this version yet"),
			"run the command with a built-in profile instead: skillrun --profile untrusted -- CMD")
	}
	pol := c.String("policy")
	if pol == "" {
		home, _ := homeDir()
		pol = filepath.Join(xdgDir("XDG_CONFIG_HOME", home, ".config"), "skillrun", "policy.yaml")
		if _, err := os.Stat(pol); err != nil {
			return nil
		}
	}
	return withHints(exitFailed, fmt.Errorf("developer policies are not supported by this version yet (%s)", pol),
		"move the file aside until skillrun supports it, or unset SKILLRUN_POLICY")
}

func currentUser() (policy.User, error) {
	u := policy.User{UID: os.Getuid(), GID: os.Getgid()}
	if pw, err := user.LookupId(fmt.Sprint(u.UID)); err == nil {
		u.Name = pw.Username
	} else if n := os.Getenv("USER"); n != "" {
		u.Name = n
	} else {
		u.Name = fmt.Sprint(u.UID)
	}
	return u, nil
}

func homeDir() (string, error) {
	h := os.Getenv("HOME")
	if h == "" {
		if pw, err := user.Current(); err == nil {
			h = pw.HomeDir
		}
	}
	if !filepath.IsAbs(h) {
		return "", withHints(exitFailed, fmt.Errorf("no absolute home directory (HOME=%q)", h), "set HOME to your home directory")
	}
	return filepath.Clean(h), nil
}

func xdgDir(env, home, def string) string {
	if d := os.Getenv(env); filepath.IsAbs(d) {
		return filepath.Clean(d)
	}
	return filepath.Join(home, def)
}

// workspace resolves --workspace, or finds the git root containing cwd, else cwd. Symlinks are
// resolved so the sandbox binds the real directory.
func workspace(flag, cwd string) (string, error) {
	if flag != "" {
		abs, err := filepath.Abs(flag)
		if err == nil {
			abs, err = filepath.EvalSymlinks(abs)
		}
		if err != nil {
			return "", withHints(exitFailed, fmt.Errorf("workspace %s: %v", flag, errors.Unwrap(err)), "give an existing directory: skillrun --workspace DIR -- CMD")
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return "", withHints(exitFailed, fmt.Errorf("workspace %s is not a directory", flag), "give an existing directory: skillrun --workspace DIR -- CMD")
		}
		return abs, nil
	}
	for d := cwd; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			if d == "/" {
				break
			}
			return d, nil
		}
		if d == "/" {
			break
		}
	}
	return cwd, nil
}
