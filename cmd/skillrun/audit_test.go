package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/audit"
	"github.com/skillrun/skillrun/sandbox"
)

// runContext is the context of `skillrun [-c STRING] -- words...`.
func runContext(t *testing.T, shell *string, words ...string) *cli.Context {
	t.Helper()
	app := newApp(nil, nil)
	app.Metadata = map[string]any{cmdArgsKey: words}
	set := flag.NewFlagSet("skillrun", flag.ContinueOnError)
	set.String("c", "", "")
	if shell != nil {
		if err := set.Parse([]string{"-c", *shell}); err != nil {
			t.Fatal(err)
		}
	}
	return cli.NewContext(app, set, nil)
}

func TestRunRecord(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	token := "ghp_0123456789abcdef"
	req := &policy.Request{Cwd: "/home/u/proj", Workspace: "/home/u/proj", StateDir: "/home/u/.local/state",
		Environ: []string{"GITHUB_TOKEN=" + token, "MY_CRED=granted-value-123", "PATH=/usr/bin"}}
	plan := &policy.Plan{Profile: "agent", Namespaces: []string{"mount", "pid", "net"},
		Confine: policy.Confine{Seccomp: policy.SeccompDefault}, Limits: policy.Limits{Timeout: policy.Duration(time.Minute)},
		Unsafe: []string{"read ${HOME}/.aws"},
		Why:    []policy.Decision{{Kind: "secret", Subject: "MY_CRED", Decision: "passed"}, {Kind: "secret", Subject: "X", Decision: "denied"}}}
	skilled := *plan
	skilled.Skill = &policy.Skill{Name: "pdf-tools", Digest: "sha256:abc"}
	sh := "curl -H 'Authorization: " + token + "' example.com; echo granted-value-123"
	cases := []struct {
		name  string
		shell *string
		words []string
		req   *policy.Request
		plan  *policy.Plan
		res   *sandbox.Result
		err   error
		check func(r audit.Record) string
	}{
		{"ran", nil, []string{"make", "test"}, req, plan, &sandbox.Result{}, nil, func(r audit.Record) string {
			if r.Decision != audit.Ran || r.ExitCode != 0 || r.Skill != audit.Agent || fmt.Sprint(r.Argv) != "[make test]" ||
				r.Enforced == nil || r.Enforced.Seccomp != "default" || len(r.Enforced.Namespaces) != 3 || r.Enforced.Degraded ||
				r.PlanDigest == "" || r.Cwd != "/home/u/proj" || fmt.Sprint(r.Unsafe) != "[read ${HOME}/.aws]" || fmt.Sprint(r.Secrets) != "[MY_CRED]" {
				return "wrong"
			}
			return ""
		}},
		{"signal, timed out", nil, []string{"sleep", "99"}, req, plan, &sandbox.Result{ExitCode: 143, TimedOut: true}, exitStatus(143), func(r audit.Record) string {
			if r.Decision != audit.Ran || r.ExitCode != 143 || r.Signal != 15 || r.Reason != "timed out after 1m0s" {
				return "wrong"
			}
			return ""
		}},
		{"degraded", nil, []string{"true"}, req, plan, &sandbox.Result{Degraded: true}, nil, func(r audit.Record) string {
			if r.Enforced == nil || !r.Enforced.Degraded || len(r.Enforced.Namespaces) != 0 {
				return "wrong"
			}
			return ""
		}},
		{"skill, secrets in the command", &sh, nil, req, &skilled, &sandbox.Result{}, nil, func(r audit.Record) string {
			if r.Skill != "pdf-tools" || r.SkillDigest != "sha256:abc" || r.Shell == nil || strings.Contains(*r.Shell, token) ||
				strings.Contains(*r.Shell, "granted-value-123") || strings.Count(*r.Shell, audit.Redacted) != 2 {
				return "wrong"
			}
			return ""
		}},
		{"refused", nil, []string{"./run.sh"}, req, nil, nil, withHints(exitRefused, fmt.Errorf("%w: skill helper", policy.ErrUnapproved)), func(r audit.Record) string {
			if r.Decision != audit.Refused || r.ExitCode != 126 || r.Enforced != nil || r.PlanDigest != "" || !strings.Contains(r.Reason, "helper") {
				return "wrong"
			}
			return ""
		}},
		{"failed before the request", nil, []string{"true"}, nil, nil, nil, errors.New("no absolute home directory"), func(r audit.Record) string {
			if r.Decision != audit.Failed || r.ExitCode != 125 || r.Workspace != "" || r.Cwd == "" {
				return "wrong"
			}
			return ""
		}},
	}
	for _, c := range cases {
		r := &runRecord{c: runContext(t, c.shell, c.words...), start: start, req: c.req, plan: c.plan, res: c.res}
		rec := r.record(c.err, start.Add(1500*time.Millisecond))
		if !rec.Time.Equal(start) || rec.DurationMS != 1500 {
			t.Errorf("%s: time %v, duration %d", c.name, rec.Time, rec.DurationMS)
		}
		if msg := c.check(rec); msg != "" {
			t.Errorf("%s: %s record: %s", c.name, msg, rec.Marshal())
		}
	}
}

func TestAgentClient(t *testing.T) {
	for env, want := range map[string]string{
		"AI_AGENT=claude-code_2.1.197_agent CLAUDECODE=1": "claude-code_2.1.197_agent",
		"CLAUDECODE=1":                           "claude-code",
		"GEMINI_CLI=1":                           "gemini-cli",
		"SKILLRUN_CLIENT=codex-cli":              "codex-cli",
		"SKILLRUN_CLIENT=codex-cli CLAUDECODE=1": "codex-cli",
		"":                                       "",
	} {
		vars := map[string]string{}
		for _, kv := range strings.Fields(env) {
			k, v, _ := strings.Cut(kv, "=")
			vars[k] = v
		}
		if got := agentClient(func(k string) string { return vars[k] }); got != want {
			t.Errorf("%q: %q, want %q", env, got, want)
		}
	}
}
