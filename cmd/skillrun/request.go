package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/sandbox/trace"
)

// buildRequest gathers what policy.Compile needs from the flags, the process and the file system.
// hashNow hashes an approved skill's folder here; a run leaves that to the sandbox, which hashes
// the folder once while it makes the copy the command runs from.
func buildRequest(c *cli.Context, hashNow bool) (policy.Request, error) {
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
	// --profile go --profile node, or --profile go,node: one view and toolchains beside it,
	// which policy.Compile tells apart.
	for _, v := range c.StringSlice("profile") {
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n == "" {
				continue
			}
			if r.Profile == "" {
				r.Profile = n
			} else {
				r.Toolchains = append(r.Toolchains, n)
			}
		}
	}
	r.Timeout = c.Duration("timeout")
	if r.Timeout < 0 {
		return r, withHints(exitFailed, fmt.Errorf("--timeout %s is negative", r.Timeout), "give a positive duration, e.g. --timeout 2m")
	}
	d := dirs{home: r.Home, config: r.ConfigDir, state: r.StateDir, cache: xdgDir("XDG_CACHE_HOME", r.Home, ".cache")}
	r.CacheDir = d.cache
	if r.Policy, r.PolicyFile, err = loadPolicy(c.String("policy"), d, r.Workspace); err != nil {
		return r, err
	}
	r.Binaries = ownBinaries()
	r.GitLinks, r.GitDirs = gitIndirection(r.Workspace)
	if _, err := os.Lstat(filepath.Join(r.Workspace, ".git")); errors.Is(err, os.ErrNotExist) {
		r.NoGit = true
	}
	trace.Mark("request: policy")
	if err := inspectWorkspace(&r); err != nil {
		return r, err
	}
	trace.Mark("request: workspace walk")
	roots := policy.SkillRoots(r.Home, r.Workspace, r.Policy)
	found := policy.Discover(hostFS{}, roots)
	r.SkillRoots = policy.RootDirs(roots)
	for _, f := range found {
		r.SkillDirs = append(r.SkillDirs, f.Source)
	}
	explicit, by, err := explicitSkill(c, found)
	if err != nil {
		return r, err
	}
	att, err := policy.Attribute(hostFS{}, r.Command, r.Cwd, r.Home, found, explicit, by)
	if err != nil {
		return r, withHints(exitRefused, err, "name the skill explicitly: skillrun --skill NAME -- CMD, or run each skill's command on its own")
	}
	if att != nil {
		if r.Skill, err = skillRequest(d, r.Policy, att.Skill, hashNow); err != nil {
			return r, err
		}
	}
	return r, nil
}

// explicitSkill resolves --skill NAME (or SKILLRUN_SKILL) and --skill-dir DIR.
func explicitSkill(c *cli.Context, found []policy.FoundSkill) (*policy.FoundSkill, string, error) {
	name, dir := c.String("skill"), c.String("skill-dir")
	var byDir *policy.FoundSkill
	if dir != "" {
		var err error
		if byDir, err = resolveSkillDir(dir, found, false); err != nil {
			return nil, "", withHints(exitFailed, fmt.Errorf("--skill-dir %w", err),
				"list the skills skillrun knows with: skillrun skills")
		}
	}
	if name == "" {
		return byDir, "--skill-dir", nil
	}
	var matches []policy.FoundSkill
	for _, f := range found {
		if f.Name == name && (len(matches) == 0 || matches[0].Source != f.Source) {
			matches = append(matches, f)
		}
	}
	switch {
	case byDir != nil && byDir.Name != name:
		return nil, "", withHints(exitFailed, fmt.Errorf("--skill %s and --skill-dir %s name different skills", name, dir), "give one of them")
	case byDir != nil:
		return byDir, "--skill-dir", nil
	case len(matches) == 0:
		return nil, "", withHints(exitFailed, fmt.Errorf("no skill named %s in the skill roots", name),
			"list the skills skillrun knows with: skillrun skills", "or name the folder: skillrun --skill-dir DIR -- CMD")
	case len(matches) > 1:
		return nil, "", withHints(exitFailed, fmt.Errorf("two skills are named %s: %s and %s", name, matches[0].Dir, matches[1].Dir),
			"name the folder instead: skillrun --skill-dir "+matches[0].Dir+" -- CMD")
	}
	return &matches[0], "--skill", nil
}

// skillRequest reads what policy needs about an attributed skill: its manifest, its approval,
// and, when approved and hashNow, its digest now (a mismatch is refused here with the changed
// files named).
func skillRequest(d dirs, pol *policy.DevPolicy, f *policy.FoundSkill, hashNow bool) (*policy.SkillRequest, error) {
	s := &policy.SkillRequest{Name: f.Name, Dir: f.Dir, Source: f.Source}
	var err error
	if s.Manifest, err = loadManifest(f.Source); err != nil {
		return nil, err
	}
	lock, err := loadLock(d)
	if err != nil {
		return nil, err
	}
	s.Lock = lock.Find(f.Source)
	if err := checkSkillSigner(pol, s); err != nil {
		return nil, err
	}
	if s.Lock == nil || !hashNow {
		return s, nil
	}
	now, err := hashSkill(f.Source)
	if err != nil {
		return nil, err
	}
	s.Digest = now.Digest()
	if s.Digest != s.Lock.Digest {
		return nil, changeError(d, f.Name, s.Lock, now)
	}
	return s, nil
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

// checkSkillSigner checks a skill's signature at every run: the statement is not part of the
// digest, so a swapped signature is only seen here. An approved skill is checked against the
// approved digest (the sandbox verifies the content against it) and must keep its signer.
func checkSkillSigner(pol *policy.DevPolicy, s *policy.SkillRequest) error {
	digest := ""
	if s.Lock != nil {
		digest = s.Lock.Digest
	} else if pol.RequiresSignature(s.Name) {
		now, err := hashSkill(s.Source)
		if err != nil {
			return err
		}
		digest = now.Digest()
	} else {
		return nil
	}
	signer, err := checkSignature(pol, s.Name, s.Source, digest)
	if err != nil {
		return err
	}
	if s.Lock != nil && s.Lock.Signer != "" && signer != s.Lock.Signer {
		return withHints(exitRefused, fmt.Errorf("skill %s was approved as signed by %s, and is now signed by %s", s.Name, s.Lock.Signer, orNone(signer)),
			"review it, then approve it again: skillrun approve "+s.Name)
	}
	return nil
}
