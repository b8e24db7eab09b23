//go:build agents

package agents

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// route is one way a client's shell commands reach skillrun.
type route struct {
	name string
	// setup configures the client in e to talk to m and to run commands through skillrun.
	setup func(e *env, m *mockModel)
	// hookFile is the settings file holding skillrun's hook ("" for a route without a hook).
	hookFile func(e *env) string
	// run starts the client with its prompt, non-interactively.
	run func(e *env, m *mockModel, extra ...string) (string, int)
	// exited matches how the client reports exit status 3 to the model.
	exited *regexp.Regexp
	// background matches the client's answer to a call it left running.
	background *regexp.Regexp
	// cdCarries: a cd in one call is the next call's directory.
	cdCarries bool
	client    *regexp.Regexp // the audit record's client field
}

func (e *env) integrate(client string) {
	e.t.Helper()
	out, code := e.run(2*time.Minute, e.environ(e.clientEnv...), e.skillrun(), "integrate", client)
	if code != 0 {
		e.t.Fatalf("skillrun integrate %s: %d\n%s", client, code, out)
	}
	e.chownAll()
}

var routes = []route{
	{
		name: "claude-hook",
		setup: func(e *env, m *mockModel) {
			claudeSetup(e, m)
			e.integrate("claude")
		},
		hookFile:   func(e *env) string { return filepath.Join(e.home, ".claude", "settings.json") },
		run:        runClaude,
		exited:     regexp.MustCompile(`Exit code 3`),
		background: regexp.MustCompile(`Command running in background`),
		client:     regexp.MustCompile(`^claude-code_`),
	},
	{
		name: "claude-prefix",
		setup: func(e *env, m *mockModel) {
			claudeSetup(e, m)
			e.clientEnv = append(e.clientEnv, "CLAUDE_CODE_SHELL_PREFIX="+e.skillrun()+" -c")
			if out, code := e.run(time.Minute, e.environ(e.clientEnv...), e.skillrun(), "integrate", "--check", "claude"); code != 0 {
				e.t.Fatalf("integrate --check claude with the prefix: %d\n%s", code, out)
			}
		},
		run:        runClaude,
		exited:     regexp.MustCompile(`Exit code 3`),
		background: regexp.MustCompile(`Command running in background`),
		cdCarries:  true,
		client:     regexp.MustCompile(`^claude-code_`),
	},
	{
		name: "codex",
		setup: func(e *env, m *mockModel) {
			e.write(filepath.Join(e.home, ".codex", "config.toml"), codexConfig(m), 0o600)
			e.clientEnv = append(e.clientEnv, "CODEX_HOME="+filepath.Join(e.home, ".codex"), "MOCK_API_KEY=x")
			e.integrate("codex")
		},
		hookFile: func(e *env) string { return filepath.Join(e.home, ".codex", "hooks.json") },
		run: func(e *env, m *mockModel, extra ...string) (string, int) {
			return e.run(4*time.Minute, e.environ(e.clientEnv...), "codex", append(append([]string{"exec", "--skip-git-repo-check"}, extra...), "run the steps")...)
		},
		exited:     regexp.MustCompile(`Process exited with code 3`),
		background: regexp.MustCompile(`Process running with session ID`),
		client:     regexp.MustCompile(`^codex-cli$`),
	},
	{
		name: "gemini",
		setup: func(e *env, m *mockModel) {
			e.write(filepath.Join(e.home, ".gemini", "settings.json"), `{"security": {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": false}},
 "general": {"disableAutoUpdate": true}, "telemetry": {"enabled": false}, "privacy": {"usageStatisticsEnabled": false}}`, 0o600)
			e.clientEnv = append(e.clientEnv, "GEMINI_API_KEY=x", "GOOGLE_GEMINI_BASE_URL="+m.url)
			e.integrate("gemini")
		},
		hookFile: func(e *env) string { return filepath.Join(e.home, ".gemini", "settings.json") },
		run: func(e *env, m *mockModel, extra ...string) (string, int) {
			return e.run(4*time.Minute, e.environ(e.clientEnv...), "gemini", append([]string{"-p", "run the steps", "--yolo", "-m", "gemini-2.5-flash"}, extra...)...)
		},
		exited:     regexp.MustCompile(`Exit Code: 3`),
		background: regexp.MustCompile(`Command moved to background`),
		client:     regexp.MustCompile(`^gemini-cli$`),
	},
}

