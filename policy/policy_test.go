package policy

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skillrun/skillrun/profiles"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func request() Request {
	return Request{
		Command:   Command{Argv: []string{"make", "test"}},
		Cwd:       "/home/dev/proj/src",
		Workspace: "/home/dev/proj",
		Home:      "/home/dev",
		User:      User{Name: "dev", UID: 1000, GID: 1000},
		Environ: []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "TERM=xterm", "HOME=/evil", "USER=evil",
			"GITHUB_TOKEN=t0k3n", "AWS_SECRET_ACCESS_KEY=s3cr3t", "ANTHROPIC_BASE_URL=https://attacker.example.com",
			"LD_PRELOAD=/x.so", "SSH_AUTH_SOCK=/run/agent", "RANDOM_THING=1"},
		ConfigDir: "/home/dev/.config",
		StateDir:  "/home/dev/.local/state",
	}
}

func compile(t *testing.T, r Request) *Plan {
	t.Helper()
	p, err := Compile(r)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

func TestGoldenPlans(t *testing.T) {
	for _, profile := range []string{"agent", "untrusted", "go"} {
		r := request()
		r.Profile = profile
		got, err := json.MarshalIndent(compile(t, r), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "plan-"+profile+".golden.json")
		if *update {
			os.WriteFile(golden, append(got, '\n'), 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run: go test ./policy -run Golden -update)", err)
		}
		if string(want) != string(got)+"\n" {
			t.Errorf("plan for %s differs from %s (rerun with -update and review the diff):\n%s", profile, golden, got)
		}
	}
}

func TestPlanIsDeterministic(t *testing.T) {
	a, b := compile(t, request()), compile(t, request())
	if a.Digest() != b.Digest() {
		t.Fatal("the same request gave two plans")
	}
	r := request()
	r.Workspace = "/home/dev/other"
	r.Cwd = r.Workspace
	if compile(t, r).Digest() == a.Digest() {
		t.Fatal("different workspaces gave the same digest")
	}
}

func TestMountsAndFloor(t *testing.T) {
	p := compile(t, request())
	mounts := map[string]Mount{}
	for i, m := range p.Mounts {
		mounts[m.Path] = m
		for _, earlier := range p.Mounts[i+1:] {
			if within(m.Path, earlier.Path) && m.Path != earlier.Path {
				t.Errorf("%s is mounted before its parent %s", m.Path, earlier.Path)
			}
		}
	}
	if m := mounts["/home/dev"]; m.Access != Tmpfs {
		t.Errorf("home: %+v, want an empty tmpfs", m)
	}
	if m := mounts["/tmp"]; m.Access != Tmpfs {
		t.Errorf("/tmp: %+v, want a private tmpfs", m)
	}
	if m := mounts["/home/dev/proj"]; m.Access != ReadWrite || !m.Exec || m.Optional {
		t.Errorf("workspace: %+v, want read-write, executable, required", m)
	}
	if m := mounts["/usr"]; m.Access != ReadOnly || !m.Exec {
		t.Errorf("/usr: %+v", m)
	}
	if m := mounts["/etc"]; m.Access != ReadOnly || m.Exec {
		t.Errorf("/etc: %+v, want read-only, no exec", m)
	}
	for _, want := range []string{".git/hooks", ".git/config", ".claude", ".codex", ".gemini", ".cursor", ".vscode", ".mcp.json", ".envrc"} {
		if !contains(p.Protect, "/home/dev/proj/"+want) {
			t.Errorf("%s is not protected: %v", want, p.Protect)
		}
	}
	for _, want := range []string{"/etc/shadow", "/etc/gshadow", "/etc/ssh/*_key"} {
		if !contains(p.Mask, want) {
			t.Errorf("%s is not masked: %v", want, p.Mask)
		}
	}
	for _, m := range p.Mask {
		if strings.HasPrefix(m, "/home/dev/.") {
			t.Errorf("%s masked although the home is an empty tmpfs", m)
		}
	}
	if want := []string{"mount", "pid", "ipc", "uts", "net", "user"}; strings.Join(p.Namespaces, ",") != strings.Join(want, ",") {
		t.Errorf("namespaces %v", p.Namespaces)
	}
	r := request()
	r.User = User{Name: "root"}
	if p := compile(t, r); contains(p.Namespaces, "user") {
		t.Errorf("root gets a user namespace: %v", p.Namespaces)
	}
}

func TestHomeAsWorkspace(t *testing.T) {
	r := request()
	r.Workspace, r.Cwd = "/home/dev", "/home/dev"
	p := compile(t, r)
	if p.Mounts[0].Path != "/home/dev" && p.cover("/home/dev").Access != ReadWrite {
		t.Fatalf("home as workspace must be the real, writable home: %+v", p.cover("/home/dev"))
	}
	for _, want := range []string{"/home/dev/.ssh", "/home/dev/.aws", "/home/dev/.config/gcloud", "/home/dev/.config/skillrun", "/home/dev/.local/state/skillrun", "/home/dev/.claude"} {
		if !contains(p.Mask, want) {
			t.Errorf("%s is not masked when the home is the workspace", want)
		}
	}
	for _, want := range []string{"/home/dev/.bashrc", "/home/dev/.profile", "/home/dev/.gitconfig", "/home/dev/.config/autostart", "/home/dev/.ssh"} {
		if !contains(p.Protect, want) {
			t.Errorf("%s is not protected when the home is the workspace", want)
		}
	}
}

func TestEnvironment(t *testing.T) {
	p := compile(t, request())
	env := map[string]string{}
	for _, kv := range p.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	want := map[string]string{"HOME": "/home/dev", "USER": "dev", "LOGNAME": "dev", "TMPDIR": "/tmp",
		"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "xterm"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
	if len(env) != len(want) {
		t.Errorf("unexpected variables: %v", p.Env)
	}
	for _, k := range []string{"GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "ANTHROPIC_BASE_URL", "LD_PRELOAD", "SSH_AUTH_SOCK", "RANDOM_THING"} {
		if !contains(p.EnvDropped, k) {
			t.Errorf("%s not listed as dropped: %v", k, p.EnvDropped)
		}
	}
	b, _ := json.Marshal(p)
	for _, secret := range []string{"t0k3n", "s3cr3t", "attacker"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the plan holds a secret's value %q", secret)
		}
	}
	r := request()
	r.Environ = nil
	if p := compile(t, r); !contains(p.Env, "PATH="+DefaultPath) {
		t.Errorf("no default PATH: %v", p.Env)
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Request)
		want error
	}{
		{"root workspace", func(r *Request) { r.Workspace, r.Cwd = "/", "/" }, ErrWorkspace},
		{"usr", func(r *Request) { r.Workspace, r.Cwd = "/usr", "/usr" }, ErrWorkspace},
		{"inside etc", func(r *Request) { r.Workspace, r.Cwd = "/etc/nginx", "/etc/nginx" }, ErrWorkspace},
		{"all homes", func(r *Request) { r.Workspace, r.Cwd = "/home", "/home" }, ErrWorkspace},
		{"tmp", func(r *Request) { r.Workspace, r.Cwd = "/tmp", "/tmp" }, ErrWorkspace},
		{"skillrun config", func(r *Request) { r.Workspace = "/home/dev/.config/skillrun/x"; r.Cwd = r.Workspace }, ErrWorkspace},
		{"relative workspace", func(r *Request) { r.Workspace = "proj" }, ErrRequest},
		{"cwd outside", func(r *Request) { r.Cwd = "/srv/data" }, ErrCwd},
		{"no command", func(r *Request) { r.Command = Command{} }, ErrRequest},
		{"unknown profile", func(r *Request) { r.Profile = "nope" }, profiles.ErrUnknown},
	}
	for _, c := range cases {
		r := request()
		c.edit(&r)
		p, err := Compile(r)
		if !errors.Is(err, c.want) || p != nil {
			t.Errorf("%s: got %v (plan %v), want %v", c.name, err, p != nil, c.want)
		}
	}
}

