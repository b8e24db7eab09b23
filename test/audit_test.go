package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// auditLog is the env's audit log.
func (e *env) auditLog() string {
	return filepath.Join(e.home, ".local", "state", "skillrun", "audit.jsonl")
}

// auditLines returns the audit log's lines; each must be one valid JSON object with the record's
// contract fields.
func (e *env) auditLines(t *testing.T) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(e.auditLog())
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("the audit log does not end with a newline: %q", b[max(0, len(b)-200):])
	}
	var out []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("audit line %d is not JSON (%v): %q", i+1, err, line)
		}
		for _, k := range []string{"time", "skill", "decision", "exit_code", "duration_ms", "denials", "uid"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("audit line %d lacks %q: %s", i+1, k, line)
			}
		}
		out = append(out, rec)
	}
	return out
}

func TestAuditRunAndRefusal(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		token := "ghp_" + e.canary
		e.extraEnv = []string{"GITHUB_TOKEN=" + token}
		r := e.run("--", "true")
		if r.code != 0 {
			t.Fatalf("run:\n%s", r)
		}
		recs := e.auditLines(t)
		if len(recs) != 1 {
			t.Fatalf("%d records after one run", len(recs))
		}
		rec := recs[0]
		plan := e.run("plan", "--json", "--", "true")
		var p struct{ Digest string }
		json.Unmarshal([]byte(plan.stdout), &p)
		enforced, _ := rec["enforced"].(map[string]any)
		if rec["decision"] != "ran" || rec["exit_code"] != 0.0 || rec["skill"] != "agent" || fmt.Sprint(rec["argv"]) != "[true]" ||
			rec["cwd"] != e.workspace || rec["workspace"] != e.workspace || rec["uid"] != float64(e.uidOrSelf()) ||
			enforced == nil || enforced["seccomp"] != "default+inet" || rec["plan_digest"] != p.Digest || p.Digest == "" {
			t.Errorf("run record: %v (plan digest %s)", rec, p.Digest)
		}
		if fi, err := os.Stat(e.auditLog()); err != nil || fi.Mode().Perm() != 0o600 || fi.Sys().(*syscall.Stat_t).Uid != uint32(e.uidOrSelf()) {
			t.Errorf("audit log: %v, %v", fi.Mode(), err)
		}

		// A signal, a shell string with the secret's value in it (redacted), an exit status.
		r = e.run("-c", "echo "+token+" >/dev/null; kill -TERM $$")
		if r.code != 143 {
			t.Fatalf("signal:\n%s", r)
		}
		rec = e.auditLines(t)[1]
		if rec["decision"] != "ran" || rec["exit_code"] != 143.0 || rec["signal"] != 15.0 || rec["shell"] != "echo [redacted] >/dev/null; kill -TERM $$" {
			t.Errorf("-c record: %v", rec)
		}

		// A refusal: an unapproved skill where the policy refuses them.
		dir := e.skill(filepath.Join(e.workspace, ".agents", "skills", "helper"), "", map[string]string{"run.sh": "#!/bin/sh\necho ran\n"})
		e.policy("version: 1\nunapproved: refuse\n")
		if r := e.run("--", filepath.Join(dir, "run.sh")); r.code != 126 {
			t.Fatalf("refusal:\n%s", r)
		}
		// And skillrun's own failure.
		if r := e.run("--profile", "nope", "--", "true"); r.code != 125 {
			t.Fatalf("failure:\n%s", r)
		}
		recs = e.auditLines(t)
		if len(recs) != 4 {
			t.Fatalf("%d records after four runs", len(recs))
		}
		ref, fail := recs[2], recs[3]
		if ref["decision"] != "refused" || ref["exit_code"] != 126.0 || ref["skill"] != "helper" || ref["enforced"] != nil ||
			!strings.Contains(fmt.Sprint(ref["reason"]), "helper") || fmt.Sprint(ref["denials"]) != "[]" {
			t.Errorf("refusal record: %v", ref)
		}
		if fail["decision"] != "failed" || fail["exit_code"] != 125.0 || !strings.Contains(fmt.Sprint(fail["reason"]), `unknown profile "nope"`) {
			t.Errorf("failure record: %v", fail)
		}
		if b, _ := os.ReadFile(e.auditLog()); bytes.Contains(b, []byte(e.canary)) {
			t.Errorf("a secret's value is in the audit log")
		}
	})
}

