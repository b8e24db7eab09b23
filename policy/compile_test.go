package policy

import (
	"encoding/json"
	"errors"
	"math/rand"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/skillrun/skillrun/profiles"
)

// The tests in this file describe Compile from the outside: one request in, one plan out. They
// use their own fixture (user u, home /home/u) so they do not depend on the helpers of
// policy_test.go.

// callerSecrets are caller variables the floor never passes. Each carries a value that must never
// appear anywhere in a plan.
var callerSecrets = []string{"GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
	"OPENAI_BASE_URL", "LD_PRELOAD", "SSH_AUTH_SOCK", "NODE_OPTIONS", "BASH_ENV", "FOO_TOKEN",
	// Names the profiles pass (LC_*) that only the floor withholds.
	"LC_EVIL_TOKEN", "LC_EVIL_BASE_URL"}

func secretValue(name string) string { return "leaked-value-of-" + name }

func fixture() Request {
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=en_US.UTF-8", "LC_ALL=C.UTF-8", "TERM=xterm-256color",
		"TZ=Europe/Berlin", "HOME=/evil", "USER=evil", "LOGNAME=evil", "TMPDIR=/evil-tmp"}
	for _, k := range callerSecrets {
		env = append(env, k+"="+secretValue(k))
	}
	return Request{
		Command:   Command{Argv: []string{"go", "test", "./..."}},
		Cwd:       "/home/u/proj/src",
		Workspace: "/home/u/proj",
		Home:      "/home/u",
		User:      User{Name: "u", UID: 1000, GID: 1000},
		Environ:   env,
		ConfigDir: "/home/u/.config",
		StateDir:  "/home/u/.local/state",
	}
}

func mustCompile(t *testing.T, r Request) *Plan {
	t.Helper()
	p, err := Compile(r)
	if err != nil {
		t.Fatalf("Compile(%+v): %v", r, err)
	}
	if p == nil {
		t.Fatal("Compile returned neither a plan nor an error")
	}
	return p
}

func inList(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func envMap(t *testing.T, env []string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Errorf("env entry %q has no '='", kv)
		}
		if _, dup := m[k]; dup {
			t.Errorf("env sets %s twice", k)
		}
		m[k] = v
	}
	return m
}

// mnt is the part of a Mount the tests compare (Origin is informational).
type mnt struct {
	Path     string
	Access   Access
	Exec     bool
	Optional bool
}

func mountsOf(p *Plan) []mnt {
	var out []mnt
	for _, m := range p.Mounts {
		out = append(out, mnt{m.Path, m.Access, m.Exec, m.Optional})
	}
	return out
}

func mountAt(p *Plan, pth string) (Mount, bool) {
	for _, m := range p.Mounts {
		if m.Path == pth {
			return m, true
		}
	}
	return Mount{}, false
}

