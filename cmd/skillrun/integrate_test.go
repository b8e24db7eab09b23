package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// withSelf makes the hook and integrate commands name path as skillrun's own binary, one the
// checks take as executable, and finds no codex unless a test gives one.
func withSelf(t *testing.T, path string) {
	t.Helper()
	old, oldExec, oldCodex := selfPath, canExec, codexProgram
	selfPath = func() (string, error) { return path, nil }
	canExec = func(p string) error {
		if p == path {
			return nil
		}
		return os.ErrNotExist
	}
	codexProgram = func() (string, error) { return "", os.ErrNotExist }
	t.Cleanup(func() { selfPath, canExec, codexProgram = old, oldExec, oldCodex })
}

// fakeHome points HOME and the agents' config variables at a new temp dir.
func fakeHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("CLAUDE_CONFIG_DIR", "")
	t.Setenv("CODEX_HOME", "")
	return home
}

const claudeSettings = `{
    "model": "opus",
    "permissions": {
        "allow": ["Bash(npm test:*)"],
        "deny": ["Read(./.env)"]
    },
    "hooks": {
        "PreToolUse": [
            {
                "matcher": "Edit|Write",
                "hooks": [{"type": "command", "command": "/home/dev/bin/check-edit", "timeout": 5}]
            }
        ],
        "PostToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "logger done"}]}]
    },
    "env": {"BIG": 12345678901234567890, "FLOAT": 1.50},
    "zzz_unknown": {"nested": [1, "two", null, true]}
}
`

func TestIntegrateClaudeKeepsSettings(t *testing.T) {
	home := fakeHome(t)
	withSelf(t, "/opt/skill run/skillrun")
	path := filepath.Join(home, ".claude", "settings.json")
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.WriteFile(path, []byte(claudeSettings), 0o640)

	status, stdout, stderr := runWith(t, "", "integrate", "claude")
	if status != 0 {
		t.Fatalf("integrate: %d\n%s%s", status, stdout, stderr)
	}
	got, _ := os.ReadFile(path)
	var doc struct {
		Hooks map[string][]struct {
			Matcher string `json:"matcher"`
			Hooks   []struct {
				Type    string `json:"type"`
				Command string `json:"command"`
				Timeout int    `json:"timeout"`
			} `json:"hooks"`
		} `json:"hooks"`
	}
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	pre := doc.Hooks["PreToolUse"]
	if len(pre) != 2 || pre[0].Matcher != "Edit|Write" || pre[1].Matcher != "Bash" ||
		pre[1].Hooks[0].Command != `'/opt/skill run/skillrun' hook claude || exit 2` || pre[1].Hooks[0].Type != "command" {
		t.Errorf("PreToolUse = %+v", pre)
	}
	if len(doc.Hooks["PostToolUse"]) != 1 {
		t.Errorf("the PostToolUse hook was lost")
	}
	// Unknown keys, numbers and order are kept, and so is the file's indentation.
	for _, keep := range []string{`"model": "opus"`, `"Bash(npm test:*)"`, `"BIG": 12345678901234567890`, `"FLOAT": 1.50`,
		`"zzz_unknown": {`, "\n    \"model\""} {
		if !strings.Contains(string(got), keep) {
			t.Errorf("lost %q:\n%s", keep, got)
		}
	}
	if strings.Index(string(got), `"model"`) > strings.Index(string(got), `"zzz_unknown"`) {
		t.Errorf("keys reordered:\n%s", got)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the original 0640", fi.Mode().Perm())
	}
	backups, _ := filepath.Glob(path + ".skillrun-backup-*")
	if len(backups) != 1 {
		t.Fatalf("backups: %v", backups)
	}
	if b, _ := os.ReadFile(backups[0]); string(b) != claudeSettings {
		t.Errorf("the backup is not the original:\n%s", b)
	}

	// Again: nothing changes, no new backup.
	status, stdout, _ = runWith(t, "", "integrate", "claude")
	again, _ := os.ReadFile(path)
	backups2, _ := filepath.Glob(path + ".skillrun-backup-*")
	if status != 0 || string(again) != string(got) || len(backups2) != 1 || !strings.Contains(stdout, "already") {
		t.Errorf("second run: status %d, changed %v, %d backups, said %q", status, string(again) != string(got), len(backups2), stdout)
	}

	// The binary moved: the same entry takes the new path, nothing is added.
	withSelf(t, "/usr/local/bin/skillrun")
	runWith(t, "", "integrate", "claude")
	moved, _ := os.ReadFile(path)
	if strings.Count(string(moved), "hook claude") != 1 || !strings.Contains(string(moved), `"/usr/local/bin/skillrun hook claude || exit 2"`) {
		t.Errorf("after a move:\n%s", moved)
	}
}