func TestAuditConcurrentRuns(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		e.run("--", "true")
		before := len(e.auditLines(t))
		const n = 32
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				// A long argument makes each record a few KiB: interleaving would show.
				codes[i] = e.run("--", "sh", "-c", "exit $(($1 % 5))", "sh", fmt.Sprint(i), strings.Repeat("a", 3000)).code
			}(i)
		}
		wg.Wait()
		recs := e.auditLines(t)
		if len(recs) != before+n {
			t.Fatalf("%d records after %d concurrent runs, want %d", len(recs), n, before+n)
		}
		seen := map[string]bool{}
		for _, rec := range recs[before:] {
			argv, _ := rec["argv"].([]any)
			if len(argv) < 5 || rec["decision"] != "ran" {
				t.Errorf("record: %v", rec)
				continue
			}
			seen[fmt.Sprint(argv[4])] = true
		}
		for i, c := range codes {
			if c != i%5 || !seen[fmt.Sprint(i)] {
				t.Errorf("run %d: exit %d, recorded %v", i, c, seen[fmt.Sprint(i)])
			}
		}
	})
}

func TestAuditLogUnreachableFromSandbox(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		secret := "previous-record-" + e.canary
		e.run("--", "echo", secret) // a record holding a marker the next commands try to read
		log := e.auditLog()
		script := `cat "$1"; echo appended >> "$1" && echo APPENDED; : > "$1" && echo TRUNCATED; ls -a "$(dirname "$1")"; ` +
			`ln -sf /etc/passwd "$1" && echo LINKED; rm "$1" && echo REMOVED; exit 0`
		for _, c := range []struct{ name, dir, ws string }{
			{"workspace", e.workspace, e.workspace},
			{"home as workspace", e.home, e.home},
		} {
			before, _ := os.ReadFile(log)
			r := e.runIn(c.dir, "", "--workspace", c.ws, "-c", script, "sh", log)
			after, _ := os.ReadFile(log)
			if r.code != 0 {
				t.Fatalf("%s:\n%s", c.name, r)
			}
			for _, bad := range []string{secret, "APPENDED", "TRUNCATED", "LINKED", "REMOVED", "audit.jsonl"} {
				if strings.Contains(r.stdout, bad) {
					t.Errorf("%s: the sandbox got at the audit log (%q):\n%s", c.name, bad, r)
				}
			}
			var rec map[string]any
			if !bytes.HasPrefix(after, before) || bytes.Count(after[len(before):], []byte("\n")) != 1 ||
				json.Unmarshal(after[len(before):], &rec) != nil || rec["shell"] != script {
				t.Errorf("%s: the log changed beyond its new record:\n%s", c.name, after[min(len(before), len(after)):])
			}
			if fi, err := os.Lstat(log); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("%s: the log is no longer a regular file: %v", c.name, err)
			}
		}
	})
}

func TestAuditLogCommand(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		e.run("--", "echo", "first")
		e.run("-c", "exit 4")
		dir := e.skill(filepath.Join(e.workspace, ".agents", "skills", "helper"), "", map[string]string{"run.sh": "#!/bin/sh\necho ran\n"})
		e.policy("version: 1\nunapproved: refuse\n")
		e.run("--", filepath.Join(dir, "run.sh"))

		r := e.run("log")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || r.stderr != "" || len(lines) != 3 ||
			!strings.Contains(lines[0], "agent         ran      exit 0    echo first") ||
			!strings.Contains(lines[1], "agent         ran      exit 4    exit 4") ||
			!strings.Contains(lines[2], "helper        refused  exit 126  "+filepath.Join(dir, "run.sh")+"  — ") {
			t.Errorf("skillrun log:\n%s", r)
		}
		if r := e.run("log", "--denied"); len(strings.Split(strings.TrimSpace(r.stdout), "\n")) != 1 || !strings.Contains(r.stdout, "refused") {
			t.Errorf("--denied:\n%s", r)
		}
		if r := e.run("log", "--skill", "agent", "--since", "1h"); strings.Count(r.stdout, "\n") != 2 || strings.Contains(r.stdout, "helper") {
			t.Errorf("--skill agent --since 1h:\n%s", r)
		}
		if r := e.run("log", "--since", time.Now().Add(time.Hour).Format(time.RFC3339)); r.code != 0 || r.stdout != "" {
			t.Errorf("--since the future:\n%s", r)
		}
		r = e.run("log", "--json", "--skill", "helper")
		var rec map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || rec["decision"] != "refused" || strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("--json: %v\n%s", err, r)
		}
		// Following: a record appended later shows up.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cmd := e.command(ctx, "log", "-f", "--skill", "agent")
		var out syncBuffer
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if !waitFor(10*time.Second, func() bool { return strings.Count(out.String(), "\n") == 2 }) {
			t.Fatalf("log -f printed:\n%s", out.String())
		}
		e.run("--", "echo", "followed")
		ok := waitFor(10*time.Second, func() bool { return strings.Contains(out.String(), "echo followed") })
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
		if !ok {
			t.Errorf("log -f did not show the new record:\n%s", out.String())
		}
	})
}

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// shellLink makes a skillrun-sh link to the binary under test.
func (e *env) shellLink(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(e.base, "bin")
	os.MkdirAll(dir, 0o755)
	link := filepath.Join(dir, "skillrun-sh")
	if err := os.Symlink(skillrunBin, link); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	return link
}

