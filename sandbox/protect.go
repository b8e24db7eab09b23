package sandbox

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// A protected path that does not exist yet is held for the run by an empty placeholder directory
// on the host, bound read-only over itself, so the command can neither create nor replace it. The
// placeholders of a workspace are shared by all runs in it: each run holds a shared lock on the
// workspace for its whole life, and the last one to finish (the one that gets the exclusive lock)
// removes the placeholders that are still empty. A run that was killed leaves its placeholders
// listed, and the next last run removes them. Placeholders are directories even for names that
// are files when they exist (.envrc, CLAUDE.md): git neither shows nor adds an empty directory, so
// `git status` and `git add -A` inside or outside the sandbox never pick one up.
type placeholders struct {
	lock    *os.File
	list    string
	created []string
}

// holdPlaceholders creates the missing protected paths (and missing parents between an existing
// directory and them) and returns the handle that removes them again.
func holdPlaceholders(stateRoot, workspace string, protect []string) (*placeholders, error) {
	dir := filepath.Join(stateRoot, "workspaces")
	if err := ensurePrivateDir(dir); err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(workspace))
	base := filepath.Join(dir, hex.EncodeToString(sum[:12]))
	lock, err := os.OpenFile(base+".lock", os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrState, err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_SH); err != nil {
		lock.Close()
		return nil, fmt.Errorf("%w: %v", ErrState, err)
	}
	ph := &placeholders{lock: lock, list: base + ".placeholders"}
	for _, p := range protect {
		if err := ph.ensure(p); err != nil {
			ph.release()
			return nil, err
		}
	}
	if len(ph.created) > 0 {
		f, err := os.OpenFile(ph.list, os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			ph.release()
			return nil, fmt.Errorf("%w: %v", ErrState, err)
		}
		_, err = f.WriteString(strings.Join(ph.created, "\n") + "\n")
		f.Close()
		if err != nil {
			ph.release()
			return nil, fmt.Errorf("%w: %v", ErrState, err)
		}
	}
	return ph, nil
}

// ensure creates p (and its missing parents) as an empty placeholder unless something is there;
// an existing entry, whatever it is, is left alone.
func (ph *placeholders) ensure(p string) error {
	if _, err := os.Lstat(p); err == nil || !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	parent := filepath.Dir(p)
	if fi, err := os.Lstat(parent); errors.Is(err, os.ErrNotExist) {
		if err := ph.ensureDir(parent); err != nil {
			return err
		}
	} else if err != nil || !fi.IsDir() {
		// A parent that is a file or a symlink: nothing can be created below it through this
		// path; the symlink case is handled by binding over the resolved target.
		return nil
	}
	if err := ph.mkdir(p); err != nil {
		return err
	}
	ph.created = append(ph.created, p)
	return nil
}

func (ph *placeholders) ensureDir(p string) error {
	if _, err := os.Lstat(p); err == nil {
		return nil
	}
	if err := ph.ensureDir(filepath.Dir(p)); err != nil {
		return err
	}
	if err := ph.mkdir(p); err != nil {
		return err
	}
	ph.created = append(ph.created, p)
	return nil
}

func (ph *placeholders) mkdir(p string) error {
	if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%w: placeholder for protected %s: %v", ErrSetup, p, err)
	}
	return nil
}

// release drops this run's hold; the last run out removes every listed placeholder that is still
// empty (a file of size 0, a directory with no entries), deepest first.
func (ph *placeholders) release() {
	if ph == nil || ph.lock == nil {
		return
	}
	name := ph.lock.Name()
	ph.lock.Close() // drops the shared lock
	lock, err := os.OpenFile(name, os.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return
	}
	defer lock.Close()
	if unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return // another run is still inside; it cleans up
	}
	f, err := os.Open(ph.list)
	if err != nil {
		return
	}
	var paths []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p := sc.Text(); filepath.IsAbs(p) {
			paths = append(paths, p)
		}
	}
	f.Close()
	sort.Sort(sort.Reverse(sort.StringSlice(paths))) // children before parents
	for _, p := range paths {
		var st unix.Stat_t
		if unix.Lstat(p, &st) != nil {
			continue
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			if st.Size == 0 {
				os.Remove(p)
			}
		case unix.S_IFDIR:
			unix.Rmdir(p) // fails, as it should, when not empty
		}
	}
	os.Remove(ph.list)
}
