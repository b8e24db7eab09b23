package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/audit"
	"github.com/skillrun/skillrun/sandbox"
	"github.com/skillrun/skillrun/sandbox/landlock"
)

// auditKeep is how many rotated generations (audit.jsonl.1 …) are kept.
const auditKeep = 3

// runRecord collects what one run or refusal was; runAction fills it in as it goes and appends
// its audit record when it returns, whatever the outcome.
type runRecord struct {
	c     *cli.Context
	start time.Time
	req   *policy.Request // set once the request is built (possibly partly, on an error)
	plan  *policy.Plan    // set once compiled
	res   *sandbox.Result // set once the command ran
	// denials are what the sandbox refused the command and could observe (the egress proxy).
	denials []audit.Denial
}

// startRecord begins the record of a run. It creates the audit folder first, so that the floor
// masks an existing folder in this very run.
func startRecord(c *cli.Context) *runRecord {
	if p, err := auditPath(""); err == nil {
		_ = os.MkdirAll(filepath.Dir(p), 0o700)
	}
	return &runRecord{c: c, start: time.Now()}
}

// finish appends the record of the run that ended with err (nil or exitStatus: it ran). A
// record that cannot be written is a warning, never a failure of the run.
func (r *runRecord) finish(err error) {
	_, _, errw := stdio(r.c)
	var pol *policy.DevPolicy
	state := ""
	if r.req != nil {
		pol, state = r.req.Policy, r.req.StateDir
	}
	path, perr := auditPath(state)
	if perr != nil {
		fmt.Fprintf(errw, "skillrun: warning: audit: this run was not recorded: %v\n", perr)
		return
	}
	rec := r.record(err, time.Now())
	line := rec.Marshal()
	l := auditLog{path: path, maxSize: int64(policy.DefaultAuditMaxSize), keep: auditKeep}
	if pol != nil && pol.Audit.MaxSize > 0 {
		l.maxSize = int64(pol.Audit.MaxSize)
	}
	if err := l.appendLine(line); err != nil {
		fmt.Fprintf(errw, "skillrun: warning: audit: this run was not recorded: %v\n", err)
	}
	if pol != nil && pol.Audit.Syslog {
		toSyslog(errw, path, line)
	}
}

// record builds the audit record: never a variable's value, and secret values that show up in
// the command or the reason are redacted.
func (r *runRecord) record(err error, now time.Time) audit.Record {
	c := r.c
	rec := audit.Record{Time: r.start.UTC(), Skill: audit.Agent, UID: os.Getuid(), Client: agentClient(os.Getenv),
		Argv: append([]string(nil), commandWords(c)...)}
	if c.IsSet("c") {
		s := c.String("c")
		rec.Shell = &s
	}
	environ := os.Environ()
	if q := r.req; q != nil {
		rec.Cwd, rec.Workspace = q.Cwd, q.Workspace
		if q.Skill != nil {
			rec.Skill = q.Skill.Name
			if q.Skill.Lock != nil {
				rec.SkillDigest = q.Skill.Lock.Digest
			}
		}
		if q.Environ != nil {
			environ = q.Environ
		}
	}
	if rec.Cwd == "" {
		rec.Cwd, _ = unix.Getwd()
	}
	abi := kernelLandlockABI()
	if p := r.plan; p != nil {
		rec.Profile, rec.Unsafe = p.Profile, p.Unsafe
		if p.Skill != nil {
			rec.Skill, rec.SkillDigest = p.Skill.Name, p.Skill.Digest
		}
		// The digest `skillrun plan` prints: it includes the ABI this kernel enforces.
		q := *p
		q.Confine.Landlock.KernelABI = abi
		rec.PlanDigest = q.Digest()
		for _, d := range p.Why {
			if d.Kind == "secret" && d.Decision == "passed" {
				rec.Secrets = append(rec.Secrets, d.Subject)
			}
		}
	}
	var st exitStatus
	switch {
	case err == nil:
		rec.Decision = audit.Ran
	case errors.As(err, &st):
		rec.Decision, rec.ExitCode = audit.Ran, int(st)
	default:
		status, _ := classify(err)
		rec.Decision, rec.ExitCode, rec.Reason = audit.Failed, status, oneLine(err.Error())
		if status == exitRefused {
			rec.Decision = audit.Refused
		}
	}
	rec.DurationMS = now.Sub(r.start).Milliseconds()
	if rec.Decision == audit.Ran && r.plan != nil {
		rec.Signal = audit.SignalOf(rec.ExitCode)
		rec.Enforced = &audit.Enforced{LandlockABI: abi, Seccomp: r.plan.Confine.Seccomp,
			Namespaces: append([]string{}, r.plan.Namespaces...)}
		if r.res != nil && r.res.TimedOut {
			rec.Reason = "timed out after " + time.Duration(r.plan.Limits.Timeout).String()
		}
		if r.res != nil && r.res.Degraded {
			// No namespaces at all: Landlock, seccomp and rlimits alone (policy `degraded: allow`).
			rec.Enforced.Degraded, rec.Enforced.Namespaces = true, []string{}
		}
	}
	rec.Denials = append(rec.Denials, r.denials...)
	rec.Redact(audit.SecretValues(environ, rec.Secrets))
	return rec
}

func kernelLandlockABI() int {
	abi, err := landlock.ABI()
	if err != nil {
		return 0
	}
	return min(abi, landlock.MaxABI)
}

// agentClient names the agent that started skillrun, from what it puts in the environment
// (SKILLRUN_CLIENT: set by skillrun's own hook, for a client that marks its commands with nothing).
func agentClient(getenv func(string) string) string {
	switch {
	case getenv("SKILLRUN_CLIENT") != "":
		return audit.Clean(getenv("SKILLRUN_CLIENT"))
	case getenv("AI_AGENT") != "":
		return audit.Clean(getenv("AI_AGENT"))
	case getenv("CLAUDECODE") == "1":
		return "claude-code"
	case getenv("GEMINI_CLI") == "1":
		return "gemini-cli"
	}
	return ""
}

// auditPath is $XDG_STATE_HOME/skillrun/audit.jsonl (state, when given, is $XDG_STATE_HOME).
func auditPath(state string) (string, error) {
	if state == "" {
		home, err := homeDir()
		if err != nil {
			return "", err
		}
		state = xdgDir("XDG_STATE_HOME", home, ".local/state")
	}
	return filepath.Join(state, "skillrun", auditFile), nil
}

// Where syslog records go; tests point them elsewhere.
var (
	syslogSocket = "/dev/log"
	syslogDial   = func() (*syslog.Writer, error) {
		return syslog.Dial("", "", syslog.LOG_AUTHPRIV|syslog.LOG_INFO, "skillrun")
	}
)

// toSyslog also sends the record to the local syslog socket (journald reads it); a missing
// socket is a one-line warning, never a failure.
func toSyslog(errw io.Writer, path string, line []byte) {
	if _, err := os.Stat(syslogSocket); err != nil {
		fmt.Fprintf(errw, "skillrun: warning: audit: syslog: %s is missing; the record is only in %s\n", syslogSocket, path)
		return
	}
	w, err := syslogDial()
	if err == nil {
		err = w.Info(string(bytes.TrimSuffix(line, []byte("\n"))))
		w.Close()
	}
	if err != nil {
		fmt.Fprintf(errw, "skillrun: warning: audit: syslog: %v; the record is only in %s\n", err, path)
	}
}
