package test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestExitStatus(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		cases := []struct {
			name   string
			args   []string
			code   int
			stderr string // a line skillrun must print, "" for none
		}{
			{"success", []string{"--", "true"}, 0, ""},
			{"own status", []string{"--", "sh", "-c", "exit 7"}, 7, ""},
			{"shell string", []string{"-c", "exit 3"}, 3, ""},
			{"signal", []string{"--", "sh", "-c", "kill -TERM $$"}, 143, ""},
			{"kill -9 inside", []string{"-c", "kill -KILL $$"}, 137, ""},
			{"not found", []string{"--", "no-such-command-xyz"}, 127, "skillrun: error: command not found in the sandbox: no-such-command-xyz"},
			{"not executable", []string{"--", "/etc/hostname"}, 126, "skillrun: error: cannot execute /etc/hostname"},
			{"unknown flag", []string{"--bogus", "--", "true"}, 125, "skillrun: error: flag provided but not defined: -bogus"},
			{"no command", nil, 125, "skillrun: error: no command given"},
			{"missing workspace", []string{"--workspace", "/nonexistent-ws", "--", "true"}, 125, "skillrun: error: workspace /nonexistent-ws"},
			{"root workspace", []string{"--workspace", "/", "--", "true"}, 125, "skillrun: error: workspace refused: / is a system directory"},
			{"system workspace", []string{"--workspace", "/usr/share", "--", "true"}, 125, "skillrun: error: workspace refused"},
			{"unknown profile", []string{"--profile", "nope", "--", "true"}, 125, "skillrun: error: unknown profile \"nope\""},
			{"timeout", []string{"--timeout", "500ms", "--", "sleep", "30"}, 143, "skillrun: error: timed out after 500ms"},
			{"timeout, TERM ignored", []string{"--timeout", "300ms", "--", "sh", "-c", "trap '' TERM; sleep 30"}, 137, "skillrun: error: timed out after 300ms"},
		}
		for _, c := range cases {
			r := e.run(c.args...)
			if r.code != c.code {
				t.Errorf("%s: got exit %d, want %d\n%s", c.name, r.code, c.code, r)
			}
			if c.stderr != "" && !strings.Contains(r.stderr, c.stderr) {
				t.Errorf("%s: stderr lacks %q\n%s", c.name, c.stderr, r)
			}
			for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
				if strings.HasPrefix(line, "skillrun:") && !strings.HasPrefix(line, "skillrun: error: ") && !strings.HasPrefix(line, "skillrun: hint: ") {
					t.Errorf("%s: stderr line breaks the output contract: %q", c.name, line)
				}
			}
		}
		e.assertNoState()
	})
}

func TestUnreadableCwd(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		gone := filepath.Join(e.workspace, "gone")
		e.mkdir(gone, 0o755)
		// The shell enters the directory, removes it, and starts skillrun from there.
		r := e.run("--", "true") // sanity: the identity can run at all
		if r.code != 0 {
			t.Fatalf("baseline run failed:\n%s", r)
		}
		r = e.runIn(gone, "", "--", "true")
		if r.code != 0 {
			t.Fatalf("run from a subdirectory failed:\n%s", r)
		}
		cmd := e.command(t.Context(), "--", "true")
		cmd.Path = "/bin/sh"
		cmd.Args = []string{"sh", "-c", `cd "$1" && rmdir "$1" && exec "$2" -- true`, "sh", gone, skillrunBin}
		out, err := cmd.CombinedOutput()
		code := cmd.ProcessState.ExitCode()
		if err == nil || code != 125 || !strings.Contains(string(out), "skillrun: error: cannot read the current directory") {
			t.Fatalf("deleted cwd: exit %d, output %q", code, out)
		}
		e.assertNoState()
	})
}

func TestCommandFlagsAreNotParsed(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		r := e.run("--", "sh", "-c", `printf '%s|' "$@"`, "sh", "--help", "-c", "--workspace", "/", "--")
		if r.code != 0 || r.stdout != "--help|-c|--workspace|/|--|" {
			t.Fatalf("the command's own flags were touched:\n%s", r)
		}
		r = e.run("-c", `printf '%s|' "$0" "$@"`, "--", "zero", "one", "--two")
		if r.code != 0 || r.stdout != "zero|one|--two|" {
			t.Fatalf("-c positional arguments:\n%s", r)
		}
	})
}

func TestStdio(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
		r := e.runIn(e.workspace, big, "--", "sh", "-c", "cat; echo to-stderr >&2")
		if r.code != 0 || r.stdout != big || r.stderr != "to-stderr\n" {
			t.Fatalf("stdio not passed through: exit %d, %d bytes out, stderr %q", r.code, len(r.stdout), r.stderr)
		}
	})
}

