package audit

import (
	"strings"
	"testing"
	"time"
)

func TestText(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	claude := `source /home/u/.claude/shell-snapshots/snapshot-bash-1.sh 2>/dev/null || true && { shopt -u extglob || setopt NO_EXTENDED_GLOB; } >/dev/null 2>&1 || true && eval 'git log --format='\''%h %s'\'' | head' < /dev/null && pwd -P >| /tmp/claude-ab12-cwd`
	evil := "echo ok\x1b[2K\rrm -rf ~ \u202egnp.exe"
	cases := []struct {
		name string
		r    Record
		want string
	}{
		{"argv", Record{Time: at, Skill: Agent, Argv: []string{"git", "commit", "-m", "it's done"}, Decision: Ran},
			"2026-01-02 03:04:05  agent         ran      exit 0    git commit -m 'it'\\''s done'"},
		{"claude wrapper", Record{Time: at, Skill: Agent, Shell: &claude, Decision: Ran, ExitCode: 1},
			"2026-01-02 03:04:05  agent         ran      exit 1    git log --format='%h %s' | head"},
		{"refusal", Record{Time: at, Skill: "pdf-tools", Argv: []string{"./run.sh"}, Decision: Refused, ExitCode: 126, Reason: "skill pdf-tools is not approved"},
			"2026-01-02 03:04:05  pdf-tools     refused  exit 126  ./run.sh  — skill pdf-tools is not approved"},
		{"signal and denials", Record{Time: at, Skill: Agent, Argv: []string{"probe"}, Decision: Ran, ExitCode: 137, Signal: 9,
			Denials: []Denial{{Kind: DenialNetwork, Host: "example.com:443", Count: 3}, {Kind: DenialSyscall, Syscall: "socket", Args: "AF_PACKET"},
				{Kind: DenialPath, Path: "/home/u/.aws/credentials", Access: "read"}, {Kind: DenialSyscall, Syscall: "ptrace"}}, DenialsDropped: 2},
			"2026-01-02 03:04:05  agent         ran      exit 137 SIGKILL  probe  [blocked: network example.com:443 ×3; syscall socket(AF_PACKET); read /home/u/.aws/credentials; 3 more]"},
		{"terminal escapes", Record{Time: at, Skill: Agent, Shell: &evil, Decision: Ran},
			`2026-01-02 03:04:05  agent         ran      exit 0    echo ok\x1b[2K\rrm -rf ~ \u{202e}gnp.exe`},
	}
	for _, c := range cases {
		if got := c.r.Text(time.UTC); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
	long := strings.Repeat("é", 500)
	r := Record{Time: at, Skill: Agent, Shell: &long, Decision: Ran}
	if got := Command(&r, CommandWidth); len([]rune(got)) != CommandWidth || !strings.HasSuffix(got, "…") {
		t.Errorf("long command shown as %d characters", len([]rune(got)))
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"plain":            "plain",
		"a\nb\tc\r":        `a\nb\tc\r`,
		"\x00\x7f\x1b":     `\x00\x7f\x1b`,
		"bad\xffutf8":      `bad\xffutf8`,
		"rtl\u202eo\u200b": `rtl\u{202e}o\u{200b}`,
		"\u0085c1":         `\u{0085}c1`,
		"ünïcødé ✓ 日本":     "ünïcødé ✓ 日本",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClaudeEval(t *testing.T) {
	for in, want := range map[string]string{
		`x && eval 'ls' < /dev/null && pwd -P >| /tmp/claude-1-cwd`:                  "ls",
		`x && eval 'echo '\''a b'\''' < /dev/null && pwd -P >| /tmp/claude-1-cwd`:    "echo 'a b'",
		`x && eval 'printf "%s\n" $HOME' < /dev/null && pwd -P >| /tmp/claude-1-cwd`: `printf "%s\n" $HOME`,
	} {
		if got, ok := claudeEval(in); !ok || got != want {
			t.Errorf("claudeEval(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"eval 'ls'", `x && eval 'ls`, `x && eval "ls" && pwd -P >| /tmp/x`, "ls"} {
		if got, ok := claudeEval(in); ok {
			t.Errorf("claudeEval(%q) = %q: not Claude Code's wrapper", in, got)
		}
	}
}
