package trust

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Default bounds. A skill is prompts, scripts and a few assets; these leave ample room while
// keeping a re-hash at every run from being turned into a memory or time bomb.
const (
	defaultMaxFileSize  = 64 << 20
	defaultMaxTotalSize = 512 << 20
	defaultMaxEntries   = 20000
)

// excludedDir is the folder at the root of a skill that holds its signed statement and signature
// (see policy/signing). It cannot be part of the digest it vouches for, so Hash skips it whole:
// not listed, not walked, not visited, not counted. It is therefore never in the snapshot built
// through Visit either, and a symlink elsewhere that resolves into it is refused, so that nothing
// a skill runs can come from content the digest does not cover.
const excludedDir = ".skillrun"

// maxSymlinkHops matches Linux's MAXSYMLINKS: a resolution needing more links than the kernel
// would follow cannot be proven to stay inside the folder, and a loop never ends.
const maxSymlinkHops = 40

// Options tune Hash. The zero value is ready to use.
type Options struct {
	// Visit, when set, is called for every entry with exactly the bytes that were hashed (the
	// file's content, or the link target for a symlink), in Path order, so a caller can copy
	// precisely what it verified. It runs on the goroutine that called Hash; data is not reused
	// by Hash and may be retained. An error from Visit stops Hash and is returned wrapped. When
	// Hash fails, whatever was visited so far must be discarded.
	Visit func(e Entry, data []byte) error
	// MaxFileSize bounds one file; 0 means 64 MiB.
	MaxFileSize int64
	// MaxTotalSize bounds the sum of all Sizes (contents and link targets); 0 means 512 MiB.
	MaxTotalSize int64
	// MaxEntries bounds the names the walk visits (directories count too, since a folder of
	// millions of empty directories costs as much to walk as files); 0 means 20000.
	MaxEntries int
}

func (o Options) withDefaults() Options {
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = defaultMaxFileSize
	}
	if o.MaxTotalSize <= 0 {
		o.MaxTotalSize = defaultMaxTotalSize
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = defaultMaxEntries
	}
	return o
}

type kind uint8

const (
	kindDir kind = iota + 1
	kindFile
	kindLink
)

// item is an entry under construction; target holds a symlink's target.
type item struct {
	Entry
	target string
}

// Hash walks fsys (the folder root is "."), never following symlinks, and returns its listing.
//
// Directories are walked but not listed. The top-level ".skillrun" folder (statement and
// signature) is skipped entirely, whatever its type, and symlinks into it are refused. Regular
// files are read through fsys.Open and hashed in parallel; symlinks are read with fs.ReadLink, so
// fsys must implement fs.ReadLinkFS (os.DirFS and (*os.Root).FS do) for a folder that holds any.
// The result does not depend on timing: the same folder always gives the same listing, Visit sees
// entries in Path order, and when several entries are bad the error names the first in walk or
// Path order.
func Hash(fsys fs.FS, opts Options) (*Listing, error) {
	opts = opts.withDefaults()
	w := walker{fsys: fsys, max: opts.MaxEntries, kinds: map[string]kind{}, targets: map[string]string{}}
	if err := w.walk(); err != nil {
		return nil, err
	}
	items := w.items
	sort.Slice(items, func(i, j int) bool { return items[i].Path < items[j].Path })
	// Links are checked before any content is read: it is cheap and the folder is refused anyway.
	for i := range items {
		if items[i].Type == Symlink {
			if err := w.checkLink(items[i].Path, items[i].target); err != nil {
				return nil, err
			}
		}
	}
	if err := hashFiles(fsys, items, opts); err != nil {
		return nil, err
	}
	l := &Listing{Entries: make([]Entry, len(items))}
	for i := range items {
		l.Entries[i] = items[i].Entry
	}
	return l, nil
}

// walker lists the tree. It remembers every path's kind and every link's target so that link
// resolution works on exactly the tree that is listed, with no second look at the folder.
type walker struct {
	fsys    fs.FS
	max     int
	seen    int
	items   []item
	kinds   map[string]kind
	targets map[string]string
}

