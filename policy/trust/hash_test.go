package trust

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
)

// node describes one thing to create in a test tree: a file (mode 0644, 0755, …), a symlink
// (link set) or a directory (dir set).
type node struct {
	path string
	data string
	mode fs.FileMode
	link string
	dir  bool
}

func f(p, data string) node           { return node{path: p, data: data, mode: 0o644} }
func x(p, data string) node           { return node{path: p, data: data, mode: 0o755} }
func fm(p string, m fs.FileMode) node { return node{path: p, data: "content", mode: m} }
func ln(p, target string) node        { return node{path: p, link: target} }
func dir(p string) node               { return node{path: p, dir: true} }

func build(t testing.TB, root string, nodes ...node) {
	t.Helper()
	for _, n := range nodes {
		full := filepath.Join(root, filepath.FromSlash(n.path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case n.dir:
			err = os.MkdirAll(full, 0o755)
		case n.link != "":
			err = os.Symlink(n.link, full)
		default:
			if err = os.WriteFile(full, []byte(n.data), 0o600); err == nil {
				err = os.Chmod(full, n.mode) // exact bits, whatever the umask
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func tree(t testing.TB, nodes ...node) string {
	t.Helper()
	root := t.TempDir()
	build(t, root, nodes...)
	return root
}

func hashDir(t testing.TB, root string, opts Options) *Listing {
	t.Helper()
	l, err := Hash(os.DirFS(root), opts)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return l
}

// The expected listing was computed with sha256sum, independently of this package.
const goldenText = `file 6 5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03 SKILL.md
file 4 0f044da0abb8aabed6bbbe0fecae23e80af0c48e98f3755ce25f1f0dfab18283 a b.txt
exec 18 299001868fb8c02fd431c336c6d058f5558c5dff5b5af5e6fe04b870a6a9cbba bin/run.sh
file 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 empty
file 4 3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7 lib-x/data
symlink 11 bfa17d4fe320dd496e48c5f722cc839848dc2232299cf0f558735771e0725570 lib/link
symlink 3 76b5a357391276b282a516f54f48ef3c207f46d8192dc58c208d5183d38415f8 libs
`

const goldenDigest = "sha256:559ba3224a833c2efa0cef3bf8b167398b847db07552cf1fad97218b11c7e5db"

func goldenTree(t testing.TB) string {
	return tree(t,
		f("SKILL.md", "hello\n"),
		x("bin/run.sh", "#!/bin/sh\necho hi\n"),
		f("empty", ""),
		f("a b.txt", "x y\n"),
		ln("lib/link", "../SKILL.md"),
		f("lib-x/data", "data"),
		ln("libs", "lib"),
		dir("docs/empty"),
	)
}

func TestGoldenListing(t *testing.T) {
	l := hashDir(t, goldenTree(t), Options{})
	if got := string(l.Text()); got != goldenText {
		t.Errorf("listing:\n%s\nwant:\n%s", got, goldenText)
	}
	if got := l.Digest(); got != goldenDigest {
		t.Errorf("digest %s, want %s", got, goldenDigest)
	}
	if l.Files() != 7 {
		t.Errorf("Files() = %d, want 7", l.Files())
	}
	// (*os.Root).FS, the FS that cannot be steered outside the folder, gives the same listing.
	root, err := os.OpenRoot(goldenTree(t))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if l, err := Hash(root.FS(), Options{}); err != nil || string(l.Text()) != goldenText {
		t.Errorf("Hash of an os.Root: %v\n%s", err, l.Text())
	}
}

func TestTypeDetection(t *testing.T) {
	for _, tc := range []struct {
		name string
		node node
		want EntryType
	}{
		{"0644", fm("a", 0o644), File},
		{"0600", fm("a", 0o600), File},
		{"0444", fm("a", 0o444), File},
		{"0755", fm("a", 0o755), Exec},
		{"0700 owner x", fm("a", 0o700), Exec},
		{"0610 group x", fm("a", 0o610), Exec},
		{"0601 other x", fm("a", 0o601), Exec},
		{"symlink", ln("a", "b"), Symlink},
		{"symlink to dir", ln("a", "."), Symlink},
		{"dangling symlink", ln("a", "nowhere/at/all"), Symlink},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := hashDir(t, tree(t, tc.node), Options{})
			if len(l.Entries) != 1 || l.Entries[0].Type != tc.want || l.Entries[0].Path != "a" {
				t.Fatalf("got %+v, want one %s entry named a", l.Entries, tc.want)
			}
		})
	}
}

func TestRejections(t *testing.T) {
	type tc struct {
		name  string
		nodes []node
		fsys  fs.FS // instead of nodes, for what a test cannot create on disk
		opts  Options
		want  error
		msg   string // substring of the error
	}
	cases := []tc{
		{name: "absolute symlink", nodes: []node{ln("l", "/etc/passwd")}, want: ErrUnsafeEntry, msg: `"l" -> "/etc/passwd"`},
		{name: "absolute symlink to root", nodes: []node{ln("l", "/")}, want: ErrUnsafeEntry},
		{name: "parent", nodes: []node{ln("l", "..")}, want: ErrUnsafeEntry},
		{name: "parent file", nodes: []node{ln("l", "../x")}, want: ErrUnsafeEntry},
		{name: "deep escape", nodes: []node{ln("a/b/l", "../../../x")}, want: ErrUnsafeEntry, msg: "a/b/l"},
		{name: "down and out", nodes: []node{dir("d"), ln("l", "d/../../x")}, want: ErrUnsafeEntry},
		{name: "through missing dir", nodes: []node{ln("l", "nope/../../x")}, want: ErrUnsafeEntry},
		{name: "through a file", nodes: []node{f("file", "x"), ln("l", "file/../..")}, want: ErrUnsafeEntry},
		{name: "escape through link to dot", nodes: []node{ln("y", "."), ln("x", "y/..")}, want: ErrUnsafeEntry, msg: `"x" -> "y/.."`},
		{name: "escape through link to parent dir", nodes: []node{ln("sub/up", ".."), ln("x", "sub/up/..")}, want: ErrUnsafeEntry},
		{name: "escape through chain", nodes: []node{ln("a", "b"), ln("b", "c/d"), ln("c/d", "../e"), ln("e", "f/../.."), dir("f")}, want: ErrUnsafeEntry},
		{name: "escape through nested dir link", nodes: []node{ln("d1/d2/l", "../.."), ln("x", "d1/d2/l/..")}, want: ErrUnsafeEntry},
		{name: "chain ending absolute", nodes: []node{ln("a", "b/x"), ln("b", "/tmp")}, want: ErrUnsafeEntry, msg: "absolute"},
		{name: "loop", nodes: []node{ln("a", "b"), ln("b", "a")}, want: ErrUnsafeEntry, msg: "loop"},
		{name: "self loop", nodes: []node{ln("s", "s")}, want: ErrUnsafeEntry},
		{name: "self loop below", nodes: []node{ln("s", "s/x")}, want: ErrUnsafeEntry},
		{name: "loop through dir", nodes: []node{ln("d/l", "../d/l")}, want: ErrUnsafeEntry},
		{name: "control char", nodes: []node{f("a\x01b", "")}, want: ErrUnsafeEntry, msg: "control character"},
		{name: "newline", nodes: []node{f("a\nfile 0 x b", "")}, want: ErrUnsafeEntry},
		{name: "tab", nodes: []node{f("a\tb", "")}, want: ErrUnsafeEntry},
		{name: "escape", nodes: []node{f("a\x1b[31m", "")}, want: ErrUnsafeEntry},
		{name: "DEL", nodes: []node{f("a\x7f", "")}, want: ErrUnsafeEntry},
		{name: "C1 NEL", nodes: []node{f("a\u0085b", "")}, want: ErrUnsafeEntry, msg: "C1"},
		{name: "C1 CSI", nodes: []node{f("a\u009bb", "")}, want: ErrUnsafeEntry},
		{name: "RLO", nodes: []node{f("evil\u202egpj.sh", "")}, want: ErrUnsafeEntry, msg: "bidi"},
		{name: "LRM", nodes: []node{f("a\u200e", "")}, want: ErrUnsafeEntry},
		{name: "RLM", nodes: []node{f("a\u200f", "")}, want: ErrUnsafeEntry},
		{name: "ALM", nodes: []node{f("a\u061c", "")}, want: ErrUnsafeEntry},
		{name: "isolate", nodes: []node{f("a\u2067", "")}, want: ErrUnsafeEntry},
		{name: "PDI", nodes: []node{f("a\u2069", "")}, want: ErrUnsafeEntry},
		{name: "zero width space", nodes: []node{f("SKILL\u200b.md", "")}, want: ErrUnsafeEntry, msg: "invisible"},
		{name: "ZWJ", nodes: []node{f("a\u200d", "")}, want: ErrUnsafeEntry},
		{name: "word joiner", nodes: []node{f("a\u2060", "")}, want: ErrUnsafeEntry},
		{name: "BOM", nodes: []node{f("\ufeffa", "")}, want: ErrUnsafeEntry},
		{name: "tag char", nodes: []node{f("a\U000E0041", "")}, want: ErrUnsafeEntry, msg: "tag"},
		{name: "tag cancel", nodes: []node{f("a\U000E007F", "")}, want: ErrUnsafeEntry},
		{name: "invalid UTF-8", nodes: []node{f("a\xffb", "")}, want: ErrUnsafeEntry, msg: "UTF-8"},
		{name: "bad directory name", nodes: []node{f("d\u202e/a", "")}, want: ErrUnsafeEntry},
		{name: "bad name of a symlink", nodes: []node{ln("l\x01", "a")}, want: ErrUnsafeEntry},
		{name: "bad name of an empty dir", nodes: []node{dir("d\u200b")}, want: ErrUnsafeEntry},
		{name: "file too large", nodes: []node{f("big", "12345")}, opts: Options{MaxFileSize: 4}, want: ErrTooLarge, msg: "big"},
		{name: "total too large", nodes: []node{f("a", "123"), f("b", "123")}, opts: Options{MaxTotalSize: 5}, want: ErrTooLarge, msg: `"b"`},
		{name: "symlink targets count in total", nodes: []node{f("a", "123"), ln("b", "a/../a")}, opts: Options{MaxTotalSize: 5}, want: ErrTooLarge},
		{name: "too many entries", nodes: []node{f("a", ""), f("b", ""), f("c", "")}, opts: Options{MaxEntries: 2}, want: ErrTooLarge},
		{name: "directories count as entries", nodes: []node{dir("a"), dir("b"), dir("c")}, opts: Options{MaxEntries: 2}, want: ErrTooLarge},
		{name: "char device", fsys: fstest.MapFS{"dev": {Mode: fs.ModeDevice | fs.ModeCharDevice}}, want: ErrUnsafeEntry, msg: "character device"},
		{name: "block device", fsys: fstest.MapFS{"d/dev": {Mode: fs.ModeDevice}}, want: ErrUnsafeEntry, msg: "block device"},
		{name: "irregular", fsys: fstest.MapFS{"odd": {Mode: fs.ModeIrregular}}, want: ErrUnsafeEntry},
		{name: "fifo in a map", fsys: fstest.MapFS{"p": {Mode: fs.ModeNamedPipe}}, want: ErrUnsafeEntry, msg: "FIFO"},
		{name: "socket in a map", fsys: fstest.MapFS{"s": {Mode: fs.ModeSocket}}, want: ErrUnsafeEntry, msg: "socket"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := c.fsys
			if fsys == nil {
				fsys = os.DirFS(tree(t, c.nodes...))
			}
			checkErr(t, fsys, c.opts, c.want, c.msg)
		})
	}
	t.Run("fifo", func(t *testing.T) {
		root := t.TempDir()
		if err := syscall.Mkfifo(filepath.Join(root, "pipe"), 0o644); err != nil {
			t.Fatal(err)
		}
		checkErr(t, os.DirFS(root), Options{}, ErrUnsafeEntry, `"pipe" is a named pipe`)
	})
	t.Run("socket", func(t *testing.T) {
		root := t.TempDir()
		l, err := net.Listen("unix", filepath.Join(root, "sock"))
		if err != nil {
			t.Skipf("cannot create a unix socket here: %v", err)
		}
		defer l.Close()
		checkErr(t, os.DirFS(root), Options{}, ErrUnsafeEntry, `"sock" is a socket`)
	})
}

func checkErr(t *testing.T, fsys fs.FS, opts Options, want error, msg string) {
	t.Helper()
	l, err := Hash(fsys, opts)
	if !errors.Is(err, want) {
		t.Fatalf("Hash = %v, %v; want %v", l, err, want)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q does not mention %q", err, msg)
	}
}

// Links that stay inside, however they get there, are accepted.
func TestSymlinksInside(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes []node
	}{
		{"sibling", []node{f("a", ""), ln("l", "a")}},
		{"dot", []node{ln("l", ".")}},
		{"up and down", []node{f("a", ""), ln("d/l", "../a")}},
		{"up to root", []node{ln("d/e/l", "../..")}},
		{"dotdot through dir", []node{dir("d"), ln("l", "d/..")}},
		{"chain", []node{ln("a", "b"), ln("b", "c/d"), ln("c/d", "../e"), f("e", "x")}},
		{"link to dir then down", []node{ln("y", "d"), f("d/f", ""), ln("x", "y/f")}},
		{"link to deeper dir then up", []node{ln("y", "d/e"), dir("d/e"), ln("x", "y/..")}},
		{"trailing slash and dots", []node{dir("d"), ln("l", "./d/./")}},
		{"dangling", []node{ln("l", "missing/file")}},
		{"chain of 40", chain(40)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hashDir(t, tree(t, tc.nodes...), Options{})
		})
	}
	t.Run("chain of 41", func(t *testing.T) {
		checkErr(t, os.DirFS(tree(t, chain(41)...)), Options{}, ErrUnsafeEntry, "more than 40 links")
	})
}