// runAs runs a program (not skillrun) as the identity in dir, stdout and stderr apart.
func (e *env) runAs(t *testing.T, dir, stdin string, env []string, prog string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir, cmd.Env = dir, append(e.environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.id.cred}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", prog, err)
	}
	return r
}

func TestMultiCallShell(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		sh := e.shellLink(t)
		cases := []struct {
			args []string
			out  string
			code int
		}{
			{[]string{"echo hi"}, "hi\n", 0},
			{[]string{"exit 5"}, "", 5},
			{[]string{"-c", "echo $0-$1", "name", "one"}, "name-one\n", 0},
			{[]string{"printf '%s|' \"$HOME\" 'a b' \"it's\""}, e.home + "|a b|it's|", 0},
			{[]string{"cat " + filepath.Join(e.home, ".ssh", "id_ed25519")}, "", 1},
			{[]string{"echo --"}, "--\n", 0},
		}
		for _, c := range cases {
			r := e.runAs(t, e.workspace, "", nil, sh, c.args...)
			if r.stdout != c.out || r.code != c.code {
				t.Errorf("skillrun-sh %q: %s", c.args, r)
			}
			e.noCanary(r)
		}
		if r := e.runAs(t, e.workspace, "", nil, sh); r.code != 125 || !strings.Contains(r.stderr, "skillrun: error: no command given") {
			t.Errorf("skillrun-sh with nothing: %s", r)
		}
		recs := e.auditLines(t)
		if len(recs) == 0 || recs[0]["shell"] != "echo hi" {
			t.Errorf("skillrun-sh runs are not recorded as -c runs: %v", recs)
		}
	})
}

