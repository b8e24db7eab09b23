package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
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
		w, err := wrapShell(self, "", cmd)
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
		w, _ := wrapShell(self, "", cmd)
		want, err1 := exec.Command(bash, "-c", cmd).CombinedOutput()
		got, err2 := exec.Command(bash, "-c", w).CombinedOutput()
		if string(got) != string(want) || (err1 == nil) != (err2 == nil) {
			t.Errorf("%q: wrapped gave %q (%v), direct %q (%v)", cmd, got, err2, want, err1)
		}
	}
}

func TestWrapShellNeverDoubleWraps(t *testing.T) {
	self := "/usr/local/bin/skillrun"
	once, _ := wrapShell(self, "", "ls -la 'my dir'")
	if twice, _ := wrapShell(self, "", once); twice != once {
		t.Errorf("wrapped twice: %q", twice)
	}
	quoted := "/opt/my tools/skillrun"
	once, _ = wrapShell(quoted, "", "echo it's")
	if once != `'/opt/my tools/skillrun' -c 'echo it'\''s'` {
		t.Errorf("wrapShell = %q", once)
	}
	if twice, _ := wrapShell(quoted, "", once); twice != once {
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
		w, _ := wrapShell(self, "", evil)
		if w != self+" -c "+singleQuote(evil) {
			t.Errorf("%q was not wrapped: %q", evil, w)
		}
	}
	// With the client's mark (Codex): the same, and the mark cannot smuggle a command either.
	marked, _ := wrapShell(self, "codex-cli", "ls")
	if marked != "SKILLRUN_CLIENT=codex-cli "+self+" -c 'ls'" {
		t.Errorf("marked = %q", marked)
	}
	if twice, _ := wrapShell(self, "codex-cli", marked); twice != marked {
		t.Errorf("marked wrapped twice: %q", twice)
	}
	for _, evil := range []string{"SKILLRUN_CLIENT=codex-cli " + self + " -c 'true'; id", "SKILLRUN_CLIENT=x; id; " + self + " -c 'true'"} {
		if w, _ := wrapShell(self, "codex-cli", evil); w != "SKILLRUN_CLIENT=codex-cli "+self+" -c "+singleQuote(evil) {
			t.Errorf("%q was not wrapped: %q", evil, w)
		}
	}
	if _, err := wrapShell(self, "", "echo a\x00b"); err == nil {
		t.Error("a NUL byte cannot be passed on; the call must be blocked")
	}
}

// TestHookGolden runs `skillrun hook CLIENT` on every input shape of testdata/hook
// (CLIENT-CASE.in.json) and compares its status, stdout and stderr with CLIENT-CASE.golden.
// Every answer is either the client's rewrite, with only the command changed, or status 2 (the
// status each client takes as "block this call") with no stdout and a reason on stderr.
func TestHookGolden(t *testing.T) {
	withSelf(t, "/usr/local/bin/skillrun")
	files, _ := filepath.Glob(filepath.Join("testdata", "hook", "*.in.json"))
	perClient := map[string]int{}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".in.json")
		client := strings.SplitN(name, "-", 2)[0]
		perClient[client]++
		body, _ := os.ReadFile(in)
		status, stdout, stderr := runWith(t, string(body), "hook", client)
		got := fmt.Sprintf("status: %d\nstdout:\n", status)
		if stdout != "" {
			var b bytes.Buffer
			if err := json.Indent(&b, []byte(stdout), "", "  "); err != nil {
				t.Errorf("%s: stdout is not JSON: %q", name, stdout)
			}
			got += b.String() + "\n"
		}
		got += "stderr:\n" + stderr
		golden := strings.TrimSuffix(in, ".in.json") + ".golden"
		if *update {
			os.WriteFile(golden, []byte(got), 0o644)
		}
		want, _ := os.ReadFile(golden)
		if got != string(want) {
			t.Errorf("%s: got\n%s\nwant (%s, rerun with -update)\n%s", name, got, golden, want)
		}
		switch {
		case status == hookBlock:
			// One line: Claude Code and Codex show the model only the first.
			if stdout != "" || !strings.HasPrefix(stderr, "skillrun: error: hook: ") || !strings.Contains(stderr, "the call was blocked, nothing ran: ") ||
				strings.Count(stderr, "\n") != 1 {
				t.Errorf("%s: a block must say why, that nothing ran, and what to do, on one line of stderr:\n%s", name, got)
			}
			continue
		case status != 0 || stderr != "":
			t.Errorf("%s: status %d is neither a rewrite nor a block", name, status)
			continue
		}
		// Every input field is kept; only the command changed.
		var inDoc, outDoc map[string]any
		json.Unmarshal(body, &inDoc)
		json.Unmarshal([]byte(stdout), &outDoc)
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
		if cmd, _ := updated["command"].(string); !strings.Contains(cmd, "/usr/local/bin/skillrun -c '") {
			t.Errorf("%s: not wrapped: %q", name, cmd)
		}
	}
	for _, c := range []string{"claude", "codex", "gemini"} {
		if perClient[c] < 20 {
			t.Errorf("%s: only %d hook golden inputs", c, perClient[c])
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestHookBlocksOversized: an input over maxHookInput, and a command no shell argument can
// hold, are blocked with the advice to run a file instead; a command just under the bound runs.
func TestHookBlocksOversized(t *testing.T) {
	withSelf(t, "/usr/local/bin/skillrun")
	call := func(client, cmd string) string {
		tool := hookClients[client].tool
		b, _ := json.Marshal(map[string]any{"hook_event_name": hookClients[client].event, "tool_name": tool, "tool_input": map[string]any{"command": cmd}})
		return string(b)
	}
	for client := range hookClients {
		prefix, _ := wrapShell("/usr/local/bin/skillrun", hookClients[client].mark, "")
		fits := strings.Repeat("x", maxCommand-len(prefix))
		cases := []struct {
			stdin  string
			status int
		}{
			{call(client, fits), 0},
			{call(client, fits+"x"), hookBlock},
			{call(client, strings.Repeat("'", 50000)), hookBlock}, // each quote grows to four bytes
			{call(client, "ls") + strings.Repeat(" ", maxHookInput), hookBlock},
		}
		for i, c := range cases {
			status, stdout, stderr := runWith(t, c.stdin, "hook", client)
			if status != c.status {
				t.Errorf("%s case %d: status %d, stderr %q", client, i, status, stderr)
			}
			if c.status == hookBlock && (stdout != "" || !strings.Contains(stderr, "nothing ran: write the script to a file in the workspace")) {
				t.Errorf("%s case %d: stdout %d bytes, stderr %q", client, i, len(stdout), stderr)
			}
		}
	}
}

// TestHookExitStatus runs the hook command with the wrong arguments: blocked too.
func TestHookExitStatus(t *testing.T) {
	withSelf(t, "/usr/local/bin/skillrun")
	cases := []struct {
		args   []string
		stdin  string
		stderr string
	}{
		{[]string{"hook", "cursor"}, `{}`, "skillrun: error: hook: give the client: skillrun hook claude|codex|gemini"},
		{[]string{"hook"}, `{}`, "skillrun: error: hook: give the client"},
		{[]string{"hook", "claude", "codex"}, `{}`, "skillrun: error: hook: give the client"},
	}
	for _, c := range cases {
		status, stdout, stderr := runWith(t, c.stdin, c.args...)
		if status != hookBlock || stdout != "" || !strings.Contains(stderr, c.stderr) {
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
