// Package wstree finds, in a workspace, what host tools later run or obey below its top: git
// repositories (a .git folder or gitfile at any depth) and files that tools read from any folder
// (a nested CLAUDE.md or AGENTS.md). skillrun protects them for a run, so it must know them before
// the run starts, and again after it, to find repositories the command made.
//
// A walk is bounded (folders, depth, time) and says what it did not check. It is cached per
// workspace: a folder whose inode and change time (ctime) are what they were when it was last read
// has the same entries, so a warm walk costs one statx per folder and reads only folders that
// changed. ctime cannot be set by a sandboxed command (utimes sets it to now, and the clock is not
// the command's to change), unlike mtime; a folder that changed less than a second before it was
// read is read again next time, so a change within the file system's timestamp granularity is
// never missed.
package wstree

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Options bound and shape one walk.
type Options struct {
	// Root is the folder to walk; it is not followed if it is a symlink.
	Root string
	// Names are entry names reported wherever they are found (besides .git).
	Names map[string]bool
	// Skip are folders not to walk into (read-only in the plan: nothing can be planted there).
	Skip []string
	// MaxDirs, MaxDepth and Budget bound the walk; zero takes the defaults.
	MaxDirs  int
	MaxDepth int
	Budget   time.Duration
	// CacheFile keeps what the walk read for the next one; empty means no cache.
	CacheFile string
}

// Default bounds: a workspace of 200,000 files has ~20,000 folders; a cold walk of that many
// measured ~60 ms here, a warm one ~4 ms.
const (
	DefaultMaxDirs  = 100_000
	DefaultMaxDepth = 64
	DefaultBudget   = 400 * time.Millisecond
)

// Repo is a repository found in the walk: Dir holds DotGit, a folder or a gitfile.
type Repo struct {
	Dir    string
	DotGit string
	// File says DotGit is a file ("gitdir: …") or a symlink, not a folder.
	File bool
}

// Result is what one walk found.
type Result struct {
	Repos []Repo
	// Found are the entries named in Options.Names, anywhere below the root.
	Found []string
	// Unchecked are folders the walk did not enter, with the reason, e.g. "/ws/a/b: deeper than 64".
	Unchecked []string
	// Dirs is how many folders were checked; Read how many of them had to be read (the rest
	// came from the cache).
	Dirs, Read int
}

// entry is what the cache keeps of one folder.
type entry struct {
	ino       uint64
	ctimeSec  int64
	ctimeNsec int64
	subdirs   []string // names of the folders inside, not .git
	hits      []string // names of reported entries inside (.git and Options.Names)
	dotGitDir bool     // the .git inside is a folder (not a file or link)
	trusted   bool     // read over a second after its last change: usable when unchanged
}

// Walk walks opt.Root. It never fails: what it cannot read is listed in Unchecked.
func Walk(opt Options) *Result {
	if opt.MaxDirs == 0 {
		opt.MaxDirs = DefaultMaxDirs
	}
	if opt.MaxDepth == 0 {
		opt.MaxDepth = DefaultMaxDepth
	}
	if opt.Budget == 0 {
		opt.Budget = DefaultBudget
	}
	w := &walker{opt: opt, old: loadCache(opt.CacheFile, opt.Root), now: time.Now(), res: &Result{}}
	w.deadline = w.now.Add(opt.Budget)
	w.fresh = make(map[string]*entry, len(w.old))
	w.run()
	sort.Slice(w.res.Repos, func(i, j int) bool { return w.res.Repos[i].DotGit < w.res.Repos[j].DotGit })
	sort.Strings(w.res.Found)
	sort.Strings(w.res.Unchecked)
	if opt.CacheFile != "" && w.changed {
		saveCache(opt.CacheFile, opt.Root, w.fresh)
	}
	return w.res
}

type walker struct {
	opt      Options
	old      map[string]*entry
	fresh    map[string]*entry
	now      time.Time
	deadline time.Time
	mu       sync.Mutex
	res      *Result
	changed  bool
}

type job struct {
	dir   string
	depth int
}