func TestIntegrateNewFiles(t *testing.T) {
	home := fakeHome(t)
	withSelf(t, "/usr/local/bin/skillrun")
	cases := []struct {
		agent, file, event, matcher, extra string
	}{
		{"claude", ".claude/settings.json", "PreToolUse", "Bash", `"timeout": 30`},
		{"codex", ".codex/hooks.json", "PreToolUse", "^Bash$", `"timeout": 30`},
		{"gemini", ".gemini/settings.json", "BeforeTool", "^run_shell_command$", `"timeout": 30000`},
	}
	for _, c := range cases {
		status, stdout, stderr := runWith(t, "", "integrate", c.agent)
		// Without codex on PATH, Codex cannot be asked whether it trusts the hook: said, status 1.
		if want := map[bool]int{true: 1, false: 0}[c.agent == "codex"]; status != want || (c.agent == "codex") != strings.Contains(stderr, "cannot confirm") {
			t.Fatalf("%s: %d %s%s", c.agent, status, stdout, stderr)
		}
		b, err := os.ReadFile(filepath.Join(home, c.file))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]map[string][]map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", c.agent, err)
		}
		g := doc["hooks"][c.event]
		if len(g) != 1 || g[0]["matcher"] != c.matcher || !strings.Contains(string(b), `"/usr/local/bin/skillrun hook `+c.agent+` || exit 2"`) ||
			!strings.Contains(string(b), c.extra) {
			t.Errorf("%s:\n%s", c.agent, b)
		}
		if fi, _ := os.Stat(filepath.Join(home, c.file)); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: new file mode %v", c.agent, fi.Mode().Perm())
		}
		if backups, _ := filepath.Glob(filepath.Join(home, c.file) + ".skillrun-backup-*"); len(backups) != 0 {
			t.Errorf("%s: a backup of a file that did not exist: %v", c.agent, backups)
		}
	}
	// Codex: the trust record for the hook, with the key and hash Codex computes (measured with
	// codex 0.171 app-server, hooks/list).
	toml, _ := os.ReadFile(filepath.Join(home, ".codex", "config.toml"))
	want := "[hooks.state.\"" + filepath.Join(home, ".codex", "hooks.json") + ":pre_tool_use:0:0\"]\ntrusted_hash = \"" +
		codexHookHash("^Bash$", "/usr/local/bin/skillrun hook codex || exit 2", 30) + "\"\n"
	if string(toml) != want {
		t.Errorf("config.toml:\n%s\nwant\n%s", toml, want)
	}
}

func TestIntegrateRefusesToClobber(t *testing.T) {
	home := fakeHome(t)
	withSelf(t, "/usr/local/bin/skillrun")
	path := filepath.Join(home, ".gemini", "settings.json")
	os.MkdirAll(filepath.Dir(path), 0o700)
	for _, doc := range []string{
		"{\n  // a comment\n  \"theme\": \"dark\"\n}\n",
		`{"hooks": "none"}`,
		`{"hooks": {"BeforeTool": {"matcher": "x"}}}`,
		`[1, 2]`,
		`{"a": 1} {"b": 2}`,
	} {
		os.WriteFile(path, []byte(doc), 0o600)
		status, _, stderr := runWith(t, "", "integrate", "gemini")
		after, _ := os.ReadFile(path)
		if status != exitFailed || string(after) != doc || !strings.Contains(stderr, "it was left as it is") ||
			!strings.Contains(stderr, "skillrun: hint: print the snippet and merge it by hand: skillrun integrate gemini --print") {
			t.Errorf("%q: status %d, stderr %q, file now %q", doc, status, stderr, after)
		}
	}
}

