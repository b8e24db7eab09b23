package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/sandbox"
	"github.com/skillrun/skillrun/sandbox/trace"
)

// runAction is the root command: skillrun [flags] -- CMD [ARGS...] | -c STRING.
func runAction(c *cli.Context) (err error) {
	rec := startRecord(c) // audit.go: every run and refusal appends one record
	defer func() { rec.finish(err); trace.Mark("audit record") }()
	trace.Mark("cli")
	req, err := buildRequest(c, false)
	trace.Mark("request")
	rec.req = &req
	if err != nil {
		return err
	}
	plan, err := compile(req)
	rec.plan = plan
	if err != nil {
		return err
	}
	trace.Mark("plan")
	in, out, errw := stdio(c)
	if err := makeSkillCache(req, plan); err != nil {
		return err
	}
	if err := prepareClientFiles(&req, plan); err != nil {
		return err
	}
	warn(errw, plan)
	// grants.go: output folders granted inside the workspace are made now, as the caller.
	notes, err := sandbox.PrepareGrants(plan)
	if err != nil {
		return err
	}
	reportGrants(errw, notes, false, c.Bool("quiet"))
	trace.Mark("grants")
	// egress.go: the proxy of a plan with hosts; degraded.go: the run without user namespaces.
	eg := newEgress(plan, c.Bool("quiet"))
	res, err := runSandbox(req, plan, sandbox.Options{Stdin: in, Stdout: out, Stderr: errw, Egress: eg.serve})
	rec.denials = eg.report(errw, req)
	trace.Mark("sandbox teardown")
	if res != nil {
		rec.denials = append(rec.denials, reportSyscalls(errw, res.Denials, c.Bool("quiet"))...)
		rec.denials = append(rec.denials, reportMaskedReads(errw, plan, req, res.MaskedReads, c.Bool("quiet"))...)
		// workspace.go: repositories and agent files the command left where no guard could be.
		rec.denials = append(rec.denials, reportBlockedCreations(errw, plan, req, res.Blocked, c.Bool("quiet"))...)
		rec.denials = append(rec.denials, reportBlockedWrites(errw, plan, req, res.BlockedWrites, c.Bool("quiet"))...)
		trace.Mark("reports")
		rec.denials = append(rec.denials, checkAfter(errw, req, plan, c.Bool("quiet"))...)
		trace.Mark("workspace after")
	}
	rec.res = res
	if errors.Is(err, sandbox.ErrIntegrity) && req.Skill != nil && req.Skill.Lock != nil {
		// The folder changed between the check and the copy the sandbox verified.
		d := dirs{home: req.Home, config: req.ConfigDir, state: req.StateDir}
		if now, herr := hashSkill(req.Skill.Source); herr == nil {
			return changeError(d, req.Skill.Name, req.Skill.Lock, now)
		}
		return withHints(exitRefused, err, "review the changes, then approve it again: skillrun approve "+req.Skill.Name)
	}
	if err != nil {
		return err
	}
	if res.TimedOut {
		fmt.Fprintf(errw, "skillrun: error: timed out after %s; the sandbox was stopped\n", time.Duration(plan.Limits.Timeout))
		fmt.Fprintf(errw, "skillrun: hint: give it longer with --timeout, e.g. skillrun --timeout %s -- ...\n", 2*time.Duration(plan.Limits.Timeout))
	}
	if res.ExitCode != 0 {
		return exitStatus(res.ExitCode)
	}
	return nil
}

// makeSkillCache creates the skill's ${CACHE} folder when its plan mounts it: a bind needs an
// existing source, and a missing one would silently leave the skill without its cache.
func makeSkillCache(req policy.Request, plan *policy.Plan) error {
	if req.Skill == nil || req.CacheDir == "" {
		return nil
	}
	cache := filepath.Join(req.CacheDir, "skillrun", req.Skill.Name)
	for _, m := range plan.Mounts {
		if m.Path == cache || strings.HasPrefix(m.Path, cache+"/") {
			if err := os.MkdirAll(m.Path, 0o700); err != nil {
				return withHints(exitFailed, fmt.Errorf("cannot create the skill's cache %s: %v", m.Path, err))
			}
		}
	}
	return nil
}

// compile turns the request into a plan, with hints that name the skill.
func compile(req policy.Request) (*policy.Plan, error) {
	plan, err := policy.Compile(req)
	if err != nil && req.Skill != nil {
		switch {
		case errors.Is(err, policy.ErrUnapproved):
			return nil, withHints(exitRefused, err, "review and approve it: skillrun approve "+req.Skill.Dir,
				"or let unapproved skills run untrusted: set unapproved: untrusted in "+policyName(req))
		case errors.Is(err, policy.ErrCwd):
			return nil, withHints(exitFailed, err, "cd into a folder the skill may read (its manifest's filesystem.read), e.g. cd "+req.Skill.Dir)
		}
	}
	return plan, err
}

func policyName(req policy.Request) string {
	if req.PolicyFile != "" {
		return req.PolicyFile
	}
	return "your policy"
}

// warn says, on every run, what the developer should know about this plan: floor lines lifted by
// unsafe:, and capabilities this version cannot provide yet.
func warn(w io.Writer, plan *policy.Plan) {
	for _, u := range plan.Unsafe {
		fmt.Fprintf(w, "skillrun: warning: unsafe: %s\n", u)
	}

}