func TestCompileProfiles(t *testing.T) {
	// The system as every profile sees it: read-only, optional (system directories vary).
	system := func(exec bool) []mnt {
		return []mnt{{"/bin", ReadOnly, exec, true}, {"/etc", ReadOnly, false, true}, {"/lib", ReadOnly, exec, true},
			{"/lib32", ReadOnly, exec, true}, {"/lib64", ReadOnly, exec, true}, {"/libx32", ReadOnly, exec, true},
			{"/opt", ReadOnly, exec, true}, {"/sbin", ReadOnly, exec, true}}
	}
	agent := append(system(true),
		mnt{"/tmp", Tmpfs, true, true},
		mnt{"/usr", ReadOnly, true, true},
		mnt{"/home/u", Tmpfs, false, false},
		mnt{"/home/u/proj", ReadWrite, true, false})
	untrusted := append(system(true),
		mnt{"/tmp", Tmpfs, false, true},
		mnt{"/usr", ReadOnly, true, true},
		mnt{"/home/u", Tmpfs, false, false},
		mnt{"/home/u/proj", ReadOnly, false, false})
	cases := []struct {
		profile     string
		wantName    string
		wantMounts  []mnt
		wantTimeout time.Duration
		wantProtect bool // the workspace is writable, so its persistence paths are protected
	}{
		{"", "agent", agent, 0, true},
		{"agent", "agent", agent, 0, true},
		{"untrusted", "untrusted", untrusted, 10 * time.Minute, false},
	}
	for _, c := range cases {
		t.Run("profile="+c.profile, func(t *testing.T) {
			r := fixture()
			r.Profile = c.profile
			p := mustCompile(t, r)
			if p.Version != PlanVersion || p.Profile != c.wantName {
				t.Errorf("version %d profile %q, want %d %q", p.Version, p.Profile, PlanVersion, c.wantName)
			}
			if got := mountsOf(p); !reflect.DeepEqual(got, c.wantMounts) {
				t.Errorf("mounts:\n got %v\nwant %v", got, c.wantMounts)
			}
			if p.Cwd != r.Cwd || p.Workspace != r.Workspace || p.Home != r.Home || p.User != r.User {
				t.Errorf("request fields not carried: %+v", p)
			}
			if !reflect.DeepEqual(p.Command, r.Command) {
				t.Errorf("command %+v, want %+v", p.Command, r.Command)
			}
			if p.Network.Allow == nil || len(p.Network.Allow) != 0 {
				t.Errorf("network %#v, want an empty (loopback only) allowlist", p.Network)
			}
			if got := time.Duration(p.Limits.Timeout); got != c.wantTimeout {
				t.Errorf("timeout %v, want %v", got, c.wantTimeout)
			}
			if got := len(p.Protect) > 0; got != c.wantProtect {
				t.Errorf("protect %v, want protected paths: %v", p.Protect, c.wantProtect)
			}
		})
	}
	// No profile name is the default profile, and exactly the same plan.
	def, agentPlan := fixture(), fixture()
	agentPlan.Profile = "agent"
	if a, b := mustCompile(t, def), mustCompile(t, agentPlan); !reflect.DeepEqual(a, b) || a.Digest() != b.Digest() {
		t.Errorf("the default profile differs from agent:\n%+v\n%+v", a, b)
	}
}

func TestCompileDeterministic(t *testing.T) {
	for _, profile := range []string{"agent", "untrusted"} {
		r := fixture()
		r.Profile = profile
		first := mustCompile(t, r)
		want, _ := json.Marshal(first)
		rng := rand.New(rand.NewSource(1))
		for i := 0; i < 50; i++ {
			// The same request with its environment in another order (no key repeats) is the same
			// request: map iteration inside Compile must not leak into the plan.
			again := fixture()
			again.Profile = profile
			rng.Shuffle(len(again.Environ), func(i, j int) { again.Environ[i], again.Environ[j] = again.Environ[j], again.Environ[i] })
			p := mustCompile(t, again)
			if !reflect.DeepEqual(p, first) || p.Digest() != first.Digest() {
				got, _ := json.Marshal(p)
				t.Fatalf("%s: run %d gave another plan:\n%s\n%s", profile, i, got, want)
			}
		}
		if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(first.Digest()) {
			t.Errorf("digest %q is not sha256:<64 hex>", first.Digest())
		}
	}
	// Any difference in what is granted shows in the digest.
	base := mustCompile(t, fixture()).Digest()
	edits := map[string]func(*Request){
		"timeout":   func(r *Request) { r.Timeout = time.Minute },
		"workspace": func(r *Request) { r.Workspace, r.Cwd = "/home/u/other", "/home/u/other" },
		"profile":   func(r *Request) { r.Profile = "untrusted" },
		"env":       func(r *Request) { r.Environ = append(r.Environ, "LC_TIME=C") },
		"uid":       func(r *Request) { r.User.UID = 0 },
		"argv":      func(r *Request) { r.Command.Argv = []string{"go", "vet"} },
	}
	for name, edit := range edits {
		r := fixture()
		edit(&r)
		if mustCompile(t, r).Digest() == base {
			t.Errorf("changing the %s left the digest unchanged", name)
		}
	}
}

// layouts are workspaces (with their cwd) that Compile accepts, in and out of the home.
var layouts = []struct{ workspace, cwd string }{
	{"/home/u/proj", "/home/u/proj/src"},
	{"/home/u/a/b/c", "/home/u/a/b/c"},
	{"/home/u/.config", "/home/u/.config"},
	{"/home/u", "/home/u"},
	{"/srv/data/proj", "/srv/data/proj"},
	{"/tmp/scratch", "/tmp/scratch"},
	{"/var/lib/app", "/var/lib/app/x"},
	{"/opt/tool", "/opt/tool"},
}

