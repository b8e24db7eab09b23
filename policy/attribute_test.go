package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"testing"
)

// atFS is a fake HostFS: files, directories (implied by the paths below them) and symlinks.
type atFS struct {
	files map[string]bool
	dirs  map[string]bool
	links map[string]string // absolute link path → target (absolute or relative to the link's folder)
}

func newAtFS(files []string, links map[string]string) *atFS {
	h := &atFS{files: map[string]bool{}, dirs: map[string]bool{"/": true}, links: links}
	addParents := func(p string) {
		for d := path.Dir(p); ; d = path.Dir(d) {
			h.dirs[d] = true
			if d == "/" {
				break
			}
		}
	}
	for _, f := range files {
		if strings.HasSuffix(f, "/") {
			h.dirs[path.Clean(f)] = true
			addParents(path.Clean(f))
			continue
		}
		h.files[f] = true
		addParents(f)
	}
	for l := range links {
		addParents(l)
	}
	return h
}

// resolve follows every symlink in p; ok is false when a component is missing or links loop.
func (h *atFS) resolve(p string) (string, bool) {
	p = path.Clean(p)
	for hops := 0; hops < 40; hops++ {
		changed := false
		elems := strings.Split(strings.TrimPrefix(p, "/"), "/")
		cur := "/"
		for i, e := range elems {
			if e == "" {
				continue
			}
			next := path.Join(cur, e)
			if t, ok := h.links[next]; ok {
				if !path.IsAbs(t) {
					t = path.Join(cur, t)
				}
				p = path.Join(append([]string{t}, elems[i+1:]...)...)
				changed = true
				break
			}
			if !h.dirs[next] && !h.files[next] {
				return "", false
			}
			cur = next
		}
		if !changed {
			return cur, true
		}
	}
	return "", false
}

type atEntry struct {
	name string
	mode fs.FileMode
}

func (e atEntry) Name() string               { return e.name }
func (e atEntry) IsDir() bool                { return e.mode.IsDir() }
func (e atEntry) Type() fs.FileMode          { return e.mode.Type() }
func (e atEntry) Info() (fs.FileInfo, error) { return nil, errors.New("no info in the fake") }

