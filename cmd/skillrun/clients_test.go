package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCodexHookHash: the value codex 0.171's app-server reported (hooks/list, currentHash) for
// this hook.
func TestCodexHookHash(t *testing.T) {
	got := codexHookHash("^Bash$", "/usr/local/bin/skillrun hook codex || exit 2", 30)
	if want := "sha256:bf758ae1f2917ee6689ead077376d60fe0636af1f6b910b9fa9d435d2502aad7"; got != want {
		t.Errorf("hash %s, codex says %s", got, want)
	}
}

func TestSetCodexTrust(t *testing.T) {
	const key, hash = "/home/dev/.codex/hooks.json:pre_tool_use:0:0", "sha256:new"
	rec := "[hooks.state.\"" + key + "\"]\ntrusted_hash = \"sha256:new\"\n"
	for _, c := range []struct{ in, want string }{
		{"", rec},
		{"model = \"o3\"", "model = \"o3\"\n\n" + rec},
		{"model = \"o3\"\n\n[features]\nhooks = true\n", "model = \"o3\"\n\n[features]\nhooks = true\n\n" + rec},
		// The binary moved: the record is updated in place, everything else kept.
		{"[hooks.state.\"" + key + "\"]\nenabled = true\ntrusted_hash = \"sha256:old\" # reviewed\n[other]\nx = 1\n",
			"[hooks.state.\"" + key + "\"]\nenabled = true\ntrusted_hash = \"sha256:new\"\n[other]\nx = 1\n"},
		{"[hooks.state.\"" + key + "\"] # mine\nenabled = true\n\n[other]\n",
			"[hooks.state.\"" + key + "\"] # mine\ntrusted_hash = \"sha256:new\"\nenabled = true\n\n[other]\n"},
		{"[hooks.state.\"other\"]\ntrusted_hash = \"sha256:x\"\n", "[hooks.state.\"other\"]\ntrusted_hash = \"sha256:x\"\n\n" + rec},
	} {
		got, err := setCodexTrust([]byte(c.in), key, hash)
		if err != nil || string(got) != c.want {
			t.Errorf("%q:\ngot %q (%v)\nwant %q", c.in, got, err, c.want)
		}
	}
	// Written another way: not edited (a second table for the key would stop Codex starting).
	for _, in := range []string{
		"[hooks.state]\n\"" + key + "\" = { trusted_hash = \"sha256:old\" }\n",
		"hooks.state.\"" + key + "\".trusted_hash = \"sha256:old\"\n",
		"[hooks.state.\"" + key + "\"]\n[hooks.state.\"" + key + "\"]\n",
	} {
		if got, err := setCodexTrust([]byte(in), key, hash); err == nil {
			t.Errorf("%q edited: %q", in, got)
		}
	}
}

// TestIntegrateCodexAsksCodex: with codex on PATH, integrate records the key and hash Codex
// itself reports, and confirms afterwards that Codex lists the hook as trusted.
func TestIntegrateCodexAsksCodex(t *testing.T) {
	home := fakeHome(t)
	withSelf(t, "/usr/local/bin/skillrun")
	fake := filepath.Join(t.TempDir(), "codex")
	// A stand-in for `codex app-server`: answers hooks/list, trusted once config.toml trusts
	// the hash it reports (not the one skillrun would compute).
	os.WriteFile(fake, []byte(`#!/bin/sh
[ "$1" = app-server ] || exit 9
status=untrusted
grep -q 'trusted_hash = "sha256:from-codex"' "$CODEX_HOME/config.toml" 2>/dev/null && status=trusted
read -r a; read -r b; read -r c
echo '{"id":1,"result":{}}'
echo '{"id":2,"result":{"data":[{"cwd":"/","hooks":[{"key":"K:pre_tool_use:0:0","eventName":"preToolUse","command":"/usr/local/bin/skillrun hook codex || exit 2","sourcePath":"'"$CODEX_HOME"'/hooks.json","enabled":true,"currentHash":"sha256:from-codex","trustStatus":"'$status'"}]}]}}'
`), 0o755)
	codexProgram = func() (string, error) { return fake, nil }
	status, stdout, stderr := runWith(t, "", "integrate", "codex")
	toml, _ := os.ReadFile(filepath.Join(home, ".codex", "config.toml"))
	if status != 0 || string(toml) != "[hooks.state.\"K:pre_tool_use:0:0\"]\ntrusted_hash = \"sha256:from-codex\"\n" ||
		!strings.Contains(stdout, "Codex lists the hook as trusted and enabled") || !strings.Contains(stdout, "codex: shell commands are routed through skillrun") {
		t.Errorf("status %d\n%s%s\nconfig.toml:\n%s", status, stdout, stderr, toml)
	}
	// Trust withdrawn (the user edited the hook, Codex says modified): --check says so.
	os.WriteFile(filepath.Join(home, ".codex", "config.toml"), []byte("[features]\nhooks = true\n"), 0o600)
	status, stdout, stderr = runWith(t, "", "integrate", "--check", "codex")
	if status != 1 || !strings.Contains(stderr, "NOT routed") || !strings.Contains(stderr, "Codex does not trust the hook (untrusted)") ||
		!strings.Contains(stderr, "skillrun: hint: record the trust: skillrun integrate codex") {
		t.Errorf("status %d\n%s%s", status, stdout, stderr)
	}
	os.WriteFile(filepath.Join(home, ".codex", "config.toml"), []byte("[features]\nhooks = false\n"), 0o600)
	if status, _, stderr = runWith(t, "", "integrate", "--check", "codex"); status != 1 || !strings.Contains(stderr, "switches hooks off") {
		t.Errorf("hooks off: status %d %s", status, stderr)
	}
}

