package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skillrun/skillrun/policy/audit"
)

func TestLogCommand(t *testing.T) {
	home := fakeHome(t)
	state := filepath.Join(home, "state")
	t.Setenv("XDG_STATE_HOME", state)
	l := auditLog{path: filepath.Join(state, "skillrun", auditFile), keep: auditKeep}
	now := time.Now().UTC()
	ls, evil := "ls -la", "echo hi\x1b[2J"
	recs := []audit.Record{
		{Time: now.Add(-50 * time.Hour), Skill: audit.Agent, Shell: &ls, Decision: audit.Ran},
		{Time: now.Add(-time.Hour), Skill: "pdf-tools", Argv: []string{"./run.sh", "a b"}, Decision: audit.Refused, ExitCode: 126, Reason: "skill pdf-tools is not approved"},
		{Time: now.Add(-time.Minute), Skill: audit.Agent, Argv: []string{"probe"}, Decision: audit.Ran, ExitCode: 1,
			Denials: []audit.Denial{{Kind: audit.DenialNetwork, Host: "example.com:443"}}},
		{Time: now, Skill: audit.Agent, Shell: &evil, Decision: audit.Ran},
	}
	// The oldest in a rotated generation, the rest live, and a line that is not a record.
	os.MkdirAll(filepath.Dir(l.path), 0o700)
	os.WriteFile(l.path+".1", recs[0].Marshal(), 0o600)
	for _, r := range recs[1:] {
		l.appendLine(r.Marshal())
	}
	f, _ := os.OpenFile(l.path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("garbage\n")
	f.Close()

	cases := []struct {
		args  []string
		lines []string // substrings, one per expected line, in order
	}{
		{nil, []string{"agent         ran      exit 0    ls -la", "pdf-tools     refused  exit 126  ./run.sh 'a b'  — skill pdf-tools is not approved",
			"probe  [blocked: network example.com:443]", `echo hi\x1b[2J`}},
		{[]string{"--skill", "pdf-tools"}, []string{"./run.sh"}},
		{[]string{"--skill", "agent"}, []string{"ls -la", "probe", "echo hi"}},
		{[]string{"--denied"}, []string{"./run.sh", "probe"}},
		{[]string{"--since", "2h"}, []string{"./run.sh", "probe", "echo hi"}},
		{[]string{"--since", "5m", "--denied"}, []string{"probe"}},
		{[]string{"--since", now.Add(-10 * time.Minute).Format(time.RFC3339)}, []string{"probe", "echo hi"}},
		{[]string{"--json", "--denied"}, []string{`"skill":"pdf-tools"`, `"denials":[{"kind":"network","host":"example.com:443"}]`}},
	}
	for _, c := range cases {
		status, stdout, stderr := runWith(t, "", append([]string{"log"}, c.args...)...)
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		if stdout == "" {
			lines = nil
		}
		if status != 0 || len(lines) != len(c.lines) {
			t.Errorf("log %q: status %d, %d lines, want %d:\n%s%s", c.args, status, len(lines), len(c.lines), stdout, stderr)
			continue
		}
		for i, want := range c.lines {
			if !strings.Contains(lines[i], want) {
				t.Errorf("log %q: line %d %q lacks %q", c.args, i, lines[i], want)
			}
		}
		if stderr != "skillrun: warning: 1 lines of "+l.path+" are not audit records and were skipped\n" {
			t.Errorf("log %q: stderr %q", c.args, stderr)
		}
		if strings.Contains(stdout, "\x1b") {
			t.Errorf("log %q printed a terminal escape", c.args)
		}
	}
	for _, bad := range [][]string{{"--since", "yesterday"}, {"extra"}} {
		if status, _, stderr := runWith(t, "", append([]string{"log"}, bad...)...); status != exitFailed || !strings.Contains(stderr, "skillrun: hint: ") {
			t.Errorf("log %q: status %d, %q", bad, status, stderr)
		}
	}
	// No log yet: nothing, and no error.
	t.Setenv("XDG_STATE_HOME", filepath.Join(home, "empty"))
	if status, stdout, stderr := runWith(t, "", "log"); status != 0 || stdout != "" || stderr != "" {
		t.Errorf("no log: %d %q %q", status, stdout, stderr)
	}
}