// run walks breadth first with a few workers: a warm walk is one statx per folder, and two
// cores halve it.
func (w *walker) run() {
	const workers = 4
	queue := []job{{w.opt.Root, 0}}
	var qmu sync.Mutex
	cond := sync.NewCond(&qmu)
	busy := 0
	stopped := false
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				qmu.Lock()
				for len(queue) == 0 && busy > 0 {
					cond.Wait()
				}
				if len(queue) == 0 {
					qmu.Unlock()
					cond.Broadcast()
					return
				}
				j := queue[len(queue)-1]
				queue = queue[:len(queue)-1]
				if stopped || time.Now().After(w.deadline) || w.res.Dirs >= w.opt.MaxDirs {
					stopped = true
					w.unchecked(j.dir, "not reached within the walk's budget")
					qmu.Unlock()
					continue
				}
				w.res.Dirs++
				busy++
				qmu.Unlock()
				subs := w.visit(j)
				qmu.Lock()
				queue = append(queue, subs...)
				busy--
				qmu.Unlock()
				cond.Broadcast()
			}
		}()
	}
	wg.Wait()
}

func (w *walker) unchecked(dir, why string) {
	w.mu.Lock()
	if len(w.res.Unchecked) < 1000 {
		w.res.Unchecked = append(w.res.Unchecked, dir+": "+why)
	}
	w.mu.Unlock()
}

func (w *walker) skipped(dir string) bool {
	for _, s := range w.opt.Skip {
		if dir == s || strings.HasPrefix(dir, s+"/") {
			return true
		}
	}
	return false
}

// visit checks one folder and returns the folders to walk next.
func (w *walker) visit(j job) []job {
	var st unix.Stat_t
	if err := unix.Lstat(j.dir, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil // gone or replaced meanwhile: nothing of it to protect
	}
	e := w.old[j.dir]
	if e == nil || !e.trusted || e.ino != st.Ino || e.ctimeSec != st.Ctim.Sec || e.ctimeNsec != st.Ctim.Nsec {
		var err error
		if e, err = w.read(j.dir, &st); err != nil {
			w.unchecked(j.dir, err.Error())
			return nil
		}
		w.mu.Lock()
		w.res.Read++
		w.changed = true
		w.mu.Unlock()
	}
	w.mu.Lock()
	w.fresh[j.dir] = e
	for _, h := range e.hits {
		p := filepath.Join(j.dir, h)
		if h == ".git" {
			w.res.Repos = append(w.res.Repos, Repo{Dir: j.dir, DotGit: p, File: !e.dotGitDir})
		} else {
			w.res.Found = append(w.res.Found, p)
		}
	}
	w.mu.Unlock()
	var next []job
	for _, s := range e.subdirs {
		p := filepath.Join(j.dir, s)
		switch {
		case w.skipped(p):
		case j.depth+1 > w.opt.MaxDepth:
			w.unchecked(p, "deeper than "+itoa(w.opt.MaxDepth)+" folders")
		default:
			next = append(next, job{p, j.depth + 1})
		}
	}
	return next
}

// read lists a folder. Entries whose names are not valid UTF-8 or hold control characters are
// walked like any other: the protection is by path, and a strange name is no reason to skip.
func (w *walker) read(dir string, st *unix.Stat_t) (*entry, error) {
	f, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	e := &entry{ino: st.Ino, ctimeSec: st.Ctim.Sec, ctimeNsec: st.Ctim.Nsec}
	ctime := time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	e.trusted = w.now.Sub(ctime) > time.Second
	for _, d := range ents {
		name := d.Name()
		t := d.Type()
		if name == ".git" {
			e.hits = append(e.hits, name)
			e.dotGitDir = t.IsDir()
			continue // its insides are protected whole, not walked
		}
		if w.opt.Names[name] {
			e.hits = append(e.hits, name)
		}
		if t.IsDir() {
			e.subdirs = append(e.subdirs, name)
		}
	}
	return e, nil
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

// errCache marks a cache file that is not ours or is damaged: it is ignored, never trusted.
var errCache = errors.New("bad walk cache")