func TestCompileHomeIsAnEmptyTmpfsFirst(t *testing.T) {
	for _, profile := range []string{"agent", "untrusted"} {
		for _, l := range layouts {
			r := fixture()
			r.Profile, r.Workspace, r.Cwd = profile, l.workspace, l.cwd
			p := mustCompile(t, r)
			home := -1
			for i, m := range p.Mounts {
				if m.Path == r.Home {
					home = i
				}
			}
			if home < 0 {
				t.Errorf("%s %s: no mount for the home: %v", profile, l.workspace, p.Mounts)
				continue
			}
			m := p.Mounts[home]
			switch {
			case l.workspace == r.Home:
				// $HOME as the workspace binds the real home (the floor then masks and protects).
				if m.Access == Tmpfs {
					t.Errorf("%s: the home as the workspace is an empty tmpfs: %+v", profile, m)
				}
			case m.Access != Tmpfs || m.Exec:
				t.Errorf("%s %s: home %+v, want an empty non-exec tmpfs", profile, l.workspace, m)
			}
			for i, other := range p.Mounts {
				if other.Path != r.Home && within(other.Path, r.Home) && i < home {
					t.Errorf("%s %s: %s is mounted before the home it lies in", profile, l.workspace, other.Path)
				}
			}
		}
	}
}

func TestCompileMountOrder(t *testing.T) {
	for _, profile := range []string{"agent", "untrusted"} {
		for _, l := range layouts {
			r := fixture()
			r.Profile, r.Workspace, r.Cwd = profile, l.workspace, l.cwd
			p := mustCompile(t, r)
			seen := map[string]bool{}
			for i, m := range p.Mounts {
				if seen[m.Path] {
					t.Errorf("%s %s: %s mounted twice", profile, l.workspace, m.Path)
				}
				seen[m.Path] = true
				if !strings.HasPrefix(m.Path, "/") || m.Path == "/" || strings.HasSuffix(m.Path, "/") || strings.Contains(m.Path, "//") {
					t.Errorf("%s %s: mount path %q is not a clean absolute path below /", profile, l.workspace, m.Path)
				}
				for _, later := range p.Mounts[i+1:] {
					if m.Path != later.Path && within(m.Path, later.Path) {
						t.Errorf("%s %s: %s comes before its parent %s", profile, l.workspace, m.Path, later.Path)
					}
				}
			}
		}
	}
}

func TestCompileTmpAndWorkspace(t *testing.T) {
	for _, l := range layouts {
		r := fixture()
		r.Workspace, r.Cwd = l.workspace, l.cwd
		p := mustCompile(t, r)
		if m, ok := mountAt(p, "/tmp"); !ok || m.Access != Tmpfs {
			t.Errorf("%s: /tmp %+v, want a private tmpfs", l.workspace, m)
		}
		ws, ok := mountAt(p, l.workspace)
		if !ok || ws.Access != ReadWrite || !ws.Exec || ws.Optional {
			t.Errorf("agent %s: workspace %+v, want read-write, executable, required", l.workspace, ws)
		}
		for _, m := range p.Mounts {
			if m.Access == ReadWrite && !within(m.Path, l.workspace) {
				t.Errorf("agent %s: %s is writable outside the workspace", l.workspace, m.Path)
			}
		}
		r.Profile = "untrusted"
		p = mustCompile(t, r)
		ws, ok = mountAt(p, l.workspace)
		if !ok || ws.Access != ReadOnly || ws.Exec {
			t.Errorf("untrusted %s: workspace %+v, want read-only, not executable", l.workspace, ws)
		}
		for _, m := range p.Mounts {
			if m.Access == ReadWrite {
				t.Errorf("untrusted %s: %s is writable", l.workspace, m.Path)
			}
		}
	}
}