func (w *walker) walk() error {
	stack := []string{"."}
	for len(stack) > 0 {
		dir := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ents, err := fs.ReadDir(w.fsys, dir)
		if err != nil {
			return err
		}
		// Push subdirectories in reverse so that they are walked in name order: the first bad
		// entry reported does not depend on anything but the tree.
		var subdirs []string
		for _, d := range ents {
			name := d.Name()
			if dir == "." && name == excludedDir {
				continue
			}
			p := name
			if dir != "." {
				p = dir + "/" + name
			}
			if err := checkName(name); err != nil {
				return fmt.Errorf("%w: %q: bad name: %v", ErrUnsafeEntry, p, err)
			}
			if w.seen++; w.seen > w.max {
				return fmt.Errorf("%w: more than %d entries", ErrTooLarge, w.max)
			}
			switch t := d.Type(); {
			case t.IsDir():
				w.kinds[p] = kindDir
				subdirs = append(subdirs, p)
			case t&fs.ModeSymlink != 0:
				target, err := fs.ReadLink(w.fsys, p)
				if err != nil {
					return err
				}
				w.kinds[p] = kindLink
				w.targets[p] = target
				sum := sha256.Sum256([]byte(target))
				w.items = append(w.items, item{Entry: Entry{Path: p, Type: Symlink, Size: int64(len(target)),
					SHA256: hex.EncodeToString(sum[:])}, target: target})
			case t.IsRegular():
				w.kinds[p] = kindFile
				w.items = append(w.items, item{Entry: Entry{Path: p, Type: File}})
			default:
				return fmt.Errorf("%w: %q is %s", ErrUnsafeEntry, p, describeIrregular(t))
			}
		}
		for i := len(subdirs) - 1; i >= 0; i-- {
			stack = append(stack, subdirs[i])
		}
	}
	return nil
}

func describeIrregular(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	default:
		return "not a regular file, directory or symlink"
	}
}

// checkLink refuses a symlink whose resolution could leave the folder.
//
// The target is resolved the way the kernel would, component by component, through the other
// links of the tree: "x -> y/.." with "y -> ." escapes although "y/.." cleans lexically to ".".
// Names the tree does not hold are taken as directories, because an empty directory can be added
// without changing the digest; files are taken the same way (the kernel would fail there, so
// this only errs on the safe side).
func (w *walker) checkLink(p, target string) error {
	refuse := func(why string) error {
		return fmt.Errorf("%w: symlink %q -> %q %s", ErrUnsafeEntry, p, target, why)
	}
	if target == "" {
		return refuse("has an empty target")
	}
	if strings.HasPrefix(target, "/") {
		return refuse("is absolute and leaves the folder")
	}
	cur := strings.Split(p, "/")
	cur = cur[:len(cur)-1] // the link's own directory
	rest := strings.Split(target, "/")
	hops := 1
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return refuse("leaves the folder")
			}
			cur = cur[:len(cur)-1]
			continue
		}
		if len(cur) == 0 && c == excludedDir {
			return refuse("resolves into " + excludedDir + "/, which the digest does not cover")
		}
		next := c
		if len(cur) > 0 {
			next = strings.Join(cur, "/") + "/" + c
		}
		if w.kinds[next] != kindLink {
			cur = append(cur, c)
			continue
		}
		if hops++; hops > maxSymlinkHops {
			return refuse(fmt.Sprintf("needs more than %d links to resolve (a loop?)", maxSymlinkHops))
		}
		t := w.targets[next]
		if strings.HasPrefix(t, "/") {
			return refuse(fmt.Sprintf("resolves through %q, which is absolute and leaves the folder", next))
		}
		// The inner link resolves relative to its own directory, which is cur.
		rest = append(strings.Split(t, "/"), rest...)
	}
	return nil
}

// result is one file's outcome, handed from a worker to the in-order consumer.
type result struct {
	done chan struct{}
	typ  EntryType
	size int64
	sum  string
	data []byte
	err  error
}

