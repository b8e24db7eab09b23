package degraded

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/sandbox"
)

// access is a set of Landlock rights in the plan's terms.
type access uint8

const (
	accList access = 1 << iota // list directories
	accRead                    // read files
	accWrite
	accExec
	accIoctl
	accReadAll = accList | accRead
)

func (a access) rights() []string {
	var r []string
	switch {
	case a&accReadAll == accReadAll:
		r = append(r, policy.RightRead)
	case a&accList != 0:
		r = append(r, policy.RightList)
	}
	if a&accWrite != 0 {
		r = append(r, policy.RightWrite)
	}
	if a&accExec != 0 {
		r = append(r, policy.RightExec)
	}
	if a&accIoctl != 0 {
		r = append(r, policy.RightIoctl)
	}
	return r
}

func mountAccess(m policy.Mount) access {
	a := accReadAll
	if m.Access == policy.ReadWrite || m.Access == policy.Tmpfs {
		a |= accWrite
	}
	if m.Exec {
		a |= accExec
	}
	return a
}

// devices are the only devices a degraded command reaches (besides the terminal it was
// given on stdio, which the exec step adds): no /dev/pts, where the user's other terminals are.
var devices = []struct {
	path string
	acc  access
}{
	{"/dev/null", accReadAll | accWrite | accIoctl},
	{"/dev/zero", accReadAll | accWrite | accIoctl},
	{"/dev/full", accReadAll | accWrite | accIoctl},
	{"/dev/random", accReadAll | accWrite | accIoctl},
	{"/dev/urandom", accReadAll | accWrite | accIoctl},
	{"/dev/tty", accReadAll | accWrite | accIoctl},
	{"/dev/shm", accReadAll | accWrite},
	{"/proc", accReadAll},
}

// hostRules is a plan's view translated into a Landlock ruleset over the host's own paths.
type hostRules struct {
	Paths []policy.LandlockPath
	// Narrowed are writable folders that hold a protected or masked path: Landlock's rights add
	// up down the tree, so such a folder keeps only what every path below it may have (read or
	// list), and each entry in it gets its own rule; nothing can be created in it directly.
	Narrowed []string
}

// Kinds of node, in precedence order: at the same path a mask wins over a protection, which wins
// over a mount.
type nodeKind int

const (
	kindMount nodeKind = iota + 1
	kindProtect
	kindMask
)

// hostNode is a path whose rights the plan fixes: everything below it has the same rights unless
// a deeper node says otherwise.
type hostNode struct {
	path string
	acc  access
	kind nodeKind
}

type translator struct {
	nodes    map[string]*hostNode
	sorted   []*hostNode
	visited  map[string]bool
	out      []policy.LandlockPath
	narrowed []string
}