func TestCompileFloorInTheWorkspace(t *testing.T) {
	p := mustCompile(t, fixture())
	want := []string{".git/hooks", ".git/config", ".claude", ".codex", ".gemini", ".cursor", ".vscode", ".mcp.json",
		".envrc", "CLAUDE.md", "AGENTS.md", "GEMINI.md", ".agents/skills",
		".git/commondir", ".git/config.worktree", ".git/modules"}
	for _, w := range want {
		covered := false
		for _, pr := range p.Protect {
			covered = covered || within("/home/u/proj/"+w, pr)
		}
		if !covered {
			t.Errorf("/home/u/proj/%s is not protected: %v", w, p.Protect)
		}
	}
	// Every protection says its class and why.
	why := map[string]Decision{}
	for _, d := range p.Why {
		if d.Decision == "protected" {
			why[d.Subject] = d
		}
	}
	for _, pr := range p.Protect {
		if d, ok := why[pr]; !ok || d.Class == "" || d.Reason == "" {
			t.Errorf("%s is protected without a class and a reason: %+v", pr, d)
		}
	}
	// The home is an empty tmpfs: nothing of it needs masking or protecting, and every protected
	// path lies in a writable mount.
	for _, m := range append(append([]string{}, p.Mask...), p.Protect...) {
		if within(m, "/home/u") && !within(m, "/home/u/proj") {
			t.Errorf("%s listed although the home is an empty tmpfs", m)
		}
	}
	for _, pr := range p.Protect {
		if c := p.cover(pr); c == nil || c.Access != ReadWrite {
			t.Errorf("protected %s does not lie in a writable mount", pr)
		}
	}
	if !sort.StringsAreSorted(p.Protect) || !sort.StringsAreSorted(p.Mask) {
		t.Errorf("protect and mask must be sorted: %v %v", p.Protect, p.Mask)
	}
	// The same workspace read-only (untrusted) needs no protection at all.
	r := fixture()
	r.Profile = "untrusted"
	if p := mustCompile(t, r); len(p.Protect) != 0 {
		t.Errorf("untrusted: protect %v, but nothing is writable", p.Protect)
	}
}

func TestCompileFloorWithTheHomeAsWorkspace(t *testing.T) {
	for _, profile := range []string{"agent", "untrusted"} {
		r := fixture()
		r.Profile, r.Workspace, r.Cwd = profile, "/home/u", "/home/u"
		p := mustCompile(t, r)
		for _, m := range []string{".ssh", ".aws", ".gnupg", ".azure", ".kube", ".config/gcloud", ".config/gh", ".netrc",
			".npmrc", ".pypirc", ".git-credentials", ".docker/config.json", ".mozilla", ".config/google-chrome",
			".password-store", ".claude", ".codex", ".gemini", ".cursor", ".config/skillrun", ".local/state/skillrun"} {
			if !inList(p.Mask, "/home/u/"+m) {
				t.Errorf("%s: /home/u/%s is not masked", profile, m)
			}
		}
		protect := []string{".bashrc", ".bash_profile", ".bash_login", ".profile", ".zshrc", ".zshenv", ".zprofile",
			".gitconfig", ".config/autostart", ".config/systemd", ".config/fish", ".config/git", ".ssh",
			".git/hooks", ".git/config", ".claude", ".vscode", ".envrc"}
		for _, w := range protect {
			// Read-only (untrusted) needs no protection: nothing there is writable.
			if got := inList(p.Protect, "/home/u/"+w); got != (profile == "agent") {
				t.Errorf("%s: /home/u/%s protected=%v", profile, w, got)
			}
		}
		for _, m := range p.Mask {
			if c := p.cover(strings.TrimSuffix(m, "/*_key")); c == nil || c.Access == Tmpfs {
				t.Errorf("%s: %s masked although no bind shows it", profile, m)
			}
		}
	}
}

func TestCompileMasksSystemSecrets(t *testing.T) {
	for _, profile := range []string{"agent", "untrusted"} {
		for _, l := range layouts {
			r := fixture()
			r.Profile, r.Workspace, r.Cwd = profile, l.workspace, l.cwd
			p := mustCompile(t, r)
			if m, ok := mountAt(p, "/etc"); !ok || m.Access != ReadOnly || m.Exec {
				t.Errorf("%s: /etc %+v, want a read-only, non-exec bind", profile, m)
			}
			for _, want := range []string{"/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/ssh/*_key"} {
				if !inList(p.Mask, want) {
					t.Errorf("%s %s: %s not masked: %v", profile, l.workspace, want, p.Mask)
				}
			}
		}
	}
}