func TestIntegratePrint(t *testing.T) {
	home := fakeHome(t)
	withSelf(t, "/usr/local/bin/skillrun")
	status, stdout, stderr := runWith(t, "", "integrate", "claude", "--print")
	want := `{
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "/usr/local/bin/skillrun hook claude || exit 2",
            "timeout": 30
          }
        ]
      }
    ]
  }
}
`
	if status != 0 || stdout != want || !strings.Contains(stderr, "merge it into "+filepath.Join(home, ".claude", "settings.json")) {
		t.Errorf("status %d\nstdout:\n%s\nstderr:\n%s", status, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(home, ".claude")); err == nil {
		t.Error("--print wrote something")
	}
	if status, _, stderr := runWith(t, "", "integrate", "cursor"); status != exitFailed || !strings.Contains(stderr, "claude|codex|gemini") {
		t.Errorf("unknown agent: %d %q", status, stderr)
	}
}

func TestIntegrateFollowsSymlinks(t *testing.T) {
	home := fakeHome(t)
	withSelf(t, "/usr/local/bin/skillrun")
	dots := filepath.Join(home, "dotfiles")
	os.MkdirAll(dots, 0o755)
	os.MkdirAll(filepath.Join(home, ".claude"), 0o755)
	real := filepath.Join(dots, "claude-settings.json")
	os.WriteFile(real, []byte(`{"model": "opus"}`), 0o644)
	link := filepath.Join(home, ".claude", "settings.json")
	os.Symlink(real, link)
	if status, out, errs := runWith(t, "", "integrate", "claude"); status != 0 {
		t.Fatalf("%d %s %s", status, out, errs)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced by a file")
	}
	if b, _ := os.ReadFile(real); !strings.Contains(string(b), "hook claude") || !strings.Contains(string(b), `"model": "opus"`) {
		t.Errorf("the link's target: %s", b)
	}
}

func TestIsSkillrunHook(t *testing.T) {
	for cmd, want := range map[string]bool{
		"/usr/local/bin/skillrun hook claude":           true,
		"/usr/local/bin/skillrun hook claude || exit 2": true,
		"/usr/local/bin/skillrun hook claude || exit 1": false,
		"/usr/local/bin/skillrun hook claude; exit 2":   false,
		"'/opt/my tools/skillrun' hook claude":          true,
		"/opt/my\\ tools/skillrun  hook   claude":       true,
		"skillrun hook claude":                          true,
		"/usr/local/bin/skillrun hook gemini":           false,
		"/usr/local/bin/skillrun hook claude -x":        false,
		"/usr/local/bin/not-skillrun hook claude":       false,
		"/home/dev/bin/check-edit":                      false,
		"'unterminated hook claude":                     false,
	} {
		if got := isSkillrunHook(cmd, "claude"); got != want {
			t.Errorf("isSkillrunHook(%q) = %v", cmd, got)
		}
	}
}

// TestIntegrateUpgradesOldHook: a hook written by an earlier skillrun (no `|| exit 2`, Codex's
// unanchored matcher) is rewritten in place; in a group shared with another hook, the group's
// matcher stays the user's.
func TestIntegrateUpgradesOldHook(t *testing.T) {
	home := fakeHome(t)
	withSelf(t, "/usr/local/bin/skillrun")
	path := filepath.Join(home, ".codex", "hooks.json")
	os.MkdirAll(filepath.Dir(path), 0o700)
	os.WriteFile(path, []byte(`{"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "/usr/local/bin/skillrun hook codex"}]}]}}`), 0o600)
	runWith(t, "", "integrate", "codex")
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `"matcher": "^Bash$"`) || !strings.Contains(string(b), `"command": "/usr/local/bin/skillrun hook codex || exit 2"`) ||
		strings.Count(string(b), "hook codex") != 1 {
		t.Errorf("old codex hook:\n%s", b)
	}
	shared := `{"hooks": {"PreToolUse": [{"matcher": "Bash|Edit", "hooks": [{"type": "command", "command": "logger x"}, {"type": "command", "command": "/usr/local/bin/skillrun hook codex"}]}]}}`
	os.WriteFile(path, []byte(shared), 0o600)
	runWith(t, "", "integrate", "codex")
	b, _ = os.ReadFile(path)
	if !strings.Contains(string(b), `"matcher": "Bash|Edit"`) || !strings.Contains(string(b), `"/usr/local/bin/skillrun hook codex || exit 2"`) || !strings.Contains(string(b), "logger x") {
		t.Errorf("shared group:\n%s", b)
	}
}
