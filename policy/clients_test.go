package policy

import "testing"

func TestClaudeCwdFile(t *testing.T) {
	wrap := func(tail string) *string {
		s := "source /h/.claude/shell-snapshots/snapshot-bash-1.sh 2>/dev/null || true && eval 'ls' < /dev/null && pwd -P >| " + tail
		return &s
	}
	claude := []string{"CLAUDECODE=1", "TMPDIR=/var/tmp/u"}
	for _, tc := range []struct {
		name    string
		shell   *string
		environ []string
		want    string
	}{
		{"claude code in /tmp", wrap("/tmp/claude-4f2a-cwd"), claude, "/tmp/claude-4f2a-cwd"},
		{"claude code in TMPDIR", wrap("/var/tmp/u/claude-4f2a-cwd"), claude, "/var/tmp/u/claude-4f2a-cwd"},
		{"not claude code", wrap("/tmp/claude-4f2a-cwd"), []string{"TMPDIR=/tmp"}, ""},
		{"CLAUDECODE=0", wrap("/tmp/claude-4f2a-cwd"), []string{"CLAUDECODE=0"}, ""},
		{"another folder", wrap("/home/u/claude-4f2a-cwd"), claude, ""},
		{"climbing out", wrap("/tmp/../home/u/claude-4f2a-cwd"), claude, ""},
		{"a subfolder of /tmp", wrap("/tmp/x/claude-4f2a-cwd"), claude, ""},
		{"another name", wrap("/tmp/bashrc"), claude, ""},
		{"more after the write", wrap("/tmp/claude-4f2a-cwd; cp x y"), claude, ""},
		{"argv, no shell", nil, claude, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Request{Command: Command{Shell: tc.shell, Argv: []string{"x"}}, Environ: tc.environ}
			if got := ClaudeCwdFile(r); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