func TestCompileEnvironmentFloor(t *testing.T) {
	for _, profile := range []string{"agent", "untrusted"} {
		r := fixture()
		r.Profile = profile
		p := mustCompile(t, r)
		env := envMap(t, p.Env)
		for _, k := range callerSecrets {
			if v, ok := env[k]; ok {
				t.Errorf("%s: %s=%s passed", profile, k, v)
			}
			if !inList(p.EnvDropped, k) {
				t.Errorf("%s: %s not listed in env_dropped %v", profile, k, p.EnvDropped)
			}
		}
		for _, d := range p.EnvDropped {
			if strings.Contains(d, "=") {
				t.Errorf("%s: env_dropped holds %q, not a name", profile, d)
			}
		}
		if !sort.StringsAreSorted(p.EnvDropped) || !sort.StringsAreSorted(p.Env) {
			t.Errorf("%s: env and env_dropped must be sorted", profile)
		}
		js, _ := json.Marshal(p)
		for _, k := range callerSecrets {
			if strings.Contains(string(js), secretValue(k)) {
				t.Errorf("%s: the plan holds the value of %s", profile, k)
			}
		}
		for k, v := range map[string]string{"LANG": "en_US.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "xterm-256color",
			"TZ": "Europe/Berlin", "PATH": "/usr/local/bin:/usr/bin:/bin"} {
			if env[k] != v {
				t.Errorf("%s: %s=%q, want the caller's %q", profile, k, env[k], v)
			}
		}
		// Identity comes from skillrun, never from the caller.
		for k, v := range map[string]string{"HOME": "/home/u", "USER": "u", "LOGNAME": "u", "TMPDIR": SandboxTmp} {
			if env[k] != v {
				t.Errorf("%s: %s=%q, want %q", profile, k, env[k], v)
			}
		}
		for _, evil := range []string{"/evil", "=evil"} {
			if strings.Contains(strings.Join(p.Env, "\n"), evil) {
				t.Errorf("%s: the caller's identity leaked into %v", profile, p.Env)
			}
		}
	}
}

func TestCompileEnvironmentPath(t *testing.T) {
	cases := []struct {
		name    string
		environ []string
		want    string
	}{
		{"no environment", nil, DefaultPath},
		{"no PATH", []string{"LANG=C"}, DefaultPath},
		{"empty PATH", []string{"PATH="}, DefaultPath},
		{"caller PATH", []string{"PATH=/opt/x/bin:/usr/bin"}, "/opt/x/bin:/usr/bin"},
	}
	for _, c := range cases {
		for _, profile := range []string{"agent", "untrusted"} {
			r := fixture()
			r.Profile, r.Environ = profile, c.environ
			env := envMap(t, mustCompile(t, r).Env)
			if env["PATH"] != c.want {
				t.Errorf("%s, %s: PATH=%q, want %q", c.name, profile, env["PATH"], c.want)
			}
			if env["HOME"] != "/home/u" || env["TMPDIR"] != SandboxTmp || env["USER"] != "u" || env["LOGNAME"] != "u" {
				t.Errorf("%s, %s: identity %v", c.name, profile, env)
			}
		}
	}
}

