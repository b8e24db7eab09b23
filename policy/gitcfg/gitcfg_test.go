package gitcfg

import (
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string // key=value
		err        bool
	}{
		{"plain", "[core]\n\thooksPath = .husky\n", []string{"core.hookspath=.husky"}, false},
		{"subsection", "[filter \"lfs\"]\nclean = git-lfs clean -- %f\n", []string{"filter.lfs.clean=git-lfs clean -- %f"}, false},
		{"old subsection", "[Remote.Origin]\nurl = x\n", []string{"remote.origin.url=x"}, false},
		{"bare key", "[core]\nbare\n", []string{"core.bare="}, false},
		{"comments", "# c\n; c\n[core] ; c\npager = less # c\n", []string{"core.pager=less"}, false},
		{"quoted comment chars", "[alias]\nx = \"!echo #; y\"\n", []string{"alias.x=!echo #; y"}, false},
		{"continuation", "[core]\nfsmonitor = a\\\n b\n", []string{"core.fsmonitor=a b"}, false},
		{"escapes", "[a]\nb = \"x\\ty\\\"z\"\n", []string{"a.b=x\ty\"z"}, false},
		{"inner spaces kept, ends trimmed", "[a]\nb =   x   y   \n", []string{"a.b=x   y"}, false},
		{"section on key line", "[core] hooksPath = h\n", []string{"core.hookspath=h"}, false},
		{"key outside section", "a = b\n", nil, true},
		{"bad escape", "[a]\nb = \\q\n", nil, true},
		{"unterminated quote", "[a]\nb = \"x\n", nil, true},
		{"unterminated header", "[a\n", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es, err := Parse("f", []byte(tc.text))
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.Key+"="+e.Value)
			}
			if !tc.err && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

type memFS map[string]string

func (m memFS) env(home string) Env {
	return Env{Home: home, ReadFile: func(p string) ([]byte, error) {
		s, ok := m[p]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return []byte(s), nil
	}, IsNotExist: func(err error) bool { return errors.Is(err, fs.ErrNotExist) }}
}

func hookPaths(h []HooksDir) []string {
	var out []string
	for _, d := range h {
		s := d.Path
		if d.Effective {
			s += "*"
		}
		out = append(out, s)
	}
	return out
}

func TestHooks(t *testing.T) {
	repo := Repo{Worktree: "/ws", GitDir: "/ws/.git", CommonDir: "/ws/.git"}
	for _, tc := range []struct {
		name  string
		files memFS
		want  []string // effective marked with *
	}{
		{"default", memFS{}, []string{"/ws/.git/hooks*"}},
		{"husky relative to the worktree", memFS{"/ws/.git/config": "[core]\nhooksPath = .husky/_\n"},
			[]string{"/ws/.husky/_*", "/ws/.git/hooks"}},
		{"global with tilde", memFS{"/h/.gitconfig": "[core]\nhooksPath = ~/.githooks\n"},
			[]string{"/h/.githooks*", "/ws/.git/hooks"}},
		{"xdg global", memFS{"/h/.config/git/config": "[core]\nhooksPath = /abs/hooks\n"},
			[]string{"/abs/hooks*", "/ws/.git/hooks"}},
		{"system", memFS{"/etc/gitconfig": "[core]\nhooksPath = /sys/hooks\n"},
			[]string{"/sys/hooks*", "/ws/.git/hooks"}},
		{"local overrides global, both kept", memFS{"/h/.gitconfig": "[core]\nhooksPath = /g\n", "/ws/.git/config": "[core]\nhooksPath = l\n"},
			[]string{"/g", "/ws/l*", "/ws/.git/hooks"}},
		{"include relative to the including file", memFS{"/ws/.git/config": "[include]\npath = ../cfg/inc\n", "/ws/cfg/inc": "[core]\nhooksPath = hk\n"},
			[]string{"/ws/hk*", "/ws/.git/hooks"}},
		{"includeIf gitdir matches", memFS{"/h/.gitconfig": "[includeIf \"gitdir:/ws/\"]\npath = ~/w.inc\n", "/h/w.inc": "[core]\nhooksPath = /w\n"},
			[]string{"/w*", "/ws/.git/hooks"}},
		{"includeIf gitdir pattern without slash", memFS{"/h/.gitconfig": "[includeIf \"gitdir:ws/.git\"]\npath = /i\n", "/i": "[core]\nhooksPath = /w\n"},
			[]string{"/w*", "/ws/.git/hooks"}},
		{"includeIf gitdir does not match", memFS{"/h/.gitconfig": "[includeIf \"gitdir:/other/\"]\npath = /i\n", "/i": "[core]\nhooksPath = /w\n"},
			[]string{"/ws/.git/hooks*"}},
		{"includeIf onbranch counts as true", memFS{"/h/.gitconfig": "[includeIf \"onbranch:main\"]\npath = /i\n", "/i": "[core]\nhooksPath = /w\n"},
			[]string{"/w*", "/ws/.git/hooks"}},
		{"include cycle is bounded", memFS{"/ws/.git/config": "[include]\npath = /ws/.git/config\n[core]\nhooksPath=x\n"},
			[]string{"/ws/x*", "/ws/.git/hooks"}},
		{"dev null", memFS{"/ws/.git/config": "[core]\nhooksPath = /dev/null\n"},
			[]string{"/dev/null*", "/ws/.git/hooks"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.files.env("/h")
			c := Load(repo, env)
			got := hookPaths(c.Hooks(repo, env))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("hooks = %q, want %q (problems %q)", got, tc.want, c.Problems)
			}
		})
	}
}

