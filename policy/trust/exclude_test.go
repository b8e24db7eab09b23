package trust

import (
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

// The signed statement lives in .skillrun/ inside the folder it describes, so writing it must not
// change the digest it names: the top-level .skillrun is skipped whatever it holds or is.
func TestSkillrunDirExcluded(t *testing.T) {
	plain := hashDir(t, goldenTree(t), Options{})
	if plain.Digest() != goldenDigest {
		t.Fatalf("golden digest changed: %s", plain.Digest())
	}
	for _, tc := range []struct {
		name  string
		nodes []node
	}{
		{"statement and signature", []node{f(".skillrun/statement.json", "{}\n"), f(".skillrun/statement.json.sig", "sig")}},
		{"empty folder", []node{dir(".skillrun")}},
		{"nested folders and executables", []node{x(".skillrun/a/b/c/run.sh", "#!/bin/sh\n")}},
		{"a plain file", []node{f(".skillrun", "not a folder")}},
		{"an escaping symlink", []node{ln(".skillrun", "/etc")}},
		{"an escaping symlink inside", []node{ln(".skillrun/up", "../../..")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := goldenTree(t)
			build(t, root, tc.nodes...)
			var visited []string
			l := hashDir(t, root, Options{Visit: func(e Entry, _ []byte) error {
				visited = append(visited, e.Path)
				return nil
			}})
			if l.Digest() != goldenDigest {
				t.Errorf("digest %s, want %s:\n%s", l.Digest(), goldenDigest, l.Text())
			}
			for _, p := range visited {
				if strings.HasPrefix(p, ".skillrun") {
					t.Errorf("visited %q", p)
				}
			}
		})
	}
}

// Only the exact top-level name is skipped: the same name deeper down, or a look-alike at the
// root, is ordinary content and must be pinned.
func TestSkillrunDirOnlyAtRoot(t *testing.T) {
	for _, p := range []string{"sub/.skillrun/x", ".skillrunx", ".SKILLRUN/x", "skillrun/x", ".skillrun.json"} {
		t.Run(p, func(t *testing.T) {
			root := goldenTree(t)
			build(t, root, f(p, "payload"))
			l := hashDir(t, root, Options{})
			if l.Digest() == goldenDigest {
				t.Fatalf("%s did not change the digest", p)
			}
			if !strings.Contains(string(l.Text()), " "+p+"\n") {
				t.Errorf("%s not listed:\n%s", p, l.Text())
			}
		})
	}
}

// What is skipped is not even looked at: names that would be refused elsewhere, irregular files
// and entries beyond the entry bound do not matter inside .skillrun.
func TestSkillrunDirNotVisited(t *testing.T) {
	fsys := fstest.MapFS{
		"SKILL.md":                   {Data: []byte("hi\n"), Mode: 0o644},
		".skillrun/bad\x1bname":      {Data: []byte("x")},
		".skillrun/evil\u202egpj.sh": {Data: []byte("x")},
		".skillrun/fifo":             {Mode: fs.ModeNamedPipe},
		".skillrun/dev":              {Mode: fs.ModeDevice},
		".skillrun/a":                {Data: []byte("1")},
		".skillrun/b":                {Data: []byte("2")},
		".skillrun/c":                {Data: []byte("3")},
	}
	l, err := Hash(fsys, Options{MaxEntries: 1})
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if l.Files() != 1 || l.Entries[0].Path != "SKILL.md" {
		t.Errorf("listing:\n%s", l.Text())
	}
}

// A symlink elsewhere that resolves into .skillrun would let a skill run content that the digest
// does not cover (and that the verified snapshot does not hold), so it is refused however the
// resolution gets there.
func TestSymlinkIntoSkillrunDirRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes []node
	}{
		{"direct", []node{ln("run.sh", ".skillrun/payload")}},
		{"the folder itself", []node{ln("meta", ".skillrun")}},
		{"from below", []node{ln("sub/run.sh", "../.skillrun/payload")}},
		{"dot segments", []node{dir("sub"), ln("run.sh", "./sub/../.skillrun/payload")}},
		{"through another link", []node{ln("here", "."), ln("run.sh", "here/.skillrun/payload")}},
		{"through a chain", []node{dir("sub"), ln("up", "sub/.."), ln("run.sh", "up/.skillrun")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := tree(t, append([]node{f(".skillrun/payload", "#!/bin/sh\n")}, tc.nodes...)...)
			checkErr(t, os.DirFS(root), Options{}, ErrUnsafeEntry, ".skillrun/, which the digest does not cover")
		})
	}
	// Links to a deeper .skillrun, or to a name that merely starts the same way, stay fine.
	root := tree(t, f("sub/.skillrun/x", "x"), f(".skillrunx", "y"),
		ln("a", "sub/.skillrun/x"), ln("b", ".skillrunx"), ln("sub/c", ".skillrun"))
	if _, err := Hash(os.DirFS(root), Options{}); err != nil {
		t.Fatalf("Hash: %v", err)
	}
}
