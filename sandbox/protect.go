package sandbox

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

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
	if err := ph.create(missingPlaceholders(protect)); err != nil {
		ph.release()
		return nil, err
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

// missingPlaceholders lists the directories to create so that every protected path exists: the
// missing path itself and its missing parents, parents first. A path below something that is not
// a directory (a file, a symlink) gets none: nothing can be created through it, and the symlink
// case is covered by the cover hook.
func missingPlaceholders(protect []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range protect {
		var chain []string
		for d := p; d != "/" && !seen[d]; d = filepath.Dir(d) {
			fi, err := os.Lstat(d)
			if err == nil {
				if !fi.IsDir() && d != p {
					chain = nil // blocked by a non-directory above p
				}
				break
			}
			if !errors.Is(err, os.ErrNotExist) {
				chain = nil
				break
			}
			chain = append(chain, d)
		}
		for i := len(chain) - 1; i >= 0; i-- {
			seen[chain[i]] = true
			out = append(out, chain[i])
		}
	}
	return out
}

// commondirSelf is what the placeholder of a missing .git/commondir holds: "the common folder is
// this one", which git treats exactly like no commondir at all. A directory there would break
// git; a commondir the command could create would point git on the host at a config and hooks
// of the command's choosing.
const commondirSelf = ".\n"

func isCommondir(p string) bool {
	return filepath.Base(p) == "commondir" && filepath.Base(filepath.Dir(p)) == ".git"
}

// createEmptyFile holds a missing .git: a directory there would look like a repository to go's
// VCS stamping and to git itself; an empty file is no repository to either, and still cannot be
// replaced by one while the run lasts.
func createEmptyFile(p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o444)
	if err != nil {
		return err
	}
	return f.Close()
}

func createCommondir(p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(commondirSelf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// create makes the placeholder directories, parents before children, and records each one it
// made (one that appeared meanwhile is not ours and is not recorded).
func (ph *placeholders) create(dirs []string) error {
	var mu sync.Mutex
	var firstErr error
	parents := map[string]bool{} // placeholders that others go inside: always directories
	for _, d := range dirs {
		parents[filepath.Dir(d)] = true
	}
	byLevel(dirs, false, func(d string) {
		var err error
		switch {
		case isCommondir(d):
			err = createCommondir(d)
		case filepath.Base(d) == ".git" && !parents[d]:
			err = createEmptyFile(d)
		default:
			err = os.Mkdir(d, 0o755)
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			ph.created = append(ph.created, d)
		case !errors.Is(err, os.ErrExist) && firstErr == nil:
			firstErr = fmt.Errorf("%w: placeholder for protected %s: %v", ErrSetup, d, err)
		}
	})
	return firstErr
}

// byLevel calls fn for every path, the paths of one depth in parallel and the depths in order
// (deepest first when deepestFirst). Each call is a journalled metadata operation of ~0.3 ms;
// one by one, a dozen of them would add milliseconds to every run.
func byLevel(paths []string, deepestFirst bool, fn func(string)) {
	levels := map[int][]string{}
	deepest := 0
	for _, p := range paths {
		n := strings.Count(p, "/")
		levels[n] = append(levels[n], p)
		deepest = max(deepest, n)
	}
	for i := 0; i <= deepest; i++ {
		n := i
		if deepestFirst {
			n = deepest - i
		}
		var wg sync.WaitGroup
		for _, p := range levels[n] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fn(p)
			}()
		}
		wg.Wait()
	}
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
	byLevel(paths, true, func(p string) {
		if isCommondir(p) {
			if b, err := os.ReadFile(p); err == nil && string(b) == commondirSelf {
				os.Remove(p)
			}
			return
		}
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
			os.Remove(p) // an empty file placeholder (.git)
			return
		}
		unix.Rmdir(p) // placeholders are directories; fails, as it should, when not empty
	})
	os.Remove(ph.list)
}