func TestCompileWorkspaceRefusals(t *testing.T) {
	refused := []string{"/", "/usr", "/usr/local/src", "/etc", "/etc/x", "/home", "/tmp", "/var", "/var/tmp", "/proc/1",
		"/sys/fs", "/dev/shm", "/boot/efi", "/run/user/1000", "/bin", "/lib", "/opt", "/srv",
		"/home/u/.config/skillrun", "/home/u/.config/skillrun/sub/dir", "/home/u/.local/state/skillrun",
		"/home/u/.local/state/skillrun/x"}
	for _, ws := range refused {
		r := fixture()
		r.Workspace, r.Cwd = ws, ws
		p, err := Compile(r)
		if !errors.Is(err, ErrWorkspace) || p != nil {
			t.Errorf("workspace %s: plan=%v err=%v, want ErrWorkspace", ws, p != nil, err)
		}
	}
	// A workspace above skillrun's folders, or whose name merely starts like them, is fine.
	for _, ws := range []string{"/home/u/.config", "/home/u/.config/skillrunner", "/home/u/.local/state", "/home/u/usr", "/srv/etc"} {
		r := fixture()
		r.Workspace, r.Cwd = ws, ws
		if _, err := Compile(r); err != nil {
			t.Errorf("workspace %s refused: %v", ws, err)
		}
	}
	// CheckWorkspace on its own also refuses unclean and relative paths (Compile cleans first).
	r := fixture()
	for _, ws := range []string{"", "proj", "/home/u/proj/", "/home/u/./proj", "/home/u/x/../proj"} {
		if err := CheckWorkspace(ws, &r); !errors.Is(err, ErrWorkspace) {
			t.Errorf("CheckWorkspace(%q) = %v, want ErrWorkspace", ws, err)
		}
	}
}

func TestCompileCwd(t *testing.T) {
	cases := []struct {
		cwd  string
		want error
	}{
		{"/home/u/proj", nil},
		{"/home/u/proj/a/b", nil},
		{"/usr/share", nil}, // the system is visible, read-only
		{"/home/u/proj/../proj/src", nil},
		{"/srv/data", ErrCwd},
		{"/var/log", ErrCwd},
		{"/home", ErrCwd},
		{"/", ErrCwd},
		{"relative/dir", ErrRequest},
	}
	for _, c := range cases {
		for _, profile := range []string{"agent", "untrusted"} {
			r := fixture()
			r.Profile, r.Cwd = profile, c.cwd
			p, err := Compile(r)
			if c.want == nil {
				if err != nil {
					t.Errorf("%s cwd %s: %v", profile, c.cwd, err)
				}
				continue
			}
			if !errors.Is(err, c.want) || p != nil {
				t.Errorf("%s cwd %s: plan=%v err=%v, want %v", profile, c.cwd, p != nil, err, c.want)
			}
		}
	}
}

func TestCompileRequestErrors(t *testing.T) {
	shell := "echo hi"
	cases := []struct {
		name string
		edit func(*Request)
		want error
	}{
		{"no command", func(r *Request) { r.Command = Command{} }, ErrRequest},
		{"empty argv", func(r *Request) { r.Command = Command{Argv: []string{}} }, ErrRequest},
		{"shell only", func(r *Request) { r.Command = Command{Shell: &shell} }, nil},
		{"shell with $0", func(r *Request) { r.Command = Command{Shell: &shell, Argv: []string{"sh"}} }, nil},
		{"relative home", func(r *Request) { r.Home = "home/u" }, ErrRequest},
		{"no home", func(r *Request) { r.Home = "" }, ErrRequest},
		{"relative workspace", func(r *Request) { r.Workspace = "proj" }, ErrRequest},
		{"no cwd", func(r *Request) { r.Cwd = "" }, ErrRequest},
		{"unknown profile", func(r *Request) { r.Profile = "nope" }, profiles.ErrUnknown},
		{"path-like profile", func(r *Request) { r.Profile = "../agent" }, profiles.ErrUnknown},
		{"nested profile", func(r *Request) { r.Profile = "a/b" }, profiles.ErrUnknown},
		{"file name as profile", func(r *Request) { r.Profile = "agent.yaml" }, profiles.ErrUnknown},
		{"profile case", func(r *Request) { r.Profile = "Agent" }, profiles.ErrUnknown},
	}
	for _, c := range cases {
		r := fixture()
		c.edit(&r)
		p, err := Compile(r)
		switch {
		case c.want == nil && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != nil && (!errors.Is(err, c.want) || p != nil):
			t.Errorf("%s: plan=%v err=%v, want %v", c.name, p != nil, err, c.want)
		}
	}
}

