package wstree

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mk(t testing.TB, root string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, f)
		if strings.HasSuffix(f, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func repos(r *Result, root string) []string {
	var out []string
	for _, x := range r.Repos {
		s := strings.TrimPrefix(x.DotGit, root)
		if x.File {
			s += "(file)"
		}
		out = append(out, s)
	}
	return out
}

func rel(list []string, root string) []string {
	var out []string
	for _, p := range list {
		out = append(out, strings.TrimPrefix(p, root))
	}
	return out
}

func TestWalkFindsRepositoriesAndNames(t *testing.T) {
	root := t.TempDir()
	mk(t, root, ".git/hooks/", "a/b/vendor/x/.git/config", "deps/y/.git", "docs/CLAUDE.md", "src/AGENTS.md",
		"node_modules/p/.git/", "a/b/c/d/e.txt", "weird\nname/.git/")
	os.Symlink("/", filepath.Join(root, "link"))
	names := map[string]bool{"CLAUDE.md": true, "AGENTS.md": true}
	cache := filepath.Join(t.TempDir(), "c")
	r := Walk(Options{Root: root, Names: names, CacheFile: cache})
	want := []string{"/.git", "/a/b/vendor/x/.git", "/deps/y/.git(file)", "/node_modules/p/.git", "/weird\nname/.git"}
	if got := repos(r, root); !reflect.DeepEqual(got, want) {
		t.Errorf("repos = %q, want %q", got, want)
	}
	if got := rel(r.Found, root); !reflect.DeepEqual(got, []string{"/docs/CLAUDE.md", "/src/AGENTS.md"}) {
		t.Errorf("found = %q", got)
	}
	if len(r.Unchecked) != 0 {
		t.Errorf("unchecked: %q", r.Unchecked)
	}
	// Warm, nothing changed: the same result from the cache. Folders made within the last
	// second are read again (their ctime may share a timestamp tick with a later change).
	r2 := Walk(Options{Root: root, Names: names, CacheFile: cache})
	if !reflect.DeepEqual(repos(r2, root), want) || !reflect.DeepEqual(r2.Found, r.Found) {
		t.Errorf("warm walk differs: %q %q", repos(r2, root), r2.Found)
	}
}

// A cached folder is trusted only while its inode and ctime are unchanged: a repository created,
// renamed or deleted below it is seen by the next walk, however its mtime was set.
func TestWalkCacheSeesChanges(t *testing.T) {
	root := t.TempDir()
	mk(t, root, "a/b/c/", "x/.git/")
	cache := filepath.Join(t.TempDir(), "c")
	old := time.Now().Add(-time.Hour)
	age := func() {
		filepath.Walk(root, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, old, old) })
	}
	age()
	// ctime cannot be set back: wait out the one-second trust window instead.
	time.Sleep(1100 * time.Millisecond)
	r := Walk(Options{Root: root, CacheFile: cache})
	if got := repos(r, root); !reflect.DeepEqual(got, []string{"/x/.git"}) {
		t.Fatalf("repos = %q", got)
	}
	warm := Walk(Options{Root: root, CacheFile: cache})
	if warm.Read != 0 {
		t.Errorf("a warm walk of an unchanged tree read %d folders, want 0", warm.Read)
	}
	mk(t, root, "a/b/c/new/.git/")
	os.Rename(filepath.Join(root, "x"), filepath.Join(root, "y"))
	age() // mtimes put back: the walk must not care
	r = Walk(Options{Root: root, CacheFile: cache})
	if got := repos(r, root); !reflect.DeepEqual(got, []string{"/a/b/c/new/.git", "/y/.git"}) {
		t.Errorf("after changes, repos = %q", got)
	}
	os.RemoveAll(filepath.Join(root, "y"))
	r = Walk(Options{Root: root, CacheFile: cache})
	if got := repos(r, root); !reflect.DeepEqual(got, []string{"/a/b/c/new/.git"}) {
		t.Errorf("after a removal, repos = %q", got)
	}
}

func TestWalkBounds(t *testing.T) {
	root := t.TempDir()
	deep := root
	for i := range 70 {
		deep = filepath.Join(deep, fmt.Sprint("d", i))
	}
	mk(t, deep, ".git/")
	r := Walk(Options{Root: root})
	if len(r.Repos) != 0 || len(r.Unchecked) != 1 || !strings.Contains(r.Unchecked[0], "deeper than 64") {
		t.Errorf("deep tree: repos %v, unchecked %q", r.Repos, r.Unchecked)
	}
	r = Walk(Options{Root: root, MaxDirs: 10})
	if r.Dirs != 10 || len(r.Unchecked) == 0 {
		t.Errorf("dir budget: %d dirs, unchecked %q", r.Dirs, r.Unchecked)
	}
	r = Walk(Options{Root: root, Skip: []string{filepath.Join(root, "d0")}})
	if r.Dirs != 1 || len(r.Unchecked) != 0 {
		t.Errorf("skip: %d dirs, unchecked %q", r.Dirs, r.Unchecked)
	}
}

func TestCacheIgnoresForeignFiles(t *testing.T) {
	root := t.TempDir()
	mk(t, root, "r/.git/")
	cache := filepath.Join(t.TempDir(), "c")
	for _, junk := range []string{"", "garbage", cacheMagic + "\x05/othe", cacheMagic + "\xff\xff\xff\xff\xff\xff"} {
		os.WriteFile(cache, []byte(junk), 0o600)
		if got := repos(Walk(Options{Root: root, CacheFile: cache}), root); !reflect.DeepEqual(got, []string{"/r/.git"}) {
			t.Errorf("with cache %q: repos %q", junk, got)
		}
	}
}

// BenchmarkWalk measures the case: 20,000 files with 3 nested repositories.
func BenchmarkWalk(b *testing.B) {
	root := b.TempDir()
	var files []string
	for i := range 2000 {
		for j := range 10 {
			files = append(files, fmt.Sprintf("p%d/q%d/f%d", i%40, i, j))
		}
	}
	files = append(files, ".git/config", "p1/vendor/x/.git/config", "p2/deps/y/.git/config", "p3/ex/.git/config")
	mk(b, root, files...)
	old := time.Now().Add(-time.Hour)
	filepath.Walk(root, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, old, old) })
	time.Sleep(1100 * time.Millisecond)
	cache := filepath.Join(b.TempDir(), "c")
	names := []string{"CLAUDE.md", "AGENTS.md", ".claude", ".envrc"}
	env := Env{Home: b.TempDir()}
	// What a run pays: the walk and every repository's configuration, hooks and managers.
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			os.Remove(cache)
			if in := Inspect(root, env, names, cache); len(in.Repos) != 4 {
				b.Fatalf("repos %v", in.Repos)
			}
		}
	})
	Walk(Options{Root: root, CacheFile: cache})
	b.Run("warm", func(b *testing.B) {
		for b.Loop() {
			if in := Inspect(root, env, names, cache); len(in.Repos) != 4 || in.Read != 0 {
				b.Fatalf("repos %v read %d", in.Repos, in.Read)
			}
		}
	})
}