// TestHookEndToEnd pipes each client's hook JSON through the real binary and runs the rewritten
// command the way the client would: the original command's output, sandboxed.
func TestHookEndToEnd(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		command := `printf '%s\n' "it's" "$((6*7))" 'dollar $HOME' "ünï ✓"; echo two\
lines; cat ` + filepath.Join(e.home, ".ssh", "id_ed25519") + ` 2>/dev/null || echo no-ssh; echo $SKILLRUN_PROBE`
		want := "it's\n42\ndollar $HOME\nünï ✓\ntwolines\nno-ssh\n\n"
		if direct := e.runAs(t, e.workspace, "", nil, "/bin/bash", "-c", strings.ReplaceAll(command, "cat ", "true ")); direct.stdout != strings.ReplaceAll(want, "no-ssh\n", "") {
			t.Fatalf("the command itself: %s", direct)
		}
		inputs := map[string]string{
			"claude": `{"session_id":"s","transcript_path":"/t","cwd":"` + e.workspace + `","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":` + jsonQuote(command) + `,"description":"d","timeout":60000},"tool_use_id":"toolu_1"}`,
			"codex":  `{"session_id":"s","transcript_path":null,"cwd":"` + e.workspace + `","hook_event_name":"PreToolUse","model":"m","tool_name":"Bash","tool_input":{"command":` + jsonQuote(command) + `},"tool_use_id":"c1"}`,
			"gemini": `{"session_id":"s","transcript_path":"/t","cwd":"` + e.workspace + `","hook_event_name":"BeforeTool","timestamp":"2026-01-01T00:00:00Z","tool_name":"run_shell_command","tool_input":{"command":` + jsonQuote(command) + `,"description":"d"}}`,
		}
		for client, in := range inputs {
			r := e.runAs(t, e.workspace, in, []string{"SKILLRUN_PROBE=passed-through?"}, skillrunBin, "hook", client)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("%s hook: %s", client, r)
			}
			var out struct {
				Spec struct {
					Event        string            `json:"hookEventName"`
					Decision     string            `json:"permissionDecision"`
					UpdatedInput map[string]any    `json:"updatedInput"`
					ToolInput    map[string]any    `json:"tool_input"`
					Other        map[string]string `json:"-"`
				} `json:"hookSpecificOutput"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
				t.Fatalf("%s hook output: %v\n%s", client, err, r.stdout)
			}
			input := out.Spec.UpdatedInput
			if client == "gemini" {
				input = out.Spec.ToolInput
			}
			rewritten, _ := input["command"].(string)
			// Codex marks its commands with nothing of its own: the hook names it for the audit record.
			prefix := skillrunBin + " -c '"
			if client == "codex" {
				prefix = "SKILLRUN_CLIENT=codex-cli " + prefix
			}
			if !strings.HasPrefix(rewritten, prefix) || (client != "gemini" && out.Spec.Decision != "allow") {
				t.Fatalf("%s: rewritten to %q (%+v)", client, rewritten, out)
			}
			// Claude Code runs it inside its own wrapper, eval and all; the others with bash -c.
			script := rewritten
			if client == "claude" {
				script = "source /nonexistent 2>/dev/null || true && eval " + shQuote(rewritten) + " < /dev/null && pwd -P >| /dev/null"
			}
			got := e.runAs(t, e.workspace, "", []string{"GITHUB_TOKEN=t-" + e.canary}, "/bin/bash", "-c", script)
			if got.stdout != want || got.code != 0 {
				t.Errorf("%s: the rewritten command gave %s\nwant stdout %q", client, got, want)
			}
			e.noCanary(got)
		}
		// A tool that is not the shell cannot be sandboxed: blocked too (the matcher is wrong).
		if r := e.runAs(t, e.workspace, `{"hook_event_name":"PreToolUse","tool_name":"Read","tool_input":{"file_path":"/x"}}`, nil, skillrunBin, "hook", "claude"); r.code != 2 || r.stdout != "" {
			t.Errorf("Read: %s", r)
		}
		// Broken input blocks the call (exit 2), it never lets it through.
		if r := e.runAs(t, e.workspace, `{"tool_name":"Bash"`, nil, skillrunBin, "hook", "claude"); r.code != 2 || !strings.HasPrefix(r.stderr, "skillrun: error: hook: ") {
			t.Errorf("broken input: %s", r)
		}
	})
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestIntegrateEndToEnd writes each client's settings in the fake home, twice, and runs the hook
// command the settings name.
func TestIntegrateEndToEnd(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		settings := filepath.Join(e.home, ".claude", "settings.json")
		e.mkdir(filepath.Dir(settings), 0o755)
		e.write(settings, `{"model": "opus", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "true"}]}]}}`, 0o644)
		for i := 0; i < 2; i++ {
			for _, client := range []string{"claude", "codex", "gemini"} {
				// Without codex installed, integrate cannot ask Codex whether it trusts the hook:
				// it writes the hook and the trust record, says so, and exits 1.
				if r := e.run("integrate", client); r.code != 0 && !(client == "codex" && r.code == 1 && strings.Contains(r.stderr, "cannot confirm")) {
					t.Fatalf("integrate %s: %s", client, r)
				}
			}
		}
		b, _ := os.ReadFile(settings)
		var doc struct {
			Model string `json:"model"`
			Hooks map[string][]struct {
				Matcher string `json:"matcher"`
				Hooks   []struct {
					Command string `json:"command"`
				} `json:"hooks"`
			} `json:"hooks"`
		}
		if err := json.Unmarshal(b, &doc); err != nil || doc.Model != "opus" || len(doc.Hooks["Stop"]) != 1 || len(doc.Hooks["PreToolUse"]) != 1 {
			t.Fatalf("settings after integrating twice: %v\n%s", err, b)
		}
		hookCmd := doc.Hooks["PreToolUse"][0].Hooks[0].Command
		if hookCmd != skillrunBin+" hook claude || exit 2" {
			t.Errorf("hook command %q", hookCmd)
		}
		for _, f := range []string{".codex/hooks.json", ".gemini/settings.json"} {
			if b, err := os.ReadFile(filepath.Join(e.home, f)); err != nil || strings.Count(string(b), skillrunBin+" hook ") != 1 {
				t.Errorf("%s: %v\n%s", f, err, b)
			}
		}
		in := `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"echo via-settings"}}`
		r := e.runAs(t, e.workspace, in, nil, "/bin/sh", "-c", hookCmd)
		if r.code != 0 || !strings.Contains(r.stdout, `"command":"`+skillrunBin+` -c 'echo via-settings'"`) {
			t.Errorf("the settings' hook command: %s", r)
		}
	})
}