func (h *atFS) ReadDir(dir string) ([]fs.DirEntry, error) {
	real, ok := h.resolve(dir)
	if !ok || !h.dirs[real] {
		return nil, fmt.Errorf("%s: no such directory", dir)
	}
	seen := map[string]fs.FileMode{}
	add := func(p string, m fs.FileMode) {
		if p != real && path.Dir(p) == real {
			seen[path.Base(p)] = m
		}
	}
	for d := range h.dirs {
		add(d, fs.ModeDir)
	}
	for f := range h.files {
		add(f, 0)
	}
	for l := range h.links {
		add(l, fs.ModeSymlink)
	}
	var out []fs.DirEntry
	for n, m := range seen {
		out = append(out, atEntry{n, m})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

func (h *atFS) RealPath(p string) (string, error) {
	if r, ok := h.resolve(p); ok {
		return r, nil
	}
	return "", fmt.Errorf("%s: no such file or directory", p)
}

func (h *atFS) IsDir(p string) bool  { r, ok := h.resolve(p); return ok && h.dirs[r] }
func (h *atFS) IsFile(p string) bool { r, ok := h.resolve(p); return ok && h.files[r] }

// atWorld is a home with skills in several roots, a symlinked skill installed twice, a plugin
// skill, a prefix trap (pdf, pdf-tools) and folders that are not skills.
func atWorld() *atFS {
	return newAtFS([]string{
		"/home/u/.claude/skills/pdf/SKILL.md",
		"/home/u/.claude/skills/pdf/run.py",
		"/home/u/.claude/skills/pdf/bin/tool",
		"/home/u/.claude/skills/pdf-tools/skillrun.yaml",
		"/home/u/.claude/skills/pdf-tools/x.sh",
		"/home/u/.claude/skills/notes/README.md", // no SKILL.md, no manifest: not a skill
		"/home/u/.claude/skills/README.md",
		"/home/u/.claude/skills/pdf\u202egnp/SKILL.md", // a bidi name: never a skill
		"/home/u/src/shared/SKILL.md",
		"/home/u/src/shared/lib/run.sh",
		"/home/u/src/file.txt",
		"/home/u/.claude/plugins/marketplaces/m/plugins/p/1.0/skills/px/SKILL.md",
		"/home/u/.claude/plugins/marketplaces/m/plugins/p/1.0/skills/px/go.sh",
		"/home/u/.claude/plugins/cache/skills/cached/skillrun.yaml",
		"/home/u/proj/.agents/skills/lint/SKILL.md",
		"/home/u/proj/src/main.go",
	}, map[string]string{
		"/home/u/.claude/skills/shared":      "/home/u/src/shared",
		"/home/u/.agents/skills/shared":      "../../src/shared",
		"/home/u/.claude/skills/dangling":    "/home/u/src/missing",
		"/home/u/.claude/skills/filelink":    "/home/u/src/file.txt",
		"/home/u/bin/sh-link":                "/home/u/src/shared",
		"/home/u/proj/.agents/skills/linted": "/home/u/proj/.agents/skills/lint",
	})
}

func TestSkillRootsList(t *testing.T) {
	pol, err := ParsePolicy("policy.yaml", []byte("version: 1\nskill_roots: [\"${HOME}/my-skills\", \"${WORKSPACE}/tools/skills\", \"/opt/skills\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	roots := SkillRoots("/home/u", "/home/u/proj", pol)
	want := []string{"/home/u/my-skills", "/home/u/proj/tools/skills", "/opt/skills",
		"/home/u/.claude/skills", "/home/u/proj/.claude/skills", "/home/u/.claude/plugins/**/skills",
		"/home/u/.codex/skills", "/home/u/proj/.codex/skills", "/home/u/.agents/skills", "/home/u/proj/.agents/skills",
		"/home/u/.gemini/skills", "/home/u/proj/.gemini/skills"}
	if strings.Join(roots, "\n") != strings.Join(want, "\n") {
		t.Errorf("SkillRoots:\n%s\nwant\n%s", strings.Join(roots, "\n"), strings.Join(want, "\n"))
	}
	dirs := RootDirs(roots)
	if !skHas(dirs, "/home/u/.claude/plugins") || skHas(dirs, "/home/u/.claude/plugins/**/skills") || len(dirs) != len(roots) {
		t.Errorf("RootDirs: %v", dirs)
	}
	// The home as the workspace: each root once.
	roots = SkillRoots("/home/u", "/home/u", nil)
	seen := map[string]bool{}
	for _, r := range roots {
		if seen[r] {
			t.Errorf("%s listed twice: %v", r, roots)
		}
		seen[r] = true
	}
}

func TestDiscover(t *testing.T) {
	h := atWorld()
	roots := append(SkillRoots("/home/u", "/home/u/proj", nil), "/home/u/nowhere")
	got := Discover(h, roots)
	type row struct{ name, dir, source, root string }
	want := []row{
		{"shared", "/home/u/.agents/skills/shared", "/home/u/src/shared", "/home/u/.agents/skills"},
		{"cached", "/home/u/.claude/plugins/cache/skills/cached", "/home/u/.claude/plugins/cache/skills/cached", "/home/u/.claude/plugins/cache/skills"},
		{"px", "/home/u/.claude/plugins/marketplaces/m/plugins/p/1.0/skills/px", "/home/u/.claude/plugins/marketplaces/m/plugins/p/1.0/skills/px", "/home/u/.claude/plugins/marketplaces/m/plugins/p/1.0/skills"},
		{"pdf", "/home/u/.claude/skills/pdf", "/home/u/.claude/skills/pdf", "/home/u/.claude/skills"},
		{"pdf-tools", "/home/u/.claude/skills/pdf-tools", "/home/u/.claude/skills/pdf-tools", "/home/u/.claude/skills"},
		{"shared", "/home/u/.claude/skills/shared", "/home/u/src/shared", "/home/u/.claude/skills"},
		{"lint", "/home/u/proj/.agents/skills/lint", "/home/u/proj/.agents/skills/lint", "/home/u/proj/.agents/skills"},
		{"linted", "/home/u/proj/.agents/skills/linted", "/home/u/proj/.agents/skills/lint", "/home/u/proj/.agents/skills"},
	}
	var rows []row
	for _, f := range got {
		rows = append(rows, row{f.Name, f.Dir, f.Source, f.Root})
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("Discover:\n%v\nwant\n%v", strings.ReplaceAll(fmt.Sprint(rows), "} {", "}\n{"), strings.ReplaceAll(fmt.Sprint(want), "} {", "}\n{"))
	}
	// A root given twice lists its skills once; no roots, no skills.
	if n := len(Discover(h, []string{"/home/u/.claude/skills", "/home/u/.claude/skills"})); n != 3 {
		t.Errorf("a repeated root: %d skills, want 3", n)
	}
	if got := Discover(h, nil); len(got) != 0 {
		t.Errorf("no roots: %v", got)
	}
	// A symlinked root resolves like any folder.
	h.links["/home/u/skills-link"] = "/home/u/.claude/skills"
	if n := len(Discover(h, []string{"/home/u/skills-link"})); n != 3 {
		t.Errorf("a symlinked root: %d skills, want 3", n)
	}
}

func TestAttribute(t *testing.T) {
	h := atWorld()
	skills := Discover(h, SkillRoots("/home/u", "/home/u/proj", nil))
	find := func(dir string) *FoundSkill {
		for i := range skills {
			if skills[i].Dir == dir {
				return &skills[i]
			}
		}
		t.Fatalf("no skill at %s", dir)
		return nil
	}
	sh := func(s string) Command { return Command{Shell: &s} }
	argv := func(a ...string) Command { return Command{Argv: a} }
	const pdf, tools, shared = "/home/u/.claude/skills/pdf", "/home/u/.claude/skills/pdf-tools", "/home/u/.claude/skills/shared"
	cases := []struct {
		name     string
		cmd      Command
		cwd      string
		explicit string // a skill Dir named by --skill
		wantDir  string // "" = an agent command
		wantSrc  string // "" = the same as wantDir
		by       string // prefix of Attribution.By
		err      error
	}{
		{"program in the skill", argv(pdf+"/bin/tool", "-x"), "/home/u/proj", "", pdf, "", "argument " + pdf + "/bin/tool", nil},
		{"script argument", argv("python3", pdf+"/run.py"), "/home/u/proj", "", pdf, "", "argument", nil},
		{"the folder itself", argv("ls", pdf), "/home/u/proj", "", pdf, "", "argument", nil},
		{"relative to the cwd", argv("python3", "pdf/run.py"), "/home/u/.claude/skills", "", pdf, "", "argument " + pdf + "/run.py", nil},
		{"relative with ..", argv("python3", "../.claude/skills/pdf/run.py"), "/home/u/proj", "", pdf, "", "argument", nil},
		{"dot slash", argv("./run.py"), pdf, "", pdf, "", "argument", nil},
		{"tilde", argv("bash", "~/.claude/skills/pdf/run.py"), "/home/u/proj", "", pdf, "", "argument", nil},
		{"$HOME", argv("bash", "$HOME/.claude/skills/pdf/run.py"), "/home/u/proj", "", pdf, "", "argument", nil},
		{"${HOME}", argv("bash", "${HOME}/.claude/skills/pdf/run.py"), "/home/u/proj", "", pdf, "", "argument", nil},
		{"VAR=/path", argv("env", "SCRIPT="+pdf+"/run.py", "make"), "/home/u/proj", "", pdf, "", "argument", nil},
		{"--flag=/path", argv("tool", "--config="+pdf+"/c.yaml"), "/home/u/proj", "", pdf, "", "argument", nil},
		{"--flag=~/path", argv("tool", "--config=~/.claude/skills/pdf/c.yaml"), "/home/u/proj", "", pdf, "", "argument", nil},
		{"shell string", sh("cd /home/u/proj && python3 ~/.claude/skills/pdf/run.py | tee out.txt"), "/home/u/proj", "", pdf, "", "argument", nil},
		{"shell string, quoted", sh(`python3 "$HOME/.claude/skills/pdf/run.py" --in 'a b'`), "/home/u/proj", "", pdf, "", "argument", nil},
		{"shell string, redirection", sh("cat<" + pdf + "/run.py>/dev/null;true"), "/home/u/proj", "", pdf, "", "argument", nil},
		{"shell string, relative", sh("python3 pdf/run.py"), "/home/u/.claude/skills", "", pdf, "", "argument", nil},
		{"shell string and its argv", Command{Shell: strPtr(`python3 "$1"`), Argv: []string{"sh", pdf + "/run.py"}}, "/home/u/proj", "", pdf, "", "argument", nil},
		{"cwd in the skill", argv("make"), pdf + "/bin", "", pdf, "", "cwd " + pdf + "/bin", nil},
		{"an argument wins over the cwd", argv("bash", tools+"/x.sh"), pdf, "", tools, "", "argument", nil},
		{"prefix trap", argv(tools + "/x.sh"), "/home/u/proj", "", tools, "", "argument", nil},
		{"nothing", argv("go", "test", "./..."), "/home/u/proj", "", "", "", "", nil},
		{"a URL is not a path", argv("curl", "file://"+pdf+"/run.py", "https://x.example/home/u/.claude/skills/pdf"), "/home/u/proj", "", "", "", "", nil},
		{"a word without a slash", argv("pdf", "run.py"), "/home/u/proj", "", "", "", "", nil},
		{"the skill root is no skill", argv("ls", "/home/u/.claude/skills"), "/home/u/proj", "", "", "", "", nil},
		{"not a skill folder", argv("cat", "/home/u/.claude/skills/notes/README.md"), "/home/u/proj", "", "", "", "", nil},
		{"two skills", argv("diff", pdf+"/run.py", tools+"/x.sh"), "/home/u/proj", "", "", "", "", ErrAttribution},
		{"two skills in a shell string", sh("python3 " + pdf + "/run.py && ~/.claude/skills/pdf-tools/x.sh"), "/home/u/proj", "", "", "", "", ErrAttribution},
		{"explicit and another by argument", argv("bash", tools+"/x.sh"), "/home/u/proj", pdf, "", "", "", ErrAttribution},
		{"explicit and the same by argument", argv("python3", pdf+"/run.py"), "/home/u/proj", pdf, pdf, "", "--skill", nil},
		{"explicit, cwd elsewhere", argv("make"), tools, pdf, pdf, "", "--skill", nil},
		{"symlink and real path are one skill", argv("bash", shared+"/lib/run.sh", "/home/u/src/shared/lib/run.sh"), "/home/u/proj", "",
			shared, "/home/u/src/shared", "argument", nil},
		{"two installs of one skill", argv("diff", shared+"/SKILL.md", "/home/u/.agents/skills/shared/SKILL.md"), "/home/u/proj", "",
			shared, "/home/u/src/shared", "argument " + shared, nil}, // the first one named
		{"two installs, explicit", argv("cat", "/home/u/.agents/skills/shared/SKILL.md"), "/home/u/proj", shared,
			shared, "/home/u/src/shared", "--skill", nil},
		{"the real path alone", argv("/home/u/src/shared/lib/run.sh"), "/home/u/proj", "", "/home/u/src/shared", "", "argument", nil},
		{"through another symlink", argv("/home/u/bin/sh-link/lib/run.sh"), "/home/u/proj", "", "/home/u/src/shared", "", "argument", nil},
		{"cwd in the real folder", argv("make"), "/home/u/src/shared/lib", "", "/home/u/src/shared", "", "cwd", nil},
		{"plugin skill", argv("sh", "/home/u/.claude/plugins/marketplaces/m/plugins/p/1.0/skills/px/go.sh"), "/home/u/proj", "",
			"/home/u/.claude/plugins/marketplaces/m/plugins/p/1.0/skills/px", "", "argument", nil},
		{"workspace skill through its alias", argv("/home/u/proj/.agents/skills/linted/SKILL.md"), "/home/u/proj", "",
			"/home/u/proj/.agents/skills/linted", "/home/u/proj/.agents/skills/lint", "argument", nil},
		{"alias and real name", argv("cat", "/home/u/proj/.agents/skills/linted/SKILL.md", "/home/u/proj/.agents/skills/lint/SKILL.md"), "/home/u/proj", "",
			"/home/u/proj/.agents/skills/linted", "/home/u/proj/.agents/skills/lint", "argument", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var explicit *FoundSkill
			if c.explicit != "" {
				explicit = find(c.explicit)
			}
			a, err := Attribute(h, c.cmd, c.cwd, "/home/u", skills, explicit, "--skill")
			if c.err != nil {
				if !errors.Is(err, c.err) || a != nil {
					t.Fatalf("got %+v, %v; want %v", a, err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Attribute: %v", err)
			}
			if c.wantDir == "" {
				if a != nil {
					t.Fatalf("attributed to %+v by %s, want an agent command", a.Skill, a.By)
				}
				return
			}
			if a == nil || a.Skill == nil {
				t.Fatalf("not attributed, want %s", c.wantDir)
			}
			src := c.wantSrc
			if src == "" {
				src = c.wantDir
			}
			if a.Skill.Dir != c.wantDir || a.Skill.Source != src {
				t.Errorf("skill %+v, want dir %s source %s", *a.Skill, c.wantDir, src)
			}
			if !strings.HasPrefix(a.By, c.by) {
				t.Errorf("by %q, want %q…", a.By, c.by)
			}
			if a.Skill.Name != path.Base(src) && a.Skill.Name != path.Base(c.wantDir) {
				t.Errorf("name %s", a.Skill.Name)
			}
		})
	}
	// An attributed skill compiles: its folder mount is where the command named it, from its
	// real folder.
	a, err := Attribute(h, argv("bash", "/home/u/proj/.agents/skills/linted/run.sh"), "/home/u/proj", "/home/u", skills, nil, "")
	if err != nil || a == nil {
		t.Fatalf("%+v %v", a, err)
	}
	r := skRequestFor(t, skSpec{manifest: "-", lock: "-"})
	r.Skill = &SkillRequest{Name: a.Skill.Name, Dir: a.Skill.Dir, Source: a.Skill.Source}
	p := mustCompile(t, r)
	if m, ok := skMount(p, a.Skill.Dir); !ok || m.Source != "/home/u/proj/.agents/skills/lint" || m.Access != ReadOnly {
		t.Errorf("mount %+v", m)
	}
}

func strPtr(s string) *string { return &s }