// translateHost turns the plan's mounts, protected and masked paths into Landlock rules on the
// host's real paths, for a run without a mount namespace. home and tmp are the run's private
// folders that stand in for the empty home and the private /tmp.
//
// The translation never grants more than the plan: a read-only mount gets read (and exec), a
// read-write one read and write (and exec); a protected path is read-only and a masked one gets
// nothing. Because Landlock's rights add up down the tree, a folder that holds a path with fewer
// rights than itself gets only what every path below it may have, and each of its entries is
// translated on its own (recursively). Symlinks are never granted through: a mount reached
// through a symlink in the workspace is skipped (the link's target keeps its own rules), a
// protected or masked symlink protects or masks its target too, and every rule names a real path.
func translateHost(plan *policy.Plan, home, tmp string) (*hostRules, error) {
	t := &translator{nodes: map[string]*hostNode{}, visited: map[string]bool{}}
	// Symlinks in the workspace or a writable mount are the command's or a cloned repository's
	// to plant: a mount is never made through one.
	untrusted := []string{plan.Workspace}
	for _, m := range plan.Mounts {
		if m.Access == policy.ReadWrite {
			untrusted = append(untrusted, m.Path)
		}
	}
	trustedLink := func(link string) bool {
		for _, u := range untrusted {
			if within(link, u) {
				return false
			}
		}
		return true
	}
	for _, m := range plan.Mounts {
		acc := mountAccess(m)
		if m.Access == policy.Tmpfs {
			var private string
			switch m.Path {
			case plan.Home:
				private = home
			case policy.SandboxTmp:
				private = tmp
			default:
				return nil, fmt.Errorf("%w: %s (%s): an empty folder at this path needs a mount namespace", sandbox.ErrSetup, m.Path, m.Origin)
			}
			// The host's folder at the path is hidden; the private one stands in for it.
			t.setBoth(m.Path, 0, kindMount)
			t.set(private, acc, kindMount)
			continue
		}
		src := m.Path
		if m.Source != "" {
			src = m.Source
		}
		if m.Digest != "" {
			acc &^= accWrite
			// The signature folder is not part of the digest: nothing may run from it.
			t.setBoth(filepath.Join(src, ".skillrun"), 0, kindMask)
		}
		rp, exists, err := resolveHost(src, trustedLink)
		switch {
		case errors.Is(err, errUntrustedLink):
			continue // granted only through a symlink the command could have planted
		case err != nil:
			return nil, fmt.Errorf("%w: %s (%s): %v", sandbox.ErrSetup, m.Path, m.Origin, err)
		case !exists && m.Optional:
			continue
		case !exists:
			return nil, fmt.Errorf("%w: %s (%s): %v", sandbox.ErrSetup, m.Path, m.Origin, os.ErrNotExist)
		}
		t.set(rp, acc, kindMount)
	}
	for _, d := range devices {
		if rp, exists, err := resolveHost(d.path, func(string) bool { return true }); err == nil && exists {
			t.set(rp, d.acc, kindMount)
		}
	}
	// A missing protected path needs nothing more: the folder holding it is narrowed, so nothing
	// can be created in it at all. A glob line protects each existing match, and its pattern
	// stays a node of its own so its folder is narrowed too.
	for _, p := range append(append([]string{}, plan.Protect...), expandGlobs(plan.Protect)...) {
		t.setBoth(p, 0, kindProtect) // the rights are the mount's, read-only: see below
	}
	for _, p := range expandMasks(plan.Mask) {
		t.setBoth(p, 0, kindMask)
	}
	// A protected path may read, and run, what its mount shows, never write; only mounts decide
	// that (a repository's own pre-commit hook runs, as it does in a namespaced run).
	for _, n := range t.nodes {
		if n.kind == kindProtect {
			n.acc = t.mountAccessAt(n.path) & (accReadAll | accExec)
		}
	}
	// A mask hides everything below it, grants included (as a masked folder hides what is
	// mounted inside it).
	for p := range t.nodes {
		for q, n := range t.nodes {
			if n.kind == kindMask && p != q && within(p, q) {
				delete(t.nodes, p)
				break
			}
		}
	}
	for _, n := range t.nodes {
		t.sorted = append(t.sorted, n)
	}
	sort.Slice(t.sorted, func(i, j int) bool { return t.sorted[i].path < t.sorted[j].path })
	for _, n := range topmost(t.sorted) {
		t.visit(n.path)
	}
	sort.Slice(t.out, func(i, j int) bool { return t.out[i].Path < t.out[j].Path })
	return &hostRules{Paths: t.out, Narrowed: t.narrowed}, nil
}

// set records rights at p; see nodeKind for what wins at the same path. Two mounts add up, two
// protections keep the stricter.
func (t *translator) set(p string, acc access, k nodeKind) {
	n := t.nodes[p]
	switch {
	case n == nil:
		t.nodes[p] = &hostNode{path: p, acc: acc, kind: k}
	case k > n.kind:
		n.acc, n.kind = acc, k
	case k == n.kind && k == kindMount:
		n.acc |= acc
	case k == n.kind:
		n.acc &= acc
	}
}

// setBoth records p and, when symlinks lie on it, the path they lead to (which may not exist
// yet): protecting or hiding a link must protect or hide what it shows.
func (t *translator) setBoth(p string, acc access, k nodeKind) {
	t.set(p, acc, k)
	if rp, _, err := resolveHost(p, func(string) bool { return true }); err == nil && rp != p {
		t.set(rp, acc, k)
	}
}

// mountAccessAt returns the rights of the innermost mount node containing p.
func (t *translator) mountAccessAt(p string) access {
	best, acc := "", access(0)
	for _, n := range t.nodes {
		if n.kind == kindMount && within(p, n.path) && len(n.path) > len(best) {
			best, acc = n.path, n.acc
		}
	}
	return acc
}