// chain returns n links l00 -> l01 -> … -> target: resolving l00 follows n links.
func chain(n int) []node {
	nodes := []node{f("target", "")}
	for i := 0; i < n; i++ {
		next := fmt.Sprintf("l%02d", i+1)
		if i == n-1 {
			next = "target"
		}
		nodes = append(nodes, ln(fmt.Sprintf("l%02d", i), next))
	}
	return nodes
}

func TestDigestChanges(t *testing.T) {
	base := []node{f("SKILL.md", "hello\n"), x("bin/run", "#!/bin/sh\n"), ln("l", "SKILL.md"), f("lib/a", "aaaa")}
	for _, tc := range []struct {
		name   string
		mutate func(t *testing.T, root string)
		same   bool
	}{
		{"one byte", func(t *testing.T, root string) { build(t, root, f("lib/a", "aaab")) }, false},
		{"appended byte", func(t *testing.T, root string) { build(t, root, f("lib/a", "aaaa\n")) }, false},
		{"x bit set", func(t *testing.T, root string) { chmod(t, root, "lib/a", 0o744) }, false},
		{"x bit cleared", func(t *testing.T, root string) { chmod(t, root, "bin/run", 0o644) }, false},
		{"rename", func(t *testing.T, root string) { rename(t, root, "lib/a", "lib/b") }, false},
		{"rename dir", func(t *testing.T, root string) { rename(t, root, "lib", "lob") }, false},
		{"symlink target", func(t *testing.T, root string) { remove(t, root, "l"); build(t, root, ln("l", "./SKILL.md")) }, false},
		{"symlink replaced by file", func(t *testing.T, root string) { remove(t, root, "l"); build(t, root, f("l", "SKILL.md")) }, false},
		{"new empty file", func(t *testing.T, root string) { build(t, root, f("new", "")) }, false},
		{"new empty file in new dir", func(t *testing.T, root string) { build(t, root, f("d/new", "")) }, false},
		{"removed file", func(t *testing.T, root string) { remove(t, root, "lib/a") }, false},
		{"mtime", func(t *testing.T, root string) {
			old := time.Unix(1e9, 0)
			for _, p := range []string{"SKILL.md", "bin/run", "lib/a", "lib", "."} {
				if err := os.Chtimes(filepath.Join(root, p), old, old); err != nil {
					t.Fatal(err)
				}
			}
		}, true},
		{"empty directory", func(t *testing.T, root string) { build(t, root, dir("new/dir")) }, true},
		{"r and w bits", func(t *testing.T, root string) { chmod(t, root, "lib/a", 0o400); chmod(t, root, "bin/run", 0o500) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := tree(t, base...)
			before := hashDir(t, root, Options{})
			tc.mutate(t, root)
			after := hashDir(t, root, Options{})
			if same := before.Digest() == after.Digest(); same != tc.same {
				t.Errorf("digest unchanged = %v, want %v\nbefore:\n%s\nafter:\n%s", same, tc.same, before.Text(), after.Text())
			}
			if Diff(before, after).Empty() != tc.same {
				t.Errorf("Diff = %+v", Diff(before, after))
			}
		})
	}
}