func claudeSetup(e *env, m *mockModel) {
	e.write(filepath.Join(e.home, ".claude.json"), `{"hasCompletedOnboarding": true}`, 0o600)
	e.clientEnv = append(e.clientEnv, "ANTHROPIC_API_KEY=x", "ANTHROPIC_BASE_URL="+m.url, "DISABLE_AUTOUPDATER=1",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_TELEMETRY=1")
}

func runClaude(e *env, m *mockModel, extra ...string) (string, int) {
	return e.run(4*time.Minute, e.environ(e.clientEnv...), "claude", append([]string{"-p", "run the steps", "--allowedTools", "Bash", "--model", "claude-mock"}, extra...)...)
}

// codexConfig points Codex at the mock Responses API, with Codex's own sandbox and approvals off
// (skillrun is the sandbox under test).
func codexConfig(m *mockModel) string {
	return `model = "gpt-mock"
model_provider = "mock"
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false

[model_providers.mock]
name = "mock"
base_url = "` + m.url + `/v1"
wire_api = "responses"
env_key = "MOCK_API_KEY"
request_max_retries = 0
stream_max_retries = 0
`
}

// forEach runs f per route and identity.
func forEach(t *testing.T, f func(t *testing.T, r route, id identity)) {
	for _, r := range routes {
		for _, id := range identities(t) {
			t.Run(r.name+"/"+id.name, func(t *testing.T) { f(t, r, id) })
		}
	}
}

// TestAgentCommandsRunInSkillrun plays six shell calls through each client and checks what
// reached the model and what skillrun recorded.
func TestAgentCommandsRunInSkillrun(t *testing.T) {
	forEach(t, func(t *testing.T, r route, id identity) {
		e := newEnv(t, id)
		mark := strings.TrimPrefix(e.canary, "CANARY-")
		steps := []step{
			{command: "echo out-" + mark + "; echo err-" + mark + " >&2; exit 3"},
			{command: "cat ~/.ssh/id_ed25519; ls -la ~/.ssh; echo tried-" + mark},
			{command: "cd sub && echo in-sub-" + mark},
			{command: "pwd; echo where-" + mark},
			{command: "sleep 2; echo bg-" + mark + " > bg.txt", background: true},
			{command: "sleep 6; cat bg.txt; echo waited-" + mark},
		}
		m := startMock(t, steps)
		r.setup(e, m)
		out, code := r.run(e, m)
		if code != 0 {
			t.Fatalf("%s exited %d:\n%s", r.name, code, out)
		}
		if strings.Contains(m.everything(), e.canary) {
			t.Errorf("the key planted in ~/.ssh reached the model")
		}
		res := func(i int) string { return m.result(i) }
		if s := res(0); !strings.Contains(s, "out-"+mark) || !strings.Contains(s, "err-"+mark) || !r.exited.MatchString(s) {
			t.Errorf("exit status and both streams did not reach the model:\n%s", s)
		}
		if s := res(1); !strings.Contains(s, "tried-"+mark) {
			t.Errorf("the ~/.ssh call did not come back:\n%s", s)
		}
		want := e.workspace
		if r.cdCarries {
			want = filepath.Join(e.workspace, "sub")
		}
		if s := res(3); !strings.Contains(s, want+"\n") && !strings.HasSuffix(strings.TrimSpace(strings.Split(s, "where-")[0]), want) {
			t.Errorf("after cd sub, the next call ran in a directory other than %s:\n%s", want, s)
		}
		if s := res(4); !r.background.MatchString(s) {
			t.Errorf("the background call was not left running:\n%s", s)
		}
		if s := res(5); !strings.Contains(s, "bg-"+mark) {
			t.Errorf("the background command did not run:\n%s", s)
		}
		// One audit record per call, each marked with the client.
		recs := e.audit()
		for i, s := range steps {
			n := 0
			for _, rec := range recs {
				if rec.Shell != nil && strings.Contains(*rec.Shell, s.command) {
					n++
					if !r.client.MatchString(rec.Client) || rec.Decision != "ran" {
						t.Errorf("step %d: record client %q, decision %q", i, rec.Client, rec.Decision)
					}
				}
			}
			if n != 1 {
				t.Errorf("step %d (%s): %d audit records, want 1", i, s.command, n)
			}
		}
		if len(recs) != len(steps) {
			t.Errorf("%d audit records for %d calls:\n%+v", len(recs), len(steps), recs)
		}
		// Shown on failure, and with -v.
		t.Logf("client output:\n%s", out)
		for i := range steps {
			t.Logf("result %d: %s", i, res(i))
		}
	})
}

// TestAgentHookFailsClosed breaks the route (the binary moved away, not executable, the hook
// fed an input it cannot use) and checks that the client blocks the call: the command never
// runs, and the model hears why.
func TestAgentHookFailsClosed(t *testing.T) {
	type breakage struct {
		name  string
		apply func(e *env, r route)
		// said is what must reach the model ("" when the client reports the failure in its own words).
		said string
		// pad makes the command this many bytes longer than one shell argument can hold.
		pad int
	}
	editHook := func(filter string) func(e *env, r route) {
		return func(e *env, r route) {
			p := r.hookFile(e)
			b, err := os.ReadFile(p)
			if err != nil {
				e.t.Fatal(err)
			}
			q := strings.Replace(string(b), `"`+e.skillrun()+` hook`, `"`+filter+e.skillrun()+` hook`, 1)
			if q == string(b) {
				e.t.Fatalf("no hook command in %s:\n%s", p, b)
			}
			e.write(p, q, 0o600)
		}
	}
	breakages := []breakage{
		{"missing", func(e *env, r route) { os.Rename(e.skillrun(), e.skillrun()+".moved") }, "", 0},
		{"not-executable", func(e *env, r route) { os.Chmod(e.skillrun(), 0o644) }, "", 0},
		{"empty-object", editHook(`printf {} | `), "skillrun: error: hook: the hook input names no tool", 0},
		{"malformed", editHook(`head -c 25 | `), "skillrun: error: hook: the hook input is not a JSON object", 0},
		{"oversized", func(*env, route) {}, "write the script to a file in the workspace and run that file instead", 128 << 10},
	}
	forEach(t, func(t *testing.T, r route, id identity) {
		for _, b := range breakages {
			said := b.said
			if r.hookFile == nil {
				if b.pad == 0 && said != "" {
					continue // the prefix route has no hook input
				}
				said = "" // bash cannot start skillrun with it (E2BIG): nothing runs
			}
			t.Run(b.name, func(t *testing.T) {
				e := newEnv(t, id)
				ran := filepath.Join(e.workspace, "ran")
				command := "touch " + ran + "; echo ran"
				if b.pad > 0 {
					command += " #" + strings.Repeat("x", b.pad)
				}
				m := startMock(t, []step{{command: command}})
				r.setup(e, m)
				b.apply(e, r)
				var extra []string
				if r.name == "codex" && b.said != "" && b.pad == 0 {
					// The edited hook is not the one integrate trusted.
					extra = []string{"--dangerously-bypass-hook-trust"}
				}
				out, _ := r.run(e, m, extra...)
				if _, err := os.Stat(ran); err == nil {
					t.Errorf("the command ran although the hook could not sandbox it")
				}
				if recs := e.audit(); len(recs) != 0 {
					t.Errorf("audit records: %+v", recs)
				}
				s := m.result(0)
				if s == "" || strings.Contains(s, "\nran") {
					t.Errorf("the model was not told the call was blocked: %q", s)
				}
				if said != "" && !strings.Contains(s, said) {
					t.Errorf("the model did not hear %q:\n%.2000s", said, s)
				}
				t.Logf("client output:\n%.3000s\nwhat the model heard: %.2000s", out, s)
			})
		}
	})
}

// TestCodexTrustFollowsTheBinary: integrate run again from a new place keeps Codex trusting the
// hook; an edit of the hook behind integrate's back is reported by --check, as Codex sees it.
func TestCodexTrustFollowsTheBinary(t *testing.T) {
	var codex route
	for _, r := range routes {
		if r.name == "codex" {
			codex = r
		}
	}
	for _, id := range identities(t) {
		t.Run(id.name, func(t *testing.T) {
			e := newEnv(t, id)
			m := startMock(t, []step{{command: "echo first"}})
			codex.setup(e, m)
			moved := filepath.Join(e.base, "opt2", "skillrun")
			e.mkdir(filepath.Dir(moved), 0o755)
			b, _ := os.ReadFile(e.skillrun())
			os.WriteFile(moved, b, 0o755)
			out, code := e.run(2*time.Minute, e.environ(e.clientEnv...), moved, "integrate", "codex")
			if code != 0 || !strings.Contains(out, "Codex lists the hook as trusted") {
				t.Fatalf("integrate from the new place: %d\n%s", code, out)
			}
			os.Remove(e.skillrun())
			if out, code = codex.run(e, m); code != 0 {
				t.Fatalf("codex: %d\n%s", code, out)
			}
			recs := e.audit()
			if len(recs) != 1 || recs[0].Client != "codex-cli" || !strings.Contains(m.result(0), "first") {
				t.Errorf("after the move: records %+v, result %q\n%s", recs, m.result(0), out)
			}
			// An edit of the hook (a new timeout) withdraws Codex's trust: --check says so.
			hooks := filepath.Join(e.home, ".codex", "hooks.json")
			h, _ := os.ReadFile(hooks)
			e.write(hooks, strings.Replace(string(h), `"timeout": 30`, `"timeout": 31`, 1), 0o600)
			out, code = e.run(2*time.Minute, e.environ(e.clientEnv...), moved, "integrate", "--check", "codex")
			if code != 1 || !strings.Contains(out, "Codex does not trust the hook (modified)") {
				t.Errorf("--check after an edit: %d\n%s", code, out)
			}
		})
	}
}
