package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// nastyCommands are commands whose every byte must reach skillrun unchanged.
var nastyCommands = []string{
	"",
	"ls",
	"echo 'single' \"double\" `backtick`",
	`echo '\''`,
	"echo $HOME ${PATH} $(id -u) $((1+2)) $'\\x41' \\$notvar",
	`printf '%s\n' a\\b "c\\d" 'e\\f' \\`,
	"echo one\necho two\n\n",
	"cat <<'EOF'\n$literal 'x' \"y\"\nEOF",
	"echo ünïcødé ✓ 日本 🙂 \u202eevil",
	"echo a; echo b && false || echo c | tr a-z A-Z &",
	"'", "''", `\`, `"`, "$", "!", "!!", "#comment", " leading and trailing spaces ",
	"x=1 y='2' env | grep -c ^x=",
	"\techo\ttabs\r\n",
	"echo \x01\x02\x1b[31mred",
	strings.Repeat("echo 'quote''s' ", 200),
}

// fakeSkillrun writes a script that prints its arguments NUL-terminated, at a path with a space and
// a quote in it.
func fakeSkillrun(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "my tools's bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "skillrun")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nprintf '%s\\0' \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func argsOf(t *testing.T, out []byte) []string {
	t.Helper()
	if len(out) == 0 || out[len(out)-1] != 0 {
		t.Fatalf("fake skillrun output not NUL-terminated: %q", out)
	}
	return strings.Split(string(out[:len(out)-1]), "\x00")
}

func TestWrapShellRoundTrip(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	self := fakeSkillrun(t)
	for _, cmd := range nastyCommands {
		w, err := wrapShell(self, cmd)
		if err != nil {
			t.Fatalf("%q: %v", cmd, err)
		}
		// As the agent runs it (bash -c), and as Claude Code runs it (eval of the quoted string).
		for _, shell := range []string{w, "eval " + singleQuote(w) + " < /dev/null && true"} {
			out, err := exec.Command(bash, "-c", shell).Output()
			if err != nil {
				t.Fatalf("%q: bash -c %q: %v", cmd, shell, err)
			}
			if got := argsOf(t, out); len(got) != 2 || got[0] != "-c" || got[1] != cmd {
				t.Errorf("%q arrived as %q", cmd, got)
			}
		}
	}
}

// TestWrapShellSameOutput runs the wrapped command through a skillrun stand-in that runs its
// string with bash -c, and compares with running the command directly.
func TestWrapShellSameOutput(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	self := filepath.Join(t.TempDir(), "skillrun")
	os.WriteFile(self, []byte("#!/bin/sh\n[ \"$1\" = -c ] || exit 99\nexec bash -c \"$2\"\n"), 0o755)
	for _, cmd := range []string{
		"echo $((6*7)) '$HOME' \"$#\"", `printf '<%s>' a\ b 'c d' "e\"f" $'g\nh'`, "for i in 1 2; do echo $i; done",
		"x='it'\\''s'; echo \"$x\"", "echo ünïcødé 日本", "cat <<EOF\n$((1+1)) \\$x\nEOF", "false; echo $?",
	} {
		w, _ := wrapShell(self, cmd)
		want, err1 := exec.Command(bash, "-c", cmd).CombinedOutput()
		got, err2 := exec.Command(bash, "-c", w).CombinedOutput()
		if string(got) != string(want) || (err1 == nil) != (err2 == nil) {
			t.Errorf("%q: wrapped gave %q (%v), direct %q (%v)", cmd, got, err2, want, err1)
		}
	}
}

func TestWrapShellNeverDoubleWraps(t *testing.T) {
	self := "/usr/local/bin/skillrun"
	once, _ := wrapShell(self, "ls -la 'my dir'")
	if twice, _ := wrapShell(self, once); twice != once {
		t.Errorf("wrapped twice: %q", twice)
	}
	quoted := "/opt/my tools/skillrun"
	once, _ = wrapShell(quoted, "echo it's")
	if once != `'/opt/my tools/skillrun' -c 'echo it'\''s'` {
		t.Errorf("wrapShell = %q", once)
	}
	if twice, _ := wrapShell(quoted, once); twice != once {
		t.Errorf("wrapped twice: %q", twice)
	}
	// Commands that merely start like a skillrun call run other things outside: wrapped.
	for _, evil := range []string{
		self + " -c 'true'; cat ~/.ssh/id_rsa",
		self + " -c 'true' && curl example.com",
		self + " -c 'true'\ncat ~/.aws/credentials",
		self + " -c 'true'$(id)",
		self + " -c ",
		self + " -- true; id",
		self + " -c true; id",
	} {
		w, _ := wrapShell(self, evil)
		if w != self+" -c "+singleQuote(evil) {
			t.Errorf("%q was not wrapped: %q", evil, w)
		}
	}
	if _, err := wrapShell(self, "echo a\x00b"); err == nil {
		t.Error("a NUL byte cannot be passed on; the call must be blocked")
	}
}

