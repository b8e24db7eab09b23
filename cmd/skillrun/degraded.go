package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/sandbox"
	"github.com/skillrun/skillrun/sandbox/degraded"
)

// Degraded mode (design section 5, "User namespace"): where this user may not create user
// namespaces, a run fails closed unless the developer policy says `degraded: allow`; then it runs
// with Landlock, seccomp and rlimits alone (degraded.Run), which says so on stderr.

// sysctlHint is how a machine that refuses user namespaces is usually fixed.
const sysctlHint = "allow unprivileged user namespaces (e.g. sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0), or run as root"

// runSandbox runs the plan in the sandbox, or, where user namespaces are unavailable and the
// policy allows it, degraded; otherwise the refusal names both ways out.
func runSandbox(req policy.Request, plan *policy.Plan, opt sandbox.Options) (*sandbox.Result, error) {
	res, err := sandbox.Run(plan, opt)
	if !errors.Is(err, sandbox.ErrUserNamespace) {
		return res, err
	}
	if !req.Policy.AllowsDegraded() {
		return nil, withHints(exitFailed, err, userNamespaceHints(policyFile(req))...)
	}
	res, err = degraded.Run(plan, opt)
	if errors.Is(err, sandbox.ErrUserNamespace) {
		// The policy allows degraded mode, but this kernel cannot provide it either.
		return nil, withHints(exitFailed, err, "see what this machine can enforce with: skillrun doctor", sysctlHint)
	}
	return res, err
}

// userNamespaceHints are the refusal's hints: fix the machine, or accept a weaker sandbox.
func userNamespaceHints(file string) []string {
	return []string{
		"see what this machine can enforce with: skillrun doctor",
		sysctlHint,
		"or run without namespaces, with Landlock, seccomp and rlimits only: add the line `degraded: allow` to " + file +
			" (a new policy file starts with `version: 1`)",
	}
}

// policyFile is the policy the run read, or the one it would read.
func policyFile(req policy.Request) string {
	if req.PolicyFile != "" {
		return req.PolicyFile
	}
	if f := os.Getenv("SKILLRUN_POLICY"); f != "" {
		return f
	}
	return filepath.Join(req.ConfigDir, "skillrun", policy.PolicyFile)
}

// doctorDegraded tells, when user namespaces are unavailable, whether runs go ahead degraded. It
// returns nil when they do (the policy allows it and the kernel can), else why runs fail closed.
func doctorDegraded(out io.Writer, f sandbox.Facts, text bool) error {
	if !text {
		out = io.Discard // --json prints the facts alone
	}
	file := ""
	var pol *policy.DevPolicy
	d, err := xdgDirs()
	if err == nil {
		pol, file, err = loadPolicy(os.Getenv("SKILLRUN_POLICY"), d, "")
		if file == "" {
			file = filepath.Join(d.own(), policy.PolicyFile)
		}
	}
	unsupported := degraded.Support()
	switch {
	case err != nil:
		fmt.Fprintf(out, "degraded mode:    unknown (cannot read the policy: %s)\n", oneLine(err.Error()))
	case !pol.AllowsDegraded():
		fmt.Fprintf(out, "degraded mode:    refused (add `degraded: allow` to %s to run with Landlock, seccomp and rlimits only)\n", file)
	case unsupported != nil:
		fmt.Fprintf(out, "degraded mode:    allowed by %s, but %v\n", file, unsupported)
	default:
		fmt.Fprintf(out, "degraded mode:    allowed by %s: runs go ahead without namespaces, with Landlock, seccomp and rlimits only\n", file)
		return nil
	}
	hints := []string{sysctlHint}
	if err == nil && !pol.AllowsDegraded() && unsupported == nil {
		hints = append(hints, "or run without namespaces, with Landlock, seccomp and rlimits only: add the line `degraded: allow` to "+file)
	}
	return withHints(exitFailed, fmt.Errorf("runs will fail closed: %s", f.Problem), hints...)
}