// hashFiles fills in the regular files of items (sorted) and calls Visit for every item in order.
//
// Workers read and hash files in parallel, while this goroutine consumes results strictly in Path
// order: it enforces the total size, calls Visit and returns the first error in Path order, so
// neither the listing nor the error depends on scheduling. A window bounds how far workers may
// run ahead of the consumer, which bounds memory when Visit keeps file contents alive.
func hashFiles(fsys fs.FS, items []item, opts Options) error {
	var files []int
	for i := range items {
		if items[i].Type != Symlink {
			files = append(files, i)
		}
	}
	keep := opts.Visit != nil
	workers := min(runtime.GOMAXPROCS(0), len(files))
	res := make([]result, len(items))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sem chan struct{}
	if workers > 1 {
		window := 4 * workers
		sem = make(chan struct{}, window)
		jobs := make(chan int, window)
		for i := range files {
			res[files[i]].done = make(chan struct{})
		}
		wg.Add(1)
		go func() { // dispatcher: hands out files in Path order, at most window ahead
			defer wg.Done()
			defer close(jobs)
			for _, i := range files {
				select {
				case sem <- struct{}{}:
				case <-stop:
					return
				}
				jobs <- i
			}
		}()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var scratch []byte
				for i := range jobs {
					r := &res[i]
					select {
					case <-stop:
						r.err = errStopped
					default:
						r.err = hashFile(fsys, items[i].Path, opts.MaxFileSize, keep, &scratch, r)
					}
					close(r.done)
				}
			}()
		}
	}
	defer func() {
		// Stop the dispatcher and let workers skip what is queued; waiting for their current
		// file keeps any goroutine from outliving Hash.
		close(stop)
		wg.Wait()
	}()

	var total int64
	var scratch []byte
	for i := range items {
		it := &items[i]
		var data []byte
		if it.Type == Symlink {
			data = []byte(it.target)
		} else {
			r := &res[i]
			if workers > 1 {
				<-r.done
				<-sem
			} else {
				r.err = hashFile(fsys, it.Path, opts.MaxFileSize, keep, &scratch, r)
			}
			if r.err != nil {
				return r.err
			}
			it.Type, it.Size, it.SHA256 = r.typ, r.size, r.sum
			data, r.data = r.data, nil
		}
		if total += it.Size; total > opts.MaxTotalSize {
			return fmt.Errorf("%w: more than %d bytes in total (at %q)", ErrTooLarge, opts.MaxTotalSize, it.Path)
		}
		if opts.Visit != nil {
			if err := opts.Visit(it.Entry, data); err != nil {
				return fmt.Errorf("visiting %q: %w", it.Path, err)
			}
		}
	}
	return nil
}

// errStopped marks files skipped after the consumer gave up; it never reaches a caller.
var errStopped = fmt.Errorf("stopped")

// hashFile reads and hashes one regular file into r. r.data is the content when keep is set;
// otherwise the content goes through *scratch, which is reused across files.
func hashFile(fsys fs.FS, p string, maxSize int64, keep bool, scratch *[]byte, r *result) error {
	// Lstat first: the walk saw a regular file, but the folder may have changed since, and Open
	// would follow a symlink or block on a FIFO.
	fi, err := fs.Lstat(fsys, p)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %q changed into %s while being hashed", ErrUnsafeEntry, p, describeMode(fi.Mode()))
	}
	if fi.Size() > maxSize {
		return fmt.Errorf("%w: %q has %d bytes, more than %d", ErrTooLarge, p, fi.Size(), maxSize)
	}
	f, err := fsys.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	// The opened file is what gets hashed, so its own mode decides the type and the x bit.
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%w: %q changed into %s while being hashed", ErrUnsafeEntry, p, describeMode(st.Mode()))
	}
	var buf []byte
	if !keep {
		buf = (*scratch)[:0]
	}
	buf, err = readLimited(f, st.Size(), maxSize, buf)
	if !keep {
		*scratch = buf
	}
	if err == errLimit {
		return fmt.Errorf("%w: %q grew past %d bytes while being read", ErrTooLarge, p, maxSize)
	}
	if err != nil {
		return fmt.Errorf("reading %q: %w", p, err)
	}
	r.typ = File
	if st.Mode().Perm()&0o111 != 0 {
		r.typ = Exec
	}
	// The file may have changed size while it was read; what was read is what is hashed and
	// listed, and (through Visit) what the caller copies.
	sum := sha256.Sum256(buf)
	r.size, r.sum = int64(len(buf)), hex.EncodeToString(sum[:])
	if keep {
		r.data = buf
	}
	return nil
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	}
	return describeIrregular(m.Type())
}

var errLimit = fmt.Errorf("limit exceeded")

// readLimited reads r to EOF into buf, like io.ReadAll but sized from hint up front and failing
// with errLimit once more than limit bytes arrive.
func readLimited(r io.Reader, hint, limit int64, buf []byte) ([]byte, error) {
	want := int(min(max(hint, 0), limit)) + 1 // +1 so that EOF is seen without growing
	if cap(buf) < want {
		buf = make([]byte, 0, want)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, errLimit
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
