package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// claudeScript builds the script Claude Code hands CLAUDE_CODE_SHELL_PREFIX (design section 6):
// source the shell snapshot, reset extglob, eval the model's command with stdin from /dev/null,
// and record the final directory in the cwd file.
func claudeScript(snapshot, command, cwdFile string) string {
	return "source " + snapshot + " 2>/dev/null || true && { shopt -u extglob || setopt NO_EXTENDED_GLOB; } >/dev/null 2>&1 || true && eval " +
		shQuote(command) + " < /dev/null && pwd -P >| " + cwdFile
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// runClaude runs skillrun the way Claude Code does: /bin/bash -c "<prefix> '<script>'" with the
// prefix "skillrun -c", Claude Code's variables in the environment, stdout and stderr as one.
func runClaude(t *testing.T, e *env, dir, script string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/bash", "-c", skillrunBin+" -c "+shQuote(script))
	cmd.Dir = dir
	cmd.Env = append(e.environ(), "CLAUDECODE=1", "AI_AGENT=claude-code_2.1.197_agent",
		"CLAUDE_CODE_SESSION_ID=0b7c", "ANTHROPIC_API_KEY=sk-ant-"+e.canary, "ANTHROPIC_BASE_URL=https://proxy.example.com")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.id.cred}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	r := result{stdout: out.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running: %v", err)
	}
	return r
}

func tmpName(t *testing.T, prefix, suffix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	p := "/tmp/" + prefix + hex.EncodeToString(b) + suffix
	t.Cleanup(func() { os.Remove(p) })
	return p
}

// TestClaudeCodeShellPrefix reproduces Claude Code's Bash tool through CLAUDE_CODE_SHELL_PREFIX
// with no other configuration: exit codes are the command's, cd carries over through the cwd
// file in the host's /tmp, the snapshot's functions work, the API key never reaches the command,
// and the host's /tmp stays invisible except for that one file.
func TestClaudeCodeShellPrefix(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		snapDir := filepath.Join(e.home, ".claude", "shell-snapshots")
		e.mkdir(filepath.Join(e.home, ".claude"), 0o700)
		e.mkdir(snapDir, 0o700)
		snapshot := filepath.Join(snapDir, "snapshot-bash-1.sh")
		e.write(snapshot, "greet() { echo \"hello from the snapshot\"; }\nalias ll='ls -l'\n", 0o600)
		e.write(filepath.Join(e.home, ".claude", ".credentials.json"), e.canary, 0o600)
		e.mkdir(filepath.Join(e.workspace, "sub"), 0o755)
		hostTmp := tmpName(t, "skillrun-host-", "")
		if err := os.WriteFile(hostTmp, []byte(e.canary), 0o644); err != nil {
			t.Fatal(err)
		}
		cwdFile := tmpName(t, "claude-", "-cwd")

		r := runClaude(t, e, e.workspace, claudeScript(snapshot, "cd sub && greet && env | grep -c ANTHROPIC; cat "+hostTmp+" ~/.claude/.credentials.json; true", cwdFile))
		e.noCanary(r)
		if r.code != 0 || !strings.Contains(r.stdout, "hello from the snapshot") || !strings.Contains(r.stdout, "\n0\n") {
			t.Fatalf("want success, the snapshot's function, no ANTHROPIC_ variables:\n%s", r)
		}
		if b, err := os.ReadFile(cwdFile); err != nil || strings.TrimSpace(string(b)) != filepath.Join(e.workspace, "sub") {
			t.Fatalf("cwd file: %q, %v; want %s", b, err, filepath.Join(e.workspace, "sub"))
		}
		// The next command starts where the last one ended, and its own failure is reported.
		r = runClaude(t, e, filepath.Join(e.workspace, "sub"), claudeScript(snapshot, "pwd; exit 3", cwdFile))
		if r.code != 3 || !strings.Contains(r.stdout, filepath.Join(e.workspace, "sub")) {
			t.Fatalf("want exit 3 in sub:\n%s", r)
		}
		// A background command: its output arrives while it runs, its status at the end.
		bg := exec.Command("/bin/bash", "-c", skillrunBin+" -c "+shQuote(claudeScript(snapshot, "for i in 1 2 3; do echo tick $i; sleep 0.2; done", cwdFile)))
		bg.Dir, bg.Env = e.workspace, append(e.environ(), "CLAUDECODE=1")
		bg.SysProcAttr = &syscall.SysProcAttr{Credential: e.id.cred}
		outFile := filepath.Join(e.base, "bg.out")
		f, err := os.Create(outFile)
		if err != nil {
			t.Fatal(err)
		}
		bg.Stdout, bg.Stderr = f, f
		if err := bg.Start(); err != nil {
			t.Fatal(err)
		}
		if !waitFor(10*time.Second, func() bool { b, _ := os.ReadFile(outFile); return strings.Contains(string(b), "tick 1") }) {
			t.Error("no output from the background command while it ran")
		}
		if err := bg.Wait(); err != nil {
			t.Fatalf("background command: %v", err)
		}
		f.Close()
		if b, _ := os.ReadFile(outFile); !strings.Contains(string(b), "tick 3") {
			t.Errorf("background output: %q", b)
		}
		// A cwd file that is another name of the user's .bashrc is refused, not written.
		linked := tmpName(t, "claude-", "-cwd")
		bashrc := filepath.Join(e.home, ".bashrc")
		before, _ := os.ReadFile(bashrc)
		if err := os.Link(bashrc, linked); err != nil {
			t.Fatal(err)
		}
		r = runClaude(t, e, e.workspace, claudeScript(snapshot, "echo RAN", linked))
		if r.code != 125 || strings.Contains(r.stdout, "RAN") || !strings.Contains(r.stdout, "refusing Claude Code's cwd file") {
			t.Fatalf("a hard-linked cwd file must be refused:\n%s", r)
		}
		if after, _ := os.ReadFile(bashrc); !bytes.Equal(before, after) {
			t.Fatalf(".bashrc changed: %q", after)
		}
		// Without Claude Code's variable, the same script gets the agent profile: it writes the
		// sandbox's private /tmp, and the host's file stays as it was.
		if err := os.WriteFile(cwdFile, []byte("unchanged\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r = e.run("-c", claudeScript(snapshot, "cd sub", cwdFile))
		if b, _ := os.ReadFile(cwdFile); r.code != 0 || string(b) != "unchanged\n" {
			t.Fatalf("the host's cwd file was written without Claude Code's wrapper (%q):\n%s", b, r)
		}
		e.assertNoState()
	})
}