func TestLoadListsEveryConfigFile(t *testing.T) {
	repo := Repo{Worktree: "/ws", GitDir: "/ws/.git/worktrees/x", CommonDir: "/ws/.git"}
	files := memFS{"/ws/.git/config": "[include]\npath = extra\n"}
	c := Load(repo, files.env("/h"))
	want := []string{"/etc/gitconfig", "/h/.config/git/config", "/h/.gitconfig", "/ws/.git/config", "/ws/.git/extra", "/ws/.git/worktrees/x/config.worktree"}
	if !reflect.DeepEqual(c.Files, want) {
		t.Errorf("files = %q, want %q", c.Files, want)
	}
}

func TestRunners(t *testing.T) {
	text := `[core]
	fsmonitor = true
	pager = less -R
[core]
	fsmonitor = .git/fsmon.sh
	sshCommand = ssh -i x
[diff]
	external = ext
[diff "pdf"]
	textconv = pdftotext
[filter "x"]
	clean = c
	smudge = s
[credential]
	helper = store
[credential "https://example.com"]
	helper = evil
[alias]
	st = status
	sh = !sh -c x
[remote "origin"]
	url = https://example.com/r
	uploadpack = up
[url "https://example.com/"]
	insteadOf = https://example.org/
[user]
	name = x
`
	es, err := Parse("f", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range Runners(es) {
		got = append(got, r.Key)
	}
	want := []string{"core.pager", "core.fsmonitor", "core.sshcommand", "diff.external", "diff.pdf.textconv",
		"filter.x.clean", "filter.x.smudge", "credential.helper", "credential.https://example.com.helper",
		"alias.sh", "remote.origin.uploadpack", "url.https://example.com/.insteadof"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("runners = %q\nwant      %q", got, want)
	}
}

func TestManagers(t *testing.T) {
	got := Managers("/ws", map[string][]byte{"pre-commit": []byte("#!/bin/sh\nexec pre-commit hook-impl --config=.pre-commit-config.yaml\n")})
	if len(got) == 0 || got[0].Path != "/ws/.pre-commit-config.yaml" {
		t.Errorf("managers = %v", got)
	}
	if got := Managers("/ws", map[string][]byte{"pre-commit": []byte("#!/bin/sh\nmake lint\n")}); len(got) != 0 {
		t.Errorf("a plain hook names no manager: %v", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"[core]\nhooksPath = x\n", "[a \"b\\\"c\"]\nd = \"e\\\nf\"", "[", "a=b", "[a]\nb=\\"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		es, _ := Parse("f", b)
		for _, e := range es {
			if e.Key == "" || e.Line < 1 {
				t.Fatalf("bad entry %+v", e)
			}
		}
		_ = Runners(es)
	})
}

func FuzzFormatRoundTrip(f *testing.F) {
	f.Add([]byte("[core]\nbare\n[a \"B\\\"c\"]\nd = \"e\\tf\"  \n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := Parse("f", b)
		if err != nil {
			return
		}
		again, err := Parse("f", []byte(Format(es)))
		if err != nil {
			t.Fatalf("formatted config does not parse: %v\n%s", err, Format(es))
		}
		if len(again) != len(es) {
			t.Fatalf("%d entries, %d after formatting", len(es), len(again))
		}
		for i := range es {
			if es[i].Key != again[i].Key || es[i].Value != again[i].Value || es[i].NoValue != again[i].NoValue {
				t.Fatalf("entry %d: %+v became %+v", i, es[i], again[i])
			}
		}
	})
}