func TestEnvironmentFromScratch(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		secrets := []string{"GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
			"OPENAI_BASE_URL", "MY_SERVICE_KEY", "DB_PASSWORD", "LD_PRELOAD", "NODE_OPTIONS", "BASH_ENV",
			"SSH_AUTH_SOCK", "UNLISTED_VAR"}
		for _, s := range secrets {
			e.extraEnv = append(e.extraEnv, s+"="+e.canary)
		}
		e.extraEnv = append(e.extraEnv, "TZ=Europe/Paris", "TERM=xterm-test")
		r := e.run("--", "env")
		e.noCanary(r)
		if r.code != 0 {
			t.Fatalf("env failed:\n%s", r)
		}
		got := map[string]string{}
		for _, kv := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			k, v, _ := strings.Cut(kv, "=")
			got[k] = v
		}
		for k, want := range map[string]string{"HOME": e.home, "TMPDIR": "/tmp", "TZ": "Europe/Paris", "TERM": "xterm-test", "LANG": "C.UTF-8"} {
			if got[k] != want {
				t.Errorf("%s=%q, want %q", k, got[k], want)
			}
		}
		for _, s := range secrets {
			if _, ok := got[s]; ok {
				t.Errorf("%s was passed into the sandbox", s)
			}
		}
	})
}

func TestIdentityInside(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		r := e.run("--", "sh", "-c", "id -u; id -g; pwd; grep -E '^Cap(Prm|Eff)' /proc/self/status; grep NoNewPrivs /proc/self/status")
		want := fmt.Sprintf("%d\n%d\n%s\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\n", e.id.uidOrSelfUID(), e.id.gidOrSelf(), e.workspace)
		if r.code != 0 || r.stdout != want {
			t.Fatalf("got\n%s\nwant\n%s", r, want)
		}
	})
}

func (id identity) uidOrSelfUID() int {
	if id.cred != nil {
		return id.uid
	}
	return os.Getuid()
}

func (id identity) gidOrSelf() int {
	if id.cred != nil {
		return id.gid
	}
	return os.Getgid()
}

func TestPlanAndDoctor(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		r := e.run("plan", "--json", "--", "make", "test")
		if r.code != 0 {
			t.Fatalf("plan failed:\n%s", r)
		}
		var plan struct {
			Workspace string   `json:"workspace"`
			Mask      []string `json:"mask"`
			Protect   []string `json:"protect"`
			Digest    string   `json:"digest"`
			Command   struct {
				Argv []string `json:"argv"`
			} `json:"command"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
			t.Fatalf("plan --json is not JSON: %v\n%s", err, r)
		}
		if plan.Workspace != e.workspace || !strings.HasPrefix(plan.Digest, "sha256:") ||
			strings.Join(plan.Command.Argv, " ") != "make test" || !contains(plan.Protect, e.workspace+"/.git/hooks") ||
			!contains(plan.Mask, "/etc/shadow") {
			t.Fatalf("unexpected plan:\n%s", r.stdout)
		}
		if r := e.run("plan", "--", "true"); r.code != 0 || !strings.Contains(r.stdout, "workspace: "+e.workspace) {
			t.Fatalf("plan YAML:\n%s", r)
		}
		r = e.run("doctor")
		if r.code != 0 || !strings.Contains(r.stdout, "landlock:") || !strings.Contains(r.stdout, "user namespaces:") {
			t.Fatalf("doctor:\n%s", r)
		}
		for _, line := range strings.Split(r.stdout, "\n") {
			if strings.TrimSpace(line) == "-" {
				t.Errorf("doctor prints an empty list item:\n%s", r.stdout)
				break
			}
		}
		r = e.run("doctor", "--json")
		var facts struct {
			Ready       bool     `json:"ready"`
			Enforced    []string `json:"enforced"`
			NotEnforced []string `json:"not_enforced"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &facts); err != nil || !facts.Ready || len(facts.Enforced) == 0 || facts.NotEnforced == nil {
			t.Fatalf("doctor --json: %v\n%s", err, r)
		}
		for _, it := range append(facts.Enforced, facts.NotEnforced...) {
			if strings.TrimSpace(it) == "" {
				t.Errorf("doctor --json has an empty list item:\n%s", r.stdout)
				break
			}
		}
	})
}

func TestHelp(t *testing.T) {
	e := newEnv(t, identity{name: "self"})
	for _, args := range [][]string{{"--help"}, {"plan", "--help"}, {"doctor", "--help"}} {
		r := e.run(args...)
		if r.code != 0 || !strings.Contains(r.stdout, "EXAMPLE:") {
			t.Errorf("skillrun %s: want exit 0 and an EXAMPLE section\n%s", strings.Join(args, " "), r)
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

// TestStartupInitIsSmall: every command starts this binary four times (skillrun, runc's init, the
// stage, the exec step), so what its packages do at init is paid four times per command. Work
// belongs in first use (sync.OnceValue), not in package variables: no package of skillrun's may
// allocate more than a few hundred times at init, and the CLI's documentation generator (a
// Markdown engine) stays out of the binary. Allocation counts are deterministic; the time they
// cost is measured by make bench.
func TestStartupInitIsSmall(t *testing.T) {
	cmd := exec.Command(skillrunBin, "__probe")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	inits := 0
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line) // init PKG @T ms, C ms clock, B bytes, A allocs
		if len(f) < 11 || f[0] != "init" {
			continue
		}
		inits++
		if strings.Contains(f[1], "blackfriday") || strings.Contains(f[1], "md2man") {
			t.Errorf("%s is linked (build with the urfave_cli_no_docs tag)", f[1])
		}
		allocs, _ := strconv.Atoi(f[9])
		if strings.HasPrefix(f[1], "github.com/skillrun/") && allocs > 300 {
			t.Errorf("%s allocates %d times at init: move the work to first use\n%s", f[1], allocs, line)
		}
	}
	if inits < 20 {
		t.Fatalf("no init trace read (%d lines):\n%s", inits, out)
	}
}