func chmod(t *testing.T, root, p string, m fs.FileMode) {
	t.Helper()
	if err := os.Chmod(filepath.Join(root, p), m); err != nil {
		t.Fatal(err)
	}
}

func rename(t *testing.T, root, from, to string) {
	t.Helper()
	if err := os.Rename(filepath.Join(root, from), filepath.Join(root, to)); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, root, p string) {
	t.Helper()
	if err := os.Remove(filepath.Join(root, p)); err != nil {
		t.Fatal(err)
	}
}

func TestVisit(t *testing.T) {
	root := goldenTree(t)
	// Enough files that the workers run ahead of the consumer.
	for i := range 200 {
		build(t, root, f(fmt.Sprintf("many/%03d", i), strings.Repeat(fmt.Sprint(i), i*50)))
	}
	var seen []Entry
	l, err := Hash(os.DirFS(root), Options{Visit: func(e Entry, data []byte) error {
		seen = append(seen, e)
		var want []byte
		var err error
		if e.Type == Symlink {
			var target string
			target, err = os.Readlink(filepath.Join(root, e.Path))
			want = []byte(target)
		} else {
			want, err = os.ReadFile(filepath.Join(root, e.Path))
		}
		if err != nil {
			return err
		}
		if !bytes.Equal(data, want) {
			t.Errorf("%s: Visit got %d bytes, want %d", e.Path, len(data), len(want))
		}
		if int64(len(data)) != e.Size {
			t.Errorf("%s: %d bytes for Size %d", e.Path, len(data), e.Size)
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(l.Entries) {
		t.Fatalf("Visit called %d times for %d entries", len(seen), len(l.Entries))
	}
	for i := range seen {
		if seen[i] != l.Entries[i] {
			t.Errorf("visit %d: %+v, listing has %+v", i, seen[i], l.Entries[i])
		}
	}
	if plain := hashDir(t, root, Options{}); plain.Digest() != l.Digest() {
		t.Errorf("digest with Visit %s, without %s", l.Digest(), plain.Digest())
	}

	stop := errors.New("stop here")
	n := 0
	_, err = Hash(os.DirFS(root), Options{Visit: func(e Entry, data []byte) error {
		if n++; n == 5 {
			return stop
		}
		return nil
	}})
	if !errors.Is(err, stop) || n != 5 {
		t.Errorf("Visit error: got %v after %d calls", err, n)
	}
}

// The listing, and which error is reported, do not depend on how many workers run.
func TestDeterministic(t *testing.T) {
	var nodes []node
	for i := range 300 {
		nodes = append(nodes, f(fmt.Sprintf("d%d/f%03d", i%7, i), strings.Repeat("x", i*37)), ln(fmt.Sprintf("d%d/l%03d", i%7, i), "."))
	}
	root := tree(t, nodes...)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var want string
	for _, procs := range []int{1, 2, 3, 8, 1, 2, 8} {
		runtime.GOMAXPROCS(procs)
		got := string(hashDir(t, root, Options{}).Text())
		if want == "" {
			want = got
		} else if got != want {
			t.Fatalf("GOMAXPROCS=%d gave a different listing", procs)
		}
		// Many files are too large: the first in Path order is reported.
		_, err := Hash(os.DirFS(root), Options{MaxFileSize: 100 * 37})
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), `"d0/f105"`) {
			t.Errorf("GOMAXPROCS=%d: %v, want d0/f105 too large", procs, err)
		}
	}
}

// sizeFS reports a file size that differs from its content, as when a file changes while it is
// read.
type sizeFS struct {
	fstest.MapFS
	size int64
}

func (s sizeFS) Open(name string) (fs.File, error) {
	file, err := s.MapFS.Open(name)
	if err != nil {
		return nil, err
	}
	return sizeFile{file, s.size}, nil
}

func (s sizeFS) Lstat(name string) (fs.FileInfo, error) {
	fi, err := s.MapFS.Lstat(name)
	if err != nil {
		return nil, err
	}
	return sizeInfo{fi, s.size}, nil
}

type sizeFile struct {
	fs.File
	size int64
}

func (f sizeFile) Stat() (fs.FileInfo, error) {
	fi, err := f.File.Stat()
	if err != nil {
		return nil, err
	}
	return sizeInfo{fi, f.size}, nil
}

type sizeInfo struct {
	fs.FileInfo
	size int64
}

func (i sizeInfo) Size() int64 { return i.size }

func TestFileChangesWhileRead(t *testing.T) {
	content := strings.Repeat("0123456789", 1000)
	for _, size := range []int64{0, 1, 5000, 10000, 20000} {
		fsys := sizeFS{fstest.MapFS{"a": {Data: []byte(content), Mode: 0o644}}, size}
		var got []byte
		l, err := Hash(fsys, Options{Visit: func(e Entry, data []byte) error { got = data; return nil }})
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if l.Entries[0].Size != int64(len(content)) || string(got) != content {
			t.Errorf("size %d: listed %d bytes, visited %d", size, l.Entries[0].Size, len(got))
		}
	}
	// A file that grows past the limit while being read is still refused.
	fsys := sizeFS{fstest.MapFS{"a": {Data: []byte(content), Mode: 0o644}}, 10}
	checkErr(t, fsys, Options{MaxFileSize: 100}, ErrTooLarge, "grew")
}

// swapFS turns a regular file into a symlink between the walk and the read.
type swapFS struct{ fstest.MapFS }

func (s swapFS) Lstat(name string) (fs.FileInfo, error) {
	if name == "a" {
		return fstest.MapFS{"a": {Mode: fs.ModeSymlink, Data: []byte("/etc/passwd")}}.Lstat(name)
	}
	return s.MapFS.Lstat(name)
}

func TestSwappedWhileHashing(t *testing.T) {
	checkErr(t, swapFS{fstest.MapFS{"a": {Data: []byte("x")}}}, Options{}, ErrUnsafeEntry, "changed into a symlink")
}

// errFS fails reading one file.
type errFS struct{ fstest.MapFS }

type errFile struct{ fs.File }

func (errFile) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func (e errFS) Open(name string) (fs.File, error) {
	file, err := e.MapFS.Open(name)
	if err == nil && name == "bad" {
		return errFile{file}, nil
	}
	return file, err
}

func TestReadError(t *testing.T) {
	_, err := Hash(errFS{fstest.MapFS{"bad": {Data: []byte("x")}, "good": {Data: []byte("y")}}}, Options{})
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("got %v", err)
	}
	if _, err := Hash(fstest.MapFS{}, Options{}); err != nil {
		t.Errorf("empty folder: %v", err)
	}
	if _, err := Hash(os.DirFS(filepath.Join(t.TempDir(), "missing")), Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing folder: %v", err)
	}
}