func TestCompileTimeout(t *testing.T) {
	cases := []struct {
		profile string
		flag    time.Duration
		want    time.Duration
	}{
		{"agent", 0, 0},
		{"agent", 90 * time.Second, 90 * time.Second},
		{"untrusted", 0, 10 * time.Minute},
		{"untrusted", time.Second, time.Second},
		{"untrusted", 10 * time.Minute, 10 * time.Minute},
		{"untrusted", 10*time.Minute + 1, 10 * time.Minute},
		{"untrusted", 24 * time.Hour, 10 * time.Minute},
	}
	for _, c := range cases {
		r := fixture()
		r.Profile, r.Timeout = c.profile, c.flag
		p := mustCompile(t, r)
		if got := time.Duration(p.Limits.Timeout); got != c.want {
			t.Errorf("%s --timeout %v: %v, want %v", c.profile, c.flag, got, c.want)
		}
	}
}

func TestCompileNamespaces(t *testing.T) {
	cases := []struct {
		user User
		want []string
	}{
		{User{Name: "u", UID: 1000, GID: 1000}, []string{"mount", "pid", "ipc", "uts", "net", "user"}},
		{User{Name: "nobody", UID: 65534, GID: 65534}, []string{"mount", "pid", "ipc", "uts", "net", "user"}},
		{User{Name: "root", UID: 0, GID: 0}, []string{"mount", "pid", "ipc", "uts", "net"}},
	}
	for _, c := range cases {
		for _, profile := range []string{"agent", "untrusted"} {
			r := fixture()
			r.Profile, r.User = profile, c.user
			if got := mustCompile(t, r).Namespaces; !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s uid %d: namespaces %v, want %v", profile, c.user.UID, got, c.want)
			}
		}
	}
}

func TestDurationText(t *testing.T) {
	b, err := json.Marshal(Limits{Timeout: Duration(90 * time.Second)})
	if err != nil || string(b) != `{"timeout":"1m30s"}` {
		t.Errorf("marshal: %s %v", b, err)
	}
	var l Limits
	if err := json.Unmarshal([]byte(`{"timeout":"2m"}`), &l); err != nil || time.Duration(l.Timeout) != 2*time.Minute {
		t.Errorf("unmarshal 2m: %v %v", l, err)
	}
	for _, bad := range []string{`{"timeout":"-1s"}`, `{"timeout":"soon"}`} {
		if err := json.Unmarshal([]byte(bad), &l); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// flatProfile loads a profile with everything it extends folded in, as the compiler sees it.
func flatProfile(name string) (*Profile, error) {
	chain, err := profileChain(name)
	if err != nil {
		return nil, err
	}
	out := &Profile{Version: 1, Name: name, Description: chain[len(chain)-1].Description}
	for _, p := range chain {
		c, f := &out.Capabilities, p.Capabilities
		c.Filesystem.Read = append(c.Filesystem.Read, f.Filesystem.Read...)
		c.Filesystem.Write = append(c.Filesystem.Write, f.Filesystem.Write...)
		c.Filesystem.Exec = append(c.Filesystem.Exec, f.Filesystem.Exec...)
		c.Network.Allow = append(c.Network.Allow, f.Network.Allow...)
		c.Env.Pass = append(c.Env.Pass, f.Env.Pass...)
		c.Env.Secrets = append(c.Env.Secrets, f.Env.Secrets...)
		if f.Limits.Timeout != nil {
			c.Limits.Timeout = f.Limits.Timeout
		}
	}
	return out, nil
}

// A path to protect whose name is not valid UTF-8 cannot be mounted (the sandbox's mounts travel
// as JSON): the nearest folder above it that can be is protected whole, or the run is refused.
func TestCompileProtectsNamesThatAreNotUTF8(t *testing.T) {
	r := fixture()
	r.NestedFiles = []string{"/home/u/proj/docs/x\xffy/CLAUDE.md"}
	p := mustCompile(t, r)
	if !inList(p.Protect, "/home/u/proj/docs") {
		t.Errorf("the folder above the odd name is not protected: %v", p.Protect)
	}
	for _, pr := range p.Protect {
		if !utf8.ValidString(pr) {
			t.Errorf("%q is in the plan", pr)
		}
	}
	r.NestedFiles = []string{"/home/u/proj/\xff/CLAUDE.md"}
	if _, err := Compile(r); !errors.Is(err, ErrUnprotectable) {
		t.Errorf("an odd name right in the workspace: err %v, want ErrUnprotectable", err)
	}
}
