package degraded

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/skillrun/skillrun/policy"
)

// tree builds files ("a/b"), folders ("a/b/") and symlinks ("a/b -> target") under root.
func tree(t *testing.T, root string, entries ...string) {
	t.Helper()
	for _, e := range entries {
		name, target, link := strings.Cut(e, " -> ")
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case link:
			err = os.Symlink(strings.ReplaceAll(target, "$ROOT", root), p)
		case strings.HasSuffix(name, "/"):
			err = os.MkdirAll(p, 0o755)
		default:
			err = os.WriteFile(p, []byte("x"), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestTranslateHost checks the degraded translation of a plan's view into Landlock rules on the
// host's paths: only the rules under the test's folder are compared ("$ROOT/..." -> rights).
func TestTranslateHost(t *testing.T) {
	rw := func(p string) policy.Mount { return policy.Mount{Path: p, Access: policy.ReadWrite, Exec: true} }
	ro := func(p string) policy.Mount { return policy.Mount{Path: p, Access: policy.ReadOnly} }
	rox := func(p string) policy.Mount { return policy.Mount{Path: p, Access: policy.ReadOnly, Exec: true} }
	cases := []struct {
		name     string
		tree     []string
		plan     func(r string) *policy.Plan
		want     map[string]string
		narrowed []string
	}{{
		name: "workspace with protected and masked paths",
		tree: []string{"ws/README", "ws/src/main.go", "ws/.git/HEAD", "ws/.git/objects/", "ws/.git/hooks/",
			"ws/.git/config", "ws/.claude/settings.json", "ws/.env", "ws/.envrc/"},
		plan: func(r string) *policy.Plan {
			ws := r + "/ws"
			return &policy.Plan{Workspace: ws, Mounts: []policy.Mount{rw(ws)},
				Protect: []string{ws + "/.claude", ws + "/.envrc", ws + "/.git/config", ws + "/.git/hooks", ws + "/CLAUDE.md"},
				Mask:    []string{ws + "/.env*"}}
		},
		want: map[string]string{
			// .env* masks the file .env and the folder .envrc: nothing below the workspace may be
			// listed through it, so it keeps nothing itself.
			"ws/README": "read,write,exec", "ws/src": "read,write,exec",
			"ws/.git": "read,exec", "ws/.git/HEAD": "read,write,exec", "ws/.git/objects": "read,write,exec",
			"ws/.git/hooks": "read,exec", "ws/.git/config": "read,exec", "ws/.claude": "read,exec",
		},
		narrowed: []string{"ws", "ws/.git"},
	}, {
		name: "only protected paths: the folder stays readable",
		tree: []string{"ws/a", "ws/.git/hooks/", "ws/.git/index"},
		plan: func(r string) *policy.Plan {
			ws := r + "/ws"
			return &policy.Plan{Workspace: ws, Mounts: []policy.Mount{rw(ws)},
				Protect: []string{ws + "/.git/hooks", ws + "/AGENTS.md"}}
		},
		want: map[string]string{"ws": "read,exec", "ws/a": "read,write,exec", "ws/.git": "read,exec",
			"ws/.git/hooks": "read,exec", "ws/.git/index": "read,write,exec"},
		narrowed: []string{"ws", "ws/.git"},
	}, {
		name: "a protected glob: each match read-only, nothing new in its folder",
		tree: []string{"home/.bashrc", "home/.config/x", "home/notes", "home/.ssh/"},
		plan: func(r string) *policy.Plan {
			h := r + "/home"
			return &policy.Plan{Workspace: h, Mounts: []policy.Mount{rw(h)}, Protect: []string{h + "/.*"}}
		},
		want:     map[string]string{"home": "read,exec", "home/.bashrc": "read,exec", "home/.config": "read,exec", "home/.ssh": "read,exec", "home/notes": "read,write,exec"},
		narrowed: []string{"home"},
	}, {
		name: "read-only system folder with masked files and a glob",
		tree: []string{"etc/passwd", "etc/shadow", "etc/ssh/ssh_config", "etc/ssh/ssh_host_ed25519_key", "etc/ssl/certs/ca.pem"},
		plan: func(r string) *policy.Plan {
			return &policy.Plan{Workspace: r + "/nowhere", Mounts: []policy.Mount{ro(r + "/etc")},
				Mask: []string{r + "/etc/shadow", r + "/etc/ssh/*_key"}}
		},
		want: map[string]string{"etc": "list", "etc/passwd": "read", "etc/ssh": "list",
			"etc/ssh/ssh_config": "read", "etc/ssl": "read"},
	}, {
		name: "empty home and private tmp stand in for the host's",
		tree: []string{"home/.ssh/id_ed25519", "home/.bashrc", "home/go/pkg/mod/x", "private/home/", "private/tmp/"},
		plan: func(r string) *policy.Plan {
			return &policy.Plan{Workspace: r + "/nowhere", Home: r + "/home", Mounts: []policy.Mount{
				{Path: policy.SandboxTmp, Access: policy.Tmpfs, Exec: true},
				{Path: r + "/home", Access: policy.Tmpfs},
				ro(r + "/home/go/pkg/mod"),
			}}
		},
		want: map[string]string{"private/home": "read,write", "private/tmp": "read,write,exec", "home/go/pkg/mod": "read"},
	}, {
		name: "nested mounts with fewer and with more rights",
		tree: []string{"ws/a", "ws/vendor/lib.c", "ws/out/", "data/bin/tool", "data/notes"},
		plan: func(r string) *policy.Plan {
			ws := r + "/ws"
			return &policy.Plan{Workspace: ws, Mounts: []policy.Mount{
				rw(ws), ro(ws + "/vendor"), ro(r + "/data"), rox(r + "/data/bin"),
			}}
		},
		// The read-only vendor folder narrows the workspace; the executable bin adds to data.
		want: map[string]string{"ws": "read", "ws/a": "read,write,exec", "ws/vendor": "read",
			"ws/out": "read,write,exec", "data": "read", "data/bin": "read,exec"},
		narrowed: []string{"ws"},
	}, {
		name: "symlinks are never granted through",
		tree: []string{"ws/docs/notes.md", "ws/docs/other.md", "ws/CLAUDE.md -> docs/notes.md",
			"ws/evil -> $ROOT/secret", "secret/key", "real/cache/x", "linked -> real"},
		plan: func(r string) *policy.Plan {
			ws := r + "/ws"
			return &policy.Plan{Workspace: ws, Mounts: []policy.Mount{
				rw(ws), ro(ws + "/evil"), // a grant through a link the repository planted
				ro(r + "/linked/cache"), // a link of the user's own, outside the workspace
			}, Protect: []string{ws + "/CLAUDE.md"}}
		},
		// The protected link protects what it shows; the planted link grants nothing.
		want: map[string]string{"ws": "read,exec", "ws/docs": "read,exec", "ws/docs/notes.md": "read,exec",
			"ws/docs/other.md": "read,write,exec", "real/cache": "read"},
		narrowed: []string{"ws", "ws/docs"},
	}, {
		name: "a verified skill folder: read and exec, its signature folder hidden",
		tree: []string{"skills/pdf/SKILL.md", "skills/pdf/run.sh", "skills/pdf/.skillrun/sig"},
		plan: func(r string) *policy.Plan {
			return &policy.Plan{Workspace: r + "/nowhere", Mounts: []policy.Mount{
				{Path: r + "/skills/pdf", Access: policy.ReadOnly, Exec: true, Digest: "sha256:00"},
			}}
		},
		want: map[string]string{"skills/pdf/SKILL.md": "read,exec", "skills/pdf/run.sh": "read,exec"},
	}, {
		name: "a mask hides the grants below it",
		tree: []string{"ws/a", "ws/private/inner/x"},
		plan: func(r string) *policy.Plan {
			ws := r + "/ws"
			return &policy.Plan{Workspace: ws, Mounts: []policy.Mount{rw(ws), rw(ws + "/private/inner")},
				Mask: []string{ws + "/private"}}
		},
		want:     map[string]string{"ws/a": "read,write,exec"},
		narrowed: []string{"ws"},
	}, {
		name: "missing optional mounts are skipped",
		tree: []string{"usr/bin/sh"},
		plan: func(r string) *policy.Plan {
			m := rox(r + "/lib32")
			m.Optional = true
			return &policy.Plan{Workspace: r + "/nowhere", Mounts: []policy.Mount{rox(r + "/usr"), m}}
		},
		want: map[string]string{"usr": "read,exec"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			if r, err := filepath.EvalSymlinks(root); err == nil {
				root = r
			}
			tree(t, root, c.tree...)
			plan := c.plan(root)
			for i := range plan.Protect {
				plan.Protect[i] = filepath.Clean(plan.Protect[i])
			}
			got, err := translateHost(plan, root+"/private/home", root+"/private/tmp")
			if err != nil {
				t.Fatal(err)
			}
			rules := map[string]string{}
			for _, p := range got.Paths {
				if rel, ok := strings.CutPrefix(p.Path, root+"/"); ok {
					rules[rel] = strings.Join(p.Rights, ",")
				}
				if !p.Optional {
					t.Errorf("%s: not optional", p.Path)
				}
			}
			if !reflect.DeepEqual(rules, c.want) {
				t.Errorf("rules:\n got %v\nwant %v", rules, c.want)
			}
			var narrowed []string
			for _, n := range got.Narrowed {
				narrowed = append(narrowed, strings.TrimPrefix(n, root+"/"))
			}
			sort.Strings(narrowed)
			if !reflect.DeepEqual(narrowed, c.narrowed) {
				t.Errorf("narrowed: got %v, want %v", narrowed, c.narrowed)
			}
		})
	}
}

// TestTranslateHostSystem checks the fixed rules: a few devices, /proc, and nothing for /dev/pts,
// where the user's other terminals are, or for the root.
func TestTranslateHostSystem(t *testing.T) {
	got, err := translateHost(&policy.Plan{Workspace: "/nonexistent"}, "/nonexistent/h", "/nonexistent/t")
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]string{}
	for _, p := range got.Paths {
		rules[p.Path] = strings.Join(p.Rights, ",")
	}
	if rules["/dev/null"] != "read,write,ioctl" || rules["/proc"] != "read" {
		t.Errorf("want /dev/null read,write,ioctl and /proc read: %v", rules)
	}
	for _, p := range []string{"/", "/dev", "/dev/pts", "/dev/ptmx", "/tmp", "/home", "/run"} {
		if r, ok := rules[p]; ok {
			t.Errorf("%s: %s, want no rule", p, r)
		}
	}
}

func TestTranslateHostRefusesOtherTmpfs(t *testing.T) {
	_, err := translateHost(&policy.Plan{Workspace: "/x", Home: "/h", Mounts: []policy.Mount{{Path: "/srv/scratch", Access: policy.Tmpfs}}}, "/a", "/b")
	if err == nil {
		t.Fatal("an empty folder at an arbitrary path cannot be provided without a mount namespace")
	}
}

func TestResolveHost(t *testing.T) {
	root := t.TempDir()
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	tree(t, root, "a/b/c", "rel -> a/b", "abs -> $ROOT/a", "up -> a/../a/b", "dangling -> a/missing/x",
		"loop1 -> loop2", "loop2 -> loop1", "a/inner -> ../rel")
	all := func(string) bool { return true }
	for _, c := range []struct {
		in, want string
		exists   bool
	}{
		{"a/b/c", "a/b/c", true},
		{"rel/c", "a/b/c", true},
		{"abs/b", "a/b", true},
		{"up/c", "a/b/c", true},
		{"a/inner/c", "a/b/c", true},
		{"dangling", "a/missing/x", false},
		{"a/b/c/under-a-file", "a/b/c/under-a-file", false},
		{"missing/x/y", "missing/x/y", false},
	} {
		got, exists, err := resolveHost(root+"/"+c.in, all)
		if err != nil || got != root+"/"+c.want || exists != c.exists {
			t.Errorf("%s: got %s %v %v, want %s %v", c.in, got, exists, err, c.want, c.exists)
		}
	}
	if _, _, err := resolveHost(root+"/loop1", all); err == nil {
		t.Errorf("a symlink loop must fail")
	}
	_, _, err := resolveHost(root+"/rel/c", func(link string) bool { return link != root+"/rel" })
	if err == nil || !strings.Contains(err.Error(), "planted") {
		t.Errorf("an untrusted link must not be followed: %v", err)
	}
}

// TestExpandMasks: a mask line with a glob stands for its matches, one without for itself.
func TestExpandMasks(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"ssh_host_rsa_key", "ssh_host_ed25519_key", "ssh_host_rsa_key.pub"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o600)
	}
	got := expandMasks([]string{"/etc/shadow", dir + "/*_key"})
	want := []string{"/etc/shadow", dir + "/ssh_host_ed25519_key", dir + "/ssh_host_rsa_key"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