// TestIntegrateCheck: what keeps a written hook from running is found and named.
func TestIntegrateCheck(t *testing.T) {
	home := fakeHome(t)
	withSelf(t, "/usr/local/bin/skillrun")
	check := func(agent string) (int, string) {
		status, stdout, stderr := runWith(t, "", "integrate", "--check", agent)
		return status, stdout + stderr
	}
	if status, out := check("gemini"); status != 1 || !strings.Contains(out, "does not exist: no skillrun hook") || !strings.Contains(out, "hint: add it: skillrun integrate gemini") {
		t.Errorf("no settings: %d %s", status, out)
	}
	for _, agent := range []string{"claude", "gemini"} {
		if status, out, errs := runWith(t, "", "integrate", agent); status != 0 {
			t.Fatalf("%s: %d %s%s", agent, status, out, errs)
		}
		if status, out := check(agent); status != 0 || !strings.Contains(out, agent+": shell commands are routed through skillrun") {
			t.Errorf("%s: %d %s", agent, status, out)
		}
	}
	// Gemini's real switch is hooksConfig.enabled; no note while it is not false.
	gs := filepath.Join(home, ".gemini", "settings.json")
	b, _ := os.ReadFile(gs)
	os.WriteFile(gs, []byte(strings.Replace(string(b), "{", `{"hooksConfig": {"enabled": false},`, 1)), 0o600)
	if status, out := check("gemini"); status != 1 || !strings.Contains(out, "sets hooksConfig.enabled to false") {
		t.Errorf("gemini hooks off: %d %s", status, out)
	}
	os.WriteFile(gs, []byte(strings.Replace(string(b), "{", `{"hooksConfig": {"disabled": ["skillrun"]},`, 1)), 0o600)
	if status, out := check("gemini"); status != 1 || !strings.Contains(out, "hooksConfig.disabled") {
		t.Errorf("gemini hook disabled: %d %s", status, out)
	}
	cs := filepath.Join(home, ".claude", "settings.json")
	b, _ = os.ReadFile(cs)
	os.WriteFile(cs, []byte(strings.Replace(string(b), "{", `{"disableAllHooks": true,`, 1)), 0o600)
	if status, out := check("claude"); status != 1 || !strings.Contains(out, "disableAllHooks") {
		t.Errorf("claude hooks off: %d %s", status, out)
	}
	// The binary the hook names is gone: every command would be blocked; said.
	os.WriteFile(cs, b, 0o600)
	canExec = func(string) error { return os.ErrNotExist }
	if status, out := check("claude"); status != 1 || !strings.Contains(out, "which cannot be run") {
		t.Errorf("claude binary gone: %d %s", status, out)
	}
	// An old hook line without `|| exit 2` is reported.
	canExec = func(string) error { return nil }
	os.WriteFile(cs, []byte(strings.ReplaceAll(string(b), " || exit 2", "")), 0o600)
	if status, out := check("claude"); status != 1 || !strings.Contains(out, "lets the call run unsandboxed when the skillrun binary is missing") {
		t.Errorf("claude old hook line: %d %s", status, out)
	}
}

// TestIntegrateCheckClaudePrefix: Claude Code's shell prefix route counts as routed.
func TestIntegrateCheckClaudePrefix(t *testing.T) {
	home := fakeHome(t)
	withSelf(t, "/usr/local/bin/skillrun")
	cs := filepath.Join(home, ".claude", "settings.json")
	os.MkdirAll(filepath.Dir(cs), 0o700)
	for _, c := range []struct {
		settings, env string
		status        int
		said          string
	}{
		{`{"env": {"CLAUDE_CODE_SHELL_PREFIX": "/usr/local/bin/skillrun -c"}}`, "", 0, "CLAUDE_CODE_SHELL_PREFIX in " + cs + " runs every command through /usr/local/bin/skillrun"},
		{`{}`, "/usr/local/bin/skillrun -c", 0, "CLAUDE_CODE_SHELL_PREFIX in the environment runs every command"},
		{`{}`, "/usr/local/bin/skillrun --profile x --", 1, "not skillrun -c or skillrun-sh"},
		{`{}`, "/opt/gone/skillrun -c", 1, "which cannot be run"},
		{`{}`, "", 1, "has no skillrun hook"},
	} {
		os.WriteFile(cs, []byte(c.settings), 0o600)
		t.Setenv("CLAUDE_CODE_SHELL_PREFIX", c.env)
		status, stdout, stderr := runWith(t, "", "integrate", "--check", "claude")
		if status != c.status || !strings.Contains(stdout+stderr, c.said) {
			t.Errorf("%s %q: %d\n%s%s", c.settings, c.env, status, stdout, stderr)
		}
	}
}

// TestIntegrateCheckClaudePrefixNoSettings: the prefix alone, with no settings file at all.
func TestIntegrateCheckClaudePrefixNoSettings(t *testing.T) {
	fakeHome(t)
	withSelf(t, "/usr/local/bin/skillrun")
	t.Setenv("CLAUDE_CODE_SHELL_PREFIX", "/usr/local/bin/skillrun -c")
	if status, stdout, stderr := runWith(t, "", "integrate", "--check", "claude"); status != 0 || !strings.Contains(stdout, "routed through skillrun") {
		t.Errorf("%d\n%s%s", status, stdout, stderr)
	}
}