func TestTimeoutTakesTheStricter(t *testing.T) {
	cases := []struct {
		profile string
		flag    time.Duration
		want    time.Duration
	}{
		{"agent", 0, 0},                     // agent: no timeout of its own
		{"agent", time.Minute, time.Minute}, // the flag alone
		{"untrusted", 0, 10 * time.Minute},  // the profile alone
		{"untrusted", time.Minute, time.Minute},
		{"untrusted", time.Hour, 10 * time.Minute},
	}
	for _, c := range cases {
		r := request()
		r.Profile, r.Timeout = c.profile, c.flag
		if got := time.Duration(compile(t, r).Limits.Timeout); got != c.want {
			t.Errorf("%s with --timeout %v: %v, want %v", c.profile, c.flag, got, c.want)
		}
	}
}

func TestEveryBuiltInProfileParses(t *testing.T) {
	for _, name := range profiles.Names() {
		if _, err := LoadProfile(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := LoadFloor(); err != nil {
		t.Fatal(err)
	}
}

func TestParseProfileErrorsHavePositions(t *testing.T) {
	cases := []struct{ doc, want string }{
		{"version: 1\nname: x\nfilesystem:\n  reed: [/a]\n", "x.yaml:4:"},
		{"version: 2\nname: x\n", "version must be 1"},
		{"version: 1\nname: x\nfilesystem:\n  read: [\"../etc\"]\n", "must be absolute"},
		{"version: 1\nname: x\nfilesystem:\n  read: [\"/a/../etc\"]\n", `".." is not allowed`},
		{"version: 1\nname: x\nenv:\n  pass: [\"A=B\"]\n", "not an environment variable name"},
	}
	for _, c := range cases {
		_, err := ParseProfile("x.yaml", []byte(c.doc))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want an ErrInvalid containing %q", c.doc, err, c.want)
		}
	}
}

func TestMatchEnv(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"*_TOKEN", "GITHUB_TOKEN", true},
		{"*_TOKEN", "TOKEN", false},
		{"AWS_*", "AWS_REGION", true},
		{"LC_*", "LC_ALL", true},
		{"*_SECRET_*", "MY_SECRET_VALUE", true},
		{"PATH", "PATHX", false},
		{"*", "", true},
		{"A*B*A", "ABA", true},
		{"A*B*A", "AB", false},
		{"AB*BA", "ABA", false},
		{"A*B*A", "ABXA", true},
	}
	for _, c := range cases {
		if got := matchEnv(c.pattern, c.name); got != c.want {
			t.Errorf("matchEnv(%q, %q) = %v", c.pattern, c.name, got)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