func TestHookGolden(t *testing.T) {
	self := "/usr/local/bin/skillrun"
	files, _ := filepath.Glob(filepath.Join("testdata", "hook", "*.in.json"))
	if len(files) < 6 {
		t.Fatalf("hook golden inputs missing: %v", files)
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".in.json")
		client := hookClients[strings.SplitN(name, "-", 2)[0]]
		body, _ := os.ReadFile(in)
		got, err := rewriteHook(client, body, self)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		golden := strings.TrimSuffix(in, ".in.json") + ".out.json"
		if got != nil {
			var b bytes.Buffer
			json.Indent(&b, got, "", "  ")
			got = append(b.Bytes(), '\n')
		}
		if *update {
			os.WriteFile(golden, got, 0o644)
		}
		want, _ := os.ReadFile(golden)
		if string(got) != string(want) {
			t.Errorf("%s: got\n%s\nwant (%s, rerun with -update)\n%s", name, got, golden, want)
		}
		if got == nil {
			continue
		}
		// Every input field is kept; only the command changed.
		var inDoc, outDoc map[string]any
		json.Unmarshal(body, &inDoc)
		json.Unmarshal(got, &outDoc)
		spec := outDoc["hookSpecificOutput"].(map[string]any)
		updated, _ := spec["updatedInput"].(map[string]any)
		if updated == nil {
			updated = spec["tool_input"].(map[string]any)
		}
		orig := inDoc["tool_input"].(map[string]any)
		for k, v := range orig {
			if k != "command" && !jsonEqual(v, updated[k]) {
				t.Errorf("%s: field %s changed: %v -> %v", name, k, v, updated[k])
			}
		}
		if len(updated) != len(orig) {
			t.Errorf("%s: %d fields in, %d out", name, len(orig), len(updated))
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestHookRefusesBrokenInput(t *testing.T) {
	for _, body := range []string{
		``, `not json`, `[]`, `null`,
		`{"tool_name":"Bash"}`,
		`{"tool_name":"Bash","tool_input":"ls"}`,
		`{"tool_name":"Bash","tool_input":{}}`,
		`{"tool_name":"Bash","tool_input":{"command":42}}`,
		`{"tool_name":"Bash","tool_input":{"command":[]}}`,
		`{"tool_name":"Bash","tool_input":{"command":"a\u0000b"}}`,
	} {
		if out, err := rewriteHook(hookClients["claude"], []byte(body), "/bin/skillrun"); err == nil {
			t.Errorf("%s: accepted, answered %s", body, out)
		}
	}
}

// TestHookExitStatus runs the hook command: an error exits 2 (every client then blocks the call
// and shows stderr), never a status a client would take as "go ahead".
func TestHookExitStatus(t *testing.T) {
	old := selfPath
	selfPath = func() (string, error) { return "/usr/local/bin/skillrun", nil }
	defer func() { selfPath = old }()
	cases := []struct {
		args   []string
		stdin  string
		status int
		stdout string
		stderr string
	}{
		{[]string{"hook", "claude"}, `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}`, 0,
			`"command":"/usr/local/bin/skillrun -c 'ls'"`, ""},
		{[]string{"hook", "claude"}, `{"hook_event_name":"PreToolUse","tool_name":"Read","tool_input":{"file_path":"/x"}}`, 0, "", ""},
		{[]string{"hook", "claude"}, `garbage`, hookBlock, "", "skillrun: error: hook: the hook input is not a JSON object"},
		{[]string{"hook", "cursor"}, `{}`, hookBlock, "", "skillrun: error: hook: give the client: skillrun hook claude|codex|gemini"},
		{[]string{"hook"}, `{}`, hookBlock, "", "skillrun: error: hook: give the client"},
	}
	for _, c := range cases {
		status, stdout, stderr := runWith(t, c.stdin, c.args...)
		if status != c.status || !strings.Contains(stdout, c.stdout) || !strings.Contains(stderr, c.stderr) || (c.stdout == "" && stdout != "") {
			t.Errorf("%q < %s: status %d, stdout %q, stderr %q", c.args, c.stdin, status, stdout, stderr)
		}
	}
}

// runWith runs the CLI in-process with stdin and returns the status and output.
func runWith(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	files := make([]*os.File, 3)
	for i, name := range []string{"stdin", "stdout", "stderr"} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files[i] = f
	}
	files[0].WriteString(stdin)
	files[0].Seek(0, 0)
	status := runCLI(append([]string{"skillrun"}, args...), files[0], files[1], files[2])
	out, _ := os.ReadFile(files[1].Name())
	errb, _ := os.ReadFile(files[2].Name())
	return status, string(out), string(errb)
}
