package main

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/sandbox"
)

func TestSplitCommand(t *testing.T) {
	cases := []struct {
		args, own, command []string
	}{
		{[]string{"skillrun", "--", "ls", "-la"}, []string{"skillrun"}, []string{"ls", "-la"}},
		{[]string{"skillrun", "--timeout", "1s", "--", "sh", "-c", "x", "--", "y"}, []string{"skillrun", "--timeout", "1s"}, []string{"sh", "-c", "x", "--", "y"}},
		{[]string{"skillrun", "-c", "echo hi"}, []string{"skillrun", "-c", "echo hi"}, nil},
		{[]string{"skillrun", "plan", "--json", "--", "make", "--help"}, []string{"skillrun", "plan", "--json"}, []string{"make", "--help"}},
		{[]string{"skillrun", "--"}, []string{"skillrun"}, []string{}},
	}
	for _, c := range cases {
		own, command := splitCommand(c.args)
		if !reflect.DeepEqual(own, c.own) || !reflect.DeepEqual(command, c.command) {
			t.Errorf("splitCommand(%q) = %q, %q; want %q, %q", c.args, own, command, c.own, c.command)
		}
	}
}

// TestErrorContract pins the output rules: one lowercase error line, hints, no trailing period,
// and the exit status each class of error calls for.
func TestErrorContract(t *testing.T) {
	cases := []struct {
		err    error
		status int
	}{
		{fmt.Errorf("%w: / is a system directory", policy.ErrWorkspace), exitFailed},
		{fmt.Errorf("%w: /x", policy.ErrCwd), exitFailed},
		{fmt.Errorf("%w: user namespaces: refused", sandbox.ErrUnsupported), exitFailed},
		{fmt.Errorf("%w: boom", sandbox.ErrSetup), exitFailed},
		{usageError{errors.New("flag provided but not defined: -x")}, exitFailed},
		{withHints(exitRefused, errors.New("refused"), "do this"), exitRefused},
		{errors.New("multi\nline."), exitFailed},
	}
	for _, c := range cases {
		var b strings.Builder
		if got := report(&b, c.err); got != c.status {
			t.Errorf("%v: status %d, want %d", c.err, got, c.status)
		}
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if !strings.HasPrefix(lines[0], "skillrun: error: ") {
			t.Errorf("%v: first line %q", c.err, lines[0])
		}
		for _, l := range lines {
			if strings.HasSuffix(l, ".") {
				t.Errorf("%v: trailing period in %q", c.err, l)
			}
			if !strings.HasPrefix(l, "skillrun: error: ") && !strings.HasPrefix(l, "skillrun: hint: ") {
				t.Errorf("%v: line breaks the contract: %q", c.err, l)
			}
		}
	}
}

// TestHelpHasExamples walks every command: each has usage text and an example.
func TestHelpHasExamples(t *testing.T) {
	app := newApp(nil, nil)
	if !strings.Contains(app.Description, "EXAMPLE:") {
		t.Errorf("skillrun has no EXAMPLE in its help")
	}
	for _, c := range app.Commands {
		if !strings.Contains(c.Description, "EXAMPLE:") || c.UsageText == "" {
			t.Errorf("%s: help lacks usage text or an EXAMPLE", c.Name)
		}
		if c.Usage == "" || strings.HasSuffix(c.Usage, ".") || strings.ToLower(c.Usage[:1]) != c.Usage[:1] {
			t.Errorf("%s: usage %q must be lowercase without a trailing period", c.Name, c.Usage)
		}
	}
}
