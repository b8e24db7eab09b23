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

// create makes the placeholder directories, siblings in parallel, parents before children, and
// records each one it made (one that appeared meanwhile is not ours and is not recorded).
func (ph *placeholders) create(dirs []string) error {
	byDepth := map[int][]string{}
	maxDepth := 0
	for _, d := range dirs {
		n := strings.Count(d, "/")
		byDepth[n] = append(byDepth[n], d)
		maxDepth = max(maxDepth, n)
	}
	for n := 0; n <= maxDepth; n++ {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		for _, d := range byDepth[n] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := os.Mkdir(d, 0o755)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ph.created = append(ph.created, d)
				case !errors.Is(err, os.ErrExist) && firstErr == nil:
					firstErr = fmt.Errorf("%w: placeholder for protected %s: %v", ErrSetup, d, err)
				}
			}()
		}
		wg.Wait()
		if firstErr != nil {
			return firstErr
		}
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
	// Each removal is a journalled metadata operation; doing them one by one costs several
	// milliseconds per run, so siblings go in parallel, deepest level first.
	byDepth := map[int][]string{}
	maxDepth := 0
	for _, p := range paths {
		d := strings.Count(p, "/")
		byDepth[d] = append(byDepth[d], p)
		maxDepth = max(maxDepth, d)
	}
	for d := maxDepth; d >= 0; d-- {
		var wg sync.WaitGroup
		for _, p := range byDepth[d] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				unix.Rmdir(p) // placeholders are directories; fails, as it should, when not empty
			}()
		}
		wg.Wait()
	}
	os.Remove(ph.list)
}