// desired returns the rights the plan gives p: those of the innermost node containing it.
func (t *translator) desired(p string) access {
	best, acc := "", access(0)
	for _, n := range t.sorted {
		if within(p, n.path) && len(n.path) >= len(best) {
			best, acc = n.path, n.acc
		}
	}
	return acc
}

// below returns the nodes strictly below p.
func (t *translator) below(p string) []*hostNode {
	var out []*hostNode
	for _, n := range t.sorted {
		if n.path != p && within(n.path, p) {
			out = append(out, n)
		}
	}
	return out
}

// topmost returns the nodes that lie below no other node of the list.
func topmost(nodes []*hostNode) []*hostNode {
	var out []*hostNode
next:
	for _, n := range nodes {
		for _, o := range nodes {
			if o != n && within(n.path, o.path) {
				continue next
			}
		}
		out = append(out, n)
	}
	return out
}

// visit emits the rules for the real path x and what lies below it.
func (t *translator) visit(x string) {
	if t.visited[x] {
		return
	}
	t.visited[x] = true
	want := t.desired(x)
	fi, err := os.Lstat(x)
	if err != nil || fi.Mode()&os.ModeSymlink != 0 || sandbox.CheckRealPath(x) != nil {
		return // missing, or reached through a symlink: nothing is granted through links
	}
	if !fi.IsDir() {
		t.emit(x, want)
		return
	}
	below := t.below(x)
	common := want
	for _, n := range below {
		a := n.acc
		if nfi, err := os.Lstat(n.path); err != nil || !nfi.IsDir() {
			a |= accList // listing a folder shows nothing of a file's content
		}
		common &= a
	}
	if common == want {
		t.emit(x, want)
		for _, n := range topmost(below) {
			t.visit(n.path)
		}
		return
	}
	t.emit(x, common)
	if want&accWrite != 0 && common&accWrite == 0 {
		t.narrowed = append(t.narrowed, x)
	}
	entries, err := os.ReadDir(x)
	if err != nil {
		return
	}
	for _, e := range entries {
		t.visit(filepath.Join(x, e.Name()))
	}
}

func (t *translator) emit(p string, acc access) {
	if acc == 0 {
		return
	}
	// Optional: an entry that vanishes before the exec step applies the rules only loses them.
	t.out = append(t.out, policy.LandlockPath{Path: p, Rights: acc.rights(), Optional: true})
}

var errUntrustedLink = errors.New("a symlink the command could have planted lies on the path")

// resolveHost follows the symlinks on the absolute path p component by component, as the kernel
// would, and returns the real path; a missing tail is kept as it is (exists is then false). Each
// symlink met is followed only when follow says so; else errUntrustedLink.
func resolveHost(p string, follow func(link string) bool) (resolved string, exists bool, err error) {
	if !filepath.IsAbs(p) {
		return "", false, fmt.Errorf("%q is not absolute", p)
	}
	todo := strings.Split(p, "/")
	cur := "/"
	for hops := 0; len(todo) > 0; {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
			return filepath.Join(append([]string{next}, todo...)...), false, nil
		}
		if err != nil {
			return "", false, err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return "", false, fmt.Errorf("%s: %w", p, unix.ELOOP)
		}
		if !follow(next) {
			return "", false, fmt.Errorf("%s: %w", next, errUntrustedLink)
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", false, err
		}
		if filepath.IsAbs(target) {
			cur = "/"
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return cur, true, nil
}

// within says whether p is base or lies below it.
func within(p, base string) bool {
	return p == base || base == "/" || strings.HasPrefix(p, base+"/")
}

// expandMasks resolves globs in the last element of mask lines against the host: a line with a
// glob stands for its existing matches, a line without one for itself.
func expandMasks(masks []string) []string {
	var out []string
	for _, m := range masks {
		if !strings.ContainsAny(filepath.Base(m), "*?[") {
			out = append(out, m)
			continue
		}
		matches, _ := filepath.Glob(m)
		out = append(out, matches...)
	}
	return out
}

// expandGlobs returns the existing matches of the lines whose last element is a glob.
func expandGlobs(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.ContainsAny(filepath.Base(l), "*?[") {
			m, _ := filepath.Glob(l)
			out = append(out, m...)
		}
	}
	return out
}
