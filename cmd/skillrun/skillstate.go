package main

// Reading and writing what skillrun knows about skills: the developer policy, the lock with its
// approved listings, manifests and digests. The decisions are policy's; this only does the I/O.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/trust"
)

// dirs are skillrun's own XDG folders.
type dirs struct {
	home, config, state, cache string
}

func xdgDirs() (dirs, error) {
	home, err := homeDir()
	if err != nil {
		return dirs{}, err
	}
	return dirs{
		home:   home,
		config: xdgDir("XDG_CONFIG_HOME", home, ".config"),
		state:  xdgDir("XDG_STATE_HOME", home, ".local/state"),
		cache:  xdgDir("XDG_CACHE_HOME", home, ".cache"),
	}, nil
}

func (d dirs) own() string      { return filepath.Join(d.config, "skillrun") }
func (d dirs) lockPath() string { return filepath.Join(d.own(), policy.LockFile) }

// listingPath is where the listing an approval was made from is kept, named by its digest so it
// proves its own integrity.
func (d dirs) listingPath(digest string) string {
	return filepath.Join(d.own(), "listings", strings.TrimPrefix(digest, "sha256:")+".txt")
}

// loadPolicy reads the developer policy: --policy/SKILLRUN_POLICY, else the default file when it
// exists. It is never read from the workspace.
func loadPolicy(flag string, d dirs, workspace string) (*policy.DevPolicy, string, error) {
	file, explicit := flag, flag != ""
	if !explicit {
		file = filepath.Join(d.own(), policy.PolicyFile)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, "", withHints(exitFailed, fmt.Errorf("policy %s: %v", file, err))
	}
	data, err := os.ReadFile(abs)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", withHints(exitFailed, fmt.Errorf("cannot read the policy: %v", err),
			"give a readable file with --policy FILE, or unset SKILLRUN_POLICY")
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil && workspace != "" && within(real, workspace) {
		return nil, "", withHints(exitFailed, fmt.Errorf("the policy %s lies inside the workspace %s: a repository must not grant itself rights", abs, workspace),
			"keep your policy in "+filepath.Join(d.own(), policy.PolicyFile))
	}
	p, err := policy.ParsePolicy(abs, data)
	if err != nil {
		return nil, "", err
	}
	return p, abs, nil
}

func within(p, base string) bool {
	return p == base || strings.HasPrefix(p, strings.TrimSuffix(base, "/")+"/")
}

// loadLock reads the lock; a missing one is empty.
func loadLock(d dirs) (*policy.Lock, error) {
	data, err := os.ReadFile(d.lockPath())
	if errors.Is(err, fs.ErrNotExist) {
		return &policy.Lock{Version: 1}, nil
	}
	if err != nil {
		return nil, withHints(exitFailed, fmt.Errorf("cannot read the lock: %v", err))
	}
	l, err := policy.ParseLock(d.lockPath(), data)
	if err != nil {
		return nil, withHints(exitFailed, err, "fix or remove the entry, then approve the skill again: skillrun approve NAME")
	}
	return l, nil
}

// updateLock applies change to the lock under an exclusive flock and replaces the file
// atomically, so concurrent approvals never lose one another.
func updateLock(d dirs, change func(*policy.Lock) error) error {
	if err := os.MkdirAll(d.own(), 0o700); err != nil {
		return err
	}
	guard, err := os.OpenFile(d.lockPath()+".flock", os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	defer guard.Close()
	if err := unix.Flock(int(guard.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	l, err := loadLock(d)
	if err != nil {
		return err
	}
	if err := change(l); err != nil {
		return err
	}
	data, err := l.Marshal()
	if err != nil {
		return err
	}
	return writeAtomic(d.lockPath(), data)
}

func writeAtomic(file string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// hashSkill computes the listing of a skill's real folder.
func hashSkill(source string) (*trust.Listing, error) {
	// os.Root keeps every open inside the folder even if an entry is swapped for a symlink
	// between the walk and the read.
	root, err := os.OpenRoot(source)
	if err != nil {
		return nil, withHints(exitRefused, fmt.Errorf("skill folder %s: %w", source, err))
	}
	defer root.Close()
	l, err := trust.Hash(root.FS(), trust.Options{})
	if err != nil {
		return nil, withHints(exitRefused, fmt.Errorf("skill folder %s: %w", source, err),
			"remove the offending entry from the skill folder, or reinstall the skill")
	}
	return l, nil
}

// loadManifest reads a skill's skillrun.yaml; nil when the folder has none.
func loadManifest(source string) (*policy.Manifest, error) {
	file := filepath.Join(source, policy.ManifestFile)
	fi, err := os.Lstat(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, withHints(exitRefused, fmt.Errorf("%s is not a regular file", file))
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return policy.ParseManifest(file, data)
}

// changeError names what changed in a skill since it was approved.
func changeError(d dirs, name string, locked *policy.LockedSkill, now *trust.Listing) error {
	msg := fmt.Sprintf("skill %s changed since it was approved (%s)", name, locked.Path)
	if data, err := os.ReadFile(d.listingPath(locked.Digest)); err == nil {
		if old, err := trust.ParseListing(data); err == nil && old.Digest() == locked.Digest {
			c := trust.Diff(old, now)
			var parts []string
			for _, p := range []struct {
				what  string
				files []string
			}{{"changed", c.Changed}, {"added", c.Added}, {"removed", c.Removed}} {
				if len(p.files) > 0 {
					parts = append(parts, p.what+": "+shortList(p.files, 8))
				}
			}
			if len(parts) > 0 {
				msg += ": " + strings.Join(parts, "; ")
			}
		}
	}
	return withHints(exitRefused, errors.New(msg),
		"review the changes, then approve it again: skillrun approve "+name)
}

func shortList(files []string, max int) string {
	if len(files) <= max {
		return strings.Join(files, ", ")
	}
	return strings.Join(files[:max], ", ") + fmt.Sprintf(" and %d more", len(files)-max)
}
